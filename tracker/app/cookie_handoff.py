"""One-time codes that hand a new login session to the browser as an HttpOnly cookie.

Why: a Streamlit page cannot set a cookie from the server, and a cookie a script writes is
a cookie every script in the page can read. So the page that has just signed someone in
gets a code instead, good once and for CODE_SECONDS; a tiny script POSTs it to the
server's own route (/auth/session, tracker/web/session_routes.py), whose answer sets the
`__Host-` cookie with HttpOnly. The code travels in a request body only: never in a URL,
so never in a log or the browser's history.

The codes live in this process's memory. Several app processes work as long as a browser's
requests all reach one process (the proxy's affinity cookie, docs/deploy.md); without that
the codes need a shared store (a database table with the same rules).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

CODE_SECONDS = 60.0
# `__Host-`: the browser keeps it only if it came over a secure connection with Path=/ and
# no Domain, so no other site or subdomain (or plain-HTTP page) can plant or overwrite it.
SESSION_COOKIE = "__Host-tracker_session"
# The server's routes that set and clear it (tracker/web/session_routes.py).
SESSION_PATH = "/auth/session"
SIGNOUT_PATH = "/auth/signout"

_lock = threading.Lock()
_codes: dict[str, tuple[str, float]] = {}  # sha256 of the code -> (session token, expiry)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def issue(token: str) -> str:
    """A fresh code for this login session's token (the token itself never leaves the server
    except in the cookie)."""
    code = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        for key in [k for k, (_, until) in _codes.items() if until <= now]:
            del _codes[key]  # expired codes go as new ones are made: the store stays small
        _codes[_digest(code)] = (token, now + CODE_SECONDS)
    return code


def redeem(code: str) -> str | None:
    """The session token a code was issued for, once: a second try, an expired code or an
    unknown one gives None."""
    if not code or len(code) > 100:
        return None
    with _lock:
        found = _codes.pop(_digest(code), None)
    if found is None or found[1] <= time.monotonic():
        return None
    return found[0]


__all__ = ["CODE_SECONDS", "SESSION_COOKIE", "SESSION_PATH", "SIGNOUT_PATH", "issue", "redeem"]
