"""OIDC sign-in settings: incomplete or unsafe ones are refused with what is missing, and the
Streamlit auth configuration the server gets is made from them alone, into a private file."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tracker.config import Settings
from tracker.serve import auth_options, auth_secrets

GOOD: dict[str, Any] = {
    "public_url": "https://photos.chain.example/",
    "oidc_server_metadata_url": "https://login.chain.example/.well-known/openid-configuration",
    "oidc_client_id": "tracker",
    "oidc_client_secret": 'se"cr\\et',
    "cookie_secret": "c" * 40,
}


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None, **values)  # type: ignore[call-arg]


def test_local_accounts_only_by_default(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert not settings.oidc_enabled and settings.oidc_staff_password_sign_in
    assert auth_options(settings) == []
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"oidc_client_secret": ""}, "needs oidc_client_secret"),
        ({"public_url": "", "oidc_client_id": ""}, "needs oidc_client_id, public_url"),
        ({"cookie_secret": "short"}, "at least 32"),
        (
            {"oidc_server_metadata_url": "http://login.chain.example/x"},
            "oidc_server_metadata_url must be an https",
        ),
        ({"public_url": "http://photos.chain.example"}, "public_url must be an https"),
    ],
)
def test_incomplete_or_unsafe_settings_are_refused(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(tmp_path, **{**GOOD, **change})


def test_staff_passwords_cannot_be_switched_off_without_a_provider(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs OIDC sign-in configured"):
        _settings(tmp_path, oidc_staff_password_sign_in=False)


def test_plain_http_is_allowed_on_this_machine_only(tmp_path: Path) -> None:
    local = {
        "public_url": "http://127.0.0.1:8690",
        "oidc_server_metadata_url": "http://localhost:8691/.well-known/x",
    }
    assert (
        _settings(tmp_path, **{**GOOD, **local}).oidc_redirect_uri == "http://127.0.0.1:8690/oauth2callback"
    )


def test_the_auth_configuration_is_made_from_the_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path, **GOOD)
    auth = tomllib.loads(auth_secrets(settings))["auth"]
    assert auth == {
        "redirect_uri": "https://photos.chain.example/oauth2callback",
        "cookie_secret": "c" * 40,
        "client_id": "tracker",
        "client_secret": 'se"cr\\et',  # quotes and backslashes survive
        "server_metadata_url": GOOD["oidc_server_metadata_url"],
        "client_kwargs": {"scope": "openid email profile", "prompt": "login"},
    }


def test_the_file_is_private_and_rewritten_at_each_start(tmp_path: Path) -> None:
    settings = _settings(tmp_path, **GOOD)
    [option] = auth_options(settings)
    path = Path(option.removeprefix("--secrets.files="))
    assert path.parent == (tmp_path / "data").resolve()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    changed = _settings(tmp_path, **{**GOOD, "oidc_client_id": "renamed"})
    auth_options(changed)
    assert tomllib.loads(path.read_text())["auth"]["client_id"] == "renamed"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
