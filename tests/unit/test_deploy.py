"""The deployment recipe under deploy/ (docs/deploy.md) holds what the app needs.

Checked as far as the machine allows: the files are parsed here for the directives that
matter (the proxy's body limit equals the app's upload limit plus the margin, the websocket
upgrade, affinity, the headers; the units start the module's own commands, which the
command line accepts); `systemd-analyze verify` and `systemd-analyze security` run when
installed, and `nginx -t` when an nginx binary is found (on PATH, or named by
$TRACKER_TEST_NGINX: not $NGINX, which nginx itself reads).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tracker.cli import _parser
from tracker.config import MB, Settings
from tracker.serve import proxy_body_limit_mb
from tracker.web.security_headers import CSP, HOST_CONFIG, HOST_CONFIG_ANSWER, LOCAL_ONLY, headers_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "tracker.conf"
UNITS = DEPLOY / "systemd"
ENV_EXAMPLE = DEPLOY / "tracker.env.example"
INSTALLED_AT = "/opt/tracker"  # where the units expect the checkout


# nginx ------------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def one(self, name: str) -> Directive:
        (found,) = self.all(name)
        return found

    def values(self, name: str) -> list[str]:
        return [" ".join(d.args) for d in self.all(name)]


_TOKEN = re.compile(r"#[^\n]*|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};\"'#]+")


def parse_nginx(text: str) -> Directive:
    """nginx's grammar: `name args;` or `name args { ... }`, comments from # to the line's end."""
    root = Directive("", [], [])
    stack, words = [root], []
    for token in _TOKEN.findall(text):
        if token.startswith("#"):
            continue
        if token == ";":
            assert words, "an empty statement"
            stack[-1].block.append(Directive(words[0], words[1:]))  # type: ignore[union-attr]
            words = []
        elif token == "{":
            block = Directive(words[0], words[1:], [])
            stack[-1].block.append(block)  # type: ignore[union-attr]
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"a statement without ';' before '}}': {words}"
            stack.pop()
        else:
            words.append(token[1:-1] if token[0] in "\"'" else token)
    assert len(stack) == 1 and not words, "unbalanced braces or a statement without ';'"
    return root


@pytest.fixture(scope="module")
def nginx() -> Directive:
    return parse_nginx(NGINX_CONF.read_text())


def servers(conf: Directive) -> tuple[Directive, Directive]:
    plain = [s for s in conf.all("server") if any(v.startswith("80") for v in s.values("listen"))]
    tls = [s for s in conf.all("server") if any("443 ssl" in v for v in s.values("listen"))]
    assert len(plain) == 1 and len(tls) == 1
    return plain[0], tls[0]


def location(server: Directive, path: str) -> Directive:
    (found,) = [d for d in server.all("location") if d.args == [path]]
    return found


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smh]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def env_settings() -> Settings:
    return Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]


def test_the_body_limit_is_the_upload_limit_plus_the_margin(nginx: Directive) -> None:
    _plain, tls = servers(nginx)
    settings = env_settings()
    assert settings.max_upload_bytes == Settings(_env_file=None).max_upload_bytes  # type: ignore[call-arg]
    assert tls.values("client_max_body_size") == [f"{proxy_body_limit_mb(settings)}m"]
    assert proxy_body_limit_mb(settings) * MB > settings.max_upload_bytes
    assert proxy_body_limit_mb(settings) * MB - settings.max_upload_bytes <= 2 * MB


def test_http_redirects_to_https_and_serves_certificate_renewals(nginx: Directive) -> None:
    plain, tls = servers(nginx)
    assert location(plain, "/").values("return") == ["301 https://$host$request_uri"]
    assert location(plain, "/.well-known/acme-challenge/").all("root")
    assert tls.values("ssl_certificate")[0].startswith("/etc/letsencrypt/live/")
    assert tls.values("ssl_certificate")[0].endswith("/fullchain.pem")
    assert tls.values("ssl_certificate_key")[0].endswith("/privkey.pem")
    assert tls.values("ssl_protocols") == ["TLSv1.2 TLSv1.3"]


def test_the_websocket_is_upgraded_and_kept_open(nginx: Directive) -> None:
    _plain, tls = servers(nginx)
    (upgrade_map,) = [m for m in nginx.all("map") if m.args == ["$http_upgrade", "$connection_upgrade"]]
    assert upgrade_map.values("default") == ["upgrade"]
    stream = location(tls, "/_stcore/stream")
    assert tls.values("proxy_http_version") == ["1.1"]
    headers = stream.values("proxy_set_header")
    assert "Upgrade $http_upgrade" in headers and "Connection $connection_upgrade" in headers
    assert seconds(stream.values("proxy_read_timeout")[0]) >= 3600


def test_every_location_keeps_the_host_and_no_location_drops_the_headers(nginx: Directive) -> None:
    """nginx inherits proxy_set_header and add_header only into a block that sets none of
    its own: a location with one Upgrade header would otherwise lose Host (and Streamlit
    refuse the websocket), and one add_header would drop HSTS."""
    _plain, tls = servers(nginx)
    assert "Host $host" in tls.values("proxy_set_header")
    for loc in tls.all("location"):
        own = loc.values("proxy_set_header")
        if own:
            assert "Host $host" in own and "X-Forwarded-Proto $scheme" in own, loc.args
        assert not loc.all("add_header"), loc.args
        for proxied in loc.values("proxy_pass"):
            assert proxied == "http://tracker_app"


def test_uploads_stream_through_with_time_for_slow_phones(nginx: Directive) -> None:
    _plain, tls = servers(nginx)
    upload = location(tls, "/_stcore/upload_file/")
    assert upload.values("proxy_request_buffering") == ["off"]
    assert seconds(upload.values("proxy_read_timeout")[0]) >= 300
    assert seconds(upload.values("proxy_send_timeout")[0]) >= 300
    assert upload.all("limit_req")
    assert tls.values("proxy_max_temp_file_size") == ["0"]


def test_replicas_share_one_upstream_with_cookie_affinity(nginx: Directive) -> None:
    (upstream,) = nginx.all("upstream")
    assert upstream.args == ["tracker_app"]
    assert upstream.values("hash") == ["$tracker_route consistent"]
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", s) for s in upstream.values("server"))
    # Reused idle connections the app has closed would count as failures and move
    # browsers to a process without their session (seen behind a real nginx).
    assert not upstream.all("keepalive")
    (route,) = [m for m in nginx.all("map") if m.args == ["$cookie_tracker_route", "$tracker_route"]]
    assert route.values("") == ["$request_id"] and route.values("default") == ["$cookie_tracker_route"]
    _plain, tls = servers(nginx)
    (cookie,) = [h for h in tls.values("add_header") if h.startswith("Set-Cookie")]
    assert "tracker_route=$tracker_route" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_security_headers_that_leave_streamlit_and_the_camera_working(nginx: Directive) -> None:
    _plain, tls = servers(nginx)
    headers = {h.split(" ", 1)[0]: h.split(" ", 1)[1] for h in tls.values("add_header")}
    assert all(h.endswith(" always") for h in tls.values("add_header"))
    max_age = re.search(r"max-age=(\d+)", headers["Strict-Transport-Security"])
    assert max_age and int(max_age.group(1)) >= 365 * 24 * 3600
    assert "camera=(self)" in headers["Permissions-Policy"]
    assert headers["X-Content-Type-Options"].startswith("nosniff")
    assert headers["Referrer-Policy"] == "no-referrer always"
    # Never framed by another site: DENY and frame-ancestors 'none', except Streamlit's own
    # component pages, which the app frames itself (the zone editor).
    assert headers["X-Frame-Options"] == "$tracker_frame_options always"
    (frames,) = [m for m in nginx.all("map") if m.args == ["$uri", "$tracker_frame_options"]]
    assert frames.values("default") == ["DENY"] and frames.values("~^/component/") == ["SAMEORIGIN"]
    (ancestors,) = [m for m in nginx.all("map") if m.args == ["$uri", "$tracker_frame_ancestors"]]
    assert ancestors.values("default") == ["'none'"] and ancestors.values("~^/component/") == ["'self'"]
    policy = headers["Content-Security-Policy"].removesuffix(" always")
    for needed in (
        "object-src 'none'",
        "base-uri 'self'",
        "img-src 'self' data: blob:",
        "default-src 'self'",
    ):
        assert needed in policy.split("; "), needed
    # the same policy as the app's own middleware sends when reached without the proxy
    assert policy.replace("$tracker_frame_ancestors", "'none'") == CSP
    assert (
        policy.replace("$tracker_frame_ancestors", "'self'")
        == headers_for("/component/x")["content-security-policy"]
    )
    # the app's copies are hidden, so a browser gets each header once
    hidden = set(tls.values("proxy_hide_header"))
    assert {
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
    } <= hidden


def test_internal_endpoints_are_not_served_to_the_internet(nginx: Directive) -> None:
    _plain, tls = servers(nginx)
    assert location(tls, "/_stcore/metrics").values("return") == ["404"]
    assert "/_stcore/metrics" in LOCAL_ONLY  # and the app itself answers it to this machine only
    assert location(tls, "/_stcore/agent/").values("return") == ["404"]
    health = location(tls, "/_stcore/health")
    assert health.values("deny") == ["all"] and "127.0.0.1" in health.values("allow")


def test_streamlits_host_config_is_answered_by_the_proxy_with_no_allowed_origin(nginx: Directive) -> None:
    """Streamlit's own answer names origins that may drive the page from a parent frame; the
    proxy never passes it on, and answers what the app answers to other addresses."""
    _plain, tls = servers(nginx)
    (host_config,) = [d for d in tls.all("location") if d.args == ["=", HOST_CONFIG]]
    assert host_config.values("proxy_pass") == []
    status, body = host_config.one("return").args
    assert status == "200" and json.loads(body) == HOST_CONFIG_ANSWER
    assert HOST_CONFIG_ANSWER["allowedOrigins"] == []


def _nginx_binary() -> str | None:
    return os.environ.get("TRACKER_TEST_NGINX") or shutil.which("nginx")


@pytest.mark.skipif(
    _nginx_binary() is None, reason="no nginx on this machine (set $TRACKER_TEST_NGINX to one)"
)
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed for a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=photos.clinic.example", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    conf = NGINX_CONF.read_text()
    conf = re.sub(r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(cert), conf)
    conf = re.sub(r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(key), conf)
    (tmp_path / "tracker.conf").write_text(conf)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp_paths}\n    include {tmp_path / 'tracker.conf'};\n}}\n"
    )
    done = subprocess.run(
        [str(_nginx_binary()), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


# systemd ----------------------------------------------------------------------------------


@dataclass
class Unit:
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def get(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def one(self, section: str, key: str) -> str:
        (value,) = self.get(section, key)
        return value


def read_unit(name: str) -> Unit:
    unit, section = Unit(), ""
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            unit.sections.setdefault(section, [])
            continue
        key, _, value = line.partition("=")
        unit.sections[section].append((key.strip(), value.strip()))
    return unit


def tracker_args(exec_start: str) -> list[str]:
    """The command-line arguments after `python -m tracker`, from the checkout's virtualenv."""
    words = shlex.split(exec_start)
    assert words[0] == f"{INSTALLED_AT}/.venv/bin/python" and words[1:3] == ["-m", "tracker"], words
    return words[3:]


def test_the_app_unit_serves_the_module_as_its_own_user_with_restarts() -> None:
    unit = read_unit("tracker@.service")
    args = tracker_args(unit.one("Service", "ExecStart"))
    assert args[0] == "serve" and _parser().parse_args(["serve"]).handler.__name__ == "cmd_serve"
    assert args[1:] == ["--server.address", "127.0.0.1", "--server.port", "%i", "--server.headless", "true"]
    assert unit.one("Service", "User") == "tracker" and unit.one("Service", "Group") == "tracker"
    assert unit.one("Service", "EnvironmentFile") == "/etc/tracker/tracker.env"
    assert unit.one("Service", "Restart") == "on-failure"
    assert unit.one("Service", "WorkingDirectory") == INSTALLED_AT  # where .streamlit/config.toml is
    assert unit.one("Install", "WantedBy") == "multi-user.target"


@pytest.mark.parametrize(
    "name",
    ["tracker@.service", "tracker-backup.service", "tracker-reminders.service", "tracker-purge.service"],
)
def test_every_unit_is_hardened_and_may_still_write_the_data_folder(name: str) -> None:
    unit = read_unit(name)
    for key, value in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("UMask", "0077"),
        ("StateDirectory", "tracker"),
        ("StateDirectoryMode", "0700"),
        ("CapabilityBoundingSet", ""),
    ]:
        assert unit.get("Service", key) == [value], key
    # ProtectSystem=strict leaves only the state folder (and listed paths) writable: the
    # data folder must be inside it.
    data_dir = Path(env_settings().data_dir)
    assert data_dir.is_relative_to(Path("/var/lib") / unit.one("Service", "StateDirectory"))
    assert unit.one("Service", "EnvironmentFile") == "/etc/tracker/tracker.env"


def test_the_backup_unit_runs_the_backup_command_outside_the_data_folder() -> None:
    unit = read_unit("tracker-backup.service")
    assert unit.one("Service", "Type") == "oneshot"
    args = tracker_args(unit.one("Service", "ExecStart"))
    parsed = _parser().parse_args(args)
    assert parsed.handler.__name__ == "cmd_backup" and parsed.keep and parsed.keep >= 7
    assert not parsed.dest.is_relative_to(env_settings().data_dir)
    assert str(parsed.dest) in unit.get("Service", "ReadWritePaths")


@pytest.mark.parametrize(
    ("timer", "command"),
    [("tracker-backup", "backup"), ("tracker-reminders", "send-reminders"), ("tracker-purge", "purge")],
)
def test_timers_start_their_commands_and_catch_up_after_downtime(timer: str, command: str) -> None:
    unit = read_unit(f"{timer}.timer")
    assert unit.get("Timer", "OnCalendar") and unit.one("Timer", "Persistent") == "true"
    assert unit.one("Install", "WantedBy") == "timers.target"
    service = read_unit(f"{timer}.service")  # a timer starts the service of its own name
    assert tracker_args(service.one("Service", "ExecStart"))[0] == command


def _installed_copies(tmp_path: Path) -> Path:
    """The units as installed, with this checkout in place of /opt/tracker (verify checks
    that ExecStart's program exists)."""
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv in this checkout")
    for path in UNITS.iterdir():
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED_AT, str(ROOT)))
    return tmp_path


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this machine")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    folder = _installed_copies(tmp_path)
    names = ["./tracker@8501.service", *sorted(p.name for p in folder.iterdir() if "@" not in p.name)]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names], cwd=folder, capture_output=True, text=True
    )
    # Unknown keys and bad values are only warnings (exit 0): any line about our files fails.
    ours = [line for line in done.stderr.splitlines() if "tracker" in line]
    assert done.returncode == 0 and ours == [], done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this machine")
@pytest.mark.parametrize(
    "name",
    [
        "./tracker@8501.service",
        "tracker-backup.service",
        "tracker-reminders.service",
        "tracker-purge.service",
    ],
)
def test_systemd_rates_each_service_exposed_2_or_less_of_10(tmp_path: Path, name: str) -> None:
    folder = _installed_copies(tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", "--man=no", name],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "Overall exposure level" in done.stdout
