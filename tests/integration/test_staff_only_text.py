"""Issue 12 item 7: staff-only text never reaches a client.

Staff write distinctive text where only staff may read it (a note, intake notes, session
notes, a flag review) and record a consent for the client; then everything the client's own
use cases hand her (her export zip, her PDF, her intake, her rows, her progress and flags,
her consents, her calendar) is searched for that text and for the staff member's email.
The clinic's own export still holds it all (so the search is not searching nothing)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import copy_demo
from tests.integration.test_consent import pdf_text
from tracker.app import client_view, consent, courses, flags, notes, records, reminders, reports
from tracker.app.context import Context
from tracker.app.demo import DemoResult
from tracker.bootstrap import App
from tracker.domain import ConsentFlag, Contraindication
from tracker.permissions import Actor
from tracker.store.models import User

NOTE = "Zebranote-7731 worried about her mood"
INTAKE_NOTE = "Quokkaintake-4410 mentioned a family matter"
SESSION_NOTE = "Narwhalsession-5520 flushed more than usual"
FLAG_NOTE = "Okapiflag-6630 phoned her"
STAFF_EMAIL = "practitioner@demo.test"
STAFF_TEXT = (NOTE, INTAKE_NOTE, SESSION_NOTE, FLAG_NOTE, STAFF_EMAIL)
TODAY = date.today()


def _actor(user: User) -> Actor:
    return Actor(user.email, user.role, user.clinic_id, user.id, user.client_id)


@pytest.fixture
def written(demo_loaded: tuple[App, DemoResult], tmp_path: Path) -> Iterator[tuple[App, Actor, Actor]]:
    """A private demo copy where a practitioner wrote staff-only text about Ava; returns
    (app, the practitioner, Ava)."""
    app = copy_demo(demo_loaded, tmp_path / "data")
    with app.uow() as uow:
        users = {u.email: u for u in uow.session.scalars(select(User))}
    staff, ava = _actor(users[STAFF_EMAIL]), _actor(users["ava@demo.test"])
    assert ava.client_id is not None
    ctx = Context(app, staff)
    notes.add_note(ctx, ava.client_id, NOTE)
    courses.record_intake(ctx, ava.client_id, [Contraindication.ROSACEA], INTAKE_NOTE)
    first = courses.client_overview(ctx, ava.client_id).sessions[0]
    courses.record_session(
        ctx, ava.client_id, first.number, first.at, device=first.device, notes=SESSION_NOTE, replace=True
    )
    courses.record_session(
        ctx,
        ava.client_id,
        9,
        datetime.now() - timedelta(days=2),
        override_reason="agreed",
        notes=SESSION_NOTE,
    )
    flags.acknowledge(ctx, ava.client_id, "contraindication:rosacea", FLAG_NOTE, TODAY)
    marketing = consent.client_consents(ctx, ava.client_id).given(ConsentFlag.PHOTOS_FOR_MARKETING)
    consent.set_consent(ctx, ava.client_id, ConsentFlag.PHOTOS_FOR_MARKETING, not marketing)
    yield app, staff, ava
    app.close()


def _zip_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "\n".join(
            zf.read(name).decode("utf-8") for name in zf.namelist() if name.endswith((".json", ".txt"))
        )


def _found(text: str) -> list[str]:
    return [s for s in STAFF_TEXT if s in text]


def test_the_clinics_export_holds_the_staff_text(written: tuple[App, Actor, Actor]) -> None:
    app, staff, ava = written
    assert ava.client_id is not None
    _, data = records.export_client(Context(app, staff), ava.client_id)
    text = _zip_text(data)
    assert _found(text) == [NOTE, INTAKE_NOTE, SESSION_NOTE, STAFF_EMAIL]  # flag reviews are not exported
    assert "staff-only text" in text  # its README says so


def test_nothing_the_client_is_handed_holds_staff_text(written: tuple[App, Actor, Actor]) -> None:
    app, _, ava = written
    cid = ava.client_id
    assert cid is not None
    ctx = Context(app, ava)

    name, data = records.export_client(ctx, cid)
    text = _zip_text(data)
    assert _found(text) == [], name
    assert "rosacea" in text and '"by the clinic"' in text  # her own answers are there, said plainly
    assert "Not included: the practitioners' own working notes" in text

    assert _found(pdf_text(reports.client_report_pdf(ctx, cid, today=TODAY))) == []
    intake = courses.client_intake(ctx, cid)
    assert intake.contraindications == (Contraindication.ROSACEA,) and _found(repr(intake)) == []
    assert _found(repr(courses.client_overview(ctx, cid))) == []
    assert _found(repr(courses.overview(ctx))) == []
    progress = courses.course_progress(ctx, cid, TODAY)
    assert _found(repr(progress.flags)) == []
    assert all(f.code.startswith(client_view.CLIENT_FLAG_CODES) for f in progress.flags)
    seen = consent.client_consents(ctx, cid).entries[ConsentFlag.PHOTOS_FOR_MARKETING]
    assert seen.by == "the clinic"
    assert _found(repr(reminders.client_reminders(ctx, cid, TODAY))) == []
    assert _found(reminders.calendar_file(ctx, cid, TODAY)[1].decode("utf-8")) == []
