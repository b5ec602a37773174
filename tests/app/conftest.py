"""What the page tests share: a private copy of the loaded demo, and a signed-in AppTest."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.asgi import Answer, request
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


def download_links(at: AppTest) -> dict[str, str]:
    """The page's download links (tracker/ui/download_link.py): label → the app route it names."""
    found = {}
    pattern = re.compile(r'<a href="([^"]+)" download class="tracker-download" style="[^"]*">⬇ (.+)</a>')
    for m in at.markdown:
        link = pattern.fullmatch(m.value)
        if link:
            found[html.unescape(link.group(2))] = html.unescape(link.group(1))
    return found


def fetch(at: AppTest, label: str) -> Answer:
    """Follow a download link of the page as its browser would: to the server's own route,
    with this tab's session cookie (what the page's sign-in handed the browser)."""
    from starlette.applications import Starlette

    from tracker.app.cookie_handoff import SESSION_COOKIE
    from tracker.ui.context import TOKEN_KEY
    from tracker.web.download_routes import ROUTES

    token = at.session_state[TOKEN_KEY]
    return request(
        Starlette(routes=ROUTES),
        "GET",
        download_links(at)[label],
        headers={"cookie": f"{SESSION_COOKIE}={token}"},
    )
