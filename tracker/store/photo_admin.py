"""The SQL of photo management (tracker.app.photo_admin): which photo a series should
count from, and a client's own recent uploads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.domain import PhotoKind
from tracker.store.models import Client, Photo, TreatmentSession


def first_photo(session: Session, clinic_id: int, course_id: int) -> int | None:
    """The photo a course's series should count from: the earliest before-photo of its
    earliest session that has one, else the course's earliest photo of any kind."""
    base = (
        select(Photo.id)
        .join(Client, Client.id == Photo.client_id)
        .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
        .where(Client.clinic_id == clinic_id, TreatmentSession.course_id == course_id)
    )
    order = (TreatmentSession.number, Photo.taken_at, Photo.id)
    before = session.scalar(base.where(Photo.kind == PhotoKind.BEFORE).order_by(*order).limit(1))
    if before is not None:
        return int(before)
    anything = session.scalar(base.order_by(*order).limit(1))
    return int(anything) if anything is not None else None


def uploads_since(
    session: Session, clinic_id: int, client_id: int, uploader_id: int, since: datetime
) -> list[tuple[Photo, int]]:
    """(photo, session number) of the photos this person uploaded for the client since
    `since` (UTC), newest first."""
    rows = session.execute(
        select(Photo, TreatmentSession.number)
        .join(Client, Client.id == Photo.client_id)
        .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
        .where(
            Client.clinic_id == clinic_id,
            Photo.client_id == client_id,
            Photo.uploader_id == uploader_id,
            Photo.created_at >= since,
        )
        .order_by(Photo.created_at.desc(), Photo.id.desc())
    )
    return [(photo, int(number)) for photo, number in rows]
