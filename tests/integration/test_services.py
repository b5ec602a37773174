from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import images
from tests.conftest import blob_files, photo_rows
from tracker.app import consistency, courses, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.config import MB, Settings
from tracker.domain import Contraindication, PhotoKind, Role
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import Photo

GOOD_JPEG = images.encode(images.quadrants(), "JPEG")


def _hostile() -> list[tuple[str, bytes, str, str]]:
    """(case, bytes, file name, expected words of the message)."""
    big = images.encode(images.noisy(2000, 1500), "PNG", gps=False)
    return [
        ("zero bytes", b"", "empty.jpg", "empty"),
        ("truncated JPEG", GOOD_JPEG[: len(GOOD_JPEG) // 2], "cut.jpg", "incomplete"),
        ("text named .jpg", b"just some notes about my skin\n" * 5, "notes.jpg", "text file"),
        ("HTML named .jpg", b"<!DOCTYPE html><html><body>hi</body></html>", "page.jpg", "web page"),
        (
            "SVG",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>',
            "x.svg",
            "SVG drawing",
        ),
        ("PDF", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "scan.jpg", "PDF document"),
        ("50000x50000 PNG header", images.png_claiming(50_000, 50_000), "bomb.png", "50000 × 50000"),
        ("over the byte limit", big, "big.png", "the limit is 1 MB"),
        ("too small", images.encode(images.quadrants(200, 150), "PNG"), "tiny.png", "at least 256"),
        ("animated GIF", images.animated("GIF"), "anim.gif", "GIF images are not accepted"),
        ("animated WebP", images.animated("WEBP"), "anim.webp", "animated"),
        ("animated PNG", images.animated("PNG"), "anim.png", "animated"),
        ("path traversal", GOOD_JPEG, "../../etc/passwd.jpg", "folder path"),
        ("windows path traversal", GOOD_JPEG, "..\\..\\boot.jpg", "folder path"),
        ("control characters", GOOD_JPEG, "a\x00b.jpg", "control characters"),
    ]


@pytest.fixture
def small_limit_app(tmp_path: Path) -> App:
    from tracker.bootstrap import open_app

    return open_app(Settings(data_dir=tmp_path / "d", max_upload_bytes=1 * MB, _env_file=None))  # type: ignore[call-arg]


@pytest.mark.parametrize("case", _hostile(), ids=lambda c: c[0])
def test_hostile_upload_is_refused_and_stores_nothing(
    case: tuple[str, bytes, str, str], small_limit_app: App
) -> None:
    _name, data, filename, expected = case
    app = small_limit_app
    actor = Actor.operator(courses.ensure_clinic(app, "C"))
    client_id = courses.create_client(Context(app, actor), "Someone")
    courses.record_session(Context(app, actor), client_id, 1, datetime(2026, 5, 4, 10))
    with pytest.raises(Rejected, match=expected):
        photos.import_photo(Context(app, actor), client_id, data, filename, session_number=1)
    assert photo_rows(app) == 0
    assert blob_files(app) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_import_stores_original_and_derivatives_without_location(
    fmt: str, app: App, operator: Actor, client_id: int
) -> None:
    # Stored sideways, as a phone held upright does.
    data = images.encode(images.stored_for_orientation(images.quadrants(), 6), fmt, orientation=6)
    done = photos.import_photo(
        Context(app, operator), client_id, data, f"p.{fmt.lower()}", create_session=True
    )
    assert (done.width, done.height) == (640, 480)
    assert done.taken_at == datetime(2026, 5, 4, 9, 41, 27) and done.taken_at_source == "exif"
    with app.uow() as uow:
        photo = uow.session.get(Photo, done.photo_id)
        assert photo is not None
        keys = photo.blob_keys
        assert (photo.width, photo.height, photo.original_format) == (640, 480, fmt.lower())
    for variant, key in keys.items():
        stored = photos.photo_bytes(Context(app, operator), done.photo_id, variant)
        decoded = Image.open(io.BytesIO(stored))
        assert decoded.getexif().get_ifd(0x8825) == {}, variant
        if variant == "original":
            assert np.array_equal(
                np.asarray(decoded.convert("RGB")),
                np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
            )
        else:
            assert decoded.width / decoded.height == pytest.approx(640 / 480, abs=0.01)  # upright
        assert app.blobs.exists(key)


def test_same_photo_twice_is_refused(app: App, operator: Actor, client_id: int) -> None:
    photos.import_photo(Context(app, operator), client_id, GOOD_JPEG, "a.jpg", create_session=True)
    with pytest.raises(Rejected, match="already uploaded"):
        photos.import_photo(Context(app, operator), client_id, GOOD_JPEG, "again.jpg", create_session=True)
    assert photo_rows(app) == 1


def test_session_and_kind_follow_the_capture_time(app: App, operator: Actor, client_id: int) -> None:
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10, 0))
    courses.record_session(Context(app, operator), client_id, 2, datetime(2026, 6, 8, 10, 0))
    cases = [
        ("2026:05:04 09:41:00", 1, PhotoKind.BEFORE),
        ("2026:05:04 10:40:00", 1, PhotoKind.AFTER),
        ("2026:05:07 10:00:00", 1, PhotoKind.CHECKIN),
        ("2026:06:08 08:00:00", 2, PhotoKind.BEFORE),
    ]
    for i, (date, number, kind) in enumerate(cases):
        data = images.encode(images.noisy(seed=i), "JPEG", date=date)
        done = photos.import_photo(Context(app, operator), client_id, data, f"{i}.jpg")
        assert (done.session_number, done.kind) == (number, kind), date


def test_client_of_another_clinic_is_out_of_reach(app: App, client_id: int) -> None:
    other = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    with pytest.raises(PermissionDenied):
        photos.import_photo(Context(app, other), client_id, GOOD_JPEG, "a.jpg", create_session=True)
    assert photo_rows(app) == 0


def test_a_client_user_cannot_upload_for_someone_else(app: App, operator: Actor, client_id: int) -> None:
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10))
    someone_else = courses.create_client(Context(app, operator), "Someone Else")
    actor = Actor(label="x@y", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=someone_else)
    with pytest.raises(PermissionDenied):
        photos.import_photo(Context(app, actor), client_id, GOOD_JPEG, "a.jpg", session_number=1)
    with pytest.raises(PermissionDenied):
        courses.create_client(Context(app, actor), "Sneaky")
    own = Actor(label="me@y", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=client_id)
    assert photos.import_photo(Context(app, own), client_id, GOOD_JPEG, "a.jpg", session_number=1).photo_id


def test_failed_commit_leaves_no_row(
    app: App, operator: Actor, client_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracker.store.uow import UnitOfWork

    def fail(self: UnitOfWork) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(UnitOfWork, "commit", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        photos.import_photo(Context(app, operator), client_id, GOOD_JPEG, "a.jpg", create_session=True)
    monkeypatch.undo()
    assert photo_rows(app) == 0
    report = consistency.check(app)
    assert {p.kind for p in report.problems} == {"orphan_blob"}  # no row points at nothing


def test_process_killed_between_blob_write_and_commit(tmp_path: Path) -> None:
    """A real crash: the importing process dies right after writing its blobs."""
    data_dir = tmp_path / "data"
    photo = tmp_path / "p.jpg"
    photo.write_bytes(GOOD_JPEG)
    script = textwrap.dedent(
        f"""
        import os
        from tracker.store.blobs import LocalBlobStore
        real_put = LocalBlobStore.put
        calls = []
        def put_then_die(self, data):
            key = real_put(self, data)
            calls.append(key)
            if len(calls) == 3:  # original, display and thumbnail are on disk
                os._exit(9)
            return key
        LocalBlobStore.put = put_then_die
        from tracker.cli import main
        main(["--data-dir", {str(data_dir)!r}, "import", {str(photo)!r}, "--client", "Crash Test"])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr

    from tracker.bootstrap import open_app

    app = open_app(Settings(data_dir=data_dir, _env_file=None))  # type: ignore[call-arg]
    assert photo_rows(app) == 0
    assert len(blob_files(app)) == 3
    report = consistency.check(app)
    assert [p.kind for p in report.problems] == ["orphan_blob"] * 3
    repaired = consistency.check(app, repair=True, min_age_seconds=0)
    assert repaired.consistent
    assert blob_files(app) == []
    # The upload can simply be retried.
    actor = Actor.operator(courses.ensure_clinic(app, app.settings.clinic_name))
    client = courses.find_client(Context(app, actor), "Crash Test")
    assert client is not None
    photos.import_photo(Context(app, actor), client.id, GOOD_JPEG, "p.jpg", create_session=True)
    assert consistency.check(app).consistent


def test_a_recorded_session_is_changed_only_when_asked(app: App, operator: Actor, client_id: int) -> None:
    courses.record_session(
        Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10), needle_depth_mm=0.5
    )
    with pytest.raises(courses.SessionExists, match="Session 1 is already recorded"):
        courses.record_session(
            Context(app, operator), client_id, 1, datetime(2026, 6, 1, 10), needle_depth_mm=1.5
        )
    (row,) = courses.overview(Context(app, operator))
    assert [(s.at, s.needle_depth_mm) for s in row.sessions] == [(datetime(2026, 5, 4, 10), 0.5)]
    courses.record_session(
        Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10), needle_depth_mm=1.5, replace=True
    )
    (row,) = courses.overview(Context(app, operator))
    assert [s.needle_depth_mm for s in row.sessions] == [1.5]


def test_a_second_client_of_the_same_name_needs_a_confirmation(
    app: App, operator: Actor, client_id: int
) -> None:
    with pytest.raises(courses.SameName, match="A client called Test Client is already in the clinic"):
        courses.create_client(Context(app, operator), "  test   client ")
    assert len(courses.overview(Context(app, operator))) == 1
    courses.create_client(Context(app, operator), "Test Client", allow_same_name=True)
    assert len(courses.overview(Context(app, operator))) == 2


def test_taking_a_contraindication_off_the_file_needs_a_confirmation(
    app: App, operator: Actor, client_id: int
) -> None:
    rosacea, thinners = Contraindication.ROSACEA, Contraindication.BLOOD_THINNERS
    courses.record_intake(Context(app, operator), client_id, [rosacea], "GP letter on file")
    with pytest.raises(courses.IntakeRemoval, match="remove from the file: Rosacea"):
        courses.record_intake(Context(app, operator), client_id, [thinners], "")
    assert courses.client_intake(Context(app, operator), client_id).contraindications == (
        Contraindication.ROSACEA,
    )
    courses.record_intake(
        Context(app, operator), client_id, [rosacea, thinners], "GP letter on file"
    )  # adding is fine
    courses.record_intake(Context(app, operator), client_id, [], "", allow_removal=True)
    assert courses.client_intake(Context(app, operator), client_id).contraindications == ()


def test_the_same_photo_sent_twice_at_once_is_stored_once(app: App, operator: Actor, client_id: int) -> None:
    import threading

    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def send() -> None:
        start.wait()
        try:
            photos.import_photo(
                Context(app, operator), client_id, GOOD_JPEG, "same.jpg", session_number=1, analyse=False
            )
            outcomes.append("stored")
        except Rejected as exc:
            outcomes.append(str(exc))
        except Exception as exc:  # a raw database error would land here
            outcomes.append(f"unexpected {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[1] == "stored", outcomes
    assert "already uploaded" in sorted(outcomes)[0], outcomes
    assert photo_rows(app) == 1


def test_a_decoder_surprise_refuses_that_file_with_a_plain_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.ingest import decode

    def broken(image: Image.Image, long_edge: int, quality: int) -> bytes:
        raise KeyError("internal detail")

    monkeypatch.setattr(decode, "_jpeg", broken)
    limits = decode.Limits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    with pytest.raises(Rejected) as refused:
        decode.ingest(GOOD_JPEG, "x.jpg", limits)
    assert str(refused.value) == (
        "The JPEG file could not be read completely; it may be damaged. Please export it again."
    )
