"""Sign-in throttle counts and the last use of login sessions.

Each write here is one statement that decides from the row as it is when the database
applies it (no read first, then a write), so parallel requests cannot both see the old
value: on SQLite the statement waits for the write lock, on PostgreSQL for the row lock.
Plain SQLAlchemy Core (UPDATE ... RETURNING, SQLite 3.35+ and PostgreSQL), no dialect's
own upsert."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.store.models import AuditEvent, LoginSession, SignInThrottle


def count_attempt(
    session: Session, key: str, now: datetime, window_starts_after: datetime
) -> tuple[int, int | None]:
    """Count one attempt for `key` and return (its number within the window, the window's
    lockout audit event if one was written). A window that started at or before
    `window_starts_after` is over: the count starts again at 1.

    Call it first in a fresh transaction: the UPDATE then takes the write lock before any
    read, so the transaction never has to upgrade a read snapshot (which SQLite refuses
    under contention instead of waiting)."""
    for _ in range(3):
        found = _bump(session, key, now, window_starts_after)
        if found is not None:
            return found
        try:
            with session.begin_nested():  # a parallel first attempt may insert it too
                session.add(SignInThrottle(key=key, window_start=now, attempts=1))
            return 1, None
        except IntegrityError:
            continue
    raise RuntimeError("the sign-in throttle row could be neither inserted nor updated")


def _bump(session: Session, key: str, now: datetime, over: datetime) -> tuple[int, int | None] | None:
    t = SignInThrottle
    expired = t.window_start <= over
    row = session.execute(
        update(t)
        .where(t.key == key)
        .values(
            window_start=case((expired, now), else_=t.window_start),
            attempts=case((expired, 1), else_=t.attempts + 1),
            locked_event_id=case((expired, None), else_=t.locked_event_id),
        )
        .returning(t.attempts, t.locked_event_id)
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else (int(row[0]), row[1])


def note_lockout_event(session: Session, key: str, event_id: int) -> None:
    """Remember the window's one lockout audit event, to keep its count current."""
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == key)
        .values(locked_event_id=event_id)
        .execution_options(synchronize_session=False)
    )


def set_refused_count(session: Session, event_id: int, detail: dict[str, object]) -> None:
    """Rewrite the lockout event's detail with the refused count so far: one row per
    window, however many attempts are refused."""
    session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == event_id)
        .values(detail=detail)
        .execution_options(synchronize_session=False)
    )


def clear_attempts(session: Session, key: str) -> None:
    """A correct password for this email: its count starts again."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


def give_back_attempt(session: Session, key: str) -> None:
    """An attempt that was not a failure (a success, or refused as busy before any check)
    no longer counts against its source address."""
    t = SignInThrottle
    session.execute(
        update(t)
        .where(t.key == key, t.attempts > 0)
        .values(attempts=t.attempts - 1)
        .execution_options(synchronize_session=False)
    )


def touch_login_session(session: Session, token_sha256: str, now: datetime, unless_since: datetime) -> None:
    """Record that the session was used now, unless that was recorded after `unless_since`
    already (so a busy tab writes at most once a minute)."""
    s = LoginSession
    session.execute(
        update(s)
        .where(s.token_sha256 == token_sha256, or_(s.last_used_at.is_(None), s.last_used_at <= unless_since))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def add_lockout_event(
    session: Session,
    *,
    actor: str,
    actor_user_id: int | None,
    clinic_id: int | None,
    detail: dict[str, object],
    at: datetime,
) -> int:
    """The window's one "sign_in_locked" audit event; its id, to keep its count current."""
    event = AuditEvent(
        actor=actor,
        actor_user_id=actor_user_id,
        action="sign_in_locked",
        entity="user",
        entity_id=actor_user_id,
        clinic_id=clinic_id,
        detail=detail,
        at=at,
    )
    session.add(event)
    session.flush()
    return int(event.id)
