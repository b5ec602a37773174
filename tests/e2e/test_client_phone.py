"""The client's phone in a real browser (issue 11 items 5 and 8): the navigation is in
view at 390 px, the landing page's first action leads to today's photo, and no page shows
a metric key or an engine term (the word list of tests/forbidden_words.py, checked against
the text the browser renders). Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

from tests.e2e.test_browser import (  # noqa: F401 — the fixtures, shared with the main browser tests
    PHONE,
    Watched,
    _go,
    _key,
    _sign_in,
    browser,
    playwright_api,
    server,
)
from tests.forbidden_words import offending
from tracker.app.demo import DEMO_CLIENT_PASSWORD

PAGES = ("My course", "Upload photos", "My progress", "My account")


def test_client_pages_on_a_phone_speak_plain_words(browser: object, server: str) -> None:  # noqa: F811
    for name in ("ava", "niamh"):
        w = Watched(browser, server, PHONE)
        page = w.page
        _sign_in(w, f"{name}@demo.test", DEMO_CLIENT_PASSWORD)
        page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
        for title in PAGES:  # the navigation is on the page, not behind the sidebar's "»"
            playwright_api.expect(page.get_by_role("link", name=title)).to_be_in_viewport()
        first = _key(page, "add_today").locator("button")
        playwright_api.expect(first).to_have_text(re.compile(r"Add today's .*photo"))
        for title in PAGES:
            _go(w, title)
            page.get_by_text("Signed in as").first.wait_for(state="attached", timeout=60_000)
            if title == "My progress":
                page.locator("canvas, svg.marks").first.wait_for(timeout=60_000)  # the charts drew
            w.shot(f"words-{name}-{title.lower().replace(' ', '-')}-phone")
            text = page.get_by_test_id("stMain").inner_text()
            assert offending(text.splitlines()) == [], (title, offending(text.splitlines()))
        _go(w, "My course")
        first.click()
        page.get_by_role("heading", name="Upload photos").wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"^Today's .*photo")).first.wait_for(timeout=60_000)
        w.check()
