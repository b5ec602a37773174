"""deploy/tracker, the operator's `tracker` command, runs `python -m tracker` with the
service's settings: the environment file is read by the shell as systemd reads it.
runuser is replaced by a stand-in that checks it was asked for the tracker user (there
is no such user on a test machine) and runs the command as this one."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "deploy" / "tracker"
ENV_EXAMPLE = ROOT / "deploy" / "tracker.env.example"

RUNUSER = """#!/bin/sh
[ "$1" = "-u" ] && [ "$2" = "tracker" ] && [ "$3" = "--" ] || { echo "runuser $*" >&2; exit 97; }
shift 3
exec "$@"
"""


def test_the_wrapper_runs_commands_with_the_service_settings(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "runuser").write_text(RUNUSER)
    (bin_dir / "runuser").chmod(0o755)
    data = tmp_path / "data"
    env_file = tmp_path / "tracker.env"
    env_file.write_text(
        ENV_EXAMPLE.read_text().replace("TRACKER_DATA_DIR=/var/lib/tracker/data", f"TRACKER_DATA_DIR={data}")
    )
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TRACKER_HOME": str(ROOT),
        "TRACKER_ENV": str(env_file),
    }

    def tracker(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [str(WRAPPER), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and "not found" not in done.stderr, done.stderr
        return done.stdout

    # The first admin of a new installation makes the configured clinic: its name is a
    # quoted value with a space, which must arrive whole.
    tracker("add-user", "admin@clinic.test", "--role", "admin", "--password-stdin", stdin="a-long-password\n")
    listing = json.loads(tracker("list", "--json"))
    assert [c["name"] for c in listing["clinics"]] == ["My Clinic"]
    assert (
        stat.S_IMODE((data / "tracker.db").stat().st_mode) == 0o600
    )  # the data folder of the file; umask 077
