"""What reminders are computed from, and which have been sent: read in a few queries for a
whole clinic (the daily send) or one client (a calendar download)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.domain import Role
from tracker.progress.plans import CoursePlan
from tracker.store.models import Client, SentReminder, TreatmentCourse, TreatmentSession, User, utcnow


@dataclass(frozen=True)
class ReminderFacts:
    client_id: int
    name: str
    consent: dict[str, Any]
    email: str | None  # the client's active login, if any
    plan: CoursePlan | None  # None: no course yet
    sessions: tuple[tuple[int, datetime], ...]  # (number, start) of the current course


def reminder_facts(session: Session, clinic_id: int, client_id: int | None = None) -> list[ReminderFacts]:
    """Each client's current (latest) course plan and session starts, and login email."""
    query = select(Client.id, Client.name, Client.consent).where(Client.clinic_id == clinic_id)
    if client_id is not None:
        query = query.where(Client.id == client_id)
    clients = {int(cid): (str(name), dict(consent or {})) for cid, name, consent in session.execute(query)}
    emails = {
        int(cid or 0): str(email)
        for cid, email in session.execute(
            select(User.client_id, User.email).where(
                User.client_id.in_(list(clients)), User.role == Role.CLIENT, User.active.is_(True)
            )
        )
    }
    latest = (
        select(func.max(TreatmentCourse.id))
        .where(TreatmentCourse.client_id.in_(list(clients)))
        .group_by(TreatmentCourse.client_id)
    )
    courses = {
        c.client_id: c for c in session.scalars(select(TreatmentCourse).where(TreatmentCourse.id.in_(latest)))
    }
    starts: dict[int, list[tuple[int, datetime]]] = {c.id: [] for c in courses.values()}
    for course_id, number, at in session.execute(
        select(TreatmentSession.course_id, TreatmentSession.number, TreatmentSession.at)
        .where(TreatmentSession.course_id.in_(list(starts)))
        .order_by(TreatmentSession.course_id, TreatmentSession.at)
    ):
        starts[course_id].append((int(number), at))
    facts = []
    for cid, (name, consent) in sorted(clients.items(), key=lambda kv: (kv[1][0], kv[0])):
        course = courses.get(cid)
        plan = (
            CoursePlan(course.planned_sessions, course.interval_weeks, course.upkeep_interval_weeks)
            if course
            else None
        )
        facts.append(
            ReminderFacts(
                cid, name, consent, emails.get(cid), plan, tuple(starts[course.id]) if course else ()
            )
        )
    return facts


def already_sent(session: Session, client_id: int, keys: list[tuple[str, date]]) -> set[tuple[str, date]]:
    """Those of the (what, day) reminders the client has been sent."""
    rows = session.execute(
        select(SentReminder.what, SentReminder.due_on).where(SentReminder.client_id == client_id)
    )
    return {(str(what), due) for what, due in rows} & set(keys)


def record_sent(session: Session, client_id: int, keys: list[tuple[str, date]]) -> bool:
    """Add the reminders as sent (to be committed once the email went out); False when
    another run recorded one of them first (the unique key), and the caller sends nothing."""
    session.add_all(
        SentReminder(client_id=client_id, what=what, due_on=on, sent_at=utcnow()) for what, on in keys
    )
    try:
        session.flush()
    except IntegrityError:
        return False
    return True
