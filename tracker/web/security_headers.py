"""Security headers on every answer the app's server gives, and Streamlit's metrics kept
to this machine.

The same headers are set by the proxy (deploy/nginx/tracker.conf); set here too, so a server
reached without the proxy (a demo, a LAN) has them as well. The policy:
- the app is never framed by another page (frame-ancestors 'none', X-Frame-Options: DENY),
  except the pages of Streamlit's own components (/component/...), which Streamlit shows in
  frames of the app itself (the zone editor): those may be framed by this origin only;
- no plugins (object-src 'none'), no <base> tag pointing elsewhere, no form posted elsewhere;
- images, scripts, styles, fonts and connections from this origin only (plus data: and
  blob: images, which Streamlit and the charts draw with): a name or a note that slipped
  through as markup still cannot load anything from another host. Scripts keep
  'unsafe-inline' (Streamlit's own page and the app's session-cookie handoff are inline)
  and blob: (Streamlit loads a page component's script, the camera's, from a blob: URL,
  which only a script already running in the page can make).
- nosniff, and no Referer sent anywhere.

Streamlit's own /_stcore/host-config names the origins allowed to drive the page from a
parent frame (Streamlit's cloud hosts among them) and other switches for hosting
platforms. The page cannot connect without an answer there, so it is not refused: to
anyone but this machine the answer is our own, fixed one, with no allowed origin at all.
"""

from __future__ import annotations

import json
from ipaddress import ip_address

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob: data:; "
    "worker-src 'self' blob:; frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
)
CSP = f"{_COMMON}; frame-ancestors 'none'"
CSP_COMPONENT = f"{_COMMON}; frame-ancestors 'self'"
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
# Answered to this machine only (a monitor, an operator with curl); 404 to anyone else.
LOCAL_ONLY = ("/_stcore/metrics",)
HOST_CONFIG = "/_stcore/host-config"
# What the page needs from host-config, and nothing that lets another site drive it. The
# proxy answers the same (deploy/nginx/tracker.conf); a test keeps the two equal.
HOST_CONFIG_ANSWER = {
    "allowedOrigins": [],
    "useExternalAuthToken": False,
    "enableCustomParentMessages": False,
    "enforceDownloadInNewTab": False,
    "metricsUrl": "",
    "blockErrorDialogs": False,
    "resourceCrossOriginMode": None,
}


def headers_for(path: str) -> dict[str, str]:
    if "/component/" in path:  # Streamlit's component pages are framed by the app itself
        return {**HEADERS, "content-security-policy": CSP_COMPONENT, "x-frame-options": "SAMEORIGIN"}
    return HEADERS


def is_loopback(client: tuple[str, int] | None) -> bool:
    if client is None:
        return False
    try:
        return ip_address(client[0]).is_loopback
    except ValueError:
        return False


class SecurityHeaders:
    """ASGI middleware: adds the headers to every HTTP answer (websockets pass untouched)
    and refuses the machine-only endpoints to other addresses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        added = headers_for(path)
        outside = not is_loopback(scope.get("client"))
        if path.endswith(LOCAL_ONLY) and outside:
            await _answer(send, 404, "text/plain; charset=utf-8", b"Not found", added)
            return
        if path.endswith(HOST_CONFIG) and outside:
            body = json.dumps(HOST_CONFIG_ANSWER).encode()
            await _answer(send, 200, "application/json", body, {**added, "cache-control": "no-cache"})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in added.items() if k.encode() not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _answer(send: Send, status: int, media_type: str, body: bytes, headers: dict[str, str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", media_type.encode())]
            + [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "CSP",
    "HEADERS",
    "HOST_CONFIG",
    "HOST_CONFIG_ANSWER",
    "LOCAL_ONLY",
    "SecurityHeaders",
    "headers_for",
    "is_loopback",
]
