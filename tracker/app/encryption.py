"""The encryption commands: encrypt an existing store in place, and rotate the master key.

Both are resumable: each step leaves a store that opens and checks clean, and running the
command again skips what is done.

encrypt-store, per photo: (1) write the encrypted copies of its files at their new
addresses (keyed hashes), (2) point the photo's row at them in one transaction, (3) delete
the plaintext files. A crash after (1) leaves encrypted copies no row uses yet (young
orphans, which fsck leaves alone, and which the next run adopts); after (2), plaintext
files no row uses, which the next run deletes first. Until (2) the row names the plaintext
file, which still reads (tracker.store.encrypted_blobs reads a plaintext blob that hashes
to its key). The encrypted columns are re-written first, in batches.

rotate-key: (1) the store's secrets are sealed for the new key as well (a second keyring
row), (2) every photo file's data key is re-wrapped with the new key, one atomic write per
file, files already under the new key skipped, (3) the old key's row is dropped. Until (3)
either key opens the store; a file still under the old key needs the old key configured
(TRACKER_ENCRYPTION_OLD_KEY_FILE) once the new one is the current key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tracker.application import App
from tracker.errors import Refused
from tracker.store import encryption_admin, keyring
from tracker.store.blobs import BlobCorrupt, BlobNotFound, sha256_hex
from tracker.store.encrypted_blobs import EncryptingBlobStore, is_sealed, sealed_key_id
from tracker.store.encryption_keys import MasterKey

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class EncryptReport:
    rows: int = 0  # rows whose encrypted columns were written
    photos: int = 0  # photos whose files were encrypted by this run
    already: int = 0  # photos encrypted before
    leftovers: int = 0  # plaintext files no row used (an earlier run cut short), deleted
    problems: list[str] = field(default_factory=list)  # missing or damaged files, left as they are


@dataclass
class RotateReport:
    rewrapped: int = 0
    already: int = 0  # under the new key before this run
    plaintext: int = 0  # not encrypted at all: encrypt-store has not finished
    dropped_keys: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _encrypting(app: App) -> EncryptingBlobStore:
    if not isinstance(app.blobs, EncryptingBlobStore):
        raise Refused("No encryption key is configured: set TRACKER_ENCRYPTION_KEY_FILE first")
    return app.blobs


def encrypt_store(
    app: App, progress: Progress = _quiet, *, every: int = 50, min_age_seconds: int | None = None
) -> EncryptReport:
    """Encrypt the records and photo files of a store opened with begin_encryption.
    Plaintext files no row names are deleted once older than `min_age_seconds` (default:
    the orphan age fsck uses), so an upload by an app process still running without the
    key, between its file and its row, is left alone."""
    store = _encrypting(app)
    report = EncryptReport()
    report.rows = encryption_admin.reseal_columns(app.engine)
    progress(f"records: {report.rows} rows with dates of birth, intake answers or notes encrypted")
    min_age = app.settings.orphan_min_age_seconds if min_age_seconds is None else min_age_seconds
    report.leftovers = _delete_plaintext_leftovers(app, store, timedelta(seconds=min_age))
    photos = encryption_admin.photo_keys(app.engine)
    for n, (photo_id, keys) in enumerate(photos, start=1):
        renames: dict[str, str] = {}
        for key in keys:
            if key in renames:
                continue
            try:
                raw = store.raw(key)
            except BlobNotFound:
                report.problems.append(f"photo {photo_id}: file {key} is missing (run fsck)")
                continue
            if is_sealed(raw):
                continue
            if sha256_hex(raw) != key:
                report.problems.append(f"photo {photo_id}: file {key} is damaged (run fsck)")
                continue
            renames[key] = store.put(raw)  # (1) the encrypted copy
            del raw
        if renames:
            encryption_admin.rename_keys(app.engine, renames)  # (2) the rows
            for old in renames:  # (3) the plaintext, unless another photo still names it
                if not encryption_admin.is_referenced(app.engine, old):
                    store.delete(old)
            report.photos += 1
        else:
            report.already += 1
        if n % every == 0 or n == len(photos):
            progress(f"photos: {n}/{len(photos)} ({report.photos} encrypted now, {report.already} before)")
    return report


def _delete_plaintext_leftovers(app: App, store: EncryptingBlobStore, min_age: timedelta) -> int:
    """Plaintext files no row names: an earlier run renamed the rows and stopped before
    deleting them. Uploads to an encrypted store write encrypted files only; a young one
    may still be an upload by a process started before the key was set."""
    referenced = encryption_admin.referenced_keys(app.engine)
    now = datetime.now(UTC)
    deleted = 0
    for info in list(store.iterate()):
        if info.key in referenced or now - info.modified_at < min_age:
            continue
        try:
            raw = store.raw(info.key)
        except BlobNotFound:
            continue
        if not is_sealed(raw):
            store.delete(info.key)
            deleted += 1
    return deleted


def rotate_key(app: App, new: MasterKey, progress: Progress = _quiet, *, every: int = 50) -> RotateReport:
    """Re-wrap every photo file's data key with `new`; the app must already open the store
    (with its current key, or with `new` as current and the old one as old key)."""
    store = _encrypting(app)
    keyring.add_master(app.engine, store.keys.secrets, new)  # (1)
    store.keys.readable.setdefault(new.key_id, new)
    report = RotateReport()
    infos = list(store.iterate())
    for n, info in enumerate(infos, start=1):
        try:
            raw = store.raw(info.key)
        except BlobNotFound:  # deleted meanwhile
            continue
        if not is_sealed(raw):
            report.plaintext += 1
        elif sealed_key_id(raw) == new.key_id:
            report.already += 1
        else:
            try:
                store.rewrap(info.key, new)  # (2)
                report.rewrapped += 1
            except BlobCorrupt:
                report.problems.append(f"file {info.key} is damaged: left under its old key (run fsck)")
        if n % every == 0 or n == len(infos):
            progress(f"files: {n}/{len(infos)} ({report.rewrapped} re-wrapped, {report.already} before)")
    if report.problems:
        return report  # the old key stays: it still opens the damaged files
    report.dropped_keys = [k for k in keyring.key_ids(app.engine) if k != new.key_id]
    keyring.keep_only(app.engine, new)  # (3)
    return report


__all__ = ["EncryptReport", "RotateReport", "encrypt_store", "rotate_key"]
