"""The SQL of the worker pool's job queue (tracker.app.job_queue runs it).

Claiming takes the oldest free job with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL,
so N workers each get a different job without waiting on each other; SQLite renders no
FOR UPDATE, so there the claim first takes the database's write lock (tracker.store.locks)
and the same query runs alone: one local worker at a time claims, which is all SQLite is
for. A job's `lease_until` is renewed while it runs; once it has passed, the worker is
taken for dead and the job is free again (or failed, when its attempts are used up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from tracker.store import locks
from tracker.store.models import Job

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)


@dataclass(frozen=True)
class NewJob:
    kind: str
    clinic_id: int | None
    payload: dict[str, Any]
    dedupe: str | None = None  # an unfinished job with the same dedupe stands for this one
    total: int = 0


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    clinic_id: int | None
    payload: dict[str, Any]
    attempt: int


def enqueue(session: Session, jobs: Sequence[NewJob], max_attempts: int) -> tuple[list[int], int]:
    """Add the jobs not already waiting or running (by `dedupe`); (the ids standing for all
    of them, how many were new). Under one lock, so two enqueuers cannot both add one."""
    locks.lock(session, ["job-queue"])
    keys = [j.dedupe for j in jobs if j.dedupe]
    active: dict[str, int] = {}
    if keys:
        rows = session.execute(select(Job.dedupe, Job.id).where(Job.dedupe.in_(keys), Job.state.in_(ACTIVE)))
        active = {dedupe: job_id for dedupe, job_id in rows if dedupe}
    ids: list[int] = []
    added: list[Job] = []
    for new in jobs:
        if new.dedupe and new.dedupe in active:
            ids.append(active[new.dedupe])
            continue
        row = Job(
            kind=new.kind,
            clinic_id=new.clinic_id,
            payload=new.payload,
            dedupe=new.dedupe,
            state=QUEUED,
            max_attempts=max_attempts,
            total=new.total,
        )
        session.add(row)
        added.append(row)
    session.flush()
    ids.extend(row.id for row in added)
    return sorted(set(ids)), len(added)


def claim(session: Session, worker: str, now: datetime, lease: timedelta) -> Claimed | None:
    """The oldest free job, marked as this worker's (the caller commits); None when none
    is free. A job whose lease ran out with no attempt left is failed on the way."""
    if session.get_bind().dialect.name == "sqlite":
        locks.lock(session, ["job-claim"])
    free = or_(Job.state == QUEUED, and_(Job.state == RUNNING, Job.lease_until < now))
    while True:
        job = session.scalars(
            select(Job).where(free).order_by(Job.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        if job.state == RUNNING and job.attempts >= job.max_attempts:
            job.state, job.finished_at, job.lease_until = FAILED, now, None
            job.error = f"Its worker ({job.claimed_by}) stopped answering, {job.attempts} times."[:1000]
            session.flush()
            continue
        job.state, job.claimed_by, job.lease_until = RUNNING, worker, now + lease
        job.attempts += 1
        job.started_at, job.done = now, 0
        session.flush()
        return Claimed(job.id, job.kind, job.clinic_id, dict(job.payload), job.attempts)


def heartbeat(
    session: Session, job_id: int, worker: str, done: int, total: int, now: datetime, lease: timedelta
) -> bool:
    """Progress, and the lease renewed; False when the job is no longer this worker's (its
    lease ran out and another worker took it over)."""
    won = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claimed_by == worker, Job.state == RUNNING)
        .values(done=done, total=total, lease_until=now + lease)
    )
    return getattr(won, "rowcount", 0) == 1


def finish(session: Session, job_id: int, worker: str, now: datetime, result: dict[str, Any]) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claimed_by == worker, Job.state == RUNNING)
        .values(state=DONE, finished_at=now, lease_until=None, result=result, error="")
    )


def fail(session: Session, job_id: int, worker: str, now: datetime, error: str) -> None:
    """Queued again while it has attempts left; failed, with the message, after that."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.claimed_by != worker or job.state != RUNNING:
        return
    job.error, job.lease_until = error[:1000], None
    if job.attempts >= job.max_attempts:
        job.state, job.finished_at = FAILED, now
    else:
        job.state = QUEUED


def release(session: Session, job_id: int, worker: str) -> None:
    """Give a job back untouched (its worker is stopping): the attempt does not count."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claimed_by == worker, Job.state == RUNNING)
        .values(state=QUEUED, lease_until=None, attempts=Job.attempts - 1)
    )


def retry(session: Session, job_id: int, clinic_id: int | None) -> bool:
    """A failed job queued again with its attempts renewed; False if there is no such
    failed job (of this clinic, unless `clinic_id` is None: the operator's command)."""
    where = [Job.id == job_id, Job.state == FAILED]
    if clinic_id is not None:
        where.append(Job.clinic_id == clinic_id)
    done = session.execute(
        update(Job).where(*where).values(state=QUEUED, attempts=0, error="", finished_at=None, claimed_by="")
    )
    return getattr(done, "rowcount", 0) == 1


def listing(session: Session, clinic_id: int | None, limit: int) -> Sequence[Job]:
    """Newest first; unfinished and failed jobs before finished ones."""
    query = select(Job)
    if clinic_id is not None:
        query = query.where(Job.clinic_id == clinic_id)
    order = (Job.state == DONE).asc()
    return session.scalars(query.order_by(order, Job.id.desc()).limit(limit)).all()


def jobs(session: Session, ids: Sequence[int]) -> Sequence[Job]:
    return session.scalars(select(Job).where(Job.id.in_(list(ids))).order_by(Job.id)).all() if ids else []


def job(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)
