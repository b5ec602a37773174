"""The admin's background-jobs page: progress, a failure's message, and Retry (issue 13, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.app.conftest import signed_in
from tracker.app import job_queue
from tracker.app.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
)
from tracker.bootstrap import open_app
from tracker.store.models import Clinic, Job


def _jobs(demo_dir: Path) -> dict[str, int]:
    """One failed and one half-done job of the demo clinic."""
    app = open_app()
    try:
        with app.uow() as uow:
            clinic_id = uow.session.scalar(select(Clinic.id).where(Clinic.is_demo))
            failed = Job(
                kind=job_queue.REANALYZE,
                clinic_id=clinic_id,
                state="failed",
                attempts=3,
                error="OperationalError: the database went away",
                payload={"metric_version": "9"},
                total=24,
            )
            running = Job(kind=job_queue.REANALYZE, clinic_id=clinic_id, state="running", done=6, total=24)
            uow.session.add_all([failed, running])
            uow.commit()
            return {"failed": failed.id, "running": running.id}
    finally:
        app.close()


def _state(job_id: int) -> str:
    app = open_app()
    try:
        with app.uow() as uow:
            job = uow.session.get(Job, job_id)
            assert job is not None
            return job.state
    finally:
        app.close()


def test_an_admin_sees_progress_and_failures_and_retries_a_failed_job(demo_dir: Path) -> None:
    ids = _jobs(demo_dir)
    at = signed_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    at.switch_page("pages/jobs.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["state"]) == {"failed", "running"}
    assert "6/24" in set(table["photos"])
    assert any("the database went away" in c.value for c in at.code)
    at.button(key=f"retry_job_{ids['failed']}").click().run()
    assert not at.exception, at.exception
    assert _state(ids["failed"]) == "queued"
    assert any(f"Job {ids['failed']} is queued again" in s.value for s in at.success)


def test_the_jobs_page_is_for_admins_only(demo_dir: Path) -> None:
    practitioner = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    with pytest.raises(Exception):  # noqa: B017 — not registered for practitioners
        practitioner.switch_page("pages/jobs.py").run()
