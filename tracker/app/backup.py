"""Backing up a whole installation and restoring it: the operator's commands
(`python -m tracker backup DEST`, `restore ARCHIVE`), run by the nightly timer or by hand.

A backup is everything a clinic would lose with the disk: the database and every photo
file it refers to, checked against their hashes on the way out and again on the way in.
A restore goes into an empty data folder only (`force` moves an existing one aside, never
deletes it), and ends with fsck, so "the restore worked" is a check, not a hope.

Only the embedded SQLite database is handled. A PostgreSQL installation is backed up with
PostgreSQL's own tools (pg_dump, or the host's snapshots); this command says so rather than
copying the photos alone and calling that a backup.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tracker.app import audit, consistency
from tracker.application import App
from tracker.bootstrap import encryption_keys, open_app
from tracker.config import Settings
from tracker.domain import JsonObject
from tracker.errors import Refused
from tracker.imaging.version import METRIC_VERSION
from tracker.permissions import Actor
from tracker.store import backup as archive_format
from tracker.store import keyring
from tracker.store.backup import ArchiveRefused, Manifest

PREFIX, SUFFIX = "tracker-backup-", ".tar.gz"
NOT_LOCAL_PHOTOS = (
    "the photos are kept in a bucket (TRACKER_BLOB_STORE_URL is set): a restore puts them in "
    "the data folder, where this app would not look; restore with TRACKER_BLOB_STORE_URL "
    "unset, or restore the bucket with its own tools (docs/deploy.md, S3 storage)"
)
NOT_SQLITE = (
    "the database is not the embedded SQLite file (TRACKER_DATABASE_URL is set to another "
    "database): back it up with that database's own tools (PostgreSQL: pg_dump) and the "
    "photos folder with it; docs/deploy.md says how"
)


@dataclass(frozen=True)
class BackupDone:
    path: Path
    size: int
    manifest: Manifest
    corrupt: tuple[str, ...]  # damaged in the store: left out, fsck tells more
    pruned: tuple[Path, ...]  # older backups removed by `keep`

    @property
    def complete(self) -> bool:
        return not self.manifest.missing


@dataclass(frozen=True)
class RestoreDone:
    manifest: Manifest
    data_dir: Path
    moved_aside: Path | None
    upgraded_from: str | None  # the backup's schema revision, when the restore migrated it
    left_out: int  # files in the archive that its database does not use
    fsck: consistency.Report


def sqlite_database(settings: Settings) -> Path:
    """The database file a backup copies; refused for any database but SQLite. Checked
    before the app is opened, which for another database needs its driver and server."""
    database = archive_format.sqlite_file(settings.resolved_database_url)
    if database is None:
        raise Refused(NOT_SQLITE)
    return database


def backup(app: App, dest: Path, *, keep: int | None = None) -> BackupDone:
    """Write one archive. `dest` is a folder (a new time-stamped file goes in it; with
    `keep`, only the newest `keep` backups there are kept) or a new file's name."""
    settings = app.settings
    database = sqlite_database(settings)
    if keep is not None and keep < 1:
        raise Refused("--keep must be at least 1")
    target = _target(dest, keep)
    if target.resolve().is_relative_to(settings.data_dir.resolve()):
        raise Refused(
            f"{target} is inside the data folder: a backup there is lost with it; "
            "write it to another disk or machine"
        )
    partial = target.with_name(target.name + ".part")
    scratch = Path(tempfile.mkdtemp(prefix=".tracker-backup-", dir=target.parent))
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            with app.uow() as uow:
                first_keys = archive_format.referenced_keys_live(uow.repo)
            written = archive_format.write_archive(
                out, database, app.blobs, first_keys, scratch / "snapshot.db", METRIC_VERSION
            )
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)  # never a half-written archive under the final name
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    manifest = written.manifest
    _audit(app, "backup", {"file": target.name, "photos": manifest.counts.get("photo", 0)})
    pruned = _prune(target.parent, keep) if keep else ()
    return BackupDone(target, target.stat().st_size, manifest, tuple(written.corrupt), pruned)


def restore(settings: Settings, archive: Path, *, force: bool = False) -> RestoreDone:
    """Restore an archive into the configured data folder, which must be empty (or, with
    `force`, is moved aside first); then migrate the database if it is older and run fsck.
    Nothing is changed unless the whole archive checks out. Stop the app first."""
    if settings.blob_store_url:
        raise Refused(NOT_LOCAL_PHOTOS)
    data_dir = settings.data_dir.absolute()
    database = data_dir / archive_format.DATABASE
    if archive_format.sqlite_file(settings.resolved_database_url) != database.resolve():
        raise Refused(
            NOT_SQLITE
            if archive_format.sqlite_file(settings.resolved_database_url) is None
            else "TRACKER_DATABASE_URL names a SQLite file outside the data folder: a restore "
            f"puts the database at {database}; unset it to restore"
        )
    if not archive.is_file():
        raise Refused(f"no archive at {archive}")
    occupied = data_dir.exists() and any(data_dir.iterdir())
    if occupied and not force:
        raise Refused(
            f"{data_dir} is not empty: restore into an empty folder, or add --force to move "
            f"what is there aside (to {data_dir.name}.before-restore-<time> beside it)"
        )
    if occupied and archive.resolve().is_relative_to(data_dir.resolve()):
        raise Refused(f"{archive} is inside the data folder it would replace: move it out first")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restoring-", dir=data_dir.parent))
    try:
        manifest, left_out = archive_format.read_archive(archive, staging)
        if not archive_format.known_revision(manifest.schema_revision):
            raise ArchiveRefused(
                f"the backup's database (schema {manifest.schema_revision}) is from a newer version "
                "of the tracker than this one: install that version to restore it"
            )
        # An encrypted backup restores only with its key: checked before anything is moved.
        keyring.check_database(staging / archive_format.DATABASE, encryption_keys(settings))
    except ArchiveRefused as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise Refused(f"refused {archive.name}: {exc}; nothing was changed") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    aside = _move_aside(data_dir) if occupied else None
    data_dir.mkdir(mode=0o700, exist_ok=True)
    for child in staging.iterdir():
        shutil.move(child, data_dir / child.name)
    staging.rmdir()
    _make_private(data_dir)

    app = open_app(settings)  # migrates a backup of an older version to this one's schema
    try:
        head = archive_format.head_revision()
        upgraded_from = manifest.schema_revision if manifest.schema_revision != head else None
        report = consistency.check(app)
        _audit(
            app,
            "restore",
            {
                "archive": archive.name,
                "backup_created_at": manifest.created_at.isoformat(timespec="seconds"),
                "consistent": report.consistent,
            },
        )
    finally:
        app.close()
    return RestoreDone(manifest, data_dir, aside, upgraded_from, left_out, report)


def _target(dest: Path, keep: int | None) -> Path:
    if dest.is_dir():
        target = dest / f"{PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"
        if target.exists():  # another backup in the same second
            raise Refused(f"{target} exists already; try again in a second")
        return target
    if keep is not None:
        raise Refused(f"--keep needs a folder to keep backups in; {dest} is not one")
    if dest.exists():
        raise Refused(f"{dest} exists already; choose a new file name or a folder")
    if not dest.parent.is_dir():
        raise Refused(f"no folder {dest.parent} to write {dest.name} in")
    return dest


def _prune(folder: Path, keep: int) -> tuple[Path, ...]:
    """Remove all but the newest `keep` of this command's time-stamped backups (the names
    sort by time); other files in the folder are never touched."""
    ours = sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
    old = ours[:-keep]
    for path in old:
        path.unlink()
    return tuple(old)


def _move_aside(data_dir: Path) -> Path:
    """Move the folder's contents (not the folder: it may be a mount point) to a new
    private folder beside it."""
    aside = data_dir.parent / f"{data_dir.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside.mkdir(mode=0o700)
    for child in data_dir.iterdir():
        shutil.move(child, aside / child.name)
    return aside


def _make_private(root: Path) -> None:
    """Health data: the service's user only (folders 0700, files 0600)."""
    root.chmod(0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            (Path(folder) / name).chmod(0o700)
        for name in files:
            (Path(folder) / name).chmod(0o600)


def _audit(app: App, action: str, detail: JsonObject) -> None:
    """One row per clinic, so each clinic's admins see it in their audit log."""
    with app.uow() as uow:
        for clinic in uow.repo.clinics():
            audit.record(uow, Actor.operator(clinic.id), action, "installation", None, detail=detail)
        uow.commit()
