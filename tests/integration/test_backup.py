"""Backup and restore through the command line, on real files and a real SQLite database:
back up, delete the data folder, restore, and prove it is the same (fsck clean, the same
photo files by hash, the same rows); damaged or hostile archives change nothing."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import stat
import tarfile
from pathlib import Path

import pytest

from tests import images
from tests.postgres import PostgresServer
from tracker.app import backup
from tracker.app.consistency import check
from tracker.bootstrap import open_app
from tracker.cli import main
from tracker.config import Settings
from tracker.errors import Refused

#: The archive holds the SQLite file; on PostgreSQL `backup` and `restore` refuse (tested
#: below against a real server) and docs/deploy.md gives pg_dump's commands instead.
SQLITE_ONLY = pytest.mark.sqlite_only


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str]:
    try:
        code = main(["--data-dir", str(data_dir), *args])
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


@pytest.fixture
def installation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A data folder with two clients' photos, imported through the command line."""
    data = tmp_path / "data"
    for i, client in enumerate(["Ann Lee", "Bo Chen", "Ann Lee"]):
        photo = tmp_path / f"p{i}.jpg"
        photo.write_bytes(images.encode(images.noisy(seed=i), "JPEG"))
        code, out = run(capsys, data, "import", str(photo), "--client", client)
        assert code == 0, out
    return data


def blob_hashes(data: Path) -> dict[str, str]:
    """Every photo file under the data folder: its name and the SHA-256 of its bytes now."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (data / "blobs").glob("??/??/*")
        if p.is_file()
    }


def row_counts(data: Path) -> dict[str, int]:
    conn = sqlite3.connect(data / "tracker.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def backup_to(capsys: pytest.CaptureFixture[str], data: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    code, out = run(capsys, data, "backup", str(folder))
    assert code == 0, out
    (archive,) = folder.glob("tracker-backup-*.tar.gz")
    return archive


def rewrite(archive: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """A copy of the archive with some members' content replaced (None: left out)."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for info in src:
            handle = src.extractfile(info)
            data = handle.read() if handle else b""
            if info.name in change:
                replaced = change[info.name]
                if replaced is None:
                    continue
                data = replaced
                info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


@SQLITE_ONLY
def test_back_up_delete_restore_gives_the_same_installation(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before_files = blob_hashes(installation)
    before_rows = row_counts(installation)
    assert before_rows["photo"] == 3 and len(before_files) == 9

    archive = backup_to(capsys, installation, tmp_path / "backups")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        assert all(stat.S_IMODE(m.mode) == 0o600 and m.isfile() for m in tar.getmembers())
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert sorted(names) == sorted(
        ["tracker.db", "manifest.json", *(f"blobs/{k[:2]}/{k[2:4]}/{k}" for k in before_files)]
    )
    assert {b["sha256"] for b in manifest["blobs"]} == set(before_files)
    assert manifest["counts"]["photo"] == 3 and manifest["counts"]["client"] == 2
    assert manifest["schema_revision"] and manifest["missing"] == []

    shutil.rmtree(installation)
    code, out = run(capsys, installation, "restore", str(archive))
    assert code == 0, out
    assert "each file's SHA-256 checked" in out and "fsck: consistent: 3 photos, 9 blobs, 0 problems" in out

    assert blob_hashes(installation) == before_files
    assert all(name == digest for name, digest in blob_hashes(installation).items())
    after_rows = row_counts(installation)
    clinics = before_rows["clinic"]
    # The restore is audited once per clinic (the backup's own audit row is written after
    # its snapshot, so it is not in the archive); nothing else differs.
    assert after_rows.pop("audit_event") == before_rows.pop("audit_event") + clinics
    assert after_rows == before_rows
    app = open_app(Settings(data_dir=installation, _env_file=None))  # type: ignore[call-arg]
    try:
        assert check(app).consistent
    finally:
        app.close()
    code, out = run(capsys, installation, "fsck")
    assert code == 0 and "consistent: 3 photos, 9 blobs, 0 problems" in out

    # Private: the service's user only.
    assert stat.S_IMODE(installation.stat().st_mode) == 0o700
    for path in installation.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


@SQLITE_ONLY
def test_a_flipped_byte_in_a_photo_file_is_refused_naming_it(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup_to(capsys, installation, tmp_path / "backups")
    with tarfile.open(archive, "r:gz") as tar:
        member = next(n for n in tar.getnames() if n.startswith("blobs/"))
        data = bytearray(tar.extractfile(member).read())  # type: ignore[union-attr]
    data[len(data) // 2] ^= 0x01
    damaged = tmp_path / "damaged.tar.gz"
    rewrite(archive, damaged, {member: bytes(data)})

    target = tmp_path / "fresh"
    code, out = run(capsys, target, "restore", str(damaged))
    assert code == 1
    assert member in out and "does not match its SHA-256" in out and "nothing was changed" in out
    assert not target.exists() or not any(target.iterdir())
    assert not list(tmp_path.glob(".fresh.restoring-*"))  # the staging folder is gone too


@SQLITE_ONLY
def test_a_damaged_compressed_archive_is_refused(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup_to(capsys, installation, tmp_path / "backups")
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged = tmp_path / "flipped.tar.gz"
    damaged.write_bytes(bytes(raw))

    code, out = run(capsys, tmp_path / "fresh", "restore", str(damaged))
    assert code == 1 and "refused" in out and "nothing was changed" in out
    assert "blobs/" in out or "flipped.tar.gz" in out  # names the damaged member or the archive
    assert not (tmp_path / "fresh" / "tracker.db").exists()


@SQLITE_ONLY
def test_a_manifest_that_disagrees_or_is_missing_is_refused(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup_to(capsys, installation, tmp_path / "backups")
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        dropped = next(n for n in tar.getnames() if n.startswith("blobs/"))
    no_file = tmp_path / "no-file.tar.gz"
    rewrite(archive, no_file, {dropped: None})
    code, out = run(capsys, tmp_path / "a", "restore", str(no_file))
    assert code == 1 and dropped in out and "not in the archive" in out

    original_sha = manifest["database"]["sha256"]
    manifest["database"]["sha256"] = "0" * 64
    other_db = tmp_path / "other-db.tar.gz"
    rewrite(archive, other_db, {"manifest.json": json.dumps(manifest).encode()})
    code, out = run(capsys, tmp_path / "b", "restore", str(other_db))
    assert code == 1 and "tracker.db" in out and "manifest" in out

    manifest["database"]["sha256"] = original_sha
    manifest["schema_revision"] = "9999_from_the_future"
    newer = tmp_path / "newer.tar.gz"
    rewrite(archive, newer, {"manifest.json": json.dumps(manifest).encode()})
    code, out = run(capsys, tmp_path / "d", "restore", str(newer))
    assert code == 1 and "9999_from_the_future" in out and "newer version" in out

    no_manifest = tmp_path / "no-manifest.tar.gz"
    rewrite(archive, no_manifest, {"manifest.json": None})
    code, out = run(capsys, tmp_path / "c", "restore", str(no_manifest))
    assert code == 1 and "no manifest.json" in out
    for name in "abcd":
        assert not (tmp_path / name / "tracker.db").exists()


@SQLITE_ONLY
def test_members_outside_the_layout_are_refused_and_nothing_is_written_outside(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup_to(capsys, installation, tmp_path / "backups")
    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(archive, "r:gz") as src, tarfile.open(hostile, "w:gz") as dst:
        evil = tarfile.TarInfo("../escaped.txt")
        evil.size = 4
        dst.addfile(evil, io.BytesIO(b"evil"))
        for info in src:
            dst.addfile(info, src.extractfile(info))
    code, out = run(capsys, tmp_path / "fresh", "restore", str(hostile))
    assert code == 1 and "../escaped.txt" in out and "not a name a tracker backup contains" in out
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "fresh" / "tracker.db").exists()

    link = tmp_path / "link.tar.gz"
    with tarfile.open(link, "w:gz") as dst:
        info = tarfile.TarInfo("tracker.db")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        dst.addfile(info)
    code, out = run(capsys, tmp_path / "fresh", "restore", str(link))
    assert code == 1 and "tracker.db: not a plain file" in out


@SQLITE_ONLY
def test_restoring_over_a_non_empty_folder_refuses_unless_forced(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = backup_to(capsys, installation, tmp_path / "backups")
    marker = installation / "keep-me.txt"
    marker.write_text("the clinic's own note")
    before = row_counts(installation)

    code, out = run(capsys, installation, "restore", str(archive))
    assert code == 1 and "is not empty" in out and "--force" in out
    assert marker.read_text() == "the clinic's own note" and row_counts(installation) == before

    code, out = run(capsys, installation, "restore", str(archive), "--force")
    assert code == 0, out
    (aside,) = tmp_path.glob("data.before-restore-*")
    assert f"moved the previous contents of {installation} to {aside}" in out
    assert (aside / "keep-me.txt").read_text() == "the clinic's own note"
    assert (aside / "tracker.db").is_file() and not marker.exists()
    assert row_counts(installation)["photo"] == 3


@SQLITE_ONLY
def test_a_file_missing_from_the_store_makes_an_incomplete_backup_that_says_so(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = next((installation / "blobs").glob("??/??/*"))
    lost.unlink()
    folder = tmp_path / "backups"
    folder.mkdir()
    code, out = run(capsys, installation, "backup", str(folder))
    assert code == 1 and "INCOMPLETE: 1 files" in out and f"{lost.name[:12]}… (missing in the store)" in out
    (archive,) = folder.glob("*.tar.gz")  # what could be saved is saved

    code, out = run(capsys, tmp_path / "restored", "restore", str(archive))
    assert code == 1  # fsck after the restore finds the same hole
    assert "missing_blob" in out and "fsck: INCONSISTENT" in out


@SQLITE_ONLY
def test_backup_refuses_unsafe_destinations_and_keeps_the_newest(
    installation: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, installation, "backup", str(installation / "inside.tar.gz"))
    assert code == 1 and "inside the data folder" in out and not (installation / "inside.tar.gz").exists()

    existing = tmp_path / "taken.tar.gz"
    existing.write_bytes(b"something else")
    code, out = run(capsys, installation, "backup", str(existing))
    assert code == 1 and "exists already" in out and existing.read_bytes() == b"something else"

    folder = tmp_path / "nightly"
    folder.mkdir()
    older = [folder / f"tracker-backup-2026010{i}T030000Z.tar.gz" for i in range(1, 4)]
    for path in older:
        path.write_bytes(b"old")
    unrelated = folder / "notes.txt"
    unrelated.write_text("not a backup")
    code, out = run(capsys, installation, "backup", str(folder), "--keep", "2")
    assert code == 0, out
    kept = sorted(p.name for p in folder.glob("tracker-backup-*"))
    assert len(kept) == 2 and kept[0] == older[2].name and unrelated.exists()
    assert not list(folder.glob("*.part")) and not list(folder.glob(".tracker-backup-*"))


def test_other_databases_are_refused_with_a_pointer_to_their_own_tools(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data", database_url="postgresql+psycopg://tracker@db/tracker", _env_file=None
    )
    with pytest.raises(Refused, match="pg_dump"):
        backup.sqlite_database(settings)
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(gzip.compress(b""))
    with pytest.raises(Refused, match="pg_dump"):
        backup.restore(settings, archive)
    assert not (tmp_path / "data").exists()


def test_on_postgresql_backup_and_restore_refuse_naming_pg_dump_and_change_nothing(
    postgres: PostgresServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against a real PostgreSQL database (whichever --database this run uses)."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", postgres.create_database())
    data, folder = tmp_path / "data", tmp_path / "backups"
    folder.mkdir()
    photo = tmp_path / "p.jpg"
    photo.write_bytes(images.encode(images.noisy(seed=5), "JPEG"))
    code, out = run(capsys, data, "import", str(photo), "--client", "Ann Lee")
    assert code == 0, out
    code, out = run(capsys, data, "backup", str(folder))
    assert code == 1 and "pg_dump" in out
    assert list(folder.iterdir()) == []
    before = sorted(p.name for p in data.rglob("*"))
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(gzip.compress(b""))
    code, out = run(capsys, data, "restore", str(archive), "--force")
    assert code == 1 and "pg_dump" in out
    assert sorted(p.name for p in data.rglob("*")) == before
