"""The encrypting blob store over a real local store: what lands on disk, and that every
change to it is refused rather than returned as garbage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests import images
from tracker.store.blobs import BlobCorrupt, LocalBlobStore, get_verified, sha256_hex
from tracker.store.encrypted_blobs import HEADER_BYTES, EncryptingBlobStore, sealed_key_id
from tracker.store.encryption_keys import (
    EncryptionKeyProblem,
    KeyNotAvailable,
    Keys,
    MasterKey,
    StoreSecrets,
    key_from_file,
    write_key_file,
)

PHOTO = images.encode(images.noisy(seed=3), "JPEG")  # with EXIF (date, GPS)


def _keys(master: MasterKey, secrets: StoreSecrets, *others: MasterKey) -> Keys:
    return Keys(current=master, readable={m.key_id: m for m in (master, *others)}, secrets=secrets)


@pytest.fixture
def inner(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def secrets() -> StoreSecrets:
    return StoreSecrets.generate()


@pytest.fixture
def store(inner: LocalBlobStore, secrets: StoreSecrets) -> EncryptingBlobStore:
    return EncryptingBlobStore(inner, _keys(MasterKey.generate(), secrets))


def _file(inner: LocalBlobStore, key: str) -> Path:
    return inner.root / key[:2] / key[2:4] / key


def test_round_trip_and_the_address_is_a_keyed_hash(
    store: EncryptingBlobStore, secrets: StoreSecrets
) -> None:
    key = store.put(PHOTO)
    assert store.get(key) == PHOTO and get_verified(store, key) == PHOTO
    assert key != sha256_hex(PHOTO)  # the photo's SHA-256 would name it to anyone who has it
    assert store.put(PHOTO) == key and len(list(store.iterate())) == 1  # de-duplicated
    # Another store (another address secret) gives the same photo another address.
    other = EncryptingBlobStore(store.inner, _keys(MasterKey.generate(), StoreSecrets.generate()))
    assert other.address(PHOTO) != key
    # The same secret under another master key: the same address (what rotation relies on).
    same = EncryptingBlobStore(store.inner, _keys(MasterKey.generate(), secrets))
    assert same.address(PHOTO) == key


def test_the_stored_file_holds_no_image_magic_and_no_exif(
    store: EncryptingBlobStore, inner: LocalBlobStore
) -> None:
    heic = images.encode(images.noisy(seed=4), "HEIF")
    for data in (PHOTO, heic):
        assert b"Exif" in data  # the test photos carry EXIF
        raw = _file(inner, store.put(data)).read_bytes()
        assert raw[:4] == b"TRKE"
        assert b"\xff\xd8\xff" not in raw[:64] and b"ftyp" not in raw[:64]
        assert b"Exif" not in raw and b"heic" not in raw
        assert len(raw) == len(data) + HEADER_BYTES + 16  # nothing but the header and the tag


@pytest.mark.parametrize("where", [0, 5, 20, HEADER_BYTES - 1, HEADER_BYTES + 100, -1])
def test_a_flipped_byte_is_refused_not_returned(
    store: EncryptingBlobStore, inner: LocalBlobStore, where: int
) -> None:
    key = store.put(PHOTO)
    path = _file(inner, key)
    raw = bytearray(path.read_bytes())
    raw[where] ^= 0x01
    path.chmod(0o600)
    path.write_bytes(bytes(raw))
    with pytest.raises((BlobCorrupt, KeyNotAvailable)):
        store.get(key)


def test_a_file_moved_to_another_address_is_refused(
    store: EncryptingBlobStore, inner: LocalBlobStore
) -> None:
    first, second = store.put(PHOTO), store.put(b"another photo")
    inner.put_at(second, _file(inner, first).read_bytes(), replace=True)
    with pytest.raises(BlobCorrupt):
        store.get(second)


def test_a_wrong_master_key_cannot_read(store: EncryptingBlobStore, secrets: StoreSecrets) -> None:
    key = store.put(PHOTO)
    stranger = EncryptingBlobStore(store.inner, _keys(MasterKey.generate(), secrets))
    with pytest.raises(KeyNotAvailable, match="not configured"):
        stranger.get(key)


def test_rewrap_changes_the_header_only_and_needs_the_new_key(
    store: EncryptingBlobStore, inner: LocalBlobStore, secrets: StoreSecrets
) -> None:
    key = store.put(PHOTO)
    old_raw = _file(inner, key).read_bytes()
    new = MasterKey.generate()
    assert store.rewrap(key, new) is True
    assert store.rewrap(key, new) is False  # already: skipped
    new_raw = _file(inner, key).read_bytes()
    assert sealed_key_id(new_raw) == new.key_id and new_raw[HEADER_BYTES:] == old_raw[HEADER_BYTES:]
    assert EncryptingBlobStore(inner, _keys(new, secrets)).get(key) == PHOTO
    with pytest.raises(KeyNotAvailable):
        EncryptingBlobStore(inner, _keys(store.keys.current, secrets)).get(key)


def test_a_damaged_file_is_not_rewrapped(store: EncryptingBlobStore, inner: LocalBlobStore) -> None:
    key = store.put(PHOTO)
    path = _file(inner, key)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01
    path.chmod(0o600)
    path.write_bytes(bytes(raw))
    with pytest.raises(BlobCorrupt):
        store.rewrap(key, MasterKey.generate())
    assert path.read_bytes() == bytes(raw)  # left as it was


def test_a_plaintext_blob_left_to_encrypt_reads_only_if_it_hashes_to_its_key(
    store: EncryptingBlobStore, inner: LocalBlobStore
) -> None:
    key = inner.put(PHOTO)
    assert store.get(key) == PHOTO and get_verified(store, key) == PHOTO
    inner.put_at(key, PHOTO[:-1] + b"\x00", replace=True)
    with pytest.raises(BlobCorrupt):
        store.get(key)


def test_key_files_must_be_private_and_the_right_size(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    key = MasterKey.generate()
    write_key_file(path, key)
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_from_file(path).key_id == key.key_id
    with pytest.raises(FileExistsError):
        write_key_file(path, MasterKey.generate())
    path.chmod(0o644)
    with pytest.raises(EncryptionKeyProblem, match=r"open to other users.*chmod 600"):
        key_from_file(path)
    short = tmp_path / "short.key"
    short.write_text("c2hvcnQ=\n")
    short.chmod(0o600)
    with pytest.raises(EncryptionKeyProblem, match="holds 5 bytes"):
        key_from_file(short)
    with pytest.raises(EncryptionKeyProblem, match="does not exist"):
        key_from_file(tmp_path / "nope.key")


def test_store_secrets_open_only_with_their_key() -> None:
    secrets, master = StoreSecrets.generate(), MasterKey.generate()
    sealed = secrets.seal(master)
    assert StoreSecrets.open(sealed, master) == secrets
    wrong = MasterKey.generate()
    with pytest.raises(EncryptionKeyProblem, match=f"does not match this store \\(key id {wrong.key_id}\\)"):
        StoreSecrets.open(sealed, wrong)
    assert hashlib.sha256(master.material).hexdigest()[:16] != master.key_id  # not the plain hash


def test_put_at_never_replaces_unless_asked(inner: LocalBlobStore) -> None:
    key = "ab" * 32
    inner.put_at(key, b"first")
    inner.put_at(key, b"second")
    assert inner.get(key) == b"first"
    inner.put_at(key, b"third", replace=True)
    assert inner.get(key) == b"third"
    assert list((inner.root / ".tmp").iterdir()) == []  # no temp file left either way
