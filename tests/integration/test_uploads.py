"""Uploads from the app run in a child process under CPU, memory and clock limits: a file
that goes over is refused with a message and leaves nothing stored (tracker.worker)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from tests import images
from tests.conftest import blob_files, photo_rows
from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.app.photo_admin import delete_photo
from tracker.app.photos import upload_photo
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.errors import Refused
from tracker.permissions import Actor
from tracker.store.models import PhotoSeries
from tracker.worker import OverLimit, WorkLimits, run_limited

ROOT = Path(__file__).resolve().parents[2]
PHOTO = (ROOT / "sample_photos" / "linh" / "s1_before_a.jpg").read_bytes()


def _limited_app(tmp_path: Path, **limits: object) -> App:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None, **limits)  # type: ignore[arg-type]
    return open_app(settings)


def _client(app: App) -> tuple[Actor, int]:
    operator = Actor.operator(courses.ensure_clinic(app, "Clinic"))
    client_id = courses.create_client(Context(app, operator), "Client")
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10))
    return operator, client_id


def test_an_upload_is_stored_and_measured_in_the_child(tmp_path: Path) -> None:
    app = _limited_app(tmp_path)
    operator, client_id = _client(app)
    done = upload_photo(Context(app, operator), client_id, PHOTO, "cheek.jpg", session_number=1)
    assert done.ingested is None  # the pixels stayed in the child
    assert done.analysis is not None and done.analysis.ok and done.analysis.analysis is not None
    assert photo_rows(app) == 1 and len(blob_files(app)) == 3
    with pytest.raises(Refused, match="already uploaded"):  # a refusal crosses as itself
        upload_photo(Context(app, operator), client_id, PHOTO, "again.jpg", session_number=1)


def test_a_file_that_needs_too_much_memory_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    app = _limited_app(tmp_path, upload_memory_mb=40)
    operator, client_id = _client(app)
    big = images.encode(images.quadrants(6000, 4000), "PNG", gps=False)  # small file, 72 MB once decoded
    assert len(big) < 1_000_000
    with pytest.raises(OverLimit, match="more than 40 MB of memory"):
        upload_photo(Context(app, operator), client_id, big, "big.png", session_number=1)
    assert photo_rows(app) == 0 and blob_files(app) == []


def _report_then_spin(report: Callable[[object], None]) -> None:
    report(42)
    while True:
        pass


def _sleep(report: Callable[[object], None]) -> None:
    time.sleep(60)


def test_a_task_over_its_cpu_time_is_ended_and_what_it_reported_is_known() -> None:
    reported: list[object] = []
    limits = WorkLimits(cpu_seconds=1, memory_bytes=512 * 2**20, wall_seconds=60, at_once=1)
    # The message is the CPU limit's: the task was ended by it, not by the 60 s clock limit.
    with pytest.raises(OverLimit, match="more than 1 s of computing"):
        run_limited(_report_then_spin, (), limits, on_report=reported.append)
    assert reported == [42]


def test_a_task_over_its_clock_time_is_ended() -> None:
    limits = WorkLimits(cpu_seconds=10, memory_bytes=512 * 2**20, wall_seconds=1, at_once=1)
    with pytest.raises(OverLimit, match="longer than 1 s"):
        run_limited(_sleep, (), limits)


def test_a_discarded_upload_leaves_nothing_behind(app: App, operator: Actor, client_id: int) -> None:
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10))
    done = photos.import_photo(Context(app, operator), client_id, PHOTO, "cheek.jpg", session_number=1)
    with app.uow() as uow:
        assert uow.session.query(PhotoSeries).one().baseline_photo_id == done.photo_id
    delete_photo(Context(app, operator), done.photo_id, "over the upload limits")
    assert photo_rows(app) == 0 and blob_files(app) == []
    with app.uow() as uow:
        assert uow.session.query(PhotoSeries).one().baseline_photo_id is None
    again = photos.import_photo(Context(app, operator), client_id, PHOTO, "cheek.jpg", session_number=1)
    assert again.analysis is not None and again.analysis.ok  # the same photo can be sent again


def test_an_upload_waits_for_its_share_of_the_import_memory_then_is_refused(tmp_path: Path) -> None:
    from tracker.worker import Busy, import_cost, memory_budget

    app = _limited_app(tmp_path, import_memory_budget_mb=1024, import_budget_wait_seconds=0.2)
    operator, client_id = _client(app)
    budget = memory_budget(app.settings)
    held = budget.total - import_cost(PHOTO, app.settings.max_pixels) + 1  # other uploads leave too little
    with budget.reserve(held, 0):
        with pytest.raises(Busy, match="try again in a few minutes"):
            upload_photo(Context(app, operator), client_id, PHOTO, "cheek.jpg", session_number=1)
        assert photo_rows(app) == 0 and blob_files(app) == []
    done = upload_photo(Context(app, operator), client_id, PHOTO, "cheek.jpg", session_number=1)  # fits now
    assert done.analysis is not None and photo_rows(app) == 1
