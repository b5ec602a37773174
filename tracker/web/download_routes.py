"""GET /download/<kind>?client=<id>[&metric=<m>] (or /download/dashboard, the clinic's own
table): a file built for the person signed in.

The handler resumes the actor from the request's HttpOnly session cookie and calls the same
use case the page used to (tracker/app/downloads.py), which checks the permission before
anything is built. No cookie, an ended or expired session, or a client the actor may not
see: 403 with a short plain message. The answer is never cached (Cache-Control: no-store)
and always saved as a file (Content-Disposition: attachment), never shown in the page.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tracker.app.context import Context
from tracker.app.cookie_handoff import SESSION_COOKIE
from tracker.app.downloads import CLINIC_KINDS, KINDS, ROUTE, Download, build
from tracker.app.people import resume_session
from tracker.errors import NotAllowed, NotFound, Refused
from tracker.web.shared_app import current_app

log = logging.getLogger(__name__)
NO_STORE = {"Cache-Control": "no-store"}


def _plain(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status, headers=NO_STORE)


def attachment(filename: str) -> str:
    """Content-Disposition for a file name with any characters: an ASCII fallback and the
    exact name (RFC 6266)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{quote(filename)}"


def _build(token: str | None, kind: str, client_id: int | None, metric: str | None) -> Download | Response:
    app = current_app()
    actor = resume_session(app, token)
    if actor is None or actor.must_change_password:
        return _plain(403, "Please sign in again: this download needs your sign-in in this browser.")
    try:
        return build(Context(app, actor), kind, client_id, metric)
    except (NotAllowed, NotFound):
        return _plain(403, "You may not download this.")
    except Refused as exc:
        return _plain(400, str(exc))


async def download(request: Request) -> Response:
    kind = request.path_params["kind"]
    client = request.query_params.get("client", "")
    if kind in CLINIC_KINDS:
        if "client" in request.query_params:
            return _plain(404, "There is no such download.")
        client_id = None
    elif kind in KINDS and client.isascii() and client.isdigit() and len(client) <= 12:
        client_id = int(client)
    else:
        return _plain(404, "There is no such download.")
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return _plain(403, "Please sign in: downloads need your sign-in in this browser.")
    built = await run_in_threadpool(_build, token, kind, client_id, request.query_params.get("metric"))
    if isinstance(built, Response):
        return built
    return Response(
        built.body,
        media_type=built.media_type,
        headers={**NO_STORE, "Content-Disposition": attachment(built.filename)},
    )


ROUTES = [Route(ROUTE + "/{kind}", download, methods=["GET"])]

__all__ = ["ROUTES", "attachment"]
