"""Fixtures: every test gets a real SQLite file and a real blob folder under tmp_path.

Tests are tiered by what they need, one folder per tier (README, *Tests*): each test is
marked with its folder's tier here, so a run picks tiers with ``-m`` and no test has to
remember its own marker.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test outside the tier folders is refused: otherwise ``./run test`` would skip it
    without anyone noticing."""
    for item in items:
        parts = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        if len(parts) < 2 or parts[0] not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(TIERS)}}}/")
        item.add_marker(getattr(pytest.mark, parts[0]))


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
def demo_loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, DemoResult]]:
    """The demo data set loaded once per test run: it imports and measures ~100 photos
    (about 25 s), so every test that needs it shares one copy and must not change it."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("demo") / "data", _env_file=None)  # type: ignore[call-arg]
    application = open_app(settings)
    yield application, build_demo(application)
    application.close()


def copy_demo(demo_loaded: tuple[App, DemoResult], target: Path) -> App:
    """A private copy of the shared demo at `target`, opened: for a test that changes data.
    The shared engine is closed first, so its write-ahead log is folded into the copied file."""
    shared, _ = demo_loaded
    shared.engine.dispose()
    shutil.copytree(shared.settings.data_dir, target)
    return open_app(Settings(data_dir=target, _env_file=None))  # type: ignore[call-arg]
