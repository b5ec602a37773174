"""/auth/session and /auth/signout: the server sets and clears the session cookie.

The cookie is `__Host-tracker_session=<token>; Path=/; Secure; HttpOnly; SameSite=Strict`
with no Max-Age or Expires: a browser session cookie, gone when the browser closes (a shared
reception PC keeps no sign-in overnight), never readable by a script in the page, sent to
this site only. The login session's own limits (absolute lifetime, idle timeout) are checked
by people.resume_session on every use.

Both routes take a POST from this site's own page only (its Origin must be this host): a
form on another site can neither plant a session nor sign anyone out.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tracker.app.cookie_handoff import SESSION_COOKIE, SESSION_PATH, SIGNOUT_PATH, redeem
from tracker.app.people import end_session, resume_session
from tracker.web.shared_app import current_app

_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Strict"


def session_cookie(token: str) -> str:
    return f"{SESSION_COOKIE}={token}; {_ATTRIBUTES}"


def cleared_cookie() -> str:
    return f"{SESSION_COOKIE}=; {_ATTRIBUTES}; Max-Age=0"


def same_origin(request: Request) -> bool:
    """A request sent by this site's own page: its Origin names the host it was sent to (the
    host name: a proxy may pass Host without the port)."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if not origin or not host or request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    return urlsplit(origin).hostname == urlsplit(f"//{host}").hostname


def _refused(message: str) -> Response:
    return PlainTextResponse(message, status_code=403, headers={"Cache-Control": "no-store"})


async def open_cookie(request: Request) -> Response:
    """Redeem the page's one-time code (the request body) for the cookie of its session."""
    if not same_origin(request):
        return _refused("Refused: not sent by this site's own page.")
    code = (await request.body())[:200].decode("ascii", "replace").strip()
    token = await run_in_threadpool(redeem, current_app(), code)
    if token is None or await run_in_threadpool(resume_session, current_app(), token) is None:
        return _refused("Refused: that sign-in code is used, older than a minute, or its session has ended.")
    response = PlainTextResponse("signed in", headers={"Cache-Control": "no-store"})
    response.headers["Set-Cookie"] = session_cookie(token)
    return response


async def close_cookie(request: Request) -> Response:
    """Sign-out: the cookie's session ends on the server, and the browser drops the cookie."""
    if not same_origin(request):
        return _refused("Refused: not sent by this site's own page.")
    await run_in_threadpool(end_session, current_app(), request.cookies.get(SESSION_COOKIE))
    response = PlainTextResponse("signed out", headers={"Cache-Control": "no-store"})
    response.headers["Set-Cookie"] = cleared_cookie()
    return response


ROUTES = [
    Route(SESSION_PATH, open_cookie, methods=["POST"]),
    Route(SIGNOUT_PATH, close_cookie, methods=["POST"]),
]

__all__ = ["ROUTES", "SESSION_PATH", "SIGNOUT_PATH", "cleared_cookie", "same_origin", "session_cookie"]
