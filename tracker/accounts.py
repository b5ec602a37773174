"""Sign-in accounts of a clinic: who may create, list, switch off and reset which.

- An admin (or the operator at the command line) manages every account of the clinic.
- A practitioner may give their clients a login (create, reset its password, switch it off),
  nothing else: they are the ones who meet the client.
- Nobody can switch off their own account, so a clinic cannot lock its last admin out by a
  slip of the mouse.

Switching an account off or resetting its password ends every signed-in browser of that
account at once. Every change is audited; passwords are only ever stored as argon2 hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from tracker import audit
from tracker.auth import hash_password, session_digest, verify_password
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor, PermissionDenied, require_client_access, require_staff
from tracker.store.models import Client, LoginSession, User, utcnow
from tracker.store.uow import UnitOfWork

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


def create_account(
    app: App,
    actor: Actor,
    email: str,
    role: Role,
    password: str,
    *,
    client_id: int | None = None,
    display_name: str = "",
) -> int:
    """A new account in the actor's clinic; a client account is linked to its client record."""
    _require_may_manage(actor, role)
    address = (email or "").strip().lower()
    if not _EMAIL.match(address) or len(address) > 320:
        raise Refused(f"'{email}' is not an email address.")
    check_password(password)
    if (role is Role.CLIENT) != (client_id is not None):
        raise Refused("A client account needs its client record; staff accounts have none.")
    with app.uow() as uow:
        client = None
        if client_id is not None:
            client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
            if uow.session.scalar(select(User.id).where(User.client_id == client.id)) is not None:
                raise Refused(f"{client.name} already has a login; reset its password instead.")
        if uow.repo.user_by_email(address) is not None:
            raise Refused(f"There is already an account for {address}.")
        user = User(
            clinic_id=actor.clinic_id,
            email=address,
            display_name=display_name.strip() or (client.name if client else address),
            role=role,
            client_id=client.id if client else None,
            password_hash=hash_password(password),
        )
        uow.repo.add(user)
        uow.repo.flush()
        audit.record(uow, actor, "create_account", "user", user.id, detail={"role": role.value})
        uow.commit()
        return user.id


def list_accounts(app: App, actor: Actor) -> list[Account]:
    """Admins see every account of the clinic; practitioners the client accounts."""
    require_staff(actor)
    with app.uow() as uow:
        query = (
            select(User, Client.name)
            .outerjoin(Client, Client.id == User.client_id)
            .where(User.clinic_id == actor.clinic_id)
            .order_by(User.role, User.email)
        )
        if actor.role is not Role.ADMIN:
            query = query.where(User.role == Role.CLIENT)
        return [
            Account(u.id, u.email, u.display_name, u.role, u.client_id, name, u.active, u.created_at)
            for u, name in uow.session.execute(query)
        ]


def set_active(app: App, actor: Actor, user_id: int, active: bool) -> None:
    with app.uow() as uow:
        user = _managed_user(uow, actor, user_id)
        if not active and user.id == actor.user_id:
            raise Refused("You cannot switch off your own account.")
        user.active = active
        if not active:
            _end_sessions(uow, user.id)
        audit.record(uow, actor, "activate" if active else "deactivate", "user", user.id)
        uow.commit()


def reset_password(app: App, actor: Actor, user_id: int, password: str) -> None:
    check_password(password)
    with app.uow() as uow:
        user = _managed_user(uow, actor, user_id)
        user.password_hash = hash_password(password)
        _end_sessions(uow, user.id)
        audit.record(uow, actor, "reset_password", "user", user.id)
        uow.commit()


def change_own_password(
    app: App, actor: Actor, current: str, new: str, *, keep_session: str | None = None
) -> None:
    """Anyone signed in may change their own password; other browsers signed in as them are
    signed out (this one stays, if its session token is given)."""
    if actor.user_id is None:
        raise PermissionDenied("Only a signed-in account has a password.")
    check_password(new)
    with app.uow() as uow:
        user = uow.session.get(User, actor.user_id)
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
    user = uow.session.get(User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise PermissionDenied("No such account in your clinic.")
    _require_may_manage(actor, user.role)
    return user


def _end_sessions(uow: UnitOfWork, user_id: int, keep: str | None = None) -> None:
    query = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(LoginSession.token_sha256 != keep)
    uow.session.execute(query.values(ended_at=utcnow()))
