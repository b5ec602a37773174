"""Who may touch which client's data. Services call these; pages may hide things, but
only these checks refuse."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.domain import Role
from tracker.errors import NotAllowed
from tracker.store.models import Client, User


class PermissionDenied(NotAllowed):
    """Refused by the checks below. A missing record says the same, so ids cannot be probed."""


@dataclass(frozen=True)
class Actor:
    """The person (or local operator) a service call acts for."""

    label: str  # shown in the audit log: an email, or "cli"
    role: Role
    clinic_id: int
    user_id: int | None = None
    client_id: int | None = None  # set for role CLIENT: the one client record they are
    # Signed in with a password staff set: may do nothing but choose their own (people.py).
    must_change_password: bool = False

    @classmethod
    def operator(cls, clinic_id: int) -> Actor:
        """Whoever runs the command line on the server: full rights within one clinic."""
        return cls(label="cli", role=Role.ADMIN, clinic_id=clinic_id)


class PasswordChangeRequired(PermissionDenied):
    """The actor signed in with a password someone else set and has not chosen their own."""


def require_current_account(actor: Actor, user: User | None) -> None:
    """Refuse an actor whose account is no longer what it was at sign-in: switched off,
    deleted, moved to another clinic or role, or waiting for a new password (staff reset it).
    An open page keeps its Actor; the database says whether it may still act. The local
    operator (no account) is whoever runs the server and is not checked."""
    if actor.user_id is None:
        return
    if (
        user is None
        or not user.active
        or user.clinic_id != actor.clinic_id
        or user.role != actor.role
        or user.client_id != actor.client_id
    ):
        raise PermissionDenied("Your account is switched off or has changed: please sign in again.")
    if user.must_change_password:
        raise PasswordChangeRequired("Please choose your own password first.")


def require_client_access(actor: Actor, client: Client | None) -> Client:
    """Refuse unless `actor` may see `client`. A missing client and a client of another
    clinic give the same answer, so ids cannot be probed."""
    if client is None or client.clinic_id != actor.clinic_id:
        raise PermissionDenied("No such client in your clinic.")
    if actor.role is Role.CLIENT and actor.client_id != client.id:
        raise PermissionDenied("You can only see your own photos and progress.")
    return client


def require_staff(actor: Actor) -> None:
    if actor.role not in (Role.PRACTITIONER, Role.ADMIN):
        raise PermissionDenied("Only practitioners and admins can do this.")
