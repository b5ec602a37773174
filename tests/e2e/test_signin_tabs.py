"""Parallel sign-ins from several browser tabs, against a served app (issue 12, item 1).

Eight tabs (each its own browser context, as separate browsers would be) submit a wrong
password for one email as close together as a person with eight tabs could. The server
handles them at once; only `sign_in_max_failures` may have their password checked (each
check is a `sign_in_failed` row in the audit table), and the tabs beyond are told to wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_browser import (  # noqa: F401 — the shared browser fixture
    DESKTOP,
    PHONE,
    Watched,
    _form,
    _key,
    browser,
    demo_copy,
    serve,
)
from tracker.app.demo import DEMO_ADMIN_EMAIL, DemoResult
from tracker.bootstrap import App
from tracker.config import Settings

TABS = 8
_CLICK_AT = """at => setTimeout(
  () => document.querySelector('[data-testid="stFormSubmitButton"] button').click(), at - Date.now())"""
WRONG = "That email and password do not match an account."
LOCKED = "Too many failed sign-ins for this email"
BUSY = "The service is busy, please try again in a moment."


@pytest.fixture(scope="module")
def served(
    demo_loaded: tuple[App, DemoResult], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    data = demo_copy(demo_loaded, tmp_path_factory)
    with pytest.MonkeyPatch.context() as patch:
        # A check may wait long for its turn here (a loaded test machine); a tab that still
        # waits too long is told the service is busy, and its attempt is not counted.
        patch.setenv("TRACKER_PASSWORD_CHECK_WAIT_SECONDS", "60")
        with serve(data) as url:
            yield url, data


def _actions(data: Path) -> dict[str, int]:
    engine = create_engine(Settings(data_dir=data, _env_file=None).resolved_database_url)  # type: ignore[call-arg]
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("select action, count(*) from audit_event group by action"))
            return {str(action): int(count) for action, count in rows}
    finally:
        engine.dispose()


def test_parallel_tabs_get_at_most_the_limit_of_password_checks(
    browser: object,  # noqa: F811
    served: tuple[str, Path],
) -> None:
    url, data = served
    limit = Settings(_env_file=None).sign_in_max_failures  # type: ignore[call-arg]
    tabs = [Watched(browser, url, PHONE if i % 2 else DESKTOP) for i in range(TABS)]
    try:
        for i, w in enumerate(tabs):
            _key(w.page, "email").locator("input").fill(DEMO_ADMIN_EMAIL)
            _key(w.page, "password").locator("input").fill(f"wrong guess {i}")
        for w in tabs:
            _form(w.page, "email").get_by_role("button", name="Sign in").wait_for()
        # Submitted at the same instant: each tab clicks at one agreed time on the shared clock
        # (clicking them one after the other could let the first finish before the last starts).
        # The button is looked up at that time: the page may have drawn it again since.
        at = int(tabs[0].page.evaluate("Date.now()")) + 2000
        for w in tabs:
            w.page.evaluate(_CLICK_AT, at)
        outcomes = []
        for w in tabs:
            page = w.page
            page.get_by_text(WRONG).or_(page.get_by_text(LOCKED)).or_(page.get_by_text(BUSY)).wait_for(
                timeout=180_000
            )
            said = {"wrong": WRONG, "locked": LOCKED, "busy": BUSY}
            outcomes.append(next(k for k, message in said.items() if page.get_by_text(message).count()))
        assert outcomes.count("locked") == TABS - limit, outcomes
        assert outcomes.count("wrong") + outcomes.count("busy") == limit, outcomes
        locked_tab = tabs[outcomes.index("locked")]
        locked_tab.shot("sign-in-locked-" + ("phone" if outcomes.index("locked") % 2 else "desktop"))
        actions = _actions(data)
        checked = actions.get("sign_in_failed")  # one row per password checked
        assert checked == outcomes.count("wrong") <= limit and actions.get("sign_in_locked") == 1, actions
        for w in tabs:
            w.check()
    finally:
        for w in tabs:
            w.context.close()
