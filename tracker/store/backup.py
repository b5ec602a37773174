"""The backup archive: one tar.gz holding a snapshot of the SQLite database, the photo
files it refers to, and a manifest that lets a restore prove nothing was lost or altered.

Layout (the data folder's own, so `tar -xzf` by hand gives a usable folder too):

    blobs/ab/cd/<sha256>    every file the database refers to, named by its SHA-256
                            (an encrypted store: by its keyed hash, see below)
    tracker.db              the database, copied with SQLite's online backup API
    manifest.json           last: format, schema revision, time, row counts, every file's hash

The database is written after the files: a photo committed while the files were being
copied has its files on disk before its row (ingest's rule), so they are added from the
final snapshot's references and the archive never holds a row without its file.

An encrypted store's backup holds what the store holds: the photo files as ciphertext,
named by their keyed hashes, and the database with its encrypted columns and its keyring
(the store's secrets sealed by the master key). The master key is not in it: a restore
needs the key configured, is refused before anything is moved when the key does not open
the archive's keyring, and its fsck decrypts and checks every file.

Reading trusts nothing in the archive: only the names above are accepted (no links, no
folders, no `..`), every file must hash to its name and to the manifest, and everything is
written into a staging folder the caller throws away when anything is wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import sqlite3
import tarfile
import zlib
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tracker.store.blobs import BlobCorrupt, BlobNotFound, BlobStore, LocalBlobStore, sha256_hex
from tracker.store.db import MIGRATIONS_DIR
from tracker.store.encrypted_blobs import is_sealed, proven_stored_bytes
from tracker.store.uow import Repository

FORMAT = "tracker-backup"
FORMAT_VERSION = 1
DATABASE = "tracker.db"
MANIFEST = "manifest.json"
_BLOB_MEMBER = re.compile(r"^blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")
_CHUNK = 1024 * 1024


class ArchiveRefused(Exception):
    """The archive cannot be restored; the message names the member and says why."""


@dataclass(frozen=True)
class Manifest:
    created_at: datetime
    schema_revision: str | None
    metric_version: str
    database_sha256: str
    database_size: int
    counts: dict[str, int]  # rows per table of the snapshot
    blobs: dict[str, int]  # sha256 -> size, every file in the archive the database uses
    missing: tuple[str, ...] = ()  # referenced, but missing or corrupt in the store at backup time

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "schema_revision": self.schema_revision,
            "metric_version": self.metric_version,
            "database": {"file": DATABASE, "sha256": self.database_sha256, "size": self.database_size},
            "counts": self.counts,
            "blobs": [
                {"file": blob_member(k), "sha256": k, "size": s} for k, s in sorted(self.blobs.items())
            ],
            "missing": list(self.missing),
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ArchiveRefused(f"{MANIFEST} is not a tracker backup's manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise ArchiveRefused(
                f"{MANIFEST}: backup format {data.get('format_version')!r} is not one this version "
                f"reads ({FORMAT_VERSION})"
            )
        try:
            return cls(
                created_at=datetime.fromisoformat(data["created_at"]),
                schema_revision=data["schema_revision"],
                metric_version=str(data["metric_version"]),
                database_sha256=str(data["database"]["sha256"]),
                database_size=int(data["database"]["size"]),
                counts={str(k): int(v) for k, v in data["counts"].items()},
                blobs={str(b["sha256"]): int(b["size"]) for b in data["blobs"]},
                missing=tuple(str(k) for k in data.get("missing", [])),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArchiveRefused(f"{MANIFEST} is incomplete or malformed ({exc!r})") from None


@dataclass
class Written:
    """What write_archive put in the archive."""

    manifest: Manifest
    corrupt: list[str] = field(default_factory=list)  # in the store, but not hashing to their key


def blob_member(key: str) -> str:
    return f"blobs/{key[:2]}/{key[2:4]}/{key}"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def referenced_keys_live(repo: Repository) -> set[str]:
    """Every file the database refers to: the same rule as fsck (a photo's three files)."""
    return {key for photo in repo.all_photos() for key in photo.blob_keys.values()}


def _scripts() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def known_revision(revision: str | None) -> bool:
    """Whether this version's migrations know the schema revision (None: an empty database)."""
    return revision is None or revision in {s.revision for s in _scripts().walk_revisions()}


def head_revision() -> str | None:
    return _scripts().get_current_head()


def write_archive(
    out: IO[bytes],
    database: Path,
    blobs: BlobStore,
    first_keys: Iterable[str],
    snapshot_to: Path,
    metric_version: str,
) -> Written:
    """Write the archive to `out`: the files of `first_keys` (what the live database uses
    now), then a snapshot of `database` taken into `snapshot_to`, plus any file that only
    the snapshot uses. Photo files are JPEG/HEIC, compressed already: gzip level 1 spends
    little time on them and still shrinks the database."""
    written: dict[str, int] = {}
    failed: set[str] = set()
    corrupt: list[str] = []
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as tar:

        def add_blobs(keys: Iterable[str]) -> None:
            for key in sorted(set(keys) - written.keys() - failed):
                try:  # as stored: an encrypted store's backup holds its ciphertext
                    data = proven_stored_bytes(blobs, key)
                except BlobNotFound:
                    failed.add(key)
                    continue
                except BlobCorrupt:  # never back up damaged bytes as if they were good
                    failed.add(key)
                    corrupt.append(key)
                    continue
                _add(tar, blob_member(key), data)
                written[key] = len(data)

        add_blobs(first_keys)
        snapshot_sqlite(database, snapshot_to)
        final_keys = referenced_keys(snapshot_to)
        add_blobs(final_keys)
        digest, size = _file_sha256(snapshot_to)
        with snapshot_to.open("rb") as handle:
            tar.addfile(_info(DATABASE, size), handle)
        manifest = Manifest(
            created_at=datetime.now(UTC),
            schema_revision=schema_revision(snapshot_to),
            metric_version=metric_version,
            database_sha256=digest,
            database_size=size,
            counts=row_counts(snapshot_to),
            blobs={k: written[k] for k in final_keys if k in written},
            missing=tuple(sorted(final_keys - written.keys())),
        )
        _add(tar, MANIFEST, json.dumps(manifest.to_json(), indent=1).encode())
    return Written(manifest=manifest, corrupt=sorted(set(corrupt) & final_keys))


def snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API: safe while the
    app writes), as one self-contained file (rollback journal, not WAL)."""
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    src = sqlite3.connect(
        source, timeout=30
    )  # reads only; read-only mode could not open a WAL database alone
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.commit()
    finally:
        dst.close()
        src.close()


def referenced_keys(database: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            return referenced_keys_live(Repository(session))
    finally:
        engine.dispose()


def schema_revision(database: Path) -> str | None:
    with _read_only(database) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def row_counts(database: Path) -> dict[str, int]:
    with _read_only(database) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master"
                " WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


def read_archive(archive: Path, staging: Path) -> tuple[Manifest, int]:
    """Check the archive and write its database and files into `staging` (an empty folder).
    Returns the manifest and how many files were left out because the manifest does not
    list them (deleted while the backup ran). Raises ArchiveRefused naming the member."""
    store = LocalBlobStore(staging / "blobs")
    seen: set[str] = set()
    database_digest: tuple[str, int] | None = None
    manifest: Manifest | None = None
    member = "(the archive's start)"
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for info in tar:
                member = info.name
                if not info.isfile():
                    raise ArchiveRefused(f"{member}: not a plain file (a backup holds files only)")
                if member in seen:
                    raise ArchiveRefused(f"{member}: appears twice")
                seen.add(member)
                handle = tar.extractfile(info)
                assert handle is not None  # a regular file
                match = _BLOB_MEMBER.match(member)
                if match:
                    key = match.group(3)
                    if not key.startswith(match.group(1) + match.group(2)):
                        raise ArchiveRefused(f"{member}: the folders do not match the file's name")
                    data = handle.read()
                    if is_sealed(data):
                        # An encrypted store's file, named by a keyed hash: only the key can
                        # prove it; the restore's fsck does, with the key configured.
                        store.put_at(key, data)
                        continue
                    if sha256_hex(data) != key:
                        raise ArchiveRefused(f"{member}: the content does not match its SHA-256 (damaged)")
                    store.put(data)
                elif member == DATABASE:
                    database_digest = _copy_hashing(handle, staging / DATABASE)
                elif member == MANIFEST:
                    try:
                        manifest = Manifest.from_json(json.loads(handle.read().decode("utf-8")))
                    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                        raise ArchiveRefused(f"{MANIFEST} is not valid JSON ({exc})") from None
                else:
                    raise ArchiveRefused(f"{member}: not a name a tracker backup contains")
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ArchiveRefused(f"{archive.name} is damaged or not a tar.gz (reading {member}: {exc})") from None
    if manifest is None:
        raise ArchiveRefused(f"{archive.name} has no {MANIFEST}: not a complete tracker backup")
    if database_digest is None:
        raise ArchiveRefused(f"{archive.name} has no {DATABASE}")
    if database_digest != (manifest.database_sha256, manifest.database_size):
        raise ArchiveRefused(f"{DATABASE}: does not match the manifest's SHA-256 and size (damaged)")
    stored = {info.key: info.size for info in store.iterate()}
    for key, size in manifest.blobs.items():
        if key not in stored:
            raise ArchiveRefused(f"{blob_member(key)}: listed in the manifest but not in the archive")
        if stored[key] != size:
            raise ArchiveRefused(f"{blob_member(key)}: its size differs from the manifest's (damaged)")
    extra = [key for key in stored if key not in manifest.blobs]
    for key in extra:
        store.delete(key)
    return manifest, len(extra)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, len(data)), io.BytesIO(data))


def _info(name: str, size: int) -> tarfile.TarInfo:
    """A member that says nothing about this machine (owner, group) and is private."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    return info


def _file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _copy_hashing(source: IO[bytes], target: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _read_only(database: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True))
