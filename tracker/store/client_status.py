"""The SQL of the dashboard's cache, `client_status` (tracker/app/dashboard.py explains
the cache and when a row is stale). Each function takes the clinic id and reads or writes
only that clinic's rows (`only`: just that client's)."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, Table, bindparam, cast, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.store.models import (
    AnalysisResult,
    Client,
    ClientStatus,
    Photo,
    PhotoSeries,
    TreatmentCourse,
    TreatmentSession,
)

# The table, for Core statements (executemany, no ORM bookkeeping).
STATUS = typing.cast(Table, ClientStatus.__table__)

# A cached row: (signature, valid_from, valid_until, data).
Cached = tuple[str | None, date | None, date | None, dict[str, Any] | None]


def input_traces(session: Session, clinic_id: int, only: int | None) -> dict[int, list[Any]]:
    """Everything the signature of each client digests, in six queries for the whole
    clinic whatever its size: [name, intake, input_version, ("course", …), ("session", …),
    ("photos", …), ("results", …), ("series", …)]. Text casts skip JSON and date parsing:
    only equality matters here."""

    def scoped(query: Any) -> Any:
        query = query.where(Client.clinic_id == clinic_id)
        return query.where(Client.id == only) if only is not None else query

    parts: dict[int, list[Any]] = {}
    for cid, name, intake, version in session.execute(
        scoped(
            select(Client.id, Client.name, cast(Client.intake, String), ClientStatus.input_version)
            .outerjoin(ClientStatus, ClientStatus.client_id == Client.id)
            .order_by(Client.id)
        )
    ):
        parts[cid] = [name, intake, version]
    course_of: dict[int, int] = {}
    for row in session.execute(
        scoped(
            select(
                TreatmentCourse.client_id,
                TreatmentCourse.id,
                TreatmentCourse.concern,
                TreatmentCourse.planned_sessions,
                TreatmentCourse.interval_weeks,
                TreatmentCourse.upkeep_interval_weeks,
                TreatmentCourse.body_area,
            )
            .join(Client, Client.id == TreatmentCourse.client_id)
            .order_by(TreatmentCourse.id)
        )
    ):
        parts[row[0]].append(("course", *row[1:]))
        course_of[row[1]] = row[0]
    for course_id, *session_row in session.execute(
        scoped(
            select(
                TreatmentSession.course_id,
                TreatmentSession.id,
                TreatmentSession.number,
                cast(TreatmentSession.at, String),
                TreatmentSession.client_rating,
            )
            .join(TreatmentCourse, TreatmentCourse.id == TreatmentSession.course_id)
            .join(Client, Client.id == TreatmentCourse.client_id)
            .order_by(TreatmentSession.id)
        )
    ):
        parts[course_of[course_id]].append(("session", *session_row))
    for row in session.execute(
        scoped(
            select(Photo.client_id, func.count(Photo.id), func.sum(Photo.id), func.max(Photo.id))
            .join(Client, Client.id == Photo.client_id)
            .group_by(Photo.client_id)
        )
    ):
        parts[row[0]].append(("photos", *row[1:]))
    for row in session.execute(
        scoped(
            select(
                AnalysisResult.client_id,
                func.count(AnalysisResult.id),
                func.sum(AnalysisResult.id),
                func.max(AnalysisResult.id),
            )
            .join(Client, Client.id == AnalysisResult.client_id)
            .group_by(AnalysisResult.client_id)
        )
    ):
        parts[row[0]].append(("results", *row[1:]))
    for row in session.execute(
        scoped(
            select(
                TreatmentCourse.client_id,
                PhotoSeries.id,
                PhotoSeries.baseline_photo_id,
                cast(PhotoSeries.updated_at, String),
            )
            .join(TreatmentCourse, TreatmentCourse.id == PhotoSeries.course_id)
            .join(Client, Client.id == TreatmentCourse.client_id)
            .order_by(PhotoSeries.id)
        )
    ):
        parts[row[0]].append(("series", *row[1:]))
    return parts


def cached_rows(session: Session, clinic_id: int, only: int | None) -> dict[int, Cached]:
    """{client id: its cached row}."""
    scope = ClientStatus.clinic_id == clinic_id
    if only is not None:
        scope = scope & (ClientStatus.client_id == only)
    return {
        cid: (sig, start, end, data)
        for cid, sig, start, end, data in session.execute(
            select(
                ClientStatus.client_id,
                ClientStatus.signature,
                ClientStatus.valid_from,
                ClientStatus.valid_until,
                ClientStatus.data,
            ).where(scope)
        )
    }


def add_missing_rows(session: Session, clinic_id: int, only: int | None) -> bool:
    """Insert an empty row for each client that has none; whether any was inserted (the
    caller commits). False too when another view inserted them first: the transaction is
    rolled back then, and the rows are there."""
    query = (
        select(Client.id)
        .outerjoin(ClientStatus, ClientStatus.client_id == Client.id)
        .where(Client.clinic_id == clinic_id, ClientStatus.client_id.is_(None))
    )
    if only is not None:
        query = query.where(Client.id == only)
    missing = list(session.scalars(query))
    if not missing:
        return False
    rows = [{"client_id": cid, "clinic_id": clinic_id, "input_version": 0} for cid in missing]
    try:
        session.execute(insert(STATUS), rows)
    except IntegrityError:
        session.rollback()
        return False
    return True


def store_rows(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Write computed rows ({"cid", "sig", "start", "end", "data"} each) in one
    executemany; `input_version` is the writers' column and is left alone."""
    table = STATUS
    statement = (
        update(table)
        .where(table.c.client_id == bindparam("cid"))
        .values(
            signature=bindparam("sig"),
            valid_from=bindparam("start"),
            valid_until=bindparam("end"),
            data=bindparam("data", type_=table.c.data.type),
            computed_at=bindparam("at"),
        )
    )
    session.connection().execute(statement, [{**row, "at": now} for row in rows])
