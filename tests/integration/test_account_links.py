"""One-time links and the forced password change, in the use cases (real SQLite): what is
refused, what is audited, which sessions end."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from tracker.app import account_links, audit, courses
from tracker.app.context import Context
from tracker.app.people import (
    authenticate,
    create_account,
    finish_password_change,
    open_session,
    reset_password,
    resume_session,
)
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor, PasswordChangeRequired, PermissionDenied
from tracker.store.models import AccountLink, utcnow

PASSWORD = "a long enough secret"
OWN = "a password of my own"


def _token(link: account_links.Link) -> str:
    return parse_qs(urlsplit(link.url).query)[link.purpose][0]


def test_a_staff_set_password_allows_nothing_but_choosing_ones_own(
    app: App, operator: Actor, client_id: int
) -> None:
    create_account(Context(app, operator), "pat@clinic.test", Role.PRACTITIONER, PASSWORD)
    pat = authenticate(app, "pat@clinic.test", PASSWORD)
    assert pat is not None and not pat.must_change_password  # the operator's own accounts are final
    create_account(Context(app, pat), "ann@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    ann = authenticate(app, "ann@home.test", PASSWORD)
    assert ann is not None and ann.must_change_password
    with pytest.raises(PasswordChangeRequired):  # no use case can be called for her
        courses.client_overview(Context(app, ann), client_id)
    here, elsewhere = open_session(app, ann), open_session(app, ann)
    with pytest.raises(Refused, match="not the one the clinic gave you"):
        finish_password_change(app, here, PASSWORD)
    with pytest.raises(Refused, match="sign in again"):
        finish_password_change(app, "no such session", OWN)
    free = finish_password_change(app, here, OWN)
    assert not free.must_change_password and courses.client_overview(Context(app, free), client_id)
    assert resume_session(app, here) == free and resume_session(app, elsewhere) is None
    reset_password(Context(app, pat), free.user_id or 0, "typed by pat again")
    again = authenticate(app, "ann@home.test", "typed by pat again")
    assert again is not None and again.must_change_password


def test_links_work_once_only_until_they_expire(app: App, operator: Actor, client_id: int) -> None:
    ctx = Context(app, operator)
    ann = create_account(ctx, "ann@home.test", Role.CLIENT, None, client_id=client_id)
    assert authenticate(app, "ann@home.test", "") is None  # no password: no sign-in
    first = account_links.invite_link(ctx, ann)
    second = account_links.invite_link(ctx, ann)
    with pytest.raises(account_links.LinkRefused, match="used already"):  # a newer link replaced it
        account_links.open_link(app, _token(first))
    opened = account_links.open_link(app, _token(second))
    with app.uow() as uow:
        clinic = uow.repo.clinic(operator.clinic_id)
    assert clinic is not None
    assert opened == account_links.OpenLink("ann@home.test", "invite", clinic.name)
    with pytest.raises(Refused, match="at least 10"):
        account_links.use_link(app, _token(second), "short")
    signed = account_links.use_link(app, _token(second), OWN)
    assert signed.user_id == ann and authenticate(app, "ann@home.test", OWN) == signed
    with pytest.raises(account_links.LinkRefused, match="used already"):
        account_links.use_link(app, _token(second), "another password!")

    session = open_session(app, signed)
    reset = account_links.reset_link(ctx, ann)
    with app.engine.begin() as conn:
        conn.execute(update(AccountLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(account_links.LinkRefused, match="expired"):
        account_links.use_link(app, _token(reset), "another password!")
    assert authenticate(app, "ann@home.test", OWN) is not None and resume_session(app, session) is not None
    fresh = account_links.reset_link(ctx, ann)
    account_links.use_link(app, _token(fresh), "after the reset!")
    assert resume_session(app, session) is None  # a reset ends the account's other sessions

    actions = [e.action for e in audit.clinic_events(ctx, since=date.today(), until=date.today())]
    for action in ("invite_link_created", "invite_link_used", "reset_link_created", "reset_link_used"):
        assert action in actions
    assert actions.count("account_link_refused") == 3


def test_only_staff_make_links_for_accounts_they_manage(app: App, operator: Actor, client_id: int) -> None:
    ctx = Context(app, operator)
    boss = create_account(ctx, "boss@clinic.test", Role.ADMIN, PASSWORD)
    create_account(ctx, "pat@clinic.test", Role.PRACTITIONER, PASSWORD)
    ann = create_account(ctx, "ann@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    pat = authenticate(app, "pat@clinic.test", PASSWORD)
    client = authenticate(app, "ann@home.test", PASSWORD)
    assert pat is not None and client is not None
    with pytest.raises(PermissionDenied):
        account_links.reset_link(Context(app, pat), boss)
    with pytest.raises(PermissionDenied):
        account_links.reset_link(Context(app, client), ann)
    assert account_links.reset_link(Context(app, pat), ann).url.startswith("/?reset=")
