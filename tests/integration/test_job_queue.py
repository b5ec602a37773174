"""The worker pool's job queue (issue 13, item 7) and `reanalyze` runs that share their
work instead of repeating it (item 6). Runs on SQLite and, with --database=postgresql, on
PostgreSQL; the test of several worker processes claiming at once always uses PostgreSQL
(FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.postgres import PostgresServer
from tracker.app import courses, job_queue, photos
from tracker.app.context import Context
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Role
from tracker.errors import Refused
from tracker.imaging.version import METRIC_VERSION
from tracker.permissions import Actor, PermissionDenied
from tracker.store import job_queue as queue_sql
from tracker.store.models import AnalysisResult, Job

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_photos" / "ava"
SKIN = ["s1_before_a.jpg", "s1_before_b.jpg"]  # real photos: noise would fail to measure


def _store(app: App, actor: Actor, clients: int, per_client: int) -> int:
    """Clients with measured photos whose results are then made one metric version old."""
    ctx = Context(app, actor)
    for c in range(clients):
        client_id = courses.create_client(ctx, f"Client {c}")
        for name in SKIN[:per_client]:
            photos.import_photo(ctx, client_id, (SAMPLES / name).read_bytes(), name, create_session=True)
    with app.uow() as uow:
        uow.session.execute(update(AnalysisResult).values(metric_version="0-older"))
        uow.commit()
    return clients * per_client


def _jobs(app: App) -> list[Job]:
    with app.uow() as uow:
        rows = list(uow.session.scalars(select(Job).order_by(Job.id)))
        uow.session.expunge_all()
        return rows


def _add(app: App, kind: str, clinic_id: int, dedupe: str | None = None) -> int:
    with app.uow() as uow:
        ids, _ = queue_sql.enqueue(
            uow.session, [queue_sql.NewJob(kind, clinic_id, {}, dedupe)], app.settings.job_max_attempts
        )
        uow.commit()
    return ids[0]


def test_reanalysis_is_queued_once_per_client_and_measures_every_stale_photo(
    app: App, operator: Actor
) -> None:
    count = _store(app, operator, clients=2, per_client=2)
    first = job_queue.enqueue_reanalysis(app)
    again = job_queue.enqueue_reanalysis(app)  # a second run while the first one's jobs wait
    assert (first.new, first.photos, len(first.ids)) == (2, count, 2)
    assert (again.new, again.ids) == (0, first.ids)
    while job_queue.run_next(app, "test"):
        pass
    views = job_queue.jobs_by_id(app, first.ids)
    assert [(v.state, v.attempts, v.done, v.total) for v in views] == [("done", 1, 2, 2)] * 2
    with app.uow() as uow:
        current = uow.session.scalar(
            select(func.count(AnalysisResult.id)).where(AnalysisResult.metric_version == METRIC_VERSION)
        )
    assert current == count
    assert job_queue.enqueue_reanalysis(app).new == 0  # nothing is stale any more


def test_a_failing_job_is_tried_again_then_stays_failed_until_an_admin_retries_it(
    app: App, operator: Actor
) -> None:
    job_id = _add(app, "no-such-kind", operator.clinic_id)
    for _ in range(app.settings.job_max_attempts):
        assert job_queue.run_next(app, "test")
    assert not job_queue.run_next(app, "test")  # failed for good: nobody claims it
    (job,) = _jobs(app)
    assert (job.state, job.attempts) == ("failed", app.settings.job_max_attempts)
    assert "no worker knows jobs of kind 'no-such-kind'" in job.error

    admin = operator  # the command line acts as the clinic's admin
    practitioner = replace(operator, label="practitioner", role=Role.PRACTITIONER)
    with pytest.raises(PermissionDenied):
        job_queue.retry_job(Context(app, practitioner), job_id)
    with pytest.raises(PermissionDenied):
        job_queue.list_jobs(Context(app, practitioner))
    (view,) = job_queue.list_jobs(Context(app, admin))
    assert (view.id, view.state) == (job_id, "failed")
    job_queue.retry_job(Context(app, admin), job_id)
    (job,) = _jobs(app)
    assert (job.state, job.attempts, job.error) == ("queued", 0, "")
    with pytest.raises(Refused, match="has not failed"):
        job_queue.retry_job(Context(app, admin), job_id)


def test_a_job_whose_worker_died_is_taken_again(app: App, operator: Actor) -> None:
    _store(app, operator, clients=1, per_client=1)
    job_queue.enqueue_reanalysis(app)
    with app.uow() as uow:  # a worker claimed it, then died: its lease ran out long ago
        claimed = queue_sql.claim(
            uow.session, "dead:1", job_queue._now() - timedelta(hours=1), timedelta(minutes=5)
        )
        uow.commit()
    assert claimed is not None
    assert job_queue.run_next(app, "alive:2")
    (job,) = _jobs(app)
    assert (job.state, job.attempts, job.claimed_by) == ("done", 2, "alive:2")


def test_a_job_whose_worker_stopped_reporting_is_shown_stalled_not_running(
    app: App, operator: Actor, settings: Settings
) -> None:
    """With no worker left to take it again, "running" would stay on the page for good."""
    # Claimed in this order: a job whose lease has passed is free again, the oldest first.
    live_job = _add(app, "no-such-kind", operator.clinic_id)
    dead_job = _add(app, "no-such-kind", operator.clinic_id)
    lease = timedelta(seconds=app.settings.job_lease_seconds)
    claimed_at = job_queue._now().replace(microsecond=0) - timedelta(hours=1)
    with app.uow() as uow:
        assert queue_sql.claim(uow.session, "alive:2", job_queue._now(), lease) is not None
        assert queue_sql.claim(uow.session, "dead:1", claimed_at, lease) is not None
        uow.commit()
    views = {v.id: v for v in job_queue.list_jobs(Context(app, operator))}
    assert (views[dead_job].state, views[dead_job].shown_state) == ("running", "stalled")
    assert views[dead_job].silent_since == claimed_at and views[dead_job].worker == "dead:1"
    assert (views[live_job].shown_state, views[live_job].silent_since) == ("running", None)

    run = _cli(settings, "jobs")
    out = run.communicate(timeout=120)[0]
    assert run.returncode == 0, out
    dead_line = next(line for line in out.splitlines() if line.lstrip().startswith(f"{dead_job} "))
    assert "stalled" in dead_line and "[dead:1]" in dead_line, out
    assert f"no report from its worker since {claimed_at:%Y-%m-%d %H:%M} UTC" in out, out
    live_line = next(line for line in out.splitlines() if line.lstrip().startswith(f"{live_job} "))
    assert "running" in live_line and "stalled" not in live_line, out


def test_other_clinics_jobs_are_neither_listed_nor_retried(app: App, operator: Actor) -> None:
    other = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    job_id = _add(app, "no-such-kind", other.clinic_id)
    for _ in range(app.settings.job_max_attempts):
        job_queue.run_next(app, "test")
    assert job_queue.list_jobs(Context(app, operator)) == []
    with pytest.raises(PermissionDenied):
        job_queue.retry_job(Context(app, operator), job_id)
    assert _jobs(app)[0].state == "failed"


def _cli(settings: Settings, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TRACKER_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["TRACKER_DATABASE_URL"] = settings.database_url
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _two_runs_share_the_work(settings: Settings) -> None:
    app = open_app(settings)
    try:
        operator = Actor.operator(courses.ensure_clinic(app, "Test Clinic"))
        count = _store(app, operator, clients=6, per_client=2)
    finally:
        app.close()
    runs = [_cli(settings, "reanalyze", "--processes", "2") for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    app = open_app(settings, migrate=False)
    try:
        jobs = _jobs(app)
        # Six clients: six jobs between the two runs, each claimed once, each photo measured once.
        assert len(jobs) == 6, outputs
        assert [(j.state, j.attempts) for j in jobs] == [("done", 1)] * 6
        assert sum(int(j.result["measured"]) for j in jobs) == count
        for out in outputs:
            assert f"analysed {count} photos with metric version {METRIC_VERSION}" in out, out
    finally:
        app.close()


def test_two_reanalyze_runs_at_once_do_not_repeat_each_others_work(settings: Settings) -> None:
    _two_runs_share_the_work(settings)


def test_worker_processes_on_postgresql_claim_each_job_once(postgres: PostgresServer, tmp_path: Path) -> None:
    """Always on PostgreSQL: `worker --processes 3` claims with SKIP LOCKED."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=postgres.create_database(),
        _env_file=None,  # type: ignore[call-arg]
    )
    app = open_app(settings)
    try:
        operator = Actor.operator(courses.ensure_clinic(app, "Test Clinic"))
        count = _store(app, operator, clients=6, per_client=1)
        batch = job_queue.enqueue_reanalysis(app)
        assert batch.new == 6
    finally:
        app.close()
    worker = _cli(settings, "worker", "--processes", "3", "--until-idle")
    out = worker.communicate(timeout=600)[0]
    assert worker.returncode == 0, out
    app = open_app(settings, migrate=False)
    try:
        jobs = _jobs(app)
        assert [(j.state, j.attempts) for j in jobs] == [("done", 1)] * 6
        assert sum(int(j.result["measured"]) for j in jobs) == count
    finally:
        app.close()
    _two_runs_share_the_work(
        Settings(data_dir=tmp_path / "d2", database_url=postgres.create_database(), _env_file=None)  # type: ignore[call-arg]
    )
