"""The one-time cookie codes' table: added, and taken out once.

Redeeming is one DELETE ... RETURNING (SQLite 3.35+ and PostgreSQL): of two replicas that
get the same code at once, exactly one deletes the row and sees it; the other gets nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from tracker.store.models import CookieCode


def add_code(
    session: Session, code_sha256: str, sealed_token: str, expires_at: datetime, now: datetime
) -> None:
    """Store a new code; codes already expired go at the same time, so the table stays small."""
    session.execute(delete(CookieCode).where(CookieCode.expires_at <= now))
    session.add(CookieCode(code_sha256=code_sha256, sealed_token=sealed_token, expires_at=expires_at))


def take_code(session: Session, code_sha256: str, now: datetime) -> str | None:
    """The sealed token of a live code, removing the code (used or not, it is gone)."""
    row = session.execute(
        delete(CookieCode)
        .where(CookieCode.code_sha256 == code_sha256)
        .returning(CookieCode.sealed_token, CookieCode.expires_at)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return str(row.sealed_token)
