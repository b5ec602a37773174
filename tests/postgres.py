"""A real PostgreSQL server for the tests, started by the test run itself.

Debian's `postgresql` package gives the server binaries; `initdb` makes a throwaway
cluster in a temporary folder, listening on a free local port with trust authentication
(nothing but this machine can reach it, and it is deleted at the end). PostgreSQL refuses
to run as root, so as root the cluster belongs to the `postgres` system user.

Each test gets its own database, created from a template that already has the schema:
`CREATE DATABASE ... TEMPLATE` copies files, which is much faster than migrating again.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from tracker.store.db import make_engine, upgrade

USER = "tracker"
SCHEMA_TEMPLATE = "tracker_schema"


def server_bin() -> Path | None:
    """Where Debian put the newest PostgreSQL server, or None when it is not installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@dataclass
class PostgresServer:
    """One running cluster; `url(name)` addresses a database in it."""

    folder: Path
    port: int
    bin: Path
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def create_database(self, template: str = SCHEMA_TEMPLATE) -> str:
        """A new database copied from `template` (by default: the current schema, no rows)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        if template != SCHEMA_TEMPLATE:
            # A template must have no connection: end those another engine of the test run
            # still holds (their pools reconnect on next use).
            self.admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                f" WHERE datname = '{template}' AND pid <> pg_backend_pid()"
            )
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(Exception):
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(
            _as_server_user(
                [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> PostgresServer:
    """initdb + pg_ctl start into a fresh temporary folder; the schema template is migrated."""
    bin_dir = server_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql; ./run test does it)")
    folder = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server = PostgresServer(folder=folder, port=port, bin=bin_dir)
    server.admin(f'CREATE DATABASE "{SCHEMA_TEMPLATE}"')
    engine = make_engine(server.url(SCHEMA_TEMPLATE))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return server
