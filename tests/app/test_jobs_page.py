"""The admin's background-jobs page: progress, a failure's message, and Retry (issue 13, item 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
            now = datetime.now(UTC).replace(tzinfo=None)
            running = Job(
                kind=job_queue.REANALYZE,
                clinic_id=clinic_id,
                state="running",
                done=6,
                total=24,
                claimed_by="host-a:41",
                lease_until=now + timedelta(minutes=4),
            )
            stalled = Job(  # its worker was killed two hours ago: the lease ran out
                kind=job_queue.REANALYZE,
                clinic_id=clinic_id,
                state="running",
                done=3,
                total=24,
                claimed_by="host-b:77",
                lease_until=datetime(2026, 3, 4, 5, 6) + timedelta(seconds=300),
            )
            uow.session.add_all([failed, running, stalled])
            uow.commit()
            return {"failed": failed.id, "running": running.id, "stalled": stalled.id}
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
    table = at.dataframe[0].value.set_index("job")
    assert set(table["state"]) == {"failed", "running", "stalled"}
    assert table.loc[ids["running"], ["state", "photos", "worker"]].tolist() == [
        "running",
        "6/24",
        "host-a:41",
    ]
    assert table.loc[ids["stalled"], ["state", "worker"]].tolist() == ["stalled", "host-b:77"]
    assert table.loc[ids["failed"], "worker"] == ""
    (warning,) = at.warning
    assert f"Job {ids['stalled']} has stopped: its worker has not reported since 2026-03-04 05:06 UTC" in (
        warning.value
    ), warning.value
    assert "1 stalled" in " ".join(m.value for m in at.markdown).replace("*", "")
    assert any("the database went away" in c.value for c in at.code)
    at.button(key=f"retry_job_{ids['failed']}").click().run()
    assert not at.exception, at.exception
    assert _state(ids["failed"]) == "queued"
    assert any(f"Job {ids['failed']} is queued again" in s.value for s in at.success)


def test_the_jobs_page_is_for_admins_only(demo_dir: Path) -> None:
    practitioner = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    with pytest.raises(Exception):  # noqa: B017 — not registered for practitioners
        practitioner.switch_page("pages/jobs.py").run()
