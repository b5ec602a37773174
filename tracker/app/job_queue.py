"""Heavy work as jobs in the database, run by a pool of worker processes.

Why: after a metric-version change every stored photo is measured again, which on a clinic
chain's store is hours of computing; one process doing it, or two `reanalyze` runs redoing
each other's photos, does not scale. The work is cut into per-client chunks (a series'
baseline is measured before its follow-ups) and queued as rows of the `job` table; any
number of worker processes, on any machine that reaches the database, claim them one at a
time (tracker/store/job_queue.py says how), report progress, and record how each ended.
A failed chunk is tried again up to `job_max_attempts` times, then kept as failed with its
message until an admin retries it. Series re-measures (tracker.app.jobs, their own queue
since issue 10) are run by the same workers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tracker.app import audit, jobs
from tracker.app.context import Context
from tracker.app.measurements import analyze_photo, stale_photo_groups
from tracker.application import App
from tracker.domain import Role
from tracker.errors import Refused
from tracker.imaging.version import METRIC_VERSION
from tracker.permissions import Actor, PermissionDenied
from tracker.store import job_queue
from tracker.store.models import Job

log = logging.getLogger(__name__)

REANALYZE = "reanalyze"
LABELS = {REANALYZE: "Measure photos again"}
MAX_SHOWN = 200
STATES = (job_queue.QUEUED, job_queue.RUNNING, job_queue.DONE, job_queue.FAILED)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def worker_name() -> str:
    """Who claims a job, as the admin page shows it: the machine and the process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    label: str
    state: str  # queued | running | done | failed
    attempts: int
    max_attempts: int
    done: int
    total: int
    error: str
    failures: tuple[str, ...]  # photos the job measured but could not (their own status says why)
    worker: str
    created_at: datetime
    finished_at: datetime | None
    # A running job whose worker let its lease pass (killed, or its machine gone): the last
    # time that worker reported. The job is taken again by the next worker that looks, so
    # "running" alone would hide that no worker is on it (none may be running at all).
    silent_since: datetime | None = None

    @property
    def shown_state(self) -> str:
        return "stalled" if self.silent_since is not None else self.state

    @property
    def describe(self) -> str:
        return (
            f"{self.label}: {len(self.failures)} photo(s) could not be measured"
            if self.failures
            else self.label
        )


def _view(job: Job, app: App) -> JobView:
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    lapsed = job.state == job_queue.RUNNING and job.lease_until is not None and job.lease_until < _now()
    label = LABELS.get(job.kind, job.kind)
    if job.kind == REANALYZE:
        label = f"{label} (metric version {job.payload.get('metric_version', '?')})"
    return JobView(
        id=job.id,
        kind=job.kind,
        label=label,
        state=job.state,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        done=job.done,
        total=job.total,
        error=job.error,
        failures=tuple(job.result.get("failures", [])),
        worker=job.claimed_by,
        created_at=job.created_at,
        finished_at=job.finished_at,
        silent_since=job.lease_until - lease if lapsed and job.lease_until else None,
    )


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can see and retry the clinic's background jobs.")


def list_jobs(ctx: Context) -> list[JobView]:
    """The clinic's jobs for the admin page: unfinished and failed first, newest first."""
    _require_admin(ctx.actor)
    with ctx.uow() as uow:
        return [_view(j, ctx.app) for j in job_queue.listing(uow.session, ctx.actor.clinic_id, MAX_SHOWN)]


def retry_job(ctx: Context, job_id: int) -> None:
    """Queue a failed job of the clinic again, with its attempts renewed."""
    actor = ctx.actor
    _require_admin(actor)
    with ctx.uow() as uow:
        job = job_queue.job(uow.session, job_id)
        if job is None or job.clinic_id != actor.clinic_id:
            raise PermissionDenied("That job is not one of this clinic's.")
        if not job_queue.retry(uow.session, job_id, actor.clinic_id):
            raise Refused(f"Job {job_id} has not failed, so there is nothing to retry.")
        audit.record(uow, actor, "retry_job", "job", job_id)
        uow.commit()


# The operator's side (command line, worker processes): the whole store, every clinic.


@dataclass(frozen=True)
class Batch:
    ids: list[int]  # the jobs standing for the request (some may be another run's)
    new: int  # how many of them this request added
    photos: int


def enqueue_reanalysis(app: App, *, everything: bool = False) -> Batch:
    """Queue every photo without a result of the current metric version (with
    `everything`: every photo), one job per client. A client whose photos are queued or
    being measured already (another `reanalyze` run) is not queued twice."""
    groups = stale_photo_groups(app, everything=everything)
    scope = "all" if everything else "stale"
    new = [
        job_queue.NewJob(
            kind=REANALYZE,
            clinic_id=clinic_id,
            payload={"photo_ids": ids, "everything": everything, "metric_version": METRIC_VERSION},
            dedupe=f"{REANALYZE}:{METRIC_VERSION}:{scope}:{client_id}",
            total=len(ids),
        )
        for clinic_id, client_id, ids in groups
    ]
    with app.uow() as uow:
        ids, added = job_queue.enqueue(uow.session, new, app.settings.job_max_attempts)
        uow.commit()
    return Batch(ids=ids, new=added, photos=sum(len(g[2]) for g in groups))


def jobs_by_id(app: App, ids: list[int]) -> list[JobView]:
    with app.uow() as uow:
        return [_view(j, app) for j in job_queue.jobs(uow.session, ids)]


def all_jobs(app: App, limit: int = MAX_SHOWN) -> list[JobView]:
    with app.uow() as uow:
        return [_view(j, app) for j in job_queue.listing(uow.session, None, limit)]


def retry(app: App, job_id: int) -> bool:
    """The operator's retry (command line): any clinic's failed job."""
    with app.uow() as uow:
        found = job_queue.retry(uow.session, job_id, None)
        uow.commit()
    return found


class _Lost(Exception):
    """The job is no longer this worker's: it was too slow to renew its lease."""


class _Stopping(Exception):
    """The worker was asked to stop: the job goes back to the queue."""


def run_next(app: App, worker: str, stop: threading.Event | None = None) -> bool:
    """Claim one job and run it; False when no job was free."""
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    with app.uow() as uow:
        claimed = job_queue.claim(uow.session, worker, _now(), lease)
        uow.commit()
    if claimed is None:
        return False

    def progress(done: int, total: int) -> None:
        with app.uow() as uow:
            mine = job_queue.heartbeat(uow.session, claimed.id, worker, done, total, _now(), lease)
            uow.commit()
        if not mine:
            raise _Lost
        if stop is not None and stop.is_set():
            raise _Stopping

    try:
        if claimed.kind != REANALYZE:
            raise ValueError(f"no worker knows jobs of kind {claimed.kind!r}")
        result = _reanalyze(app, claimed, progress)
    except _Lost:
        log.warning("job %s was taken over by another worker", claimed.id)
        return True
    except _Stopping:
        with app.uow() as uow:
            job_queue.release(uow.session, claimed.id, worker)
            uow.commit()
        return True
    except Exception as exc:  # the job must end, whatever happened; it is tried again
        log.exception("job %s failed", claimed.id)
        with app.uow() as uow:
            job_queue.fail(uow.session, claimed.id, worker, _now(), f"{type(exc).__name__}: {exc}")
            uow.commit()
        return True
    with app.uow() as uow:
        job_queue.finish(uow.session, claimed.id, worker, _now(), result)
        uow.commit()
    return True


def _reanalyze(app: App, claimed: job_queue.Claimed, progress: jobs.Progress) -> dict[str, object]:
    """Measure the chunk's photos in order. Unless the job is for every photo, one that has
    a current result by now (an earlier attempt of this job measured it) is not measured
    again; a photo deleted since the job was queued is passed over."""
    if claimed.clinic_id is None:
        raise ValueError("a re-analysis job names its clinic")
    ctx = Context(app, Actor.operator(claimed.clinic_id))
    ids = [int(i) for i in claimed.payload.get("photo_ids", [])]
    everything = bool(claimed.payload.get("everything"))
    failures: list[str] = []
    measured = 0
    progress(0, len(ids))
    for done, photo_id in enumerate(ids, start=1):
        with app.uow() as uow:
            gone = uow.repo.photo(claimed.clinic_id, photo_id) is None
            current = not gone and uow.repo.result(claimed.clinic_id, photo_id, METRIC_VERSION) is not None
        if not gone and (everything or not current):
            outcome = analyze_photo(ctx, photo_id, cascade=False)
            measured += 1
            if not outcome.ok:
                failures.append(f"photo {photo_id}: {outcome.message}")
        progress(done, len(ids))
    return {"measured": measured, "failures": failures}


def work(app: App, worker: str, *, stop: threading.Event, until_idle: bool = False) -> int:
    """Run jobs (and series re-measures) until `stop` is set, or, with `until_idle`, until
    none is left; returns how many ran."""
    ran = 0
    while not stop.is_set():
        busy = run_next(app, worker, stop)
        busy = jobs.run_pending(app) > 0 or busy
        ran += int(busy)
        if not busy:
            if until_idle:
                break
            stop.wait(app.settings.worker_poll_seconds)
    return ran


__all__ = [
    "LABELS",
    "REANALYZE",
    "STATES",
    "Batch",
    "JobView",
    "all_jobs",
    "enqueue_reanalysis",
    "jobs_by_id",
    "list_jobs",
    "retry",
    "retry_job",
    "run_next",
    "work",
    "worker_name",
]
