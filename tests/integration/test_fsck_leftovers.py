"""fsck and the files no record holds: temp files a crashed write left, and quarantined
files kept long enough (issue 12, item 2)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from tracker.app import consistency, courses, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.permissions import Actor
from tracker.store import quarantine

SAMPLE = (Path(__file__).resolve().parents[2] / "sample_photos" / "ava" / "s1_before_a.jpg").read_bytes()


def _age(path: Path, hours: float) -> None:
    then = (datetime.now() - timedelta(hours=hours)).timestamp()
    os.utime(path, (then, then))


def test_a_whole_photo_left_in_the_temp_folder_is_reported_and_removed(app: App, operator: Actor) -> None:
    client_id = courses.create_client(Context(app, operator), "Temp Client")
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 9, 1, 10, 0))
    photos.import_photo(Context(app, operator), client_id, SAMPLE, "a.jpg", session_number=1)
    temp = app.settings.blob_dir / ".tmp"
    crashed = temp / "put-1f2e3d"  # a complete photo: the write died before linking it
    crashed.write_bytes(SAMPLE)
    _age(crashed, 2)
    writing = temp / "put-in-progress"  # a write happening now: not touched
    writing.write_bytes(SAMPLE[:1000])

    report = consistency.check(app)
    assert [(p.kind, p.key) for p in report.problems] == [("stale_temp_file", "put-1f2e3d")]
    assert not report.consistent
    report = consistency.check(app, repair=True)
    assert report.consistent and [p.repaired for p in report.problems] == ["removed"]
    assert sorted(p.name for p in temp.iterdir()) == ["put-in-progress"]
    assert consistency.check(app).problems == []


def test_quarantined_files_go_after_quarantine_days(app: App) -> None:
    old = app.blobs.put(b"an orphan quarantined long ago")
    new = app.blobs.put(b"an orphan quarantined just now")
    report = consistency.check(app, repair=True, min_age_seconds=0)
    assert {p.key for p in report.problems} == {old, new} and report.consistent
    entries = {e.key: e for e in quarantine.entries(app.settings.quarantine_dir)}
    _age(entries[old].path, 24 * (app.settings.quarantine_days + 1))

    report = consistency.check(app)
    assert [(p.kind, p.key) for p in report.problems] == [("expired_quarantine", old)]
    consistency.check(app, repair=True)
    assert [e.key for e in quarantine.entries(app.settings.quarantine_dir)] == [new]
