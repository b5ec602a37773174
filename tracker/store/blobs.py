"""Blob stores: immutable bytes addressed by their SHA-256.

Content addressing makes a write idempotent and lets fsck prove integrity by re-hashing.
The interface is deliberately five verbs so an S3 implementation can follow without
touching callers. Keys are lowercase hex digests; nothing else ever reaches the file
system, so a client's file name can never become a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from tracker.errors import TrackerError

_KEY = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    pass


class BlobCorrupt(Exception):
    """Stored bytes no longer hash to their key."""


class BlobStoreUnavailable(TrackerError):
    """The store cannot serve at all (no such bucket, credentials refused, endpoint down).

    A TrackerError: its message, in plain words and naming nothing internal, is what a page
    shows (to a client too); `detail` names the bucket, the endpoint and the failure, for
    the command line and the server's log. Never the client library's traceback."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(
            f"Photos cannot be loaded or saved right now: {reason}. "
            "Please try again in a while; if it goes on, tell the clinic."
        )
        self.detail = detail


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified_at: datetime


@dataclass(frozen=True)
class TempFile:
    """A file in the store's temp folder: a write in progress, or left by one that crashed."""

    path: Path
    key: str | None  # the blob it was being written for (None: not one of ours)
    modified_at: datetime


TEMP_FOLDER = ".tmp"
_TEMP_NAME = re.compile(r"^put-([0-9a-f]{64})-")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a blob key (64 lowercase hex digits): {key!r}")
    return key


class BlobStore(Protocol):
    def address(self, data: bytes) -> str:
        """The key these bytes have (or would have) in this store: SHA-256 here; a store
        that encrypts uses a keyed hash, so a key reveals nothing about the photo."""
        ...

    def put(self, data: bytes) -> str:
        """Store bytes and return their key. Storing the same bytes again is a no-op."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def iterate(self) -> Iterator[BlobInfo]: ...


class LocalBlobStore:
    """Files under `root/ab/cd/<key>`, written crash-safely.

    A write goes to a temp file in the same file system, is fsynced, then linked into
    place. `os.link` fails if the target exists, so an existing blob is never replaced,
    and a reader never sees a partial file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / TEMP_FOLDER
        _private_dirs(self._tmp)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def address(self, data: bytes) -> str:
        return sha256_hex(data)

    def put(self, data: bytes) -> str:
        key = sha256_hex(data)
        self.put_at(key, data)
        return key

    def put_at(self, key: str, data: bytes, *, replace: bool = False) -> None:
        """Store `data` under a key the caller computed (an encrypting store names its
        ciphertext by the plaintext's keyed hash). Never replaces an existing blob unless
        `replace`: then the new file takes the old one's place in one rename, so a reader
        sees the old bytes or the new, never a mix (key rotation rewrites headers)."""
        final = self._path(key)
        if final.exists() and not replace:
            return
        _private_dirs(final.parent)
        # Named after the blob, so a client's deletion finds what a crash left of her photo.
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=f"put-{key}-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                Path(tmp_name).replace(final)
            else:
                # FileExistsError: a concurrent writer stored the same content first.
                with contextlib.suppress(FileExistsError):
                    os.link(tmp_name, final)
            _fsync_dir(final.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):  # renamed into place
                Path(tmp_name).unlink()

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def iterate(self) -> Iterator[BlobInfo]:
        for first in sorted(self.root.glob("[0-9a-f][0-9a-f]")):
            for path in sorted(first.glob("[0-9a-f][0-9a-f]/*")):
                if not _KEY.match(path.name) or not path.is_file():
                    continue
                stat = path.stat()
                yield BlobInfo(
                    key=path.name,
                    size=stat.st_size,
                    modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                )


def temp_files(root: Path) -> list[TempFile]:
    """The files in the temp folder of the store at `root`, oldest first."""
    found = []
    for path in (root / TEMP_FOLDER).glob("*"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # a write finished meanwhile
            continue
        match = _TEMP_NAME.match(path.name)
        when = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        found.append(TempFile(path, match.group(1) if match else None, when))
    return sorted(found, key=lambda t: (t.modified_at, t.path.name))


def _private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents readable by this user only (whatever the umask)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


class KeyedBlobStore(BlobStore, Protocol):
    """A store that can also write bytes under a key the caller names: what an encrypting
    wrapper (tracker.store.encrypted_blobs) needs from the store it wraps."""

    def put_at(self, key: str, data: bytes, *, replace: bool = False) -> None: ...


def get_verified(store: BlobStore, key: str) -> bytes:
    own_check = getattr(store, "get_verified", None)
    if own_check is not None:  # a store that proves its bytes itself (an encrypting one)
        return bytes(own_check(key))
    data = store.get(key)
    if store.address(data) != key:
        raise BlobCorrupt(key)
    return data


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
