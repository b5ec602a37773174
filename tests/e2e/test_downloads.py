"""Downloads go through the app's own route, for the person signed in in this browser only:
a client downloads her data in a real Chromium (a download event, a zip), and the same URL
then answers 403 without the browser's cookie, for another client's data, and after she
signed out even with the cookie she had. Nothing is offered from Streamlit's /media URLs,
and every answer of the served app carries the security headers."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tests.e2e.test_browser import (  # noqa: F401 — the shared fixtures
    DESKTOP,
    Watched,
    _go,
    _key,
    _sign_in,
    browser,
    server,
)
from tracker.app.cookie_handoff import SESSION_COOKIE
from tracker.app.demo import DEMO_CLIENT_PASSWORD


def _status(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=120) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_a_client_downloads_her_data_and_the_url_dies_with_her_sign_in(browser: object, server: str) -> None:  # noqa: F811
    w = Watched(browser, server, DESKTOP)
    page = w.page
    _sign_in(w, "ava@demo.test", DEMO_CLIENT_PASSWORD)
    page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
    _go(w, "My account")
    link = _key(page, "my_export_download").locator("a")
    link.wait_for(timeout=60_000)
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert not [h for h in hrefs if "/media/" in h], hrefs  # no file on a bearer URL
    with page.expect_download(timeout=120_000) as info:
        link.click()
    download = info.value
    url = download.url
    assert url.startswith(f"{server}/download/export?client=")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as z:
        assert "client.json" in z.namelist()
    (cookie,) = [c for c in w.context.cookies() if c["name"] == SESSION_COOKIE]
    token = str(cookie["value"])

    status, headers, body = _status(url)  # as with curl: no cookie
    assert status == 403 and b"sign in" in body and headers["cache-control"] == "no-store"
    status, headers, body = _status(url, token)  # the browser's own cookie: allowed
    assert status == 200 and body[:2] == b"PK"
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["cache-control"] == "no-store"
    mine = int(url.split("client=")[1])
    other = url.replace(f"client={mine}", f"client={mine % 4 + 1}")  # another of the demo's 4 clients
    assert _status(other, token)[0] == 403  # another client's data

    _key(page, "sign_out").locator("button").click()
    page.get_by_text("Demo accounts").wait_for(timeout=60_000)
    assert _status(url, token)[0] == 403  # the session ended with the sign-out
    assert _status(url)[0] == 403
    w.check()


def test_the_served_app_sends_the_security_headers(server: str) -> None:  # noqa: F811
    status, headers, _ = _status(f"{server}/")
    assert status == 200
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "object-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
