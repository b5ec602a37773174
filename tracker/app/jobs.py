"""Series measured again off the request path.

Why: a follow-up photo whose colour chart teaches the series its scale changes how every
earlier photo of the course is measured. Measuring them all while the uploader waits made
one upload cost several full analyses (issue 10: 3 analyses, 8 transactions). Instead the
upload queues a job in the same transaction as the change (so a crash cannot lose it) and
returns once its own photo is measured; a background thread of the server, the worker
processes of the pool (`python -m tracker worker`, tracker.app.job_queue), or the command
line at the end of its own work, runs the queue. The client review page shows a queued or
running job's progress.

A job is claimed with a conditional UPDATE (only one runner wins it) and holds a lease that
every measured photo renews; a runner that died leaves a job whose lease expires, and the
next runner takes it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tracker.app.context import Context
from tracker.app.measurements import reanalyze_series
from tracker.application import App
from tracker.permissions import Actor, require_client_access
from tracker.store import remeasure

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total), after each photo

LEASE = timedelta(minutes=5)  # a running job not heard from for this long is taken again
POLL_SECONDS = 2.0


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class JobProgress:
    """What the review page says about a series being measured again."""

    done: int
    total: int  # 0 until the job has started and counted its photos
    running: bool


def progress(ctx: Context, client_id: int) -> JobProgress | None:
    """The client's current course's unfinished job, if any."""
    actor = ctx.actor
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        if course is None:
            return None
        job = remeasure.unfinished(uow.session, course.id)
        if job is None:
            return None
        return JobProgress(done=job.done, total=job.total, running=job.started_at is not None)


def run_pending(app: App) -> int:
    """Run queued jobs (and jobs whose runner died) until none is left; returns how many ran."""
    ran = 0
    while (claimed := _claim(app)) is not None:
        _run(app, *claimed)
        ran += 1
    return ran


def _claim(app: App) -> tuple[int, int, int, set[int]] | None:
    with app.uow() as uow:
        job = remeasure.claim(uow.session, _now(), LEASE)
        if job is None:
            return None
        claimed = (job.id, job.clinic_id, job.course_id, set(job.skip or []))
        uow.commit()
        return claimed


def _run(app: App, job_id: int, clinic_id: int, course_id: int, skip: set[int]) -> None:

    def report(done: int, total: int) -> None:
        with app.uow() as uow:
            remeasure.report(uow.session, job_id, done, total, _now())
            uow.commit()

    error = ""
    try:
        reanalyze_series(Context(app, Actor.operator(clinic_id)), course_id, skip=skip, on_progress=report)
    except Exception as exc:  # a job must end, whatever happened; the photos keep their old results
        log.exception("measuring course %s again failed", course_id)
        error = f"{type(exc).__name__}: {exc}"[:500]
    with app.uow() as uow:
        remeasure.finish(uow.session, job_id, _now(), error)
        uow.commit()


class _Runner:
    """One background thread per App: it runs the queue, then looks again after
    POLL_SECONDS (uploads are measured in child processes, which queue jobs in the database)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="remeasure-jobs", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        # A data folder that went away (a test's temporary copy) ends the runner.
        while not self.stop.is_set() and self.app.settings.data_dir.exists():
            try:
                run_pending(self.app)
            except Exception:  # the database was away for a moment: try again later
                log.exception("the job runner failed; trying again")
            self.stop.wait(POLL_SECONDS)


_runners: dict[int, _Runner] = {}
_runners_lock = threading.Lock()


def start_background(app: App) -> None:
    """Start the App's job runner unless it runs already (the server calls this once)."""
    with _runners_lock:
        if id(app) not in _runners:
            _runners[id(app)] = _Runner(app)


def stop_background(app: App) -> None:
    """Stop the App's job runner (before its engine is closed), waiting for its current job."""
    with _runners_lock:
        runner = _runners.pop(id(app), None)
    if runner is not None:
        runner.stop.set()
        runner.thread.join()


__all__ = [
    "JobProgress",
    "progress",
    "run_pending",
    "start_background",
    "stop_background",
]
