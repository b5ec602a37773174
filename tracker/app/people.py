"""Staff and client accounts, passwords and sign-in sessions: who may use the app.

Every use case that acts for someone takes a Context; signing in is the one that makes it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from tracker.app import audit, throttle
from tracker.app.context import Context
from tracker.app.password_policy import MIN_PASSWORD_CHARS as MIN_PASSWORD_CHARS
from tracker.app.password_policy import PASSWORD_ADVICE as PASSWORD_ADVICE
from tracker.app.password_policy import check_password as _check_policy
from tracker.app.password_policy import generate_password as generate_password
from tracker.app.throttle import Busy as Busy
from tracker.app.throttle import TooManyAttempts as TooManyAttempts
from tracker.application import App
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor, PermissionDenied, require_client_access, require_staff
from tracker.store import oidc_identities
from tracker.store import sign_in as sign_in_store
from tracker.store.models import LoginSession, User, utcnow
from tracker.store.uow import UnitOfWork
from tracker.text_rules import checked_text

# A signed-in browser's last use is written at most this often.
TOUCH_EVERY = timedelta(minutes=1)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    display_name: str
    role: Role
    client_id: int | None
    client_name: str | None
    active: bool
    created_at: datetime
    password_set: bool = True  # False: invited, no password chosen yet
    must_change_password: bool = False
    via_identity_provider: bool = False  # linked to an OIDC account (tracker/app/oidc.py)

    @property
    def status(self) -> str:
        """The account's state in words, for the accounts table."""
        if not self.active:
            return "switched off"
        if self.via_identity_provider:
            return "signs in through the identity provider"
        if not self.password_set:
            return "invited: no password yet"
        return "must choose a new password" if self.must_change_password else "active"


def create_account(
    ctx: Context,
    email: str,
    role: Role,
    password: str | None,
    *,
    client_id: int | None = None,
    display_name: str = "",
) -> int:
    """A new account in the actor's clinic; a client account is linked to its client record.

    `password` None creates it without one, to be set through an invite link (invite_link).
    A password typed by a signed-in staff member is one they know, so the person must choose
    their own at the first sign-in; the server's operator (the command line, creating the
    first admin for themselves) sets a final one."""
    actor = ctx.actor
    _require_may_manage(actor, role)
    address = checked_text((email or "").strip().lower(), "The email address")
    display_name = checked_text(display_name.strip(), "The name")
    if not _EMAIL.match(address) or len(address) > 320:
        raise Refused(f"'{email}' is not an email address.")
    if password is not None:
        check_password(password, address)
    if (role is Role.CLIENT) != (client_id is not None):
        raise Refused("A client account needs its client record; staff accounts have none.")
    with ctx.uow() as uow:
        client = None
        if client_id is not None:
            client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
            if uow.repo.client_has_login(actor.clinic_id, client.id):
                raise Refused(f"{client.name} already has a login; reset its password instead.")
        if uow.repo.user_by_email(address) is not None:
            raise Refused(f"There is already an account for {address}.")
        user = User(
            clinic_id=actor.clinic_id,
            email=address,
            display_name=display_name.strip() or (client.name if client else address),
            role=role,
            client_id=client.id if client else None,
            password_hash=hash_password(password) if password is not None else None,
            must_change_password=password is not None and actor.user_id is not None,
        )
        uow.repo.add(user)
        uow.repo.flush()
        audit.record(
            uow,
            actor,
            "create_account",
            "user",
            user.id,
            detail={"role": role.value, "password": "set by staff" if password is not None else "invite"},
        )
        uow.commit()
        return user.id


def list_accounts(ctx: Context) -> list[Account]:
    """Admins see every account of the clinic; practitioners the client accounts."""
    actor = ctx.actor
    require_staff(actor)
    with ctx.uow() as uow:
        linked = oidc_identities.linked_user_ids(uow.session, actor.clinic_id)
        return [
            Account(
                u.id,
                u.email,
                u.display_name,
                u.role,
                u.client_id,
                name,
                u.active,
                u.created_at,
                password_set=u.password_hash is not None,
                must_change_password=u.must_change_password,
                via_identity_provider=u.id in linked,
            )
            for u, name in uow.repo.accounts(actor.clinic_id, clients_only=actor.role is not Role.ADMIN)
        ]


def set_active(ctx: Context, user_id: int, active: bool) -> None:
    actor = ctx.actor
    with ctx.uow() as uow:
        user = _managed_user(uow, actor, user_id)
        if not active and user.id == actor.user_id:
            raise Refused("You cannot switch off your own account.")
        user.active = active
        if not active:
            _end_sessions(uow, user.id)
        audit.record(uow, actor, "activate" if active else "deactivate", "user", user.id)
        uow.commit()


def reset_password(ctx: Context, user_id: int, password: str) -> None:
    """Staff type a new password (and tell it): the person must choose their own at the
    next sign-in, as after create_account."""
    actor = ctx.actor
    with ctx.uow() as uow:
        user = _managed_user(uow, actor, user_id)
        check_password(password, user.email)
        user.password_hash = hash_password(password)
        user.must_change_password = actor.user_id is not None and actor.user_id != user.id
        _end_sessions(uow, user.id)
        audit.record(uow, actor, "reset_password", "user", user.id)
        uow.commit()


def change_own_password(ctx: Context, current: str, new: str, *, keep_session: str | None = None) -> None:
    """Anyone signed in may change their own password; other browsers signed in as them are
    signed out (this one stays, if its session token is given).

    A wrong current password is a failed sign-in for the account's email: counted before
    the check, audited, and locked out like sign-in, so this form is no way around it."""
    app, actor = ctx.app, ctx.actor
    if actor.user_id is None:
        raise PermissionDenied("Only a signed-in account has a password.")
    with ctx.uow() as uow:
        user = uow.repo.user(actor.user_id)
        if user is None or not user.active:
            raise Refused("The current password is not right.")
        email = user.email
    check_password(new, email)
    key = throttle.email_key(app.settings, email)
    _count_or_refuse(app, [key], user)
    with throttle.password_check(app.settings):
        right = verify_password(current, user.password_hash)
        same = right and verify_password(new, user.password_hash)
    with ctx.uow() as uow:
        if not right:
            audit.record(uow, actor, "change_password_failed", "user", user.id)
            uow.commit()
            raise Refused("The current password is not right.")
        sign_in_store.clear_attempts(uow.session, key.digest)
        if same:
            uow.commit()
            raise Refused("The new password is the same as the current one.")
        row = uow.repo.user(user.id)
        if row is None or not row.active:
            raise Refused("The current password is not right.")
        row.password_hash = hash_password(new)
        _end_sessions(uow, row.id, keep=session_digest(keep_session) if keep_session else None)
        audit.record(uow, actor, "change_password", "user", row.id)
        uow.commit()


def check_password(password: str, email: str | None = None) -> None:
    """Refuse a password the policy does not accept (tracker/app/password_policy.py)."""
    _check_policy(password, email)


def _require_may_manage(actor: Actor, role: Role) -> None:
    require_staff(actor)
    if actor.role is not Role.ADMIN and role is not Role.CLIENT:
        raise PermissionDenied("Only an admin can manage staff accounts.")


def _managed_user(uow: UnitOfWork, actor: Actor, user_id: int) -> User:
    user = uow.repo.user(user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise PermissionDenied("No such account in your clinic.")
    _require_may_manage(actor, user.role)
    return user


def _end_sessions(uow: UnitOfWork, user_id: int, keep: str | None = None) -> None:
    uow.repo.end_login_sessions(user_id, utcnow(), keep=keep)


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


def authenticate(app: App, email: str, password: str, source: str | None = None) -> Actor | None:
    """The actor for a correct email and password, else None. Every attempt is audited
    (by account id and clinic; an unknown email is "unknown account", never the text typed).

    Each attempt is counted before the password is checked, per email and per source
    address when it is known (tracker/app/throttle.py): beyond `sign_in_max_failures` for one
    email (or `sign_in_max_failures_per_source` from one address) within
    `sign_in_lockout_minutes`, further attempts raise TooManyAttempts until the window has
    passed, without a check. A correct password starts the email's count again. Unknown
    emails are counted alike, so the refusal reveals nothing about which accounts exist.
    Raises Busy when too many checks are running at once.
    """
    email = (email or "").strip().lower()
    settings = app.settings
    keys = [throttle.email_key(settings, email)]
    by_source = throttle.source_key(settings, source)
    if by_source is not None:
        keys.append(by_source)
    with app.uow() as uow:
        user = uow.repo.user_by_email(email) if email else None
    _count_or_refuse(app, keys, user)
    try:
        with throttle.password_check(settings):
            ok = verify_password(password or "", user.password_hash if user else _DUMMY_HASH)
    except Busy:
        with app.uow() as uow:  # not a failure: nothing was checked
            for key in keys:
                sign_in_store.give_back_attempt(uow.session, key.digest)
            uow.commit()
        raise
    ok = ok and user is not None and user.active
    # With OIDC sign-in and staff passwords switched off, only clients use theirs.
    by_provider_only = (
        user is not None and user.role is not Role.CLIENT and not settings.oidc_staff_password_sign_in
    )
    ok = ok and not by_provider_only
    with app.uow() as uow:
        if ok:
            sign_in_store.clear_attempts(uow.session, keys[0].digest)
            for key in keys[1:]:
                sign_in_store.give_back_attempt(uow.session, key.digest)
        action = "sign_in" if ok else "sign_in_failed"
        if user is not None:
            detail = {"refused": "staff sign in through the identity provider"} if by_provider_only else None
            audit.record(uow, _actor_for(user), action, "user", user.id, detail=detail)
        else:
            uow.repo.audit(
                actor=throttle.UNKNOWN_ACCOUNT, action=action, entity="user", entity_id=None, clinic_id=None
            )
        uow.commit()
    if not ok or user is None:
        return None
    return _actor_for(user)


def _count_or_refuse(app: App, keys: list[throttle.Key], user: User | None) -> None:
    """Count the attempt under every key (the first statements of their transaction, so
    they wait for the write lock rather than read first); raise TooManyAttempts if any is
    over its limit. The first refusal of a window writes its one "sign_in_locked" event;
    later ones only raise its count."""
    settings = app.settings
    with app.uow() as uow:
        counted = [(key, *throttle.count_attempt(uow, settings, key)) for key in keys]
        over = [(key, number, event) for key, number, event in counted if number > key.limit]
        for key, number, event in over:
            known = user if key.kind == "email" else None
            detail: dict[str, object] = {
                "by": key.kind,
                "refused": number - key.limit,
                "window_minutes": settings.sign_in_lockout_minutes,
            }
            if event is None:
                event = sign_in_store.add_lockout_event(
                    uow.session,
                    actor=audit.user_label(known.id) if known else throttle.UNKNOWN_ACCOUNT,
                    actor_user_id=known.id if known else None,
                    clinic_id=known.clinic_id if known else None,
                    detail=detail,
                    at=utcnow(),
                )
                sign_in_store.note_lockout_event(uow.session, key.digest, event)
            else:
                sign_in_store.set_refused_count(uow.session, event, detail)
        uow.commit()
    if over:
        raise throttle.refusal(settings, over[0][0])


def _actor_for(user: User) -> Actor:
    from tracker.permissions import Actor

    return Actor(
        label=user.email,
        role=user.role,
        clinic_id=user.clinic_id,
        user_id=user.id,
        client_id=user.client_id,
        must_change_password=user.must_change_password,
    )


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(ctx: Context) -> str:
    """A new session token for a signed-in actor (the only copy is returned)."""
    ctx.require_account()
    return open_session(ctx.app, ctx.actor)


def open_session(app: App, actor: Actor) -> str:
    """start_session for the sign-in itself: it also opens the session of an actor who must
    change their password first (for whom no Context can be made)."""
    if actor.user_id is None:
        raise ValueError("only a user account can have a login session")
    token = secrets.token_urlsafe(32)
    with app.uow() as uow:
        now = utcnow()
        uow.repo.add(
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
    """The actor of a live session token; None when unknown, ended, expired, unused for
    `session_idle_minutes` (a browser left signed in at a shared reception desk), or when
    the account has been deactivated since. Each use is recorded, at most once a minute."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    now = utcnow()
    digest = session_digest(token)
    with app.uow() as uow:
        row = uow.repo.login_session(digest)
        if not _live(app, row, now):
            return None
        assert row is not None
        user = uow.repo.user(row.user_id)
        if user is None or not user.active:
            return None
        actor = _actor_for(user)
        last_used = row.last_used_at or row.created_at
    if last_used <= now - TOUCH_EVERY:
        with app.uow() as uow:  # its own transaction, the write first (see sign_in_store)
            sign_in_store.touch_login_session(uow.session, digest, now, now - TOUCH_EVERY)
            uow.commit()
    return actor


def _live(app: App, row: LoginSession | None, now: datetime) -> bool:
    """Not ended, not past its lifetime, and used within the idle timeout."""
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return False
    idle_since = now - timedelta(minutes=app.settings.session_idle_minutes)
    return (row.last_used_at or row.created_at) > idle_since


def finish_password_change(app: App, token: str | None, new: str) -> Actor:
    """The forced change at the first sign-in after staff set the password: the session's
    person chooses their own (not the one staff typed); other sessions end. Returns the
    actor now free to use the app."""
    with app.uow() as uow:
        row = uow.repo.login_session(session_digest(token)) if token and len(token) <= 200 else None
        if not _live(app, row, utcnow()):
            raise Refused("Your sign-in has ended. Please sign in again.")
        assert row is not None
        user = uow.repo.user(row.user_id)
        if user is None or not user.active:
            raise Refused("Your sign-in has ended. Please sign in again.")
        check_password(new, user.email)
        if verify_password(new, user.password_hash):
            raise Refused("Please choose a password of your own, not the one the clinic gave you.")
        user.password_hash = hash_password(new)
        user.must_change_password = False
        _end_sessions(uow, user.id, keep=row.token_sha256)
        actor = _actor_for(user)
        audit.record(uow, actor, "forced_password_change", "user", user.id)
        uow.commit()
        return actor


def end_session(app: App, token: str | None) -> None:
    """Sign-out: the token stops working everywhere at once."""
    if not token:
        return
    with app.uow() as uow:
        row = uow.repo.login_session(session_digest(token))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            uow.commit()
