"""The server's security headers and its machine-only endpoints, through the real
middleware (tracker/web/security_headers.py) in front of a small ASGI app."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from tracker.web.security_headers import HOST_CONFIG_ANSWER, SecurityHeaders


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"<html>app</html>"})


def _get(
    path: str, client: tuple[str, int] | None = ("203.0.113.9", 50000)
) -> tuple[int, dict[str, str], bytes]:
    """One GET through the middleware: status, headers (lower-case names), body."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "client": client}
    asyncio.run(SecurityHeaders(_hello)(scope, receive, send))
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def test_every_answer_carries_the_security_headers() -> None:
    status, headers, body = _get("/")
    assert status == 200 and body == b"<html>app</html>"
    csp = {d.split()[0]: d.split()[1:] for d in headers["content-security-policy"].split("; ")}
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]  # no image from another host
    assert csp["default-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-type"] == "text/html"  # the app's own headers are kept


def test_component_pages_may_be_framed_by_the_app_itself_only() -> None:
    _status, headers, _ = _get(
        "/component/streamlit_image_coordinates.streamlit_image_coordinates/index.html"
    )
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "SAMEORIGIN"


def test_metrics_answer_this_machine_only() -> None:
    status, headers, body = _get("/_stcore/metrics")
    assert status == 404 and body == b"Not found"
    assert headers["x-frame-options"] == "DENY"
    assert _get("/_stcore/metrics", client=None)[0] == 404
    assert _get("/_stcore/metrics", client=("127.0.0.1", 1234))[0] == 200
    assert _get("/_stcore/metrics", client=("::1", 1234))[0] == 200
    assert _get("/_stcore/health")[0] == 200  # others pass


def test_host_config_gets_a_fixed_answer_with_no_allowed_origin_outside_this_machine() -> None:
    status, headers, body = _get("/_stcore/host-config")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body) == HOST_CONFIG_ANSWER and json.loads(body)["allowedOrigins"] == []
    assert headers["x-frame-options"] == "DENY"
    # Streamlit's own answer (here the small app's) only to the machine itself
    assert _get("/_stcore/host-config", client=("127.0.0.1", 1234))[2] == b"<html>app</html>"


def test_websockets_pass_untouched() -> None:
    seen: list[str] = []

    async def ws_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        raise AssertionError("the middleware answered a websocket")

    asyncio.run(SecurityHeaders(ws_app)({"type": "websocket", "path": "/_stcore/stream"}, nothing, ignore))
    assert seen == ["websocket"]
