"""Untrusted text in a real browser (issue 12 item 4): with Markdown links, images, HTML
and colour directives in a client's name, notes, sessions, file names, the practitioners'
names and the clinic's name, no page makes the browser ask the outside host for anything,
and no link or image to it is in the page. Screenshots at desktop and phone width go to
test-artifacts/ (untrusted-*.png): the text shows as typed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.test_browser import (  # noqa: F401 — `browser` is a fixture
    DESKTOP,
    PHONE,
    Watched,
    _go,
    _idle,
    _key,
    _pick,
    _rerun,
    _sign_in,
    browser,
    demo_copy,
    serve,
)
from tests.hostile_text import HOST, HOSTILE, plant
from tracker.app.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_CLIENT_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
    DemoResult,
)
from tracker.bootstrap import App, open_app
from tracker.config import Settings

AVA = re.compile(r"^Ava !\[x\]")
LINKS_TO_HOST = f'a[href*="{HOST}"], img[src*="{HOST}"], [srcset*="{HOST}"], img[src="x"]'


@pytest.fixture(scope="module")
def hostile_server(
    demo_loaded: tuple[App, DemoResult], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = demo_copy(demo_loaded, tmp_path_factory)
    app = open_app(Settings(data_dir=data, _env_file=None))  # type: ignore[call-arg]
    plant(app)
    app.close()
    with serve(data) as url:
        yield url


def _clean(w: Watched, where: str) -> None:
    """Nothing of the hostile text became a link, an image or a request."""
    _idle(w.page)
    found = w.page.locator(LINKS_TO_HOST).count()
    assert found == 0, f"{where}: {found} links or images to {HOST}"
    assert not [url for url in w.outside if HOST in url], (where, w.outside)


def _shown(w: Watched, where: str) -> None:
    """The hostile text shows as typed (escaped, not dropped) somewhere on the page."""
    w.page.get_by_text("<img src=x onerror=alert(1)>").first.wait_for(state="attached", timeout=60_000)
    _clean(w, where)


def test_staff_pages_show_hostile_text_as_text(browser: object, hostile_server: str) -> None:  # noqa: F811
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        w = Watched(browser, hostile_server, viewport)
        page = w.page
        _sign_in(w, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
        page.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)
        page.get_by_text("Click a client's row").wait_for()
        _clean(w, "dashboard")
        w.shot(f"untrusted-dashboard-{suffix}")
        _go(w, "Client review", re.compile(r"."))
        _pick(page, "review_client", AVA)
        page.get_by_role("heading", name=AVA).wait_for(timeout=60_000)
        _shown(w, "review")
        w.shot(f"untrusted-review-{suffix}")
        if viewport is DESKTOP:
            for tab in ("Timeline", "Compare", "Report"):
                _rerun(page, page.get_by_role("tab", name=tab).click)
                _clean(w, f"review/{tab}")
            w.shot("untrusted-review-report-desktop")
            _go(w, "Record session & intake")
            _pick(page, "record_client", AVA)
            _shown(w, "record")
            w.shot("untrusted-record-desktop")
            _go(w, "Accounts")
            _clean(w, "accounts")
        w.check()


def test_admin_and_client_pages_show_hostile_text_as_text(
    browser: object,  # noqa: F811
    hostile_server: str,
) -> None:
    w = Watched(browser, hostile_server, DESKTOP)
    _sign_in(w, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    w.page.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)
    _go(w, "Audit log")
    _clean(w, "audit log")
    w.shot("untrusted-sidebar-admin-desktop")
    w.check()
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        w = Watched(browser, hostile_server, viewport)
        _sign_in(w, "ava@demo.test", DEMO_CLIENT_PASSWORD)
        w.page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
        _clean(w, "my course")
        w.shot(f"untrusted-my-course-{suffix}")
        for title in ("My progress", "Upload photos", "My account"):
            _go(w, title)
            _clean(w, title)
        w.check()
    assert HOSTILE  # the text planted: tests/hostile_text.py
