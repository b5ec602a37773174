"""Issue 13 item 4 in a real browser: staff sign in through a real OpenID Connect provider
(oidc-provider-mock, served on a free local port by this module), via Streamlit's st.login.

The provider's authorize page offers its predefined users as buttons; each user's claims
are set here. What must hold: a practitioner whose verified email has a staff account lands
on the dashboard with our own HttpOnly session cookie (and Streamlit's identity cookie gone);
an identity with no staff account, and a switched-off account, get the refusal and no
session; sign-out ends our session, and a reload does not sign the browser in again.
Screenshots (sign-in page at desktop and phone width, the refusal) go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.e2e.test_browser import (  # noqa: F401 — the shared browser fixture
    ARTIFACTS,
    CHROMIUM,
    DESKTOP,
    PHONE,
    ROOT,
    _free_port,
    _idle,
    _key,
    browser,
    serve,
)
from tracker.app import courses, people
from tracker.app.context import Context
from tracker.app.cookie_handoff import SESSION_COOKIE
from tracker.app.oidc import NO_ROLE, SWITCHED_OFF
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Role
from tracker.permissions import Actor
from tracker.store.models import LoginSession

provider_mock = pytest.importorskip("oidc_provider_mock")
playwright_api = pytest.importorskip("playwright.sync_api")

PROVIDER_NAME = "Chain SSO"
PRACTITIONER = "pat@chain.test"
SWITCHED_OFF_EMAIL = "off@chain.test"
USERS = {  # the provider's subject -> its claims
    "pat-at-the-chain": {"email": PRACTITIONER, "email_verified": True, "name": "Pat"},
    "off-at-the-chain": {"email": SWITCHED_OFF_EMAIL, "email_verified": True},
    "visitor-at-the-chain": {"email": "visitor@chain.test", "email_verified": True},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    users = [provider_mock.User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    with provider_mock.run_server_in_thread(port=0, user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def site(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """The app on a free port with OIDC sign-in configured, over a small clinic of its own:
    a practitioner and a switched-off practitioner, both without passwords."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("oidc") / "data",
        public_url=url,
        oidc_server_metadata_url=f"{provider}/.well-known/openid-configuration",
        oidc_client_id="recovery-tracker",
        oidc_client_secret="a-client-secret-only-this-test-knows",
        cookie_secret="a-cookie-secret-of-32-characters-or-more",
        oidc_provider_name=PROVIDER_NAME,
        oidc_staff_password_sign_in=False,
        _env_file=None,
    )
    app = open_app(settings)
    try:
        operator = Actor.operator(courses.ensure_clinic(app, "Chain Clinic"))
        ctx = Context(app, operator)
        people.create_account(ctx, PRACTITIONER, Role.PRACTITIONER, None)
        people.set_active(ctx, people.create_account(ctx, SWITCHED_OFF_EMAIL, Role.PRACTITIONER, None), False)
    finally:
        app.close()
    env = {
        f"TRACKER_{name.upper()}": str(value)
        for name, value in settings.model_dump().items()
        if name.startswith("oidc_") or name == "public_url"
    }
    env["TRACKER_COOKIE_SECRET"] = settings.cookie_secret.get_secret_value()  # a dump shows stars
    env["TRACKER_DEMO_MODE"] = "false"  # a chain's site: no demo accounts on the sign-in page
    secrets = ("secret-only-this-test-knows", "cookie-secret-of")
    with serve(settings.data_dir, port=port, env=env, never_logged=secrets) as served:
        yield served, settings


class Visit:
    """A browser context on the app; console errors of the app's own pages are recorded
    (the provider's page is not ours)."""

    def __init__(self, chromium: object, url: str, viewport: dict[str, int]) -> None:
        self.url = url
        self.context = chromium.new_context(viewport=viewport)  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(m.text) if m.type == "error" and self.page.url.startswith(url) else None
            ),
        )
        self.page.goto(url)
        self.button().wait_for(timeout=60_000)

    def button(self) -> object:
        return self.page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}")

    def through_provider(self, subject: str) -> None:
        """Click our button, pick the user on the provider's page, and wait to be back."""
        self.button().click()  # type: ignore[attr-defined]
        self.page.wait_for_url("http://localhost:*/oauth2/authorize*", timeout=60_000)
        self.page.get_by_role("button", name=subject, exact=True).click()
        self.page.wait_for_url(f"{self.url}/**", timeout=60_000)

    def cookies(self) -> list[str]:
        return sorted(c["name"] for c in self.context.cookies())  # type: ignore[attr-defined]

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        _idle(self.page)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()  # type: ignore[attr-defined]
        assert self.errors == [], self.errors


def _sessions(settings: Settings) -> list[tuple[int, bool]]:
    """(account, ended) of every login session."""
    app: App = open_app(settings, migrate=False)
    try:
        with app.uow() as uow:
            rows = uow.session.scalars(select(LoginSession).order_by(LoginSession.created_at))
            return [(r.user_id, r.ended_at is not None) for r in rows]
    finally:
        app.close()


def _account_id(settings: Settings, email: str) -> int:
    app: App = open_app(settings, migrate=False)
    try:
        with app.uow() as uow:
            user = uow.repo.user_by_email(email)
            assert user is not None
            return user.id
    finally:
        app.close()


def test_the_sign_in_page_offers_the_provider(browser: object, site: tuple[str, Settings]) -> None:  # noqa: F811
    url, _ = site
    for name, viewport in [("oidc-sign-in-desktop", DESKTOP), ("oidc-sign-in-phone", PHONE)]:
        visit = Visit(browser, url, viewport)
        playwright_api.expect(visit.button()).to_be_in_viewport()  # type: ignore[arg-type]
        visit.page.get_by_text("Staff sign in with the button above").wait_for()
        _key(visit.page, "password").locator("input").wait_for()  # type: ignore[attr-defined]
        visit.shot(name)
        visit.close()


def test_a_practitioner_signs_in_through_the_provider_and_out_again(
    browser: object,  # noqa: F811
    site: tuple[str, Settings],
) -> None:
    url, settings = site
    pat = _account_id(settings, PRACTITIONER)
    visit = Visit(browser, url, DESKTOP)
    # The page's script trades a one-time code for our cookie right after the first run.
    with visit.page.expect_response(lambda r: r.url == f"{url}/auth/session", timeout=60_000) as handed:
        visit.through_provider("pat-at-the-chain")
    assert handed.value.status == 200
    visit.page.get_by_role("heading", name="Dashboard").first.wait_for(timeout=60_000)
    visit.page.get_by_text(f"Signed in as {PRACTITIONER} (practitioner)").wait_for()
    # Our HttpOnly session cookie; Streamlit's identity cookie has been dropped.
    assert SESSION_COOKIE in visit.cookies()
    assert not [c for c in visit.cookies() if c.startswith("_streamlit_user")]
    assert (pat, False) in _sessions(settings)

    _key(visit.page, "sign_out").locator("button").click()  # type: ignore[attr-defined]
    visit.button().wait_for(timeout=60_000)  # type: ignore[attr-defined]
    assert _sessions(settings) == [(pat, True)]
    visit.page.reload()  # nothing left that signs the browser in again
    visit.button().wait_for(timeout=60_000)  # type: ignore[attr-defined]
    _idle(visit.page)
    assert visit.page.get_by_text("Signed in as").count() == 0
    assert _sessions(settings) == [(pat, True)]
    visit.close()


@pytest.mark.parametrize(
    ("subject", "message", "shot"),
    [("visitor-at-the-chain", NO_ROLE, "oidc-refused-no-role"), ("off-at-the-chain", SWITCHED_OFF, None)],
    ids=["no-role", "switched-off"],
)
def test_no_role_and_a_switched_off_account_are_refused_without_a_session(
    browser: object,  # noqa: F811
    site: tuple[str, Settings],
    subject: str,
    message: str,
    shot: str | None,
) -> None:
    url, settings = site
    before = _sessions(settings)
    visit = Visit(browser, url, PHONE if shot is None else DESKTOP)
    visit.through_provider(subject)
    visit.page.get_by_text(message).wait_for(timeout=60_000)
    _idle(visit.page)
    if shot:
        visit.shot(shot)
    assert visit.page.get_by_text("Signed in as").count() == 0
    assert _sessions(settings) == before
    assert SESSION_COOKIE not in visit.cookies()
    visit.page.reload()  # and the provider's answer is not tried again
    visit.button().wait_for(timeout=60_000)  # type: ignore[attr-defined]
    _idle(visit.page)
    assert visit.page.get_by_text(message).count() == 0
    visit.close()
