"""The app's ASGI entry: Streamlit's app (app.py) with the app's own routes and headers.

`python -m tracker serve` starts `streamlit run` on this file; Streamlit finds `app` below
and serves it with uvicorn. app.py stays the Streamlit script (AppTest runs it directly).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from tracker.web.download_routes import ROUTES as DOWNLOAD_ROUTES
from tracker.web.identity_routes import ROUTES as IDENTITY_ROUTES
from tracker.web.security_headers import SecurityHeaders
from tracker.web.session_routes import ROUTES as SESSION_ROUTES

SCRIPT = Path(__file__).resolve().parents[2] / "app.py"

app = st.App(
    SCRIPT,
    routes=[*SESSION_ROUTES, *DOWNLOAD_ROUTES, *IDENTITY_ROUTES],
    middleware=[Middleware(SecurityHeaders)],
)
