"""Practitioners' notes on a client, on a real SQLite database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.app import courses
from tracker.app.context import Context
from tracker.app.notes import MAX_NOTE_CHARS, add_note, client_notes
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AuditEvent, ClientNote


def test_notes_are_kept_newest_first_with_author_and_audit(app: App, operator: Actor, client_id: int) -> None:
    first = add_note(Context(app, operator), client_id, "  Called: redness fine on day 3.  ")
    second = add_note(Context(app, operator), client_id, "Advised SPF 50 after session 2.")
    notes = client_notes(Context(app, operator), client_id)
    assert [n.id for n in notes] == [second, first]
    assert notes[1].text == "Called: redness fine on day 3." and notes[0].author == operator.label
    with app.uow() as uow:
        actions = uow.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "client_note")
        ).all()
    assert actions == ["add_note", "add_note"]


def test_empty_or_overlong_notes_are_refused_and_store_nothing(
    app: App, operator: Actor, client_id: int
) -> None:
    with pytest.raises(Rejected, match="needs some text"):
        add_note(Context(app, operator), client_id, "   ")
    with pytest.raises(Rejected, match=f"at most {MAX_NOTE_CHARS}"):
        add_note(Context(app, operator), client_id, "x" * (MAX_NOTE_CHARS + 1))
    with app.uow() as uow:
        assert uow.session.scalars(select(ClientNote)).all() == []


def test_clients_and_other_clinics_cannot_read_or_write_notes(
    app: App, operator: Actor, client_id: int
) -> None:
    add_note(Context(app, operator), client_id, "Internal.")
    the_client = Actor(label="c@x", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=client_id)
    other_clinic = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    for actor in (the_client, other_clinic):
        with pytest.raises(PermissionDenied):
            client_notes(Context(app, actor), client_id)
        with pytest.raises(PermissionDenied):
            add_note(Context(app, actor), client_id, "Sneaky.")
    assert len(client_notes(Context(app, operator), client_id)) == 1
