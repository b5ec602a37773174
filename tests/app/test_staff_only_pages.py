"""Issue 12 item 7 on the pages: no page a client can reach shows staff-only text (a note,
intake notes, session notes, a flag review) or a staff member's email; the staff forms say
under each field who reads it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests.app.conftest import signed_in
from tests.forbidden_words import rendered_text
from tracker.app import consent, courses, flags, notes
from tracker.app.client_view import STAFF_ONLY_HELP
from tracker.app.context import Context
from tracker.app.demo import DEMO_CLIENT_PASSWORD, DEMO_PRACTITIONER_PASSWORD
from tracker.bootstrap import open_app
from tracker.domain import ConsentFlag, Contraindication
from tracker.permissions import Actor
from tracker.store.models import User

CLIENT_PAGES = ("pages/my_course.py", "pages/upload.py", "pages/my_progress.py", "pages/my_account.py")
STAFF_EMAIL = "practitioner@demo.test"
STAFF_TEXT = ("Zebranote-7731", "Quokkaintake-4410", "Narwhalsession-5520", "Okapiflag-6630", STAFF_EMAIL)


def _write_staff_text() -> None:
    app = open_app()
    with app.uow() as uow:
        staff = uow.session.scalar(select(User).where(User.email == STAFF_EMAIL))
        ava = uow.session.scalar(select(User).where(User.email == "ava@demo.test"))
        assert staff is not None and ava is not None and ava.client_id is not None
        cid = ava.client_id
        ctx = Context(app, Actor(staff.email, staff.role, staff.clinic_id, staff.id))
    notes.add_note(ctx, cid, "Zebranote-7731")
    courses.record_intake(ctx, cid, [Contraindication.ROSACEA], "Quokkaintake-4410")
    yesterday = datetime.now() - timedelta(days=1)
    courses.record_session(ctx, cid, 9, yesterday, notes="Narwhalsession-5520", override_reason="agreed")
    flags.acknowledge(ctx, cid, "contraindication:rosacea", "Okapiflag-6630", date.today())
    # Recorded by staff, and shown on her account page as agreed with the practitioner.
    given = consent.client_consents(ctx, cid).given(ConsentFlag.PHOTOS_IN_REPORTS)
    consent.set_consent(ctx, cid, ConsentFlag.PHOTOS_IN_REPORTS, not given)
    app.close()


def test_no_client_page_shows_staff_text(demo_dir: Path) -> None:
    _write_staff_text()
    at = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    for page in CLIENT_PAGES:
        at.switch_page(page).run()
        assert not at.exception, at.exception
        shown = "\n".join(rendered_text(at)).replace("\\", "")  # markdown escapes taken out
        assert len(shown) > 100, page  # the page rendered
        assert [s for s in STAFF_TEXT if s in shown] == [], page
        if page == "pages/my_account.py":
            assert "by the clinic" in shown  # who recorded her consent, without their email


def test_staff_forms_say_who_reads_each_field(demo_dir: Path) -> None:
    at = signed_in(STAFF_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/record.py").run()
    assert not at.exception, at.exception
    helps = {w.label: w.help for w in at.text_area}
    assert helps["Notes"] == STAFF_ONLY_HELP  # session notes (and intake notes: same label)
    assert all(w.help == STAFF_ONLY_HELP for w in at.text_area if w.label == "Notes")
    assert "The client sees this" in str({w.label: w.help for w in at.text_input}.get("Device"))
