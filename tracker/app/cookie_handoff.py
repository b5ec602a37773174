"""One-time codes that hand a new login session to the browser as an HttpOnly cookie.

Why: a Streamlit page cannot set a cookie from the server, and a cookie a script writes is
a cookie every script in the page can read. So the page that has just signed someone in
gets a code instead, good once and for CODE_SECONDS; a tiny script POSTs it to the
server's own route (/auth/session, tracker/web/session_routes.py), whose answer sets the
`__Host-` cookie with HttpOnly. The code travels in a request body only: never in a URL,
so never in a log or the browser's history.

The codes live in the database (table cookie_code), not in one process's memory: with
several app replicas, the POST may reach another replica than the page that issued the
code. The table holds the code's SHA-256 and the token sealed with a key derived from the
code (a one-time pad from SHAKE-256): a copy of the database alone yields no session token,
as login_session holds only token digests too.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta

from tracker.application import App
from tracker.store.cookie_codes import add_code, take_code
from tracker.store.models import utcnow

CODE_SECONDS = 60.0
# `__Host-`: the browser keeps it only if it came over a secure connection with Path=/ and
# no Domain, so no other site or subdomain (or plain-HTTP page) can plant or overwrite it.
SESSION_COOKIE = "__Host-tracker_session"
# The server's routes that set and clear it (tracker/web/session_routes.py).
SESSION_PATH = "/auth/session"
SIGNOUT_PATH = "/auth/signout"
MAX_TOKEN_BYTES = 200  # a session token is 43 characters; resume_session refuses over 200


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _pad(code: str, size: int) -> bytes:
    """A key stream only the code's holder can make (the table stores the code's SHA-256,
    a different function of it)."""
    return hashlib.shake_256(b"tracker cookie code\x00" + code.encode("utf-8")).digest(size)


def _seal(code: str, token: str) -> str:
    data = token.encode("utf-8")
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, _pad(code, len(data)), strict=True))).decode()


def _open(code: str, sealed: str) -> str | None:
    data = base64.b64decode(sealed)
    try:
        return bytes(a ^ b for a, b in zip(data, _pad(code, len(data)), strict=True)).decode("utf-8")
    except UnicodeDecodeError:
        return None


def issue(app: App, token: str) -> str:
    """A fresh code for this login session's token (the token itself never leaves the server
    except in the cookie)."""
    if not token or len(token.encode("utf-8")) > MAX_TOKEN_BYTES:
        raise ValueError("not a session token")
    code = secrets.token_urlsafe(32)
    now = utcnow()
    with app.uow() as uow:
        add_code(uow.session, _digest(code), _seal(code, token), now + timedelta(seconds=CODE_SECONDS), now)
        uow.commit()
    return code


def redeem(app: App, code: str) -> str | None:
    """The session token a code was issued for, once, on whichever replica: a second try
    (here or on another replica), an expired code or an unknown one gives None."""
    if not code or len(code) > 100:
        return None
    with app.uow() as uow:
        sealed = take_code(uow.session, _digest(code), utcnow())
        uow.commit()
    return None if sealed is None else _open(code, sealed)


__all__ = ["CODE_SECONDS", "SESSION_COOKIE", "SESSION_PATH", "SIGNOUT_PATH", "issue", "redeem"]
