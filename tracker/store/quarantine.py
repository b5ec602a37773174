"""The quarantine folder: files fsck found no photo using, kept a while so a mistake can be
undone by hand (`quarantine/<time of the run>/<key>`).

A while, not for ever: an unused file is still a photo of someone's face. fsck removes
entries older than `quarantine_days`, and a client's deletion removes the copies of her
photos at once (they are named by the same key as the blob).

Where: beside the store. A local store's quarantine is the `quarantine/` folder of the
data folder; an S3 store's is the `quarantine/<run>/<key>` prefix in the same bucket (under
the store's prefix), so no replica keeps photos on its own disk, and an object is moved by
a server-side copy: its bytes never pass through the app. `Quarantine` is what fsck and
deletion use; bootstrap chooses it with the store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from tracker.store.blobs import BlobStore, check_key
from tracker.store.encrypted_blobs import stored_bytes


@dataclass(frozen=True)
class Quarantined:
    path: Path  # the file; in a bucket, the object's key as a path
    key: str
    quarantined_at: datetime  # when fsck moved it here (the file's time)


def put(root: Path, run: str, key: str, data: bytes) -> Path:
    """Write `data` as `root/run/key`, this user's only."""
    check_key(key)
    folder = root / run
    for path in (root, folder):
        path.mkdir(mode=0o700, exist_ok=True)
    target = folder / key
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return target


def entries(root: Path) -> list[Quarantined]:
    found = []
    for path in sorted(root.glob("*/*")):
        if path.is_file():
            when = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            found.append(Quarantined(path, path.name, when))
    return found


def remove(entry: Quarantined) -> None:
    """Remove the file, and its run's folder once empty."""
    entry.path.unlink(missing_ok=True)
    folder = entry.path.parent
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def remove_keys(root: Path, keys: set[str]) -> int:
    """Remove every quarantined copy of these files; how many there were."""
    gone = [e for e in entries(root) if e.key in keys]
    for entry in gone:
        remove(entry)
    return len(gone)


class Quarantine(Protocol):
    def keep(self, run: str, key: str, blobs: BlobStore) -> str:
        """Move blob `key` out of the store into this run's quarantine; where it went."""
        ...

    def entries(self) -> list[Quarantined]: ...

    def remove(self, entry: Quarantined) -> None: ...

    def remove_keys(self, keys: set[str]) -> int: ...


@dataclass(frozen=True)
class FolderQuarantine:
    """The data folder's `quarantine/` (the functions above)."""

    root: Path

    def keep(self, run: str, key: str, blobs: BlobStore) -> str:
        # As stored: an encrypting store's orphan stays encrypted in quarantine.
        target = put(self.root, run, key, stored_bytes(blobs, key))
        blobs.delete(key)
        return str(target.parent)

    def entries(self) -> list[Quarantined]:
        return entries(self.root)

    def remove(self, entry: Quarantined) -> None:
        remove(entry)

    def remove_keys(self, keys: set[str]) -> int:
        return remove_keys(self.root, keys)
