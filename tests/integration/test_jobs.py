"""The queue of series to measure again: claimed once, taken again when its runner died,
run by the server's background thread. (That an upload queues a job and returns first is
tested with real photos in tests/integration/test_analysis.py.)"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tracker.app import courses, jobs
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.permissions import Actor, PermissionDenied
from tracker.store import remeasure
from tracker.store.models import RemeasureJob


def _course(app: App, actor: Actor, client_id: int) -> int:
    with app.uow() as uow:
        course = uow.repo.current_course(client_id)
        assert course is not None
        return course.id


def _queue(app: App, actor: Actor, course_id: int, skip: set[int]) -> None:
    with app.uow() as uow:
        remeasure.queue(uow.session, actor.clinic_id, course_id, skip)
        uow.commit()


def _jobs(app: App) -> list[RemeasureJob]:
    with app.uow() as uow:
        rows = list(uow.session.scalars(select(RemeasureJob).order_by(RemeasureJob.id)))
        uow.session.expunge_all()
        return rows


def test_a_waiting_job_takes_a_new_request_over(app: App, operator: Actor, client_id: int) -> None:
    course_id = _course(app, operator, client_id)
    _queue(app, operator, course_id, {1})
    _queue(app, operator, course_id, {2})
    rows = _jobs(app)
    assert len(rows) == 1 and rows[0].skip == [2]
    progress = jobs.progress(Context(app, operator), client_id)
    assert progress is not None and not progress.running
    assert jobs.run_pending(app) == 1
    assert jobs.progress(Context(app, operator), client_id) is None
    assert _jobs(app)[0].finished_at is not None and _jobs(app)[0].error == ""


def test_a_job_whose_runner_died_is_taken_again_but_a_live_one_is_not(
    app: App, operator: Actor, client_id: int
) -> None:
    course_id = _course(app, operator, client_id)
    _queue(app, operator, course_id, set())
    with app.uow() as uow:  # a runner claimed it just now and is still working
        uow.session.execute(update(RemeasureJob).values(started_at=jobs._now()))
        uow.commit()
    assert jobs.run_pending(app) == 0
    # A request now makes a second job: the running one was measuring with older facts.
    _queue(app, operator, course_id, set())
    assert len(_jobs(app)) == 2
    with app.uow() as uow:  # the first runner has not been heard from for longer than the lease
        uow.session.execute(
            update(RemeasureJob)
            .where(RemeasureJob.id == _jobs(app)[0].id)
            .values(started_at=jobs._now() - jobs.LEASE - timedelta(seconds=1))
        )
        uow.commit()
    assert jobs.run_pending(app) == 2
    assert all(row.finished_at is not None for row in _jobs(app))


def test_another_clinic_cannot_see_the_progress(app: App, operator: Actor, client_id: int) -> None:
    _queue(app, operator, _course(app, operator, client_id), set())
    other = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    with pytest.raises(PermissionDenied):
        jobs.progress(Context(app, other), client_id)


def test_the_background_runner_empties_the_queue(app: App, operator: Actor, client_id: int) -> None:
    _queue(app, operator, _course(app, operator, client_id), set())
    jobs.start_background(app)
    jobs.start_background(app)  # once per App
    try:
        deadline = time.monotonic() + 60
        while jobs.progress(Context(app, operator), client_id) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert jobs.progress(Context(app, operator), client_id) is None
        assert any(t.name == "remeasure-jobs" for t in threading.enumerate())
    finally:
        jobs.stop_background(app)
