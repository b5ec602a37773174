"""`python -m tracker serve` starts Streamlit's ASGI app with the app's own routes: the
command names tracker/web/asgi.py, which Streamlit's own discovery recognises as an st.App,
keeps the limits taken from the settings, and can import the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

from tracker.config import Settings
from tracker.serve import APP, ASGI, ROOT, server_environment, streamlit_command


def test_serve_runs_the_asgi_entry_with_the_settings_limits() -> None:
    command = streamlit_command(Settings(_env_file=None), "python", ["--server.port", "8633"])  # type: ignore[call-arg]
    assert command[:5] == ["python", "-m", "streamlit", "run", str(ASGI)]
    assert "--server.maxUploadSize=30" in command and command[-2:] == ["--server.port", "8633"]
    found = discover_asgi_app(ASGI)
    assert found.is_asgi_app and found.import_string == "asgi:app"  # served by uvicorn


def test_the_server_can_import_the_checkout_from_anywhere() -> None:
    env = server_environment({"PYTHONPATH": "/opt/extra", "HOME": "/home/x"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/opt/extra"]
    assert env["HOME"] == "/home/x"
    assert server_environment({})["PYTHONPATH"] == str(ROOT)
    assert (Path(ROOT) / "tracker" / "__init__.py").is_file()


def test_replicas_get_the_configured_cookie_secret_through_the_environment() -> None:
    assert "STREAMLIT_SERVER_COOKIE_SECRET" not in server_environment({})  # Streamlit makes one
    env = server_environment({}, "s" * 40)
    assert env["STREAMLIT_SERVER_COOKIE_SECRET"] == "s" * 40
    assert not any(
        "s" * 40 in option for option in streamlit_command(Settings(cookie_secret="s" * 40), "py", [])
    )


def test_the_app_serves_its_own_routes_around_app_py() -> None:
    """Imported in a child process: an st.App pins Streamlit's process-wide script path."""
    probe = (
        "from tracker.web.asgi import SCRIPT, app; "
        "print(SCRIPT); print(sorted(getattr(r, 'path', '') for r in app._user_routes))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    script, routes = done.stdout.splitlines()[-2:]
    assert Path(script) == APP and APP.is_file()  # app.py stays the Streamlit script (AppTest runs it)
    assert routes == str(
        sorted(["/auth/identity/forget", "/auth/session", "/auth/signout", "/download/{kind}"])
    )
