"""The server's own routes on a real copy of the demo: the session cookie is set and cleared
by the server (HttpOnly, `__Host-`, a browser-session cookie), and downloads are built only
for the person whose live session cookie comes with the request, by the use cases that
check permissions. Requests go through the real routes and middleware, in process."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware

from tests.asgi import Answer, request
from tests.conftest import copy_demo
from tracker.app import courses
from tracker.app.context import Actor, Context
from tracker.app.cookie_handoff import SESSION_COOKIE, issue
from tracker.app.demo import (
    DEMO_CLIENT_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
    DemoResult,
)
from tracker.app.downloads import download_path
from tracker.app.people import authenticate, end_session, open_session, resume_session
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.web.download_routes import ROUTES as DOWNLOAD_ROUTES
from tracker.web.security_headers import SecurityHeaders
from tracker.web.session_routes import ROUTES as SESSION_ROUTES

SERVER = Starlette(routes=[*SESSION_ROUTES, *DOWNLOAD_ROUTES], middleware=[Middleware(SecurityHeaders)])
SAME_ORIGIN = {"origin": "http://localhost:8501", "host": "localhost:8501", "sec-fetch-site": "same-origin"}


@pytest.fixture(scope="module")
def data(demo_loaded: tuple[App, DemoResult], tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A private copy of the demo (the routes open the App the environment names), with a
    second clinic and one client of its own."""
    target = tmp_path_factory.mktemp("routes") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACKER_DATABASE_URL", os.environ.get("TRACKER_DATABASE_URL", ""))  # restored after
        copy_demo(demo_loaded, target).close()  # its own database too, on a PostgreSQL run
        env.setenv("TRACKER_DATA_DIR", str(target))
        env.setenv("TRACKER_DEMO_MODE", "true")
        app = open_app(Settings())
        other = courses.ensure_clinic(app, "Another clinic")
        courses.create_client(Context(app, Actor.operator(other)), "Zoe Elsewhere")
        yield app
        app.close()


def _client(app: App, name: str, clinic_id: int | None = None) -> int:
    clinic = clinic_id if clinic_id is not None else 1
    return next(
        c.id for c in courses.client_names(Context(app, Actor.operator(clinic))) if c.name.startswith(name)
    )


@pytest.fixture(autouse=True)
def _routes_open_the_copy(data: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a PostgreSQL run each test's environment names a database of its own; the routes
    open the App the environment names, so here it must name the demo copy's."""
    if data.settings.database_url:
        monkeypatch.setenv("TRACKER_DATABASE_URL", data.settings.database_url)


def _signed_in(app: App, email: str, password: str) -> tuple[Actor, str]:
    actor = authenticate(app, email, password)
    assert actor is not None
    return actor, open_session(app, actor)


def _get(path: str, token: str | None) -> Answer:
    return request(SERVER, "GET", path, headers={"cookie": f"{SESSION_COOKIE}={token}"} if token else {})


def test_a_client_downloads_her_own_export_only_while_signed_in(data: App) -> None:
    ava, token = _signed_in(data, "ava@demo.test", DEMO_CLIENT_PASSWORD)
    assert ava.client_id is not None
    mine = download_path("export", ava.client_id)

    refused = _get(mine, None)  # no cookie: nothing built
    assert refused.status == 403 and b"sign in" in refused.body
    assert refused.header("cache-control") == "no-store"

    got = _get(mine, token)
    assert got.status == 200, got.body
    assert got.header("content-type") == "application/zip"
    assert got.header("cache-control") == "no-store"
    assert (got.header("content-disposition") or "").startswith('attachment; filename="')
    assert got.header("x-content-type-options") == "nosniff"
    with zipfile.ZipFile(io.BytesIO(got.body)) as z:
        assert z.namelist()

    niamh = _client(data, "Niamh", ava.clinic_id)
    assert _get(download_path("export", niamh), token).status == 403  # another client
    assert _get(download_path("calendar", niamh), token).status == 403
    assert _get(download_path("calendar", ava.client_id), token).body.startswith(b"BEGIN:VCALENDAR")

    assert _get(download_path("dashboard"), token).status == 403  # the clinic's table: staff only
    assert _get(download_path("dashboard"), None).status == 403

    end_session(data, token)  # signed out: the same URL and cookie give nothing
    assert _get(mine, token).status == 403
    assert _get(mine, "made-up-token").status == 403


def test_staff_download_their_clinics_files_and_nothing_of_another_clinic(data: App) -> None:
    staff, token = _signed_in(data, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    niamh = _client(data, "Niamh", staff.clinic_id)
    report = _get(download_path("report", niamh), token)
    assert report.status == 200 and report.body[:5] == b"%PDF-"
    assert report.header("content-type") == "application/pdf"
    assert "report-Niamh" in (report.header("content-disposition") or "")
    chart = _get(download_path("chart", niamh, "delta_ei"), token)
    assert chart.status == 200 and chart.body[:8] == b"\x89PNG\r\n\x1a\n"
    unknown = _get(download_path("chart", niamh, "no-such-metric").replace("no-such-metric", "x"), token)
    assert unknown.status == 400 and b"charts the page offers" in unknown.body
    elsewhere = _client(data, "Zoe", clinic_id=courses.ensure_clinic(data, "Another clinic"))
    for kind in ("export", "report", "calendar"):
        assert _get(download_path(kind, elsewhere), token).status == 403, kind
    table = _get(download_path("dashboard"), token)
    assert table.status == 200 and (table.header("content-type") or "").startswith("text/csv")
    assert "Niamh" in table.body.decode("utf-8-sig") and "Zoe" not in table.body.decode("utf-8-sig")
    assert _get("/download/dashboard?client=1", token).status == 404  # the clinic's: no client
    assert _get("/download/passwords?client=1", token).status == 404
    assert _get("/download/export?client=1%20OR%201", token).status == 404


def test_the_server_sets_the_session_cookie_for_a_one_time_code(data: App) -> None:
    actor, token = _signed_in(data, "ava@demo.test", DEMO_CLIENT_PASSWORD)
    code = issue(data, token)
    forged = request(
        SERVER,
        "POST",
        "/auth/session",
        headers={**SAME_ORIGIN, "origin": "https://evil.test"},
        body=code.encode(),
    )
    assert forged.status == 403 and forged.header("set-cookie") is None
    answer = request(SERVER, "POST", "/auth/session", headers=SAME_ORIGIN, body=code.encode())
    assert answer.status == 200, answer.body
    (cookie,) = answer.all("set-cookie")
    assert cookie == f"{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict"
    assert "max-age" not in cookie.lower() and "expires" not in cookie.lower()  # gone with the browser
    assert answer.header("cache-control") == "no-store"
    again = request(SERVER, "POST", "/auth/session", headers=SAME_ORIGIN, body=code.encode())
    assert again.status == 403 and again.header("set-cookie") is None  # a code works once
    assert request(SERVER, "POST", "/auth/session", headers=SAME_ORIGIN, body=b"guess").status == 403
    assert request(SERVER, "GET", "/auth/session").status == 405

    ended = issue(data, token)
    out = request(
        SERVER, "POST", "/auth/signout", headers={**SAME_ORIGIN, "cookie": f"{SESSION_COOKIE}={token}"}
    )
    assert out.status == 200
    assert (
        out.header("set-cookie") == f"{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    )
    assert resume_session(data, token) is None  # ended on the server too
    # a code issued before the sign-out gives no cookie for the ended session
    late = request(SERVER, "POST", "/auth/session", headers=SAME_ORIGIN, body=ended.encode())
    assert late.status == 403 and late.header("set-cookie") is None
    assert actor.client_id is not None


def test_sign_out_from_another_site_is_refused(data: App) -> None:
    _actor, token = _signed_in(data, "ava@demo.test", DEMO_CLIENT_PASSWORD)
    cross = {"host": "localhost:8501", "origin": "https://evil.test", "cookie": f"{SESSION_COOKIE}={token}"}
    assert request(SERVER, "POST", "/auth/signout", headers=cross).status == 403
    no_origin = {"host": "localhost:8501", "cookie": f"{SESSION_COOKIE}={token}"}
    assert request(SERVER, "POST", "/auth/signout", headers=no_origin).status == 403
    assert resume_session(data, token) is not None
