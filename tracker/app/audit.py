"""The append-only audit log: who did what to which record, and when (design §8).

One helper so every service writes the same fields; rows are only ever added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from tracker.app.context import Context
from tracker.domain import JsonObject, Role
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import utcnow
from tracker.store.uow import UnitOfWork

if TYPE_CHECKING:
    pass

MAX_EVENTS_SHOWN = 1000


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: JsonObject | None = None,
) -> None:
    """Add an audit row to the unit of work; it is committed (or rolled back) with it."""
    uow.repo.audit(
        actor=actor.label,
        actor_user_id=actor.user_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        clinic_id=actor.clinic_id,
        detail=detail,
        at=utcnow(),
    )


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    detail: JsonObject


def clinic_events(
    ctx: Context,
    *,
    since: date,
    until: date,
    who: str = "",
    action: str = "",
    limit: int = MAX_EVENTS_SHOWN,
) -> list[Event]:
    """The clinic's audit trail between two days (inclusive), newest first; admins only.

    Sign-in attempts carry no clinic when the email is unknown; those of the clinic's own
    accounts are included through the account's email."""
    actor = ctx.actor
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can read the audit log.")
    start = datetime.combine(since, time.min)
    end = datetime.combine(until, time.min) + timedelta(days=1)
    with ctx.uow() as uow:
        rows = uow.repo.audit_events(
            actor.clinic_id,
            start,
            end,
            who=who.strip().lower(),
            action=action,
            limit=max(1, min(limit, MAX_EVENTS_SHOWN)),
        )
        return [Event(e.at, e.actor, e.action, e.entity, e.entity_id, dict(e.detail or {})) for e in rows]
