"""The sign-in cookie is Secure when the page came over HTTPS and not over plain HTTP: the
script the app writes it with, run in a real Chromium on both kinds of origin (Playwright
answers the requests itself, so no certificate or server is needed)."""

from __future__ import annotations

from tests.e2e.test_browser import browser  # noqa: F401 — the shared browser fixture
from tracker.ui.context import COOKIE, cookie_script


def _cookie_after_script(chromium: object, origin: str) -> dict[str, object]:
    context = chromium.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        html = "<html><body>" + cookie_script("token123", 3600) + "</body></html>"
        page.route(
            f"{origin}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=html)
        )
        page.goto(f"{origin}/")
        found = [c for c in context.cookies() if c["name"] == COOKIE]
        assert len(found) == 1, found
        return dict(found[0])
    finally:
        context.close()


def test_the_session_cookie_is_secure_over_https_only(browser: object) -> None:  # noqa: F811
    over_https = _cookie_after_script(browser, "https://clinic.test")
    assert over_https["value"] == "token123" and over_https["secure"] is True
    assert over_https["sameSite"] == "Strict" and over_https["path"] == "/"
    over_http = _cookie_after_script(browser, "http://clinic.test")
    assert over_http["value"] == "token123" and over_http["secure"] is False
