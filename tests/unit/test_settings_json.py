"""Settings cross process boundaries as JSON (upload children, the worker pool, the page's
cached app): secrets must survive the trip, and must not show in an ordinary dump."""

from __future__ import annotations

from tracker.config import Settings

COOKIE = "c" * 40
KEY = "a-base64-master-key-stand-in"


def test_settings_read_back_from_to_json_keep_their_secrets() -> None:
    settings = Settings(cookie_secret=COOKIE, encryption_key=KEY, _env_file=None)  # type: ignore[call-arg]
    again = Settings.model_validate_json(settings.to_json())
    assert again.cookie_secret.get_secret_value() == COOKIE
    assert again.encryption_key.get_secret_value() == KEY


def test_an_ordinary_dump_or_repr_shows_no_secret() -> None:
    settings = Settings(cookie_secret=COOKIE, encryption_key=KEY, _env_file=None)  # type: ignore[call-arg]
    for shown in (settings.model_dump_json(), repr(settings), str(settings.model_dump())):
        assert COOKIE not in shown
        assert KEY not in shown
