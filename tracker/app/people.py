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

from tracker.app import audit
from tracker.app.context import Context
from tracker.application import App
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor, PermissionDenied, require_client_access, require_staff
from tracker.store.models import LoginSession, User, utcnow
from tracker.store.uow import UnitOfWork
from tracker.text_rules import checked_text

MIN_PASSWORD_CHARS = 10


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

    @property
    def status(self) -> str:
        """The account's state in words, for the accounts table."""
        if not self.active:
            return "switched off"
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
    app, actor = ctx.app, ctx.actor
    _require_may_manage(actor, role)
    address = checked_text((email or "").strip().lower(), "The email address")
    display_name = checked_text(display_name.strip(), "The name")
    if not _EMAIL.match(address) or len(address) > 320:
        raise Refused(f"'{email}' is not an email address.")
    if password is not None:
        check_password(password)
    if (role is Role.CLIENT) != (client_id is not None):
        raise Refused("A client account needs its client record; staff accounts have none.")
    with app.uow() as uow:
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
    app, actor = ctx.app, ctx.actor
    require_staff(actor)
    with app.uow() as uow:
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
            )
            for u, name in uow.repo.accounts(actor.clinic_id, clients_only=actor.role is not Role.ADMIN)
        ]


def set_active(ctx: Context, user_id: int, active: bool) -> None:
    app, actor = ctx.app, ctx.actor
    with app.uow() as uow:
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
    app, actor = ctx.app, ctx.actor
    check_password(password)
    with app.uow() as uow:
        user = _managed_user(uow, actor, user_id)
        user.password_hash = hash_password(password)
        user.must_change_password = actor.user_id is not None and actor.user_id != user.id
        _end_sessions(uow, user.id)
        audit.record(uow, actor, "reset_password", "user", user.id)
        uow.commit()


def change_own_password(ctx: Context, current: str, new: str, *, keep_session: str | None = None) -> None:
    """Anyone signed in may change their own password; other browsers signed in as them are
    signed out (this one stays, if its session token is given)."""
    app, actor = ctx.app, ctx.actor
    if actor.user_id is None:
        raise PermissionDenied("Only a signed-in account has a password.")
    check_password(new)
    with app.uow() as uow:
        user = uow.repo.user(actor.user_id)
        if user is None or not user.active or not verify_password(current, user.password_hash):
            raise Refused("The current password is not right.")
        if verify_password(new, user.password_hash):
            raise Refused("The new password is the same as the current one.")
        user.password_hash = hash_password(new)
        _end_sessions(uow, user.id, keep=session_digest(keep_session) if keep_session else None)
        audit.record(uow, actor, "change_password", "user", user.id)
        uow.commit()


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_CHARS:
        raise Refused(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    if len(password.encode("utf-8")) > 256:
        raise Refused("A password can have at most 256 bytes.")


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


class TooManyAttempts(Refused):
    """Sign-in refused without looking at the password: too many recent failures."""


def authenticate(app: App, email: str, password: str) -> Actor | None:
    """The actor for a correct email and password, else None. Every attempt is audited.

    After `sign_in_max_failures` failures for one email within `sign_in_lockout_minutes`
    (counted since its last successful sign-in), further attempts raise TooManyAttempts
    until the window has passed, so a password cannot be guessed at speed. The same
    applies to unknown emails, so the refusal reveals nothing about which accounts exist.
    """
    from tracker.store.models import utcnow

    email = (email or "").strip().lower()
    label = email[:320] or "(empty)"
    settings = app.settings
    with app.uow() as uow:
        since = utcnow() - timedelta(minutes=settings.sign_in_lockout_minutes)
        last_ok = uow.repo.last_audit_at(label, "sign_in", since)
        failures = uow.repo.audit_count(
            label, "sign_in_failed", last_ok if last_ok and last_ok > since else since
        )
        if failures >= settings.sign_in_max_failures:
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
    return open_session(ctx.app, ctx.actor)


def open_session(app: App, actor: Actor) -> str:
    """start_session for the sign-in itself: it also opens the session of an actor who must
    change their password first (for whom no Context can be made)."""
    from tracker.store.models import utcnow

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
    """The actor of a live session token; None when unknown, ended, expired or when the
    account has been deactivated since."""
    from tracker.store.models import utcnow

    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    with app.uow() as uow:
        row = uow.repo.login_session(session_digest(token))
        if row is None or row.ended_at is not None or row.expires_at <= utcnow():
            return None
        user = uow.repo.user(row.user_id)
        if user is None or not user.active:
            return None
        return _actor_for(user)


def finish_password_change(app: App, token: str | None, new: str) -> Actor:
    """The forced change at the first sign-in after staff set the password: the session's
    person chooses their own (not the one staff typed); other sessions end. Returns the
    actor now free to use the app."""
    from tracker.store.models import utcnow

    check_password(new)
    with app.uow() as uow:
        row = uow.repo.login_session(session_digest(token)) if token and len(token) <= 200 else None
        if row is None or row.ended_at is not None or row.expires_at <= utcnow():
            raise Refused("Your sign-in has ended. Please sign in again.")
        user = uow.repo.user(row.user_id)
        if user is None or not user.active:
            raise Refused("Your sign-in has ended. Please sign in again.")
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
    from tracker.store.models import utcnow

    if not token:
        return
    with app.uow() as uow:
        row = uow.repo.login_session(session_digest(token))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            uow.commit()
