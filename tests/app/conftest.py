"""What the page tests share: a private copy of the loaded demo, and a signed-in AppTest."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tracker.app.demo import DemoResult
from tracker.bootstrap import App

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def demo_dir(
    demo_loaded: tuple[App, DemoResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A private copy of the loaded demo, so a test may change it."""
    app, _ = demo_loaded
    target = tmp_path / "data"
    app.engine.dispose()
    shutil.copytree(app.settings.data_dir, target)
    monkeypatch.setenv("TRACKER_DATA_DIR", str(target))
    monkeypatch.setenv("TRACKER_DEMO_MODE", "true")
    yield target


def signed_in(email: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="email").input(email)
    at.text_input(key="password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at
