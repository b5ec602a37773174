"""Several processes starting at once on a new installation (issue 13 item 6): 4 of 6
`tracker import` processes started together on a new data folder crashed in database
setup, and two imports for a new client name made two clients.

Runs on the run's database: a new data folder on SQLite, a new empty database on
PostgreSQL (--database=postgresql)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import images
from tests.conftest import on_postgres
from tracker.bootstrap import open_app
from tracker.config import Settings
from tracker.store.models import Client, Clinic, Photo

PROCESSES = 6


def _new_database(request: pytest.FixtureRequest) -> str:
    """Empty: no tables, no schema version (not the test's database, which has the schema)."""
    if not on_postgres(request.config):
        return ""
    return str(request.getfixturevalue("postgres").create_database(template="template0"))


def test_six_imports_started_together_on_a_new_installation_all_succeed(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database_url = _new_database(request)
    env = {**os.environ, "TRACKER_DATA_DIR": str(tmp_path / "data"), "TRACKER_DATABASE_URL": database_url}
    env.pop("TRACKER_CONFIG", None)
    photos = []
    for seed in range(PROCESSES):
        path = tmp_path / f"p{seed}.jpg"
        path.write_bytes(images.encode(images.noisy(seed=seed + 10), "JPEG"))
        photos.append(path)
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", "import", str(path), "--client", "Nia  Okafor"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in photos
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in started]
    failed = [f"exit {code}: {out}{err[-1500:]}" for code, out, err in results if code != 0]
    assert not failed, "\n".join(failed)

    app = open_app(Settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None))  # type: ignore[call-arg]
    try:
        with app.uow() as uow:
            assert uow.session.scalar(select(func.count(Clinic.id))) == 1
            assert uow.session.scalars(select(Client.name)).all() == ["Nia Okafor"]
            assert uow.session.scalar(select(func.count(Photo.id))) == PROCESSES
    finally:
        app.close()
