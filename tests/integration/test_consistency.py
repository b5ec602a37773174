from __future__ import annotations

import io

from PIL import Image

from tests import images
from tests.conftest import photo_rows
from tracker.app import consistency, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.permissions import Actor
from tracker.store.blobs import sha256_hex
from tracker.store.models import Photo


def _photo(app: App, actor: Actor, client_id: int, seed: int) -> Photo:
    data = images.encode(images.noisy(seed=seed), "JPEG")
    done = photos.import_photo(Context(app, actor), client_id, data, f"{seed}.jpg", create_session=True)
    with app.uow() as uow:
        photo = uow.session.get(Photo, done.photo_id)
        assert photo is not None
        return photo


def _blob_path(app: App, key: str):  # type: ignore[no-untyped-def]
    return app.settings.blob_dir / key[:2] / key[2:4] / key


def test_clean_store_is_consistent(app: App, operator: Actor, client_id: int) -> None:
    _photo(app, operator, client_id, 1)
    report = consistency.check(app)
    assert report.consistent and report.problems == []
    assert (report.photos, report.blobs) == (1, 3)


def test_orphan_blob_is_found_and_quarantined(app: App, operator: Actor, client_id: int) -> None:
    photo = _photo(app, operator, client_id, 1)
    orphan = app.blobs.put(b"left behind by a crashed upload")
    report = consistency.check(app)
    assert not report.consistent
    assert [(p.kind, p.key) for p in report.problems] == [("orphan_blob", orphan)]

    # Young orphans may belong to an upload in progress: left alone by default.
    cautious = consistency.check(app, repair=True)
    assert not cautious.consistent and app.blobs.exists(orphan)

    repaired = consistency.check(app, repair=True, min_age_seconds=0)
    assert repaired.consistent
    assert not app.blobs.exists(orphan)
    assert repaired.quarantine_dir is not None
    quarantined = next(app.settings.quarantine_dir.rglob(orphan))
    assert quarantined.read_bytes() == b"left behind by a crashed upload"
    for key in photo.blob_keys.values():
        assert app.blobs.exists(key)
    assert consistency.check(app).consistent


def test_missing_derivative_is_rebuilt_from_the_original(app: App, operator: Actor, client_id: int) -> None:
    photo = _photo(app, operator, client_id, 2)
    _blob_path(app, photo.display_sha256).unlink()
    report = consistency.check(app)
    assert [(p.kind, p.photo_id, p.variant) for p in report.problems] == [
        ("missing_blob", photo.id, "display")
    ]
    repaired = consistency.check(app, repair=True, min_age_seconds=0)
    assert repaired.consistent
    with app.uow() as uow:
        fresh = uow.session.get(Photo, photo.id)
        assert fresh is not None
        display = Image.open(io.BytesIO(app.blobs.get(fresh.display_sha256)))
    assert display.size == (640, 480)
    assert consistency.check(app).problems == []


def test_missing_original_is_reported_and_the_row_kept(app: App, operator: Actor, client_id: int) -> None:
    lost = _photo(app, operator, client_id, 3)
    kept = _photo(app, operator, client_id, 4)
    _blob_path(app, lost.original_sha256).unlink()
    repaired = consistency.check(app, repair=True, min_age_seconds=0)
    assert not repaired.consistent
    assert [(p.kind, p.photo_id, p.variant, p.repaired) for p in repaired.problems] == [
        ("missing_blob", lost.id, "original", None)
    ]
    assert photo_rows(app) == 2  # never deletes a photo
    for key in kept.blob_keys.values():
        assert app.blobs.exists(key)
    # The lost photo's derivatives are still referenced, so they are not orphans.
    assert app.blobs.exists(lost.display_sha256)


def test_corrupt_thumbnail_is_detected_and_rebuilt(app: App, operator: Actor, client_id: int) -> None:
    photo = _photo(app, operator, client_id, 5)
    path = _blob_path(app, photo.thumbnail_sha256)
    path.write_bytes(b"bit rot")
    report = consistency.check(app)
    assert [(p.kind, p.variant) for p in report.problems] == [("corrupt_blob", "thumbnail")]
    assert consistency.check(app, repair=True, min_age_seconds=0).consistent
    with app.uow() as uow:
        fresh = uow.session.get(Photo, photo.id)
        assert fresh is not None
        assert sha256_hex(app.blobs.get(fresh.thumbnail_sha256)) == fresh.thumbnail_sha256
