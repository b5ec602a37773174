"""Deleting a client leaves nothing personal anywhere: not in any column of any table, not
in any file under the data folder (names or bytes: database, blobs, quarantine, temp
files), and not after a deletion cut short and finished by fsck (issue 12, item 2)."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import MetaData, select

from tests import images
from tracker.app import consistency, courses, flags, photos, reminders, reports
from tracker.app.context import Context
from tracker.app.notes import add_note
from tracker.app.people import authenticate, create_account, open_session
from tracker.app.photo_admin import delete_photo
from tracker.app.records import delete_client, export_client
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import ConsentFlag, Contraindication, Role
from tracker.ingest import ingest
from tracker.permissions import Actor
from tracker.store.blobs import LocalBlobStore
from tracker.store.models import Photo

NAME = "Zelda Quixote"
EMAIL = "zq-unique@example.test"
FILE_NAMES = ("zq_left_cheek_rash.jpg", "zq_right_jaw_scar.png", "zq_removed_later.jpg")
PASSWORD = "a long enough secret"
SAMPLES = Path(__file__).resolve().parents[2] / "sample_photos"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """With a sender, so reminders are sent (and recorded) to her."""
    return Settings(data_dir=tmp_path / "data", mail_from="clinic@example.test", _env_file=None)  # type: ignore[call-arg]


def _photo(n: int) -> bytes:
    """A different measurable photo per n (a PNG re-encoding of a sample with a tweak)."""
    image = Image.open(SAMPLES / "ava" / "s1_before_a.jpg").convert("RGB")
    image.putpixel((n, n), (n, 255 - n, 7))
    return images.encode(image, "PNG")


def _zelda(app: App, operator: Actor) -> tuple[int, set[str], set[str]]:
    """Zelda with everything a client can have; (client id, her photos' keys, the quarantined
    and temp leftovers' keys)."""
    ctx = Context(app, operator)
    zelda = courses.create_client(ctx, NAME, consents={flag: True for flag in ConsentFlag})
    courses.record_intake(ctx, zelda, [Contraindication.ROSACEA], notes=f"{NAME} mentions a rosacea flare")
    key = next(
        f.key for f in flags.client_flags(ctx, zelda, date.today()).flags if f.key.startswith("contra")
    )
    flags.resolve(ctx, zelda, key, f"Checked with {NAME}: cleared for treatment", date.today())
    courses.record_session(
        ctx, zelda, 1, datetime.now() - timedelta(days=1), notes=f"{NAME} tolerated 1.0 mm well", serum="HA"
    )
    user_id = create_account(ctx, EMAIL, Role.CLIENT, PASSWORD, client_id=zelda)
    assert authenticate(app, EMAIL, "not her password") is None  # a failed sign-in, audited
    me = authenticate(app, EMAIL, PASSWORD)
    assert me is not None and me.user_id == user_id
    open_session(app, me)
    for n, filename in enumerate(FILE_NAMES):
        photos.import_photo(Context(app, me), zelda, _photo(n), filename, session_number=1)
    add_note(ctx, zelda, f"{NAME} asked for her photos by email to {EMAIL}")
    courses.rate_session(Context(app, me), zelda, 1, 5)
    export_client(ctx, zelda)
    export_client(Context(app, me), zelda)
    reports.client_report_pdf(ctx, zelda)
    sent: list[object] = []
    reminders.send_reminders(ctx, date.today(), send=sent.append)
    with app.uow() as uow:
        rows = uow.session.scalars(select(Photo).where(Photo.client_id == zelda).order_by(Photo.id)).all()
        keys = {k for p in rows for k in p.blob_keys.values()}
        removed = rows[-1].id
        crashed = rows[1].original_sha256  # her second photo: a write of it, cut off half way
    delete_photo(ctx, removed, reason=f"{NAME} asked to remove it")
    # A photo of hers that fsck quarantined (an upload that stored its file, then failed),
    # later uploaded again; and what a crashed write left in the temp folder.
    again = _photo(7)
    stray = app.blobs.put(ingest(again, "zq_again.jpg", app.limits).original)
    report = consistency.check(app, repair=True, min_age_seconds=0)
    assert [p.kind for p in report.problems] == ["orphan_blob"] and report.quarantine_dir
    photos.import_photo(Context(app, me), zelda, again, "zq_again.jpg", session_number=1)
    temp = app.settings.blob_dir / ".tmp" / f"put-{crashed}-x1y2z3"
    temp.write_bytes(app.blobs.get(crashed)[:5000])
    two_hours_ago = (datetime.now() - timedelta(hours=2)).timestamp()
    os.utime(temp, (two_hours_ago, two_hours_ago))
    with app.uow() as uow:
        keys |= {
            k
            for p in uow.session.scalars(select(Photo).where(Photo.client_id == zelda))
            for k in p.blob_keys.values()
        }
    assert sent, "a reminder was sent to her"
    return zelda, keys, {stray, crashed}


def _needles(keys: set[str]) -> list[str]:
    return [NAME.lower(), EMAIL.lower(), *(f.lower() for f in FILE_NAMES), "zq_again", *sorted(keys)]


def _found_in_tables(app: App, needles: list[str]) -> list[str]:
    """Every column of every table, read as text."""
    found = []
    meta = MetaData()
    meta.reflect(app.engine)
    with app.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(table.select()):
                text = " | ".join(str(v) for v in row).lower()
                found += [f"{table.name}: {n}" for n in needles if n in text]
    return found


def _found_in_files(root: Path, needles: list[str]) -> list[str]:
    """Every file under the data folder: its path, and its bytes (UTF-8 and UTF-16, the ways
    SQLite may store text)."""
    found = []
    for path in root.rglob("*"):
        relative = str(path.relative_to(root)).lower()
        found += [f"name {relative}: {n}" for n in needles if n in relative]
        if path.is_file():
            data = path.read_bytes().lower()
            for n in needles:
                if n.encode() in data or n.encode("utf-16-le") in data:
                    found.append(f"bytes of {relative}: {n}")
    return found


def test_deleting_a_client_leaves_nothing_of_her_in_any_table_or_file(app: App, operator: Actor) -> None:
    zelda, keys, leftovers = _zelda(app, operator)
    other = courses.create_client(Context(app, operator), "Olive Other")
    courses.record_session(Context(app, operator), other, 1, datetime.now() - timedelta(days=2))
    photos.import_photo(Context(app, operator), other, _photo(99), "olive.jpg", session_number=1)
    needles = _needles(keys | leftovers)
    assert _found_in_tables(app, needles) and _found_in_files(
        app.settings.data_dir, needles
    )  # the test sees her

    done = delete_client(Context(app, operator), zelda, NAME)
    assert done.photos == 3
    app.close()  # everything written, as after a restart
    assert _found_in_tables(app, needles) == []
    assert _found_in_files(app.settings.data_dir, needles) == []
    again = open_app(app.settings)
    try:
        assert consistency.check(again).consistent
        assert [c.name for c in courses.overview(Context(again, operator))] == ["Olive Other"]
    finally:
        again.close()


class CutShort(Exception):
    pass


def test_a_deletion_cut_short_is_finished_by_fsck_repair(
    app: App, operator: Actor, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    zelda, keys, _ = _zelda(app, operator)
    needles = _needles(keys)

    def crash(self: LocalBlobStore, key: str) -> None:
        raise CutShort(key)  # the power goes after the rows were deleted, before any file

    monkeypatch.setattr(LocalBlobStore, "delete", crash)
    with pytest.raises(CutShort):
        delete_client(Context(app, operator), zelda, NAME)
    monkeypatch.undo()
    assert {b.key for b in app.blobs.iterate()} & keys, "her files are still there"

    report = consistency.check(app)
    assert not report.consistent and {p.kind for p in report.problems} >= {"deleted_blob", "stale_temp_file"}
    report = consistency.check(app, repair=True)  # the default minimum age: removed all the same
    assert report.consistent and not report.quarantine_dir
    assert not {b.key for b in app.blobs.iterate()} & keys
    app.close()
    assert _found_in_files(settings.data_dir, needles) == []
    assert _found_in_tables(app, needles) == []
