from __future__ import annotations

from pathlib import Path

import pytest

from tracker.store.blobs import BlobCorrupt, BlobNotFound, LocalBlobStore, get_verified, sha256_hex


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def test_put_get_exists_delete_iterate(store: LocalBlobStore) -> None:
    key = store.put(b"hello")
    assert key == sha256_hex(b"hello")
    assert store.exists(key) and store.get(key) == b"hello"
    assert [info.key for info in store.iterate()] == [key]
    assert next(store.iterate()).size == 5
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.get(key)
    store.delete(key)  # deleting twice is harmless


def test_put_never_overwrites(store: LocalBlobStore) -> None:
    key = store.put(b"original")
    path = store.root / key[:2] / key[2:4] / key
    before = path.stat().st_ino
    path.chmod(0o444)
    assert store.put(b"original") == key
    assert path.stat().st_ino == before


def test_no_temp_files_are_left_behind(store: LocalBlobStore) -> None:
    for i in range(5):
        store.put(f"blob {i}".encode())
    assert list((store.root / ".tmp").iterdir()) == []
    assert len(list(store.iterate())) == 5


def test_keys_cannot_escape_the_store(store: LocalBlobStore) -> None:
    for bad in ("../../etc/passwd", "A" * 64, "abc", ""):
        with pytest.raises(ValueError, match="not a blob key"):
            store.get(bad)


def test_corruption_is_detected(store: LocalBlobStore) -> None:
    key = store.put(b"payload")
    (store.root / key[:2] / key[2:4] / key).write_bytes(b"tampered")
    with pytest.raises(BlobCorrupt):
        get_verified(store, key)
