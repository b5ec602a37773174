"""/auth/identity/forget: after st.login's answer has become our session, the browser drops
Streamlit's identity cookies (and their chunks), and nothing else; only this site's own page
may ask."""

from __future__ import annotations

from starlette.applications import Starlette

from tests.asgi import request
from tracker.app.cookie_handoff import SESSION_COOKIE
from tracker.app.oidc import FORGET_IDENTITY_PATH
from tracker.web.identity_routes import ROUTES

SERVER = Starlette(routes=ROUTES)
SAME_ORIGIN = {"origin": "http://localhost:8501", "host": "localhost:8501", "sec-fetch-site": "same-origin"}
COOKIES = f"_streamlit_user=a; _streamlit_user_1=b; _streamlit_user_tokens=c; {SESSION_COOKIE}=ours; other=x"


def test_the_identity_cookies_are_cleared_and_ours_is_kept() -> None:
    answer = request(SERVER, "POST", FORGET_IDENTITY_PATH, headers={**SAME_ORIGIN, "cookie": COOKIES})
    assert answer.status == 200
    cleared = sorted(c.split("=", 1)[0] for c in answer.all("set-cookie"))
    assert cleared == ["_streamlit_user", "_streamlit_user_1", "_streamlit_user_tokens"]
    assert all("Max-Age=0" in c and "Path=/" in c for c in answer.all("set-cookie"))
    assert answer.header("cache-control") == "no-store"


def test_another_site_cannot_ask() -> None:
    cross = {"origin": "https://evil.example", "host": "localhost:8501", "sec-fetch-site": "cross-site"}
    answer = request(SERVER, "POST", FORGET_IDENTITY_PATH, headers={**cross, "cookie": COOKIES})
    assert answer.status == 403 and answer.all("set-cookie") == []


def test_only_post() -> None:
    answer = request(SERVER, "GET", FORGET_IDENTITY_PATH, headers={**SAME_ORIGIN, "cookie": COOKIES})
    assert answer.status == 405 and answer.all("set-cookie") == []
