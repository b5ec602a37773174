"""Onboarding and passwords through the pages: invite links, reset links, the forced change
after a password staff typed, and a fresh suggested password for every new login."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, signed_in
from tracker.app import account_links, courses, people
from tracker.app.context import Context
from tracker.app.demo import DEMO_CLIENT_PASSWORD, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD
from tracker.bootstrap import open_app
from tracker.permissions import Actor
from tracker.store.models import AccountLink, utcnow

NEW_PASSWORD = "my very own password"


def _new_client(name: str) -> int:
    app = open_app()
    try:
        return courses.create_client(Context(app, Actor.operator(1)), name)
    finally:
        app.close()


def _accounts_page() -> AppTest:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/accounts.py").run()
    assert not at.exception, at.exception
    return at


def _create_login(at: AppTest, client: int, email: str, how: str) -> None:
    at.radio(key="login_how").set_value(how).run()
    at.selectbox(key="login_client").set_value(client)
    at.text_input(key="login_email").input(email)
    next(b for b in at.button if b.label == "Create login").click().run()
    assert not at.exception, at.exception


def _link_token(at: AppTest, purpose: str) -> str:
    """The token of the link the page shows (once, in a code block)."""
    urls = [c.value for c in at.code]
    assert len(urls) == 1, urls
    query = parse_qs(urlsplit(urls[0]).query)
    assert list(query) == [purpose]
    return query[purpose][0]


def _open_link(purpose: str, token: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params[purpose] = token
    at.run()
    assert not at.exception, at.exception
    return at


def _set_password(at: AppTest, key: str, password: str, again: str | None = None) -> None:
    at.text_input(key=f"{key}_new").input(password)
    at.text_input(key=f"{key}_again").input(password if again is None else again)
    label = "Set password and sign in" if key == "link_password" else "Save my password"
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def test_an_invite_link_lets_the_client_choose_a_password_once(demo_dir: Path) -> None:
    una = _new_client("Una Invited")
    staff = _accounts_page()
    _create_login(staff, una, "una@home.test", "invite")
    token = _link_token(staff, "invite")
    table = staff.dataframe[0].value
    assert table.loc[table["email"] == "una@home.test", "status"].item() == "invited: no password yet"

    at = _open_link("invite", token)
    assert at.title[0].value == "Set your password"
    assert "Account: una@home.test" in [t.value for t in at.text]
    assert [h.value for h in at.subheader] == ["Demo Skin Clinic"]  # whose link it is
    _set_password(at, "link_password", NEW_PASSWORD, again="a different one!")
    assert "The two passwords differ." in [e.value for e in at.error]
    _set_password(at, "link_password", NEW_PASSWORD)
    assert at.title[0].value == "My course"  # signed in as Una
    assert not at.query_params.get("invite")  # the spent link is gone from the address

    again = _open_link("invite", token)
    assert any("used already" in e.value for e in again.error)
    assert not again.text_input  # no form: nothing can be set through a used link
    assert signed_in("una@home.test", NEW_PASSWORD).title[0].value == "My course"


def test_an_expired_or_unknown_link_is_refused_and_changes_nothing(demo_dir: Path) -> None:
    una = _new_client("Una Late")
    app = open_app()
    ctx = Context(app, Actor.operator(1))
    user = people.create_account(ctx, "late@home.test", people.Role.CLIENT, None, client_id=una)
    link = account_links.invite_link(ctx, user)
    with app.engine.begin() as conn:
        conn.execute(update(AccountLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    token = parse_qs(urlsplit(link.url).query)["invite"][0]
    at = _open_link("invite", token)
    assert any("has expired" in e.value for e in at.error) and not at.text_input
    unknown = _open_link("invite", "not-a-token")
    assert any("not known" in e.value for e in unknown.error)
    assert [a.password_set for a in people.list_accounts(ctx) if a.id == user] == [False]
    app.close()


def test_a_password_staff_typed_must_be_changed_at_first_sign_in(demo_dir: Path) -> None:
    vic = _new_client("Vic Told")
    staff = _accounts_page()
    staff.radio(key="login_how").set_value("password").run()
    told = staff.text_input(key="login_password").value  # what the practitioner reads out
    _create_login(staff, vic, "vic@home.test", "password")
    at = signed_in("vic@home.test", told)
    assert at.title[0].value == "Choose a new password"
    with pytest.raises(Exception):  # noqa: B017 — no other page exists until it is changed
        at.switch_page("pages/my_course.py").run()
    _set_password(at, "forced_password", told)
    assert any("not the one the clinic gave you" in e.value for e in at.error)
    _set_password(at, "forced_password", NEW_PASSWORD)
    assert at.title[0].value == "My course"
    assert signed_in("vic@home.test", NEW_PASSWORD).title[0].value == "My course"  # not asked again


def test_a_fresh_password_is_suggested_for_each_new_login(demo_dir: Path) -> None:
    first, second = _new_client("Wyn First"), _new_client("Xan Second")
    staff = _accounts_page()
    staff.radio(key="login_how").set_value("password").run()
    offered = staff.text_input(key="login_password").value
    _create_login(staff, first, "wyn@home.test", "password")
    assert any("wyn@home.test" in s.value.replace("\\", "") for s in staff.success)
    following = staff.text_input(key="login_password").value
    assert following and following != offered
    assert staff.selectbox(key="login_client").value == second  # the next client waiting
    table = staff.dataframe[0].value  # the table shows the new login at once
    assert table.loc[table["email"] == "wyn@home.test", "status"].item() == "must choose a new password"
    assert signed_in("wyn@home.test", offered).title[0].value == "Choose a new password"


def test_a_reset_link_replaces_a_forgotten_password(demo_dir: Path) -> None:
    staff = _accounts_page()
    options = staff.selectbox(key="manage_account").options
    staff.selectbox(key="manage_account").select_index(
        next(i for i, o in enumerate(options) if o.startswith("ava@demo.test"))
    ).run()
    staff.button(key="reset_link").click().run()
    assert not staff.exception, staff.exception
    token = _link_token(staff, "reset")
    at = _open_link("reset", token)
    assert "Account: ava@demo.test" in [t.value for t in at.text]
    _set_password(at, "link_password", NEW_PASSWORD)
    assert at.title[0].value == "My course"
    assert "do not match" in signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD).error[0].value
