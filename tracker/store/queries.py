"""Read-side queries of the views: loads shaped for one reader, in a few round trips.

Unlike the Repository (uow.py), which hands out ORM rows for use cases to change, these
return plain values. Each takes the clinic id, so no caller can cross its boundary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.progress.facts import CourseFacts, PhotoFacts, SessionFacts
from tracker.progress.plans import CoursePlan
from tracker.store.models import AnalysisResult, Client, Photo, TreatmentCourse, TreatmentSession


def client_names(session: Session, clinic_id: int, client_id: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the clinic's clients (or of the one client), by name: what a pick
    list needs, without their courses and photos."""
    query = select(Client.id, Client.name).where(Client.clinic_id == clinic_id)
    if client_id is not None:
        query = query.where(Client.id == client_id)
    return [(int(cid), str(name)) for cid, name in session.execute(query.order_by(Client.name, Client.id))]


def photo_provenance(
    session: Session, clinic_id: int, client_id: int, photo_ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """{photo id: (original's SHA-256, where its capture time came from)} of those of the
    photos that are the client's; any other id is left out."""
    rows = session.execute(
        select(Photo.id, Photo.original_sha256, Photo.taken_at_source)
        .join(Client, Client.id == Photo.client_id)
        .where(Client.clinic_id == clinic_id, Photo.client_id == client_id, Photo.id.in_(photo_ids))
    )
    return {int(pid): (str(sha), str(source)) for pid, sha, source in rows}


def course_facts(
    session: Session, clinic_id: int, client_ids: Sequence[int], today: date
) -> tuple[dict[int, CourseFacts], dict[int, str]]:
    """The facts of each client's current (latest) course, in four queries whatever the
    number of clients, and the names of the clients found in the clinic (a client without
    a course has a name and no facts; a client not found has neither)."""
    ids = sorted(set(client_ids))
    clients = {
        row.id: row
        for row in session.execute(
            select(Client.id, Client.name, Client.intake, Client.ita_deg, Client.ita_calibrated).where(
                Client.clinic_id == clinic_id, Client.id.in_(ids)
            )
        )
    }
    latest = (
        select(func.max(TreatmentCourse.id))
        .where(TreatmentCourse.client_id.in_(list(clients)))
        .group_by(TreatmentCourse.client_id)
    )
    courses = {
        c.id: c for c in session.scalars(select(TreatmentCourse).where(TreatmentCourse.id.in_(latest)))
    }
    sessions: dict[int, list[SessionFacts]] = {course_id: [] for course_id in courses}
    for s in session.scalars(
        select(TreatmentSession)
        .where(TreatmentSession.course_id.in_(list(courses)))
        .order_by(TreatmentSession.course_id, TreatmentSession.number)
    ):
        sessions[s.course_id].append(
            SessionFacts(
                s.number,
                s.at,
                s.device,
                s.needle_depth_mm,
                s.passes,
                s.serum,
                float(s.price) if s.price is not None else None,
                s.client_rating,
            )
        )
    photos: dict[int, dict[int, PhotoFacts]] = {course_id: {} for course_id in courses}
    for row in session.execute(
        select(
            TreatmentSession.course_id,
            Photo.id,
            TreatmentSession.number,
            Photo.kind,
            Photo.taken_at,
            AnalysisResult.id.label("result_id"),
            # Two fields of the quality document, not the whole of it: decoding every
            # photo's full JSON was a fifth of a cold dashboard's time.
            AnalysisResult.quality["score"].as_float().label("score"),
            AnalysisResult.quality["usable_for_trends"].as_boolean().label("usable"),
            AnalysisResult.metrics,
        )
        .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
        .outerjoin(AnalysisResult, AnalysisResult.photo_id == Photo.id)
        .where(TreatmentSession.course_id.in_(list(courses)))
        .order_by(Photo.id, AnalysisResult.created_at, AnalysisResult.id)
    ):
        measured = row.result_id is not None
        # Rows are ordered: the last result of a photo wins.
        photos[row.course_id][row.id] = PhotoFacts(
            photo_id=row.id,
            session=row.number,
            kind=row.kind,
            taken_at=row.taken_at,
            score=float(row.score or 0.0) if measured else None,
            metrics=dict(row.metrics) if measured else {},
            usable=None if not measured or row.usable is None else bool(row.usable),
        )
    facts = {}
    for course_id, course in courses.items():
        client = clients[course.client_id]
        facts[course.client_id] = CourseFacts(
            client_id=client.id,
            client_name=client.name,
            concern=course.concern,
            plan=CoursePlan(course.planned_sessions, course.interval_weeks, course.upkeep_interval_weeks),
            today=today,
            body_area=course.body_area,
            intake=dict(client.intake or {}),
            stored_ita=client.ita_deg,
            ita_calibrated=bool(client.ita_calibrated and client.ita_deg is not None),
            sessions=tuple(sessions[course_id]),
            photos=tuple(photos[course_id].values()),
        )
    return facts, {cid: row.name for cid, row in clients.items()}
