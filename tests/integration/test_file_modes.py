"""Files and folders the app writes are its user's only, whatever umask it was started
with (issue 12, item 10): the database, photo files, temp folder, quarantine, command-line
exports and backups."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "sample_photos" / "ava" / "s1_before_a.jpg"
ROOT = Path(__file__).resolve().parents[2]


def _tracker(data_dir: Path, *args: str) -> str:
    """The command line in its own process, started with the usual umask 022."""
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        umask=0o022,
        env={**os.environ, "TRACKER_ORPHAN_MIN_AGE_SECONDS": "0"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _readable_by_others(paths: list[Path]) -> list[str]:
    return [f"{p} {stat.filemode(p.stat().st_mode)}" for p in paths if p.stat().st_mode & 0o077]


def test_nothing_the_app_writes_is_readable_by_group_or_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = tmp_path / "out"
    out.mkdir()
    _tracker(data, "import", str(SAMPLE), "--client", "Mode Client", "--taken-at", "2026-09-01T10:00")
    (data / "blobs" / "ab").mkdir(mode=0o700)  # an orphan file, for fsck to quarantine
    stray = data / "blobs" / "ab" / "cd"
    stray.mkdir(mode=0o700)
    (stray / ("abcd" + "0" * 60)).write_bytes(b"not a photo any row uses")
    _tracker(data, "fsck", "--repair")
    _tracker(data, "export", "--client", "Mode Client", str(out / "mode-client.zip"))
    sqlite = not os.environ.get("TRACKER_DATABASE_URL")  # the run's database: a file in the folder
    if sqlite:  # on PostgreSQL backup refuses (tests/integration/test_backup.py)
        _tracker(data, "backup", str(out))

    assert (data / "quarantine").is_dir() and (data / "blobs" / ".tmp").is_dir()
    written = [data, *data.rglob("*"), *out.iterdir()]
    # db and backup (SQLite only), 3 photo files, quarantined, zip
    assert len([p for p in written if p.is_file()]) >= (7 if sqlite else 5)
    assert _readable_by_others(written) == []


def test_a_data_folder_left_open_by_an_older_version_is_closed_on_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)  # as a version before issue 12 left it
    _tracker(data_dir, "init")
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
