"""Migrations run once, by `python -m tracker migrate`, before app processes start
(issue 13 item 1): with migrate_on_start off an app process only checks the schema and
refuses an old one with a message that says what to run. Runs on the run's database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import on_postgres
from tracker.bootstrap import open_app
from tracker.config import Settings
from tracker.errors import SchemaNotCurrent
from tracker.store.db import make_engine, migration_lock, schema_revisions, upgrade


def _empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if on_postgres(request.config):
        return str(request.getfixturevalue("postgres").create_database(template="template0"))
    return f"sqlite:///{tmp_path / 'data' / 'tracker.db'}"


def _settings(tmp_path: Path, url: str, *, migrate_on_start: bool) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        migrate_on_start=migrate_on_start,
        _env_file=None,  # type: ignore[call-arg]
    )


def _command(tmp_path: Path, url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker", "--data-dir", str(tmp_path / "data"), *args],
        env={**os.environ, "TRACKER_DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=300,  # a loaded machine: the command line imports the app's libraries first
    )


def test_an_app_that_may_not_migrate_refuses_an_empty_database_until_migrate_runs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _empty_database(request, tmp_path)
    (tmp_path / "data").mkdir()
    with pytest.raises(SchemaNotCurrent, match=r"has no schema yet.*python -m tracker migrate"):
        open_app(_settings(tmp_path, url, migrate_on_start=False))
    refused = _command(tmp_path, url, "list", TRACKER_MIGRATE_ON_START="false")
    assert refused.returncode == 1
    assert "has no schema yet" in refused.stderr and "Traceback" not in refused.stderr
    server = _command(tmp_path, url, "serve", "--server.port", "8661", TRACKER_MIGRATE_ON_START="false")
    assert server.returncode == 1 and "python -m tracker migrate" in server.stderr  # no server started
    engine = make_engine(url)
    try:
        assert schema_revisions(engine)[0] is None  # nothing was created by the refusals
    finally:
        engine.dispose()

    done = _command(tmp_path, url, "migrate")
    assert done.returncode == 0, done.stderr
    assert "upgraded from empty" in done.stdout
    again = _command(tmp_path, url, "init")  # the old name still works, and changes nothing
    assert again.returncode == 0 and "already current" in again.stdout

    app = open_app(_settings(tmp_path, url, migrate_on_start=False))
    try:
        current, head = schema_revisions(app.engine)
        assert current == head
    finally:
        app.close()


def test_an_app_that_may_not_migrate_refuses_an_older_schema(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _empty_database(request, tmp_path)
    (tmp_path / "data").mkdir()
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0014_auth'"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaNotCurrent, match="is at schema revision 0014_auth; this version needs"):
        open_app(_settings(tmp_path, url, migrate_on_start=False))


def test_the_migration_lock_lets_one_holder_in_at_a_time(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _empty_database(request, tmp_path)
    (tmp_path / "data").mkdir()
    engine = make_engine(url)
    events: list[str] = []
    inside = threading.Event()

    def second() -> None:
        with migration_lock(engine):
            events.append("second in")

    try:
        with migration_lock(engine):
            events.append("first in")
            waiter = threading.Thread(target=second)
            waiter.start()
            inside.wait(timeout=1.0)  # give the second holder its chance to (wrongly) get in
            events.append("first out")
        waiter.join(timeout=30)
    finally:
        engine.dispose()
    assert events == ["first in", "first out", "second in"]
