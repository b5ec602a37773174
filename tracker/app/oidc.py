"""Staff sign-in through the clinic chain's identity provider (OpenID Connect).

Streamlit's st.login proves who the person is at the provider; this module decides who they
are here. The answer is always one of our own staff accounts, so everything after it is the
same as after a password: our login session (people.open_session), the idle timeout, the
account read again in every transaction (Context.uow), switch-off, sign-out, the audit log.

Mapping by table, not by claim: an admin creates the staff account (role, clinic) with the
person's email as today; the first sign-in through the provider whose email the provider
has verified links that account to the provider's stable (issuer, subject), and later
sign-ins go by that link alone. An account linked once is never re-linked by email, so an
address reused at the provider for someone else cannot take over the account. Client
accounts never sign in this way: clients keep their passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tracker.app import audit, throttle
from tracker.app.people import _actor_for
from tracker.application import App
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor
from tracker.store import oidc_identities
from tracker.store.models import utcnow

if TYPE_CHECKING:
    from tracker.store.models import User
    from tracker.store.uow import UnitOfWork

NO_ROLE = "Your identity provider account has no role in this app; ask your clinic's admin."
SWITCHED_OFF = "Your account in this app is switched off; ask your clinic's admin."
NOT_CONFIGURED = "Sign-in through an identity provider is not set up for this app."
TOO_OLD = "That answer from your identity provider is too old: please sign in again."
# The server's route that drops Streamlit's identity cookie (tracker/web/identity_routes.py).
FORGET_IDENTITY_PATH = "/auth/identity/forget"


@dataclass(frozen=True)
class Identity:
    """What the provider said about the person (the ID token's claims)."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    issued_at: datetime | None = None  # when the provider issued the ID token (UTC)

    @classmethod
    def from_claims(cls, claims: dict[str, object]) -> Identity | None:
        """None when the claims lack an issuer or subject (no ID token from a real provider)."""
        issuer, subject, email = claims.get("iss"), claims.get("sub"), claims.get("email")
        if not isinstance(issuer, str) or not isinstance(subject, str) or not issuer or not subject:
            return None
        if len(issuer) > 500 or len(subject) > 255:
            return None
        verified = claims.get("email_verified")
        iat = claims.get("iat")
        issued_at = None
        if isinstance(iat, int | float) and not isinstance(iat, bool) and 0 < iat < 1e11:
            issued_at = datetime.fromtimestamp(iat, UTC).replace(tzinfo=None)
        return cls(
            issuer=issuer,
            subject=subject,
            email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
            # Some providers send the JSON string "true".
            email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
            issued_at=issued_at,
        )


class IdentityRefused(Refused):
    """The provider vouched for the person, but this app has no account they may use."""


def sign_in_with_identity(app: App, identity: Identity) -> Actor:
    """The actor of the staff account this provider account signs in as; raises
    IdentityRefused (audited, no session) when there is none it may use: no linked or
    verified-email staff account (NO_ROLE), an account switched off (SWITCHED_OFF), or an
    answer older than `oidc_answer_max_age_minutes` (TOO_OLD)."""
    if not app.settings.oidc_enabled:
        raise IdentityRefused(NOT_CONFIGURED)
    with app.uow() as uow:
        if not _fresh(app, identity):
            _refused(uow, None, "answer too old")
            uow.commit()
            raise IdentityRefused(TOO_OLD)
        user, linked_now, why = _find_account(uow, identity)
        if user is None or user.role is Role.CLIENT:
            _refused(uow, user, why if user is None else "client account")
            uow.commit()
            raise IdentityRefused(NO_ROLE)
        if not user.active:
            _refused(uow, user, "switched off")
            uow.commit()
            raise IdentityRefused(SWITCHED_OFF)
        detail: dict[str, object] = {"via": "identity provider"}
        if linked_now:
            detail["linked"] = True
            if user.must_change_password:
                # A password an admin typed and nobody has changed: the person signs in
                # through the provider now, so it stops working rather than linger.
                user.password_hash = None
                user.must_change_password = False
                detail["password"] = "staff-set password removed"
        actor = _actor_for(user)
        audit.record(uow, actor, "sign_in", "user", user.id, detail=detail)
        uow.commit()
        return actor


def _fresh(app: App, identity: Identity) -> bool:
    """Streamlit keeps the provider's answer in a cookie for 30 days; the page drops it at
    once, but a tab closed during the redirect leaves it behind. Only a recent answer (a
    minute of clock difference allowed ahead) opens a session, so that cookie cannot sign
    the browser in the next day, past the idle timeout."""
    if identity.issued_at is None:
        return False
    now = utcnow()
    oldest = now - timedelta(minutes=app.settings.oidc_answer_max_age_minutes)
    return oldest <= identity.issued_at <= now + timedelta(minutes=1)


def _find_account(uow: UnitOfWork, identity: Identity) -> tuple[User | None, bool, str]:
    """(the account, whether it was linked just now, why none was found)."""
    session = uow.session
    user = oidc_identities.linked_user(session, identity.issuer, identity.subject)
    if user is not None:
        return user, False, ""
    if not identity.email:
        return None, False, "no email"
    if not identity.email_verified:
        return None, False, "email not verified"
    candidate = uow.repo.user_by_email(identity.email)
    if candidate is None:
        return None, False, "no account"
    if candidate.role is Role.CLIENT:
        return candidate, False, ""
    if oidc_identities.link_of(session, candidate.id) is not None:
        return None, False, "account linked to another identity"
    if oidc_identities.link(session, candidate.id, identity.issuer, identity.subject, utcnow()):
        return candidate, True, ""
    # A parallel first sign-in linked it: whatever it linked decides.
    user = oidc_identities.linked_user(session, identity.issuer, identity.subject)
    return user, False, "account linked to another identity"


def _refused(uow: UnitOfWork, user: User | None, why: str) -> None:
    detail: dict[str, object] = {"via": "identity provider", "refused": why}
    if user is None:  # nobody here: no email or subject in the row, as for a wrong password
        uow.repo.audit(
            actor=throttle.UNKNOWN_ACCOUNT,
            action="sign_in_failed",
            entity="user",
            entity_id=None,
            clinic_id=None,
            detail=detail,
            at=utcnow(),
        )
    else:
        audit.record(uow, _actor_for(user), "sign_in_failed", "user", user.id, detail=detail)


__all__ = [
    "FORGET_IDENTITY_PATH",
    "NO_ROLE",
    "SWITCHED_OFF",
    "TOO_OLD",
    "Identity",
    "IdentityRefused",
    "sign_in_with_identity",
]
