"""Starting the app's server with the limits this installation is configured for.

Why not plain `streamlit run app.py`: Streamlit's own upload endpoint accepts 200 MB per
file by default, to anyone with a browser session (signed in or not), while the app
refuses anything over TRACKER_MAX_UPLOAD_BYTES only after the bytes have arrived; three
60 MB files from a signed-out visitor grew the server by 180 MB. The server's limits are
set from the same settings here, and a production server refuses to start while demo
accounts (published passwords) are active.

What runs is tracker/web/asgi.py: Streamlit's ASGI app (`st.App`, served by uvicorn) around
app.py, with the app's own routes (the HttpOnly session cookie, downloads checked against
the signed-in person) and security headers. `streamlit run` puts that file's folder first
on the import path, so the checkout itself is put on PYTHONPATH for `import tracker`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from tracker.config import MB, Settings

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
ASGI = ROOT / "tracker" / "web" / "asgi.py"


def streamlit_options(settings: Settings) -> list[str]:
    """Command-line options for `streamlit run` that match the app's own limits."""
    upload_mb = max(1, math.ceil(settings.max_upload_bytes / MB))
    # A camera picture arrives as a base64 data URL inside one websocket message.
    message_mb = max(upload_mb, math.ceil(settings.max_upload_bytes * 4 / 3 / MB)) + 4
    return [
        f"--server.maxUploadSize={upload_mb}",
        f"--server.maxMessageSize={message_mb}",
        # The clinic's colour on buttons, links and sliders (issue 11: clinic branding).
        f"--theme.primaryColor={settings.accent_colour}",
        # As .streamlit/config.toml says, whatever the working folder: Streamlit reads that
        # file from the working folder and the entry script's, and the entry is now
        # tracker/web/asgi.py. No traceback on a page; no table CSV that keeps formulas live.
        "--client.showErrorDetails=none",
        "--client.disableDataExport=true",
        "--client.toolbarMode=minimal",
        "--browser.gatherUsageStats=false",
    ]


def auth_secrets(settings: Settings) -> str:
    """Streamlit's `[auth]` configuration for st.login (a secrets.toml), made from our settings:
    they are the one source, so no hand-edited secrets file is kept anywhere.

    The cookie that carries the provider's answer to the page is signed with
    cookie_secret (the same in every replica); the page trades that cookie for our own
    login session at once (tracker/ui/oidc.py)."""
    values = {
        "redirect_uri": settings.oidc_redirect_uri,
        "cookie_secret": settings.cookie_secret.get_secret_value(),
        "client_id": settings.oidc_client_id,
        "client_secret": settings.oidc_client_secret,
        "server_metadata_url": settings.oidc_server_metadata_url,
    }
    # A JSON string is a TOML basic string: quotes, backslashes and control characters escaped.
    lines = ["[auth]", *(f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items())]
    # prompt=login: the provider asks for the password at every sign-in here, so at a shared
    # reception desk the next person cannot ride on the last one's session at the provider.
    lines += ["", "[auth.client_kwargs]", 'scope = "openid email profile"', 'prompt = "login"']
    return "\n".join(lines) + "\n"


def auth_options(settings: Settings) -> list[str]:
    """With OIDC sign-in configured: write Streamlit's auth configuration to a file only this
    user can read, inside the data folder (never the checkout), and name it for the server.
    Rewritten at every start, so a changed setting takes effect with the next start."""
    if not settings.oidc_enabled:
        return []
    path = (settings.data_dir / "streamlit-auth-secrets.toml").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(auth_secrets(settings))
    temporary.replace(path)
    return [f"--secrets.files={path}"]


def proxy_body_limit_mb(settings: Settings) -> int:
    """The reverse proxy's request-body limit (nginx `client_max_body_size`, in MB): one
    upload request carries one file, plus up to 1 MB of multipart wrapping. Lower, and the
    proxy refuses photos the app would take; much higher, and it lets through bodies the
    app refuses only after they have arrived."""
    return max(1, math.ceil(settings.max_upload_bytes / MB)) + 1


def streamlit_command(settings: Settings, python: str, extra: list[str]) -> list[str]:
    return [python, "-m", "streamlit", "run", str(ASGI), *streamlit_options(settings), *extra]


def server_environment(environ: dict[str, str], cookie_secret: str = "") -> dict[str, str]:
    """The server's environment: as given, with the checkout first on PYTHONPATH, and the
    configured cookie secret for Streamlit (its XSRF cookie, which guards uploads, is signed
    with it: replicas with different secrets refuse each other's uploads). Through the
    environment, not the command line, which every user of the machine can read."""
    paths = [str(ROOT), *[p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    secret = {"STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret} if cookie_secret else {}
    return {**environ, "PYTHONPATH": os.pathsep.join(paths), **secret}


__all__ = [
    "APP",
    "ASGI",
    "auth_options",
    "auth_secrets",
    "proxy_body_limit_mb",
    "server_environment",
    "streamlit_command",
    "streamlit_options",
]
