"""Fixtures: every test gets a real SQLite file and a real blob folder under tmp_path.

With ``--database=postgresql`` (or TRACKER_TEST_DATABASE=postgresql) every test gets a
fresh database on a real PostgreSQL server that the run starts itself (tests/postgres.py)
instead: TRACKER_DATABASE_URL is set for the test, so every app it opens, in this process
or in a command it runs, uses that database. ``./run test all`` runs the integration tier
both ways.

Tests are tiered by what they need, one folder per tier (README, *Tests*): each test is
marked with its folder's tier here, so a run picks tiers with ``-m`` and no test has to
remember its own marker.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.postgres import PostgresServer, start_server
from tracker.app import courses
from tracker.app.context import Context
from tracker.app.demo import DemoResult, build_demo
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.permissions import Actor
from tracker.store.models import Photo

#: Cheapest first: unit (no database), integration (real SQLite), app (Streamlit's AppTest),
#: e2e (a real browser and server), validation (physics experiments, long measurement runs).
TIERS = ("unit", "integration", "app", "e2e", "validation")
TESTS = Path(__file__).parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("TRACKER_TEST_DATABASE", "sqlite"),
        help="the database every test's app uses (default: sqlite, the embedded default)",
    )


def on_postgres(config: pytest.Config) -> bool:
    return bool(config.getoption("--database") == "postgresql")


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole run (also for tests that need one on SQLite runs)."""
    server = start_server()
    _servers[server.port] = server
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _test_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """On a PostgreSQL run: a database of its own for this test, named by the environment."""
    if not on_postgres(request.config) or request.node.get_closest_marker("unit"):
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    yield url
    server.drop_database(url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test outside the tier folders is refused: otherwise ``./run test`` would skip it
    without anyone noticing. On a PostgreSQL run, tests marked `sqlite_only` (they test the
    SQLite file itself) are deselected: counted in the summary line, never run as passes."""
    for item in items:
        parts = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        if len(parts) < 2 or parts[0] not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(TIERS)}}}/")
        item.add_marker(getattr(pytest.mark, parts[0]))
    if on_postgres(config):
        sqlite_only = [item for item in items if item.get_closest_marker("sqlite_only")]
        if sqlite_only:
            config.hook.pytest_deselected(items=sqlite_only)
            items[:] = [item for item in items if not item.get_closest_marker("sqlite_only")]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    application = open_app(settings)
    yield application
    application.close()


@pytest.fixture
def operator(app: App) -> Actor:
    return Actor.operator(courses.ensure_clinic(app, "Test Clinic"))


@pytest.fixture
def client_id(app: App, operator: Actor) -> int:
    return courses.create_client(Context(app, operator), "Test Client")


def photo_rows(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count(Photo.id))) or 0)


def blob_files(app: App) -> list[str]:
    return [info.key for info in app.blobs.iterate()]


@pytest.fixture(scope="session")
def demo_loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[App, DemoResult]]:
    """The demo data set loaded once per test run: it imports and measures ~100 photos
    (about 25 s), so every test that needs it shares one copy and must not change it."""
    database_url = ""
    if on_postgres(request.config):
        database_url = request.getfixturevalue("postgres").create_database()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("demo") / "data",
        database_url=database_url,
        _env_file=None,  # type: ignore[call-arg]
    )
    application = open_app(settings)
    yield application, build_demo(application)
    application.close()


def copy_demo(demo_loaded: tuple[App, DemoResult], target: Path) -> App:
    """A private copy of the shared demo at `target`, opened: for a test that changes data.
    The shared engine is closed first, so its write-ahead log is folded into the copied file."""
    shared, _ = demo_loaded
    shared.engine.dispose()
    shutil.copytree(shared.settings.data_dir, target)
    database_url = ""
    if shared.engine.dialect.name == "postgresql":
        # The copy's own database, made from the shared one (no connection may be open to it).
        template = shared.engine.url.database or ""
        database_url = _server_of(shared.engine.url.port).create_database(template=template)
        os.environ["TRACKER_DATABASE_URL"] = database_url  # restored by the test's monkeypatch
    return open_app(Settings(data_dir=target, database_url=database_url, _env_file=None))  # type: ignore[call-arg]


_servers: dict[int, PostgresServer] = {}


def _server_of(port: int | None) -> PostgresServer:
    return _servers[port or 0]
