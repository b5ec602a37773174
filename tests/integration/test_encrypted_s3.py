"""Encryption at rest over the S3 store: the combination a clinic chain runs (issue 13,
items 2 and 3). Objects in the bucket are ciphertext named by a keyed hash; the app reads
its photos back, fsck finds the store consistent, and an orphan goes to the bucket's
quarantine still encrypted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import images
from tests.s3_server import S3Server
from tracker.app import consistency, courses, photos
from tracker.app.context import Context
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import ConsentFlag
from tracker.permissions import Actor
from tracker.store.blobs import sha256_hex
from tracker.store.encrypted_blobs import EncryptingBlobStore, is_sealed
from tracker.store.encryption_keys import MasterKey, write_key_file
from tracker.store.models import Photo
from tracker.store.s3_blobs import S3BlobStore


def objects_named(objects: dict[str, bytes]) -> set[str]:
    """The blob keys of the bucket's object names (…/ab/cd/<key>)."""
    return {name.rsplit("/", 1)[1] for name in objects}


@pytest.fixture
def app(tmp_path: Path, s3_settings: dict[str, str]) -> Iterator[App]:
    key = tmp_path / "master.key"
    write_key_file(key, MasterKey.generate())
    settings = Settings(data_dir=tmp_path / "data", encryption_key_file=key, _env_file=None)  # type: ignore[call-arg]
    application = open_app(settings, begin_encryption=True)
    yield application
    application.close()


def _bucket(app: App, s3_server: S3Server) -> dict[str, bytes]:
    assert isinstance(app.blobs, EncryptingBlobStore)
    inner = app.blobs.inner
    assert isinstance(inner, S3BlobStore)
    client = s3_server.client()
    return {
        entry["Key"]: client.get_object(Bucket=inner.location.bucket, Key=entry["Key"])["Body"].read()
        for entry in inner.list_objects("")
    }


def test_photos_in_the_bucket_are_ciphertext_and_read_back(app: App, s3_server: S3Server) -> None:
    ctx = Context(app, Actor.operator(courses.ensure_clinic(app, "Chain Clinic")))
    client = courses.create_client(ctx, "Enc Rypted", consents={flag: True for flag in ConsentFlag})
    data = images.encode(images.noisy(seed=31), "JPEG")
    done = photos.import_photo(ctx, client, data, "a.jpg", create_session=True, analyse=False)
    assert done.photo_id is not None

    objects = _bucket(app, s3_server)
    assert len(objects) == 3  # original, display copy, thumbnail
    plain_key = sha256_hex(data)
    for name, body in objects.items():
        assert is_sealed(body)
        assert b"\xff\xd8\xff" not in body[:64] and b"Exif" not in body  # no JPEG, no EXIF
        assert plain_key not in name  # the name does not give away the photo's hash
    with app.uow() as uow:
        photo = uow.session.get(Photo, done.photo_id)
        assert photo is not None
        original = photo.original_sha256
    assert original in objects_named(objects)
    assert app.blobs.get(original)[:3] == b"\xff\xd8\xff"  # the app reads its JPEG back

    report = consistency.check(app)
    assert report.problems == [] and report.blobs == 3


def test_an_orphan_is_quarantined_in_the_bucket_still_encrypted(app: App, s3_server: S3Server) -> None:
    orphan = app.blobs.put(b"left by a crashed upload")
    report = consistency.check(app, repair=True, min_age_seconds=0)
    assert [p.kind for p in report.problems] == ["orphan_blob"]
    assert not app.blobs.exists(orphan)
    quarantined = {k: v for k, v in _bucket(app, s3_server).items() if "quarantine/" in k}
    assert len(quarantined) == 1
    (body,) = quarantined.values()
    assert is_sealed(body) and b"crashed upload" not in body
