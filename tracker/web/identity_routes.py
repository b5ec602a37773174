"""/auth/identity/forget: the browser drops the cookie Streamlit's st.login left behind.

Why: after a sign-in through the identity provider Streamlit keeps the provider's answer
in its own cookie (`_streamlit_user`, 30 days). The page trades it at once for our login
session (tracker/ui/oidc.py); left in place it would sign the browser in again after a
sign-out or an idle timeout without the provider being asked. Streamlit's own
/auth/logout would also sign the person out at the provider, which is not ours to do.

A POST from this site's own page only, like /auth/session.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tracker.app.oidc import FORGET_IDENTITY_PATH
from tracker.web.session_routes import same_origin

# Streamlit's identity and token cookies, and the numbered chunks of either.
_PREFIX = "_streamlit_user"


async def forget_identity(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse(
            "Refused: not sent by this site's own page.",
            status_code=403,
            headers={"Cache-Control": "no-store"},
        )
    response = PlainTextResponse("forgotten", headers={"Cache-Control": "no-store"})
    for name in request.cookies:
        if name.startswith(_PREFIX):
            response.delete_cookie(name, path="/", httponly=True, samesite="lax")
    return response


ROUTES = [Route(FORGET_IDENTITY_PATH, forget_identity, methods=["POST"])]

__all__ = ["ROUTES"]
