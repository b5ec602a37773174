"""The pages with OIDC sign-in configured (AppTest seeds st.user as Streamlit would after
st.login): the sign-in page offers the provider, the provider's answer for a staff email
becomes our signed-in practitioner, a refusal is shown with no one signed in, and with
staff passwords off the Accounts page asks no password for a new staff account."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP
from tracker.app.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_PRACTITIONER_EMAIL
from tracker.app.oidc import NO_ROLE

ISSUER = "http://localhost:9"


@pytest.fixture
def oidc(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in {
        "PUBLIC_URL": "http://127.0.0.1:8690",
        "OIDC_SERVER_METADATA_URL": f"{ISSUER}/.well-known/openid-configuration",
        "OIDC_CLIENT_ID": "tracker",
        "OIDC_CLIENT_SECRET": "client-secret",
        "COOKIE_SECRET": "c" * 32,
        "OIDC_PROVIDER_NAME": "Chain SSO",
    }.items():
        monkeypatch.setenv(f"TRACKER_{name}", value)
    return demo_dir


def _back_from_provider(email: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.user = {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": f"sub-{email}",
        "email": email,
        "email_verified": True,
        "iat": int(time.time()),
    }
    return at.run()


def test_the_sign_in_page_offers_the_provider(oidc: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert [b.label for b in at.button] == ["Sign in with Chain SSO", "Sign in"]
    assert not at.sidebar.button  # nobody signed in


def test_the_providers_answer_becomes_our_practitioner(oidc: Path) -> None:
    at = _back_from_provider(DEMO_PRACTITIONER_EMAIL)
    assert not at.exception, at.exception
    # The caption is Markdown with the email escaped: compare it unescaped.
    captions = [c.value.replace("\\", "") for c in at.sidebar.caption]
    assert f"Signed in as {DEMO_PRACTITIONER_EMAIL} (practitioner)" in captions, captions
    assert [t.value for t in at.title] == ["Dashboard"]
    at.run()  # a later click: still signed in
    assert [t.value for t in at.title] == ["Dashboard"]


def test_a_refusal_is_shown_and_nobody_is_signed_in(oidc: Path) -> None:
    at = _back_from_provider("visitor@chain.test")
    assert [e.value for e in at.error] == [NO_ROLE]
    assert not any("Signed in as" in c.value for c in at.sidebar.caption)
    assert [t.value for t in at.title] == ["Recovery-photo tracker"]  # the sign-in page


def test_with_staff_passwords_off_staff_use_the_provider_and_get_no_password(
    oidc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_OIDC_STAFF_PASSWORD_SIGN_IN", "false")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="email").input(DEMO_ADMIN_EMAIL)
    at.text_input(key="password").input(DEMO_ADMIN_PASSWORD)
    at.button[1].click().run()  # the form's "Sign in"
    assert [e.value for e in at.error] == ["That email and password do not match an account."]

    at = _back_from_provider(DEMO_ADMIN_EMAIL)
    at.switch_page("pages/accounts.py").run()
    assert not at.exception, at.exception
    assert "staff_email" in [t.key for t in at.text_input]
    assert "staff_password" not in [t.key for t in at.text_input]
    assert any("They sign in with Chain SSO" in c.value for c in at.caption)
