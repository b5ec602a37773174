"""Deleting what is kept only for a while: sign-in sessions long over, throttle counts of
windows that have passed, and audit events older than the retention period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from tracker.store.models import AuditEvent, LoginSession, SignInThrottle


def delete_login_sessions(session: Session, over_before: datetime) -> int:
    """Sessions that ended, or expired, before `over_before`."""
    s = LoginSession
    result = session.execute(
        delete(s).where(or_(s.ended_at < over_before, s.expires_at < over_before)),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_throttle_rows(session: Session, window_over: datetime) -> int:
    """Counts whose window started at or before `window_over` (the window has passed)."""
    result = session.execute(
        delete(SignInThrottle).where(SignInThrottle.window_start <= window_over),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_audit_events(session: Session, before: datetime) -> int:
    result = session.execute(
        delete(AuditEvent).where(AuditEvent.at < before), execution_options={"synchronize_session": False}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
