"""The SQL of flag reviews (tracker/app/flags.py): practitioners' actions on flags, one row
per action. Each function takes the clinic id and reads only that clinic's rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.store.models import Client, FlagReview


def clinic_reviews(session: Session, clinic_id: int, only: int | None = None) -> Sequence[FlagReview]:
    """Every review row of the clinic's clients (or of client `only`), oldest first, so the
    last row seen for a (client, key) is its current state. One query for the dashboard."""
    query = (
        select(FlagReview)
        .join(Client, Client.id == FlagReview.client_id)
        .where(Client.clinic_id == clinic_id)
        .order_by(FlagReview.id)
    )
    if only is not None:
        query = query.where(FlagReview.client_id == only)
    return session.scalars(query).all()


def latest_state(session: Session, client_id: int, flag_key: str) -> str | None:
    """The latest action on one flag of one client ("resolved", "snoozed", …), or None."""
    query = (
        select(FlagReview.state)
        .where(FlagReview.client_id == client_id, FlagReview.flag_key == flag_key)
        .order_by(FlagReview.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
