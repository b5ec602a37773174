"""The append-only audit log: who did what to which record, and when (brief §8).

One helper so every service writes the same fields; rows are only ever added."""

from __future__ import annotations

from typing import Any

from tracker.permissions import Actor
from tracker.store.models import utcnow
from tracker.store.uow import UnitOfWork


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any] | None = None,
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
