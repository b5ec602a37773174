"""The same contract for every blob store, so the local folder and the S3 bucket cannot
drift apart: content addressing, never replacing an object, deleting, listing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.s3_server import S3Server
from tracker.store.blobs import BlobCorrupt, BlobNotFound, BlobStore, LocalBlobStore, get_verified, sha256_hex
from tracker.store.s3_blobs import S3BlobStore, S3Location


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = server.create_bucket()
    yield S3BlobStore(server.client(), S3Location.parse(f"s3://{bucket}/clinic-a"))


def test_put_get_exists_delete(store: BlobStore) -> None:
    key = store.put(b"hello")
    assert key == store.address(b"hello") == sha256_hex(b"hello")
    assert store.exists(key) and store.get(key) == b"hello"
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.get(key)
    store.delete(key)  # deleting twice is harmless


def test_iterate_gives_every_key_with_size_and_time(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    keys = {store.put(f"blob {i}".encode() * (i + 1)) for i in range(5)}
    found = {info.key: info for info in store.iterate()}
    assert set(found) == keys
    for key, info in found.items():
        assert info.size == len(store.get(key))
        assert before < info.modified_at <= datetime.now(UTC) + timedelta(minutes=5)


def test_storing_the_same_bytes_again_changes_nothing(store: BlobStore) -> None:
    key = store.put(b"original")
    first = next(store.iterate()).modified_at
    assert store.put(b"original") == key
    assert [(i.key, i.modified_at) for i in store.iterate()] == [(key, first)]


def test_concurrent_puts_of_the_same_content_give_one_intact_blob(store: BlobStore) -> None:
    data = bytes(range(256)) * 4096  # 1 MB
    keys: list[str] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            keys.append(store.put(data))
        except BaseException as exc:  # collected: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(keys) == {sha256_hex(data)}
    assert [info.key for info in store.iterate()] == keys[:1]
    assert get_verified(store, keys[0]) == data


def test_unknown_keys_are_refused_before_any_request(store: BlobStore) -> None:
    for bad in ("../etc/passwd", "A" * 64, "ab/cd"):
        with pytest.raises(ValueError, match="not a blob key"):
            store.get(bad)


def test_a_changed_blob_is_found_corrupt(store: BlobStore) -> None:
    key = store.put(b"the real bytes")
    if isinstance(store, LocalBlobStore):
        path = store.root / key[:2] / key[2:4] / key
        path.chmod(0o600)
        path.write_bytes(b"damaged")
    else:
        assert isinstance(store, S3BlobStore)
        store.client.put_object(Bucket=store.location.bucket, Key=store.object_key(key), Body=b"damaged")
    with pytest.raises(BlobCorrupt):
        get_verified(store, key)
