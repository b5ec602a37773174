"""The clinic's audit trail, readable by its admins only (real SQLite)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tracker.app import courses
from tracker.app.audit import clinic_events
from tracker.app.context import Context
from tracker.app.notes import add_note
from tracker.app.people import authenticate, create_account
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.permissions import Actor, PermissionDenied

PASSWORD = "a long enough secret"
TODAY = date.today()


def test_admins_read_their_clinics_trail_newest_first(app: App, operator: Actor, client_id: int) -> None:
    create_account(Context(app, operator), "boss@clinic.test", Role.ADMIN, PASSWORD)
    assert authenticate(app, "boss@clinic.test", "wrong") is None
    boss = authenticate(app, "boss@clinic.test", PASSWORD)
    assert boss is not None
    add_note(Context(app, boss), client_id, "Checked in by phone.")
    other = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    elsewhere = courses.create_client(Context(app, other), "Someone Elsewhere")  # another clinic's event
    assert authenticate(app, "stranger@nowhere.test", "guess") is None  # no clinic: not shown

    events = clinic_events(Context(app, boss), since=TODAY, until=TODAY)
    actions = [e.action for e in events]
    assert actions[:3] == ["add_note", "sign_in", "sign_in_failed"]
    assert "create_account" in actions and all(e.actor != "stranger@nowhere.test" for e in events)
    assert ("client", client_id) in {(e.entity, e.entity_id) for e in events}
    assert ("client", elsewhere) not in {(e.entity, e.entity_id) for e in events}
    failed = clinic_events(Context(app, boss), since=TODAY, until=TODAY, action="sign_in_failed")
    assert [e.action for e in failed] == ["sign_in_failed"]
    assert {e.actor for e in clinic_events(Context(app, boss), since=TODAY, until=TODAY, who="BOSS")} == {
        "boss@clinic.test"
    }
    yesterday = TODAY - timedelta(days=1)
    assert clinic_events(Context(app, boss), since=yesterday, until=yesterday) == []


def test_practitioners_and_clients_cannot_read_it(app: App, operator: Actor, client_id: int) -> None:
    create_account(Context(app, operator), "pat@clinic.test", Role.PRACTITIONER, PASSWORD)
    pat = authenticate(app, "pat@clinic.test", PASSWORD)
    assert pat is not None
    client = Actor(label="c", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=client_id)
    for actor in (pat, client):
        with pytest.raises(PermissionDenied):
            clinic_events(Context(app, actor), since=TODAY, until=TODAY)
