"""The SQL of the re-measure queue (tracker.app.jobs runs it; tracker.app.measurements fills it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tracker.store.models import RemeasureJob


def queue(session: Session, clinic_id: int, course_id: int, skip: set[int]) -> None:
    """Queue the course's photos to be measured again, in the caller's transaction. `skip`:
    photos already measured with the new facts. A job of the same course not yet started
    takes the new request over (its own skip list was measured with facts now replaced)."""
    waiting = session.scalars(
        select(RemeasureJob).where(RemeasureJob.course_id == course_id, RemeasureJob.started_at.is_(None))
    ).first()
    if waiting is not None:
        waiting.skip = sorted(skip)
        return
    session.add(RemeasureJob(course_id=course_id, clinic_id=clinic_id, skip=sorted(skip)))


def unfinished(session: Session, course_id: int) -> RemeasureJob | None:
    return session.scalars(
        select(RemeasureJob)
        .where(RemeasureJob.course_id == course_id, RemeasureJob.finished_at.is_(None))
        .order_by(RemeasureJob.id)
    ).first()


def claim(session: Session, now: datetime, lease: timedelta) -> RemeasureJob | None:
    """The oldest job nobody runs (or whose runner has not been heard from for `lease`),
    marked as started by a conditional UPDATE so that only one runner wins it."""
    free = or_(RemeasureJob.started_at.is_(None), RemeasureJob.started_at < now - lease)
    candidates = session.scalars(
        select(RemeasureJob.id).where(RemeasureJob.finished_at.is_(None), free).order_by(RemeasureJob.id)
    ).all()
    for job_id in candidates:
        won = session.execute(
            update(RemeasureJob)
            .where(RemeasureJob.id == job_id, RemeasureJob.finished_at.is_(None), free)
            .values(started_at=now, done=0)
        )
        if getattr(won, "rowcount", 0) == 1:
            return session.get(RemeasureJob, job_id)
    return None


def report(session: Session, job_id: int, done: int, total: int, now: datetime) -> None:
    """Progress, and the lease renewed."""
    session.execute(
        update(RemeasureJob).where(RemeasureJob.id == job_id).values(done=done, total=total, started_at=now)
    )


def finish(session: Session, job_id: int, now: datetime, error: str) -> None:
    session.execute(
        update(RemeasureJob).where(RemeasureJob.id == job_id).values(finished_at=now, error=error[:500])
    )
