"""Sign-in accounts: who may create, list, switch off and reset which (real SQLite)."""

from __future__ import annotations

import pytest

from tracker.app import courses
from tracker.app.context import Context
from tracker.app.people import (
    authenticate,
    change_own_password,
    create_account,
    list_accounts,
    reset_password,
    resume_session,
    set_active,
    start_session,
)
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied

PASSWORD = "a long enough secret"


def _signed_in(app: App, email: str, password: str = PASSWORD) -> Actor:
    actor = authenticate(app, email, password)
    assert actor is not None
    return actor


def test_the_operator_creates_an_admin_who_manages_staff_and_clients(
    app: App, operator: Actor, client_id: int
) -> None:
    create_account(Context(app, operator), "Boss@Clinic.test ", Role.ADMIN, PASSWORD)
    admin = _signed_in(app, "boss@clinic.test")  # stored trimmed and lower-case
    create_account(Context(app, admin), "pat@clinic.test", Role.PRACTITIONER, PASSWORD, display_name="Pat")
    create_account(Context(app, admin), "ann@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    client = _signed_in(app, "ann@home.test")
    assert client.role is Role.CLIENT and client.client_id == client_id
    accounts = {a.email: a for a in list_accounts(Context(app, admin))}
    assert set(accounts) == {"boss@clinic.test", "pat@clinic.test", "ann@home.test"}
    assert accounts["ann@home.test"].client_name == "Test Client"


def test_a_practitioner_manages_client_logins_only(app: App, operator: Actor, client_id: int) -> None:
    create_account(Context(app, operator), "pat@clinic.test", Role.PRACTITIONER, PASSWORD)
    create_account(Context(app, operator), "boss@clinic.test", Role.ADMIN, PASSWORD)
    pat = _signed_in(app, "pat@clinic.test")
    ann = create_account(Context(app, pat), "ann@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    assert [a.email for a in list_accounts(Context(app, pat))] == ["ann@home.test"]
    with pytest.raises(PermissionDenied):
        create_account(Context(app, pat), "x@clinic.test", Role.ADMIN, PASSWORD)
    boss = next(
        a.id for a in list_accounts(Context(app, _signed_in(app, "boss@clinic.test"))) if a.role is Role.ADMIN
    )
    with pytest.raises(PermissionDenied):
        set_active(Context(app, pat), boss, False)
    reset_password(Context(app, pat), ann, "another long secret")
    assert authenticate(app, "ann@home.test", PASSWORD) is None
    assert authenticate(app, "ann@home.test", "another long secret") is not None


def test_clients_and_other_clinics_manage_nothing(app: App, operator: Actor, client_id: int) -> None:
    ann = create_account(Context(app, operator), "ann@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    client = _signed_in(app, "ann@home.test")
    other = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    with pytest.raises(PermissionDenied):
        list_accounts(Context(app, client))
    with pytest.raises(PermissionDenied):
        create_account(Context(app, client), "b@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    for actor in (client, other):
        with pytest.raises(PermissionDenied):
            reset_password(Context(app, actor), ann, "some new password")
    with pytest.raises(PermissionDenied):  # another clinic's client record
        create_account(Context(app, other), "c@home.test", Role.CLIENT, PASSWORD, client_id=client_id)


@pytest.mark.parametrize(
    ("email", "role", "password", "linked", "message"),
    [
        ("not-an-email", Role.PRACTITIONER, PASSWORD, False, "is not an email"),
        ("p@clinic.test", Role.PRACTITIONER, "short", False, "at least 10 characters"),
        ("p@clinic.test", Role.PRACTITIONER, PASSWORD, True, "staff accounts have none"),
        ("p@home.test", Role.CLIENT, PASSWORD, False, "needs its client record"),
    ],
)
def test_bad_account_details_are_refused(
    app: App,
    operator: Actor,
    client_id: int,
    email: str,
    role: Role,
    password: str,
    linked: bool,
    message: str,
) -> None:
    with pytest.raises(Rejected, match=message):
        create_account(Context(app, operator), email, role, password, client_id=client_id if linked else None)
    assert list_accounts(Context(app, operator)) == []


def test_duplicates_are_refused(app: App, operator: Actor, client_id: int) -> None:
    create_account(Context(app, operator), "ann@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    with pytest.raises(Rejected, match="already has a login"):
        create_account(Context(app, operator), "ann2@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    with pytest.raises(Rejected, match="already an account"):
        create_account(Context(app, operator), "ANN@home.test", Role.PRACTITIONER, PASSWORD)


def test_switching_off_signs_out_everywhere_and_not_oneself(app: App, operator: Actor) -> None:
    create_account(Context(app, operator), "boss@clinic.test", Role.ADMIN, PASSWORD)
    pat_id = create_account(Context(app, operator), "pat@clinic.test", Role.PRACTITIONER, PASSWORD)
    boss = _signed_in(app, "boss@clinic.test")
    pat = _signed_in(app, "pat@clinic.test")
    token = start_session(Context(app, pat))
    set_active(Context(app, boss), pat_id, False)
    assert resume_session(app, token) is None and authenticate(app, "pat@clinic.test", PASSWORD) is None
    set_active(Context(app, boss), pat_id, True)
    assert authenticate(app, "pat@clinic.test", PASSWORD) is not None
    assert boss.user_id is not None
    with pytest.raises(Rejected, match="your own account"):
        set_active(Context(app, boss), boss.user_id, False)


def test_changing_ones_own_password_keeps_this_browser_and_signs_out_the_others(
    app: App, operator: Actor, client_id: int
) -> None:
    create_account(Context(app, operator), "ann@home.test", Role.CLIENT, PASSWORD, client_id=client_id)
    ann = _signed_in(app, "ann@home.test")
    here, elsewhere = start_session(Context(app, ann)), start_session(Context(app, ann))
    with pytest.raises(Rejected, match="current password is not right"):
        change_own_password(Context(app, ann), "wrong guess!!", "my own new secret")
    with pytest.raises(Rejected, match="at least 10"):
        change_own_password(Context(app, ann), PASSWORD, "short")
    with pytest.raises(Rejected, match="same as the current"):
        change_own_password(Context(app, ann), PASSWORD, PASSWORD)
    assert resume_session(app, elsewhere) == ann  # nothing changed by the refusals
    change_own_password(Context(app, ann), PASSWORD, "my own new secret", keep_session=here)
    assert resume_session(app, here) == ann and resume_session(app, elsewhere) is None
    assert authenticate(app, "ann@home.test", "my own new secret") is not None
    assert authenticate(app, "ann@home.test", PASSWORD) is None
    with pytest.raises(PermissionDenied):
        change_own_password(Context(app, operator), "x", "a long enough secret")  # the CLI has no password
