"""What the app keeps only for a while, and the command that deletes it after that.

Unauthenticated requests write rows (a failed sign-in's audit event, its throttle count) and
every sign-in leaves a session row, so without a purge these tables grow for ever. A
scheduler runs `python -m tracker purge` daily (deploy/systemd/tracker-purge.timer).

An operator's command for the whole server, like `demo-off`: it takes the App, not a
Context, and no page calls it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.app import throttle
from tracker.application import App
from tracker.store import retention as store
from tracker.store.models import utcnow


@dataclass(frozen=True)
class Purged:
    login_sessions: int
    throttle_rows: int
    audit_events: int  # 0 also when audit_retention_days is 0 (kept for ever)


def purge(app: App, now: datetime | None = None) -> Purged:
    """Delete sign-in sessions ended or expired more than `login_session_retention_days`
    ago, throttle counts whose window has passed, and audit events older than
    `audit_retention_days` (unless 0); the purge itself is audited with its counts."""
    settings = app.settings
    now = now or utcnow()
    with app.uow() as uow:
        sessions = store.delete_login_sessions(
            uow.session, now - timedelta(days=settings.login_session_retention_days)
        )
        counts = store.delete_throttle_rows(uow.session, throttle.window_over(settings, now))
        events = 0
        if settings.audit_retention_days > 0:
            events = store.delete_audit_events(
                uow.session, now - timedelta(days=settings.audit_retention_days)
            )
        purged = Purged(sessions, counts, events)
        uow.repo.audit(
            actor="system",
            action="purge",
            entity="retention",
            entity_id=None,
            clinic_id=None,
            detail={"login_sessions": sessions, "throttle_rows": counts, "audit_events": events},
            at=now,
        )
        uow.commit()
        return purged
