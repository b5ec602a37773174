"""The page's script that hands a new sign-in to the server (which sets the HttpOnly
`__Host-` cookie), run in a real Chromium on both kinds of origin: Playwright answers the
requests itself, so no certificate or server is needed.

Over HTTPS it POSTs the one-time code in the request body (never in the URL); over plain
HTTP to another computer the browser would refuse a `__Host-` cookie, so it sends nothing
and the sign-in lasts while the tab is open (the page says so)."""

from __future__ import annotations

from tests.e2e.test_browser import browser  # noqa: F401 — the shared browser fixture
from tracker.app.cookie_handoff import SESSION_COOKIE, SESSION_PATH
from tracker.ui.context import handoff_script


def _posts_after_script(chromium: object, origin: str) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """(method, url, body) of every request the script made, and the cookies the browser kept."""
    context = chromium.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        html = "<html><body>" + handoff_script("one-time-code-123") + "</body></html>"
        seen: list[tuple[str, str, str | None]] = []

        def answer(route: object) -> None:
            req = route.request  # type: ignore[attr-defined]
            if req.url.endswith(SESSION_PATH):
                seen.append((req.method, req.url, req.post_data))
                route.fulfill(  # type: ignore[attr-defined]
                    status=200,
                    body="signed in",
                    headers={
                        "Set-Cookie": f"{SESSION_COOKIE}=tok; Path=/; Secure; HttpOnly; SameSite=Strict"
                    },
                )
            else:
                route.fulfill(status=200, content_type="text/html", body=html)  # type: ignore[attr-defined]

        page.route(f"{origin}/**", answer)
        if origin.startswith("https:"):
            with page.expect_response(f"{origin}{SESSION_PATH}", timeout=10_000):
                page.goto(f"{origin}/")
        else:  # the script runs as the page is parsed: a fetch would have started by load
            page.goto(f"{origin}/", wait_until="load")
        return seen, [c["name"] for c in context.cookies()]
    finally:
        context.close()


def test_the_code_is_posted_over_https_and_the_server_answer_sets_the_cookie(browser: object) -> None:  # noqa: F811
    seen, cookies = _posts_after_script(browser, "https://clinic.test")
    assert seen == [("POST", f"https://clinic.test{SESSION_PATH}", "one-time-code-123")]
    assert "one-time-code" not in seen[0][1]  # the code is in the body, not the URL
    assert cookies == [SESSION_COOKIE]


def test_over_plain_http_to_another_computer_nothing_is_sent(browser: object) -> None:  # noqa: F811
    seen, cookies = _posts_after_script(browser, "http://clinic.test")
    assert seen == [] and cookies == []
