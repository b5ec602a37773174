"""Local accounts: password hashing with argon2 (pwdlib); bcrypt hashes still verify."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy import func, select

from tracker.errors import Refused


@cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(), BcryptHasher()))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher().verify(password, password_hash)
    except ValueError:  # bcrypt 5 raises on passwords over 72 bytes
        return False


# Verifying against this when the email is unknown keeps the response time the same, so
# the sign-in form does not reveal which emails have accounts.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$fEnAmPr45wJhxqIAXhpOEg$aSnaLs2k83DK56sENFvxcZ1cqIdlW6694ibjfnVaXIs"
)

if TYPE_CHECKING:
    from tracker.bootstrap import App
    from tracker.permissions import Actor
    from tracker.store.models import User


class TooManyAttempts(Refused):
    """Sign-in refused without looking at the password: too many recent failures."""


def authenticate(app: App, email: str, password: str) -> Actor | None:
    """The actor for a correct email and password, else None. Every attempt is audited.

    After `sign_in_max_failures` failures for one email within `sign_in_lockout_minutes`
    (counted since its last successful sign-in), further attempts raise TooManyAttempts
    until the window has passed, so a password cannot be guessed at speed. The same
    applies to unknown emails, so the refusal reveals nothing about which accounts exist.
    """
    from tracker.store.models import AuditEvent, utcnow

    email = (email or "").strip().lower()
    label = email[:320] or "(empty)"
    settings = app.settings
    with app.uow() as uow:
        since = utcnow() - timedelta(minutes=settings.sign_in_lockout_minutes)
        attempts = select(func.max(AuditEvent.at)).where(
            AuditEvent.actor == label, AuditEvent.action == "sign_in", AuditEvent.at >= since
        )
        last_ok = uow.session.scalar(attempts)
        failures = uow.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.actor == label,
                AuditEvent.action == "sign_in_failed",
                AuditEvent.at >= (last_ok if last_ok and last_ok > since else since),
            )
        )
        if (failures or 0) >= settings.sign_in_max_failures:
            uow.repo.audit(
                actor=label, action="sign_in_locked", entity="user", entity_id=None, clinic_id=None
            )
            uow.commit()
            raise TooManyAttempts(
                "Too many failed sign-ins for this email. Please wait "
                f"{settings.sign_in_lockout_minutes:g} minutes, or ask the clinic to reset the password."
            )
        user = uow.repo.user_by_email(email) if email else None
        ok = verify_password(password or "", user.password_hash if user else _DUMMY_HASH)
        ok = ok and user is not None and user.active
        uow.repo.audit(
            actor=label,
            actor_user_id=user.id if user else None,
            action="sign_in" if ok else "sign_in_failed",
            entity="user",
            entity_id=user.id if user else None,
            clinic_id=user.clinic_id if user else None,
        )
        uow.commit()
        if not ok or user is None:
            return None
        return _actor_for(user)


def _actor_for(user: User) -> Actor:
    from tracker.permissions import Actor

    return Actor(
        label=user.email, role=user.role, clinic_id=user.clinic_id, user_id=user.id, client_id=user.client_id
    )


# Signed-in browsers ------------------------------------------------------------------------
# Streamlit keeps its session state per browser tab connection, so a reload would sign the
# person out. A random token, kept by the browser in a cookie and stored here only as its
# SHA-256, lets a reload (or a second tab) resume. Ending it on the server is what signs
# out: a copied cookie is worthless after sign-out or expiry.


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(app: App, actor: Actor) -> str:
    """A new session token for a signed-in actor (the only copy is returned)."""
    from tracker.store.models import LoginSession, utcnow

    if actor.user_id is None:
        raise ValueError("only a user account can have a login session")
    token = secrets.token_urlsafe(32)
    with app.uow() as uow:
        now = utcnow()
        uow.session.add(
            LoginSession(
                token_sha256=session_digest(token),
                user_id=actor.user_id,
                created_at=now,
                expires_at=now + timedelta(hours=app.settings.session_hours),
            )
        )
        uow.commit()
    return token


def resume_session(app: App, token: str | None) -> Actor | None:
    """The actor of a live session token; None when unknown, ended, expired or when the
    account has been deactivated since."""
    from tracker.store.models import LoginSession, User, utcnow

    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    with app.uow() as uow:
        row = uow.session.get(LoginSession, session_digest(token))
        if row is None or row.ended_at is not None or row.expires_at <= utcnow():
            return None
        user = uow.session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return _actor_for(user)


def end_session(app: App, token: str | None) -> None:
    """Sign-out: the token stops working everywhere at once."""
    from tracker.store.models import LoginSession, utcnow

    if not token:
        return
    with app.uow() as uow:
        row = uow.session.get(LoginSession, session_digest(token))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            uow.commit()
