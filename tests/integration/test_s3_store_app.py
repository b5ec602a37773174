"""The app with its photos in an S3 bucket (TRACKER_BLOB_STORE_URL pointing at a real
S3-protocol server the run starts): upload through the limited child process, view,
export, fsck with an orphan and a corrupt object, and a client's deletion that leaves no
object of hers. Nothing of a photo is written to the data folder."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests import images
from tests.s3_server import S3Server
from tracker.app import consistency, courses, photos
from tracker.app.context import Context
from tracker.app.records import delete_client, export_client
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import ConsentFlag
from tracker.permissions import Actor
from tracker.store.blobs import BlobStoreUnavailable, LocalBlobStore, sha256_hex
from tracker.store.models import Photo
from tracker.store.s3_blobs import S3BlobStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def s3_app(tmp_path: Path, s3_settings: dict[str, str]) -> Iterator[App]:
    application = open_app(Settings(data_dir=tmp_path / "data", _env_file=None))  # type: ignore[call-arg]
    yield application
    application.close()


@pytest.fixture
def staff(s3_app: App) -> Actor:
    return Actor.operator(courses.ensure_clinic(s3_app, "S3 Clinic"))


def _store(app: App) -> S3BlobStore:
    assert isinstance(app.blobs, S3BlobStore)
    return app.blobs


def _objects(app: App) -> list[str]:
    store = _store(app)
    return [o["Key"] for o in store.list_objects("")]


def _client_with_photo(app: App, actor: Actor, name: str, seed: int) -> tuple[int, Photo]:
    ctx = Context(app, actor)
    client = courses.create_client(ctx, name, consents={flag: True for flag in ConsentFlag})
    data = images.encode(images.noisy(seed=seed), "JPEG")
    done = photos.import_photo(ctx, client, data, f"{name}.jpg", create_session=True, analyse=False)
    with app.uow() as uow:
        photo = uow.session.get(Photo, done.photo_id)
        assert photo is not None
        uow.session.expunge(photo)
    return client, photo


def _no_photo_files(data_dir: Path) -> list[Path]:
    """Files in the data folder other than the database (and its journal)."""
    return [p for p in data_dir.rglob("*") if p.is_file() and not p.name.startswith("tracker.db")]


def test_the_store_url_chooses_the_bucket(s3_app: App, s3_settings: dict[str, str]) -> None:
    location = _store(s3_app).location
    assert f"s3://{location.bucket}/{location.prefix}" == s3_settings["TRACKER_BLOB_STORE_URL"] + "/"
    assert "testing-secret-key" not in repr(s3_app.settings)


def test_an_upload_is_stored_in_the_bucket_and_viewed_from_it(s3_app: App, staff: Actor) -> None:
    ctx = Context(s3_app, staff)
    client = courses.create_client(ctx, "Ursula Upload", consents={flag: True for flag in ConsentFlag})
    courses.record_session(ctx, client, 1, datetime.now() - timedelta(days=1))
    data = images.encode(images.noisy(seed=3), "JPEG")
    done = photos.upload_photo(ctx, client, data, "upload.jpg", session_number=1)  # in a child process
    with s3_app.uow() as uow:
        photo = uow.session.get(Photo, done.photo_id)
        assert photo is not None
        keys = set(photo.blob_keys.values())
        original_key = photo.original_sha256
    store = _store(s3_app)
    assert {store.object_key(k) for k in keys} == set(_objects(s3_app))
    assert sha256_hex(photos.photo_bytes(ctx, done.photo_id, "original")) == original_key
    assert photos.photo_bytes(ctx, done.photo_id, "thumbnail")[:2] == b"\xff\xd8"
    assert _no_photo_files(s3_app.settings.data_dir) == []


def test_fsck_quarantines_an_orphan_in_the_bucket_and_rebuilds_a_corrupt_copy(
    s3_app: App, staff: Actor
) -> None:
    _, photo = _client_with_photo(s3_app, staff, "Fiona Fsck", 4)
    store = _store(s3_app)
    orphan = store.put(b"left behind by a crashed upload")
    bucket = store.location.bucket
    store.client.put_object(Bucket=bucket, Key=store.object_key(photo.display_sha256), Body=b"damaged")

    report = consistency.check(s3_app)
    assert sorted((p.kind, p.key) for p in report.problems) == sorted(
        [("orphan_blob", orphan), ("corrupt_blob", photo.display_sha256)]
    )
    repaired = consistency.check(s3_app, repair=True, min_age_seconds=0)
    assert repaired.consistent
    assert (repaired.quarantine_dir or "").startswith(f"s3://{bucket}/{store.location.prefix}quarantine/")
    assert not store.exists(orphan)
    [entry] = s3_app.quarantine.entries()
    assert entry.key == orphan
    assert consistency.check(s3_app).consistent
    with s3_app.uow() as uow:
        fixed = uow.session.get(Photo, photo.id)
        assert fixed is not None
        assert store.get(fixed.display_sha256)[:2] == b"\xff\xd8"
    assert _no_photo_files(s3_app.settings.data_dir) == []

    # Quarantined objects go after quarantine_days, like quarantined files.
    later = open_app(s3_app.settings.model_copy(update={"quarantine_days": 0}))
    try:
        report = consistency.check(later, repair=True)
        assert [(p.kind, p.key, p.repaired) for p in report.problems] == [
            ("expired_quarantine", orphan, "removed")
        ]
        assert later.quarantine.entries() == []
    finally:
        later.close()


def test_deleting_a_client_leaves_no_object_of_hers(s3_app: App, staff: Actor) -> None:
    zelda, hers = _client_with_photo(s3_app, staff, "Zelda Zapped", 5)
    _, other = _client_with_photo(s3_app, staff, "Olive Other", 6)
    store = _store(s3_app)
    # A copy of one of her files in the quarantine, as a repair long ago could have left.
    store.client.copy_object(
        Bucket=store.location.bucket,
        Key=f"{store.location.prefix}quarantine/20260101T000000Z/{hers.original_sha256}",
        CopySource={"Bucket": store.location.bucket, "Key": store.object_key(hers.original_sha256)},
    )
    done = delete_client(Context(s3_app, staff), zelda, "Zelda Zapped")
    assert done.files_deleted == 3
    left = _objects(s3_app)
    assert not [k for k in left if any(h in k for h in hers.blob_keys.values())]
    assert sorted(left) == sorted(store.object_key(k) for k in other.blob_keys.values())
    assert consistency.check(s3_app).consistent


def test_a_client_export_reads_her_photos_from_the_bucket(s3_app: App, staff: Actor) -> None:
    client, photo = _client_with_photo(s3_app, staff, "Erin Export", 7)
    original = _store(s3_app).get(photo.original_sha256)
    _, body = export_client(Context(s3_app, staff), client)
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        stored = [zf.read(name) for name in zf.namelist() if not name.endswith((".json", ".txt"))]
    assert original in stored


def test_a_missing_bucket_is_a_plain_message_on_the_command_line(
    tmp_path: Path, s3_server: S3Server, s3_settings: dict[str, str]
) -> None:
    env = {**os.environ, **s3_settings, "TRACKER_BLOB_STORE_URL": "s3://no-such-bucket-here/p"}
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "--data-dir", str(tmp_path / "data"), "fsck"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "the photo storage is not set up" in done.stderr
    assert "S3 bucket 'no-such-bucket-here'" in done.stderr and "no such bucket" in done.stderr
    assert "Traceback" not in done.stderr and "botocore" not in done.stderr


def test_a_page_shows_the_plain_message(s3_app: App, staff: Actor) -> None:
    """BlobStoreUnavailable is one of the errors a person is told about (tracker.errors)."""
    from tracker.ui.errors import notice_for

    _, photo = _client_with_photo(s3_app, staff, "Paula Page", 8)
    broken = open_app(s3_app.settings.model_copy(update={"blob_store_url": "s3://no-such-bucket-here"}))
    try:
        with pytest.raises(BlobStoreUnavailable) as info:
            photos.photo_bytes(Context(broken, staff), photo.id, "display")
    finally:
        broken.close()
    notice = notice_for(info.value)
    assert notice.text == (
        "Photos cannot be loaded or saved right now: the photo storage is not set up. "
        "Please try again in a while; if it goes on, tell the clinic."
    )


def test_without_a_store_url_the_data_folder_keeps_the_photos(app: App) -> None:
    assert isinstance(app.blobs, LocalBlobStore)
    assert app.blobs.root == app.settings.blob_dir


@pytest.mark.sqlite_only  # backup and restore handle the embedded SQLite database only
def test_a_backup_reads_the_bucket_and_a_restore_into_it_is_refused(
    s3_app: App, staff: Actor, tmp_path: Path
) -> None:
    from tracker.app.backup import backup, restore
    from tracker.errors import Refused

    _, photo = _client_with_photo(s3_app, staff, "Bea Backup", 9)
    (tmp_path / "backups").mkdir()
    done = backup(s3_app, tmp_path / "backups")
    assert set(photo.blob_keys.values()) <= set(done.manifest.blobs)
    with pytest.raises(Refused, match="TRACKER_BLOB_STORE_URL is set"):
        restore(s3_app.settings.model_copy(update={"data_dir": tmp_path / "new"}), done.path)
    assert not (tmp_path / "new").exists()
