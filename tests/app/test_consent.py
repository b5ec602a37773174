"""Consent and the intake's override through the pages (issue 11 items 1 and 9), on a
private copy of the demo: the consent panel on the Record page and on My account, the
report without consent, and a session refused without "Treat anyway" and saved with it."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from tests.app.conftest import download_links, fetch, signed_in
from tracker.app import consent, courses
from tracker.app.consent import NO_PHOTOS_IN_REPORTS
from tracker.app.context import Context
from tracker.app.demo import DEMO_CLIENT_PASSWORD, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD
from tracker.bootstrap import open_app
from tracker.domain import ConsentFlag
from tracker.permissions import Actor
from tracker.store.models import AuditEvent
from tracker.ui.consent_panel import SAVE_LABEL


def _operator() -> Context:
    return Context(open_app(), Actor.operator(1))


def _client_id(name: str) -> int:
    return next(c.id for c in courses.client_names(_operator()) if c.name.startswith(name))


def _audit(action: str) -> list[AuditEvent]:
    with open_app().uow() as uow:
        return list(
            uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def _label(email: str) -> str:
    """How the audit log names the account: by id (tracker.app.audit)."""
    with open_app().uow() as uow:
        user = uow.repo.user_by_email(email)
        assert user is not None
        return f"user {user.id}"


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def _checkbox(at: AppTest, label: str, key_part: str = "") -> object:
    return next(c for c in at.checkbox if c.label == label and (c.key or "").startswith(key_part))


def _said(elements: object) -> list[str]:
    """The texts of alerts, without the escaping that keeps typed text plain."""
    return [e.value.replace("\\", "") for e in elements]  # type: ignore[attr-defined]


def _report(at: AppTest, client_id: int) -> tuple[int, str]:
    """(photos, text) of the report the Review page prepares for `client_id`."""
    at.switch_page("pages/client_review.py").run()
    at.selectbox(key="review_client").set_value(client_id).run()
    at.session_state["review_tab"] = "Report"
    at.run()
    assert not at.exception, at.exception
    assert download_links(at)["Download report (PDF)"] == f"/download/report?client={client_id}"
    got = fetch(at, "Download report (PDF)")  # built now, under the consents as they are now
    assert got.status == 200, got.body
    doc = pdfium.PdfDocument(got.body)
    try:
        text = unicodedata.normalize("NFC", " ".join(p.get_textpage().get_text_range() for p in doc))
        photos = sum(
            "DCTDecode" in obj.get_filters()
            for page in doc
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))
        )
    finally:
        doc.close()
    return photos, " ".join(text.split())


def test_staff_withdraw_photos_in_reports_and_the_report_leaves_them_out(demo_dir: Path) -> None:
    linh = _client_id("Linh")
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    photos, text = _report(at, linh)
    assert photos == 4 and NO_PHOTOS_IN_REPORTS not in text  # the lined-up pair and the two originals

    at.switch_page("pages/record.py").run()
    at.selectbox(key="record_client").set_value(linh).run()
    box = _checkbox(at, ConsentFlag.PHOTOS_IN_REPORTS.label, "consent_photos_in_reports")
    assert box.value is True  # type: ignore[attr-defined]
    box.uncheck()  # type: ignore[attr-defined]
    _click(at, SAVE_LABEL)
    assert any("withdrawn: Photos in progress reports" in w for w in _said(at.warning))
    assert not consent.client_consents(_operator(), linh).given(ConsentFlag.PHOTOS_IN_REPORTS)
    (event,) = _audit("consent_withdrawn")
    assert event.entity_id == linh and event.actor == _label(DEMO_PRACTITIONER_EMAIL)  # by id, not email
    assert event.detail == {"purpose": "photos_in_reports", "given": False}
    # The panel now shows what is on file, with who changed it.
    box = _checkbox(at, ConsentFlag.PHOTOS_IN_REPORTS.label, "consent_photos_in_reports")
    assert box.value is False  # type: ignore[attr-defined]
    assert any("by you" in c.value for c in at.caption)

    # The same link now gives a report built under the withdrawal: no photos.
    photos, text = _report(at, linh)
    assert photos == 0 and NO_PHOTOS_IN_REPORTS in text


def test_a_client_changes_marketing_and_reminders_but_not_treatment(demo_dir: Path) -> None:
    ava = _client_id("Ava")
    at = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    at.switch_page("pages/my_account.py").run()
    assert not at.exception, at.exception
    labels = {c.label for c in at.checkbox}
    assert {ConsentFlag.PHOTOS_FOR_MARKETING.label, ConsentFlag.CONTACT.label} <= labels
    assert ConsentFlag.TREATMENT.label not in labels and ConsentFlag.PHOTOS_FOR_CARE.label not in labels
    assert any(ConsentFlag.TREATMENT.label in m.value for m in at.markdown)  # shown, not changeable
    _checkbox(at, ConsentFlag.CONTACT.label).check()  # type: ignore[attr-defined]
    _click(at, SAVE_LABEL)
    assert any("given: Reminders by email" in s for s in _said(at.success))
    stored = consent.client_consents(_operator(), ava)
    assert stored.given(ConsentFlag.CONTACT) and stored.entries[ConsentFlag.CONTACT].by == "ava@demo.test"
    assert stored.given(ConsentFlag.TREATMENT)  # untouched
    assert [e.detail["purpose"] for e in _audit("consent_given") if e.entity_id == ava] == ["contact"]


def test_a_new_clients_consent_is_taken_in_the_intake_form(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/record.py").run()
    at.text_input(key="new_client_name").input("Tom Berg")
    for flag in (ConsentFlag.TREATMENT, ConsentFlag.PHOTOS_FOR_CARE):
        at.checkbox(key=f"new_client_consent_{flag.value}").check()
    _click(at, "Add client")
    stored = consent.client_consents(_operator(), _client_id("Tom Berg"))
    assert {f for f in ConsentFlag if stored.given(f)} == {ConsentFlag.TREATMENT, ConsentFlag.PHOTOS_FOR_CARE}
    assert set(stored.entries) == set(ConsentFlag)  # every purpose asked: the rest recorded as not given


def test_a_session_for_a_client_with_a_contraindication_needs_treat_anyway_and_a_reason(
    demo_dir: Path,
) -> None:
    niamh = _client_id("Niamh")
    done = len(courses.client_overview(_operator(), niamh).sessions)
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/record.py").run()
    at.selectbox(key="record_client").set_value(niamh).run()
    assert any("Contraindications on the intake: Rosacea" in w for w in _said(at.warning))
    _click(at, "Save session")
    assert any("has a contraindication on the intake: Rosacea" in e for e in _said(at.error))
    assert len(courses.client_overview(_operator(), niamh).sessions) == done  # nothing saved

    _checkbox(at, "Treat anyway").check()  # type: ignore[attr-defined]
    _click(at, "Save session")  # ticked, but no reason: still refused
    assert any("give the reason" in e for e in _said(at.error))
    assert len(courses.client_overview(_operator(), niamh).sessions) == done

    reason = "Rosacea calm today; lower depth agreed with Niamh."
    next(t for t in at.text_area if t.label.startswith("Reason for treating anyway")).input(reason)
    _click(at, "Save session")
    assert any(f"Session {done + 1} saved" in s for s in _said(at.success))
    assert len(courses.client_overview(_operator(), niamh).sessions) == done + 1
    events = [e for e in _audit("contraindication_override") if e.detail["client_id"] == niamh]
    assert events[-1].detail["reason"] == reason and events[-1].detail["contraindications"] == 1
    assert events[-1].actor == _label(DEMO_PRACTITIONER_EMAIL)
