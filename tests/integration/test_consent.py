"""Consent per purpose (issue 11): who may change which answer, what is stored and audited,
and the services that enforce it: the report leaves photos out without consent to photos
in reports, an upload is refused once photos for care are withdrawn, and the client's own
data export keeps every photo (the right of access)."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from tests import images
from tests.conftest import blob_files, copy_demo, photo_rows
from tracker.app import consent, courses, photos
from tracker.app.consent import NO_PHOTOS_IN_REPORTS, PhotosNotAllowed
from tracker.app.context import Context
from tracker.app.demo import DemoResult
from tracker.app.records import export_client
from tracker.app.reports import client_report_pdf
from tracker.bootstrap import App
from tracker.domain import ConsentFlag, Role
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
PHOTO = (ROOT / "sample_photos" / "linh" / "s1_before_a.jpg").read_bytes()
TODAY = date(2026, 11, 21)


def consent_events(app: App, client_id: int) -> list[AuditEvent]:
    with app.uow() as uow:
        rows = uow.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("consent_%"), AuditEvent.entity_id == client_id)
            .order_by(AuditEvent.id)
        )
        return list(rows)


def client_actor(app: App, operator: Actor, client_id: int) -> Actor:
    return Actor("client@example.test", Role.CLIENT, operator.clinic_id, client_id=client_id)


def jpeg_images(pdf: bytes) -> int:
    """Photos embedded in a PDF: the report's photos are JPEG (DCT), its charts PNG."""
    doc = pdfium.PdfDocument(pdf)
    try:
        count = 0
        for page in doc:
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
                count += "DCTDecode" in obj.get_filters()
        return count
    finally:
        doc.close()


def pdf_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return unicodedata.normalize("NFC", "\n".join(p.get_textpage().get_text_range() for p in doc))
    finally:
        doc.close()


def test_staff_give_and_withdraw_with_who_and_when_and_each_change_is_audited(
    app: App, operator: Actor, client_id: int
) -> None:
    ctx = Context(app, operator)
    assert not consent.client_consents(ctx, client_id).entries  # never asked
    now = consent.set_consent(ctx, client_id, ConsentFlag.PHOTOS_IN_REPORTS, True)
    entry = now.entries[ConsentFlag.PHOTOS_IN_REPORTS]
    assert entry.given and entry.by == "cli" and entry.at is not None
    consent.set_consent(ctx, client_id, ConsentFlag.PHOTOS_IN_REPORTS, True)  # the same: no change
    consent.set_consent(ctx, client_id, ConsentFlag.PHOTOS_IN_REPORTS, False)
    consent.set_consent(ctx, client_id, ConsentFlag.CONTACT, False)  # never given: declined
    stored = consent.client_consents(ctx, client_id)
    assert not stored.given(ConsentFlag.PHOTOS_IN_REPORTS) and ConsentFlag.CONTACT in stored.entries
    events = consent_events(app, client_id)
    assert [(e.action, e.detail["purpose"]) for e in events] == [
        ("consent_given", "photos_in_reports"),
        ("consent_withdrawn", "photos_in_reports"),
        ("consent_declined", "contact"),
    ]
    assert all(e.actor == "cli" and e.entity == "client" for e in events)


def test_a_new_clients_consents_from_the_intake_are_stored_and_audited(app: App, operator: Actor) -> None:
    answers = {flag: flag is not ConsentFlag.PHOTOS_FOR_MARKETING for flag in ConsentFlag}
    new = courses.create_client(Context(app, operator), "Mia Lund", consents=answers)
    stored = consent.client_consents(Context(app, operator), new)
    assert {f: stored.given(f) for f in ConsentFlag} == answers
    actions = {e.detail["purpose"]: e.action for e in consent_events(app, new)}
    assert actions["photos_for_marketing"] == "consent_declined" and actions["treatment"] == "consent_given"
    assert len(actions) == len(ConsentFlag)


def test_a_client_changes_only_marketing_and_reminders_and_only_their_own(
    app: App, operator: Actor, client_id: int
) -> None:
    me = Context(app, client_actor(app, operator, client_id))
    consent.set_consent(me, client_id, ConsentFlag.PHOTOS_FOR_MARKETING, True)
    consent.set_consent(me, client_id, ConsentFlag.CONTACT, True)
    with pytest.raises(PermissionDenied, match="talk to your practitioner"):
        consent.set_consent(me, client_id, ConsentFlag.TREATMENT, False)
    with pytest.raises(PermissionDenied):  # all or nothing: the allowed one is not saved either
        consent.set_consents(me, client_id, {ConsentFlag.CONTACT: False, ConsentFlag.PHOTOS_FOR_CARE: False})
    stored = consent.client_consents(me, client_id)
    assert stored.given(ConsentFlag.CONTACT) and ConsentFlag.TREATMENT not in stored.entries
    assert stored.entries[ConsentFlag.CONTACT].by == "client@example.test"

    other = courses.create_client(Context(app, operator), "Someone Else")
    with pytest.raises(PermissionDenied):
        consent.set_consent(me, other, ConsentFlag.CONTACT, True)
    with pytest.raises(PermissionDenied):
        consent.client_consents(me, other)
    assert not consent.client_consents(Context(app, operator), other).entries


def test_an_upload_is_refused_once_photos_for_care_are_withdrawn(
    app: App, operator: Actor, client_id: int
) -> None:
    ctx = Context(app, operator)
    courses.record_session(ctx, client_id, 1, datetime(2026, 5, 4, 10))
    consent.set_consent(ctx, client_id, ConsentFlag.PHOTOS_FOR_CARE, True)
    photos.import_photo(ctx, client_id, PHOTO, "before.jpg", session_number=1, analyse=False)
    consent.set_consent(ctx, client_id, ConsentFlag.PHOTOS_FOR_CARE, False)
    rows, files = photo_rows(app), blob_files(app)
    other = images.encode(images.noisy(seed=3), "JPEG")  # not a duplicate of the first
    with pytest.raises(PhotosNotAllowed, match="photos for clinical care"):
        photos.import_photo(ctx, client_id, other, "again.jpg", session_number=1, analyse=False)
    with pytest.raises(PhotosNotAllowed):  # the app's upload says so before decoding anything
        photos.upload_photo(ctx, client_id, other, "again.jpg", session_number=1)
    assert photo_rows(app) == rows == 1 and blob_files(app) == files  # the photo on file stays


@pytest.fixture
def demo_copy(demo_loaded: tuple[App, DemoResult], tmp_path: Path) -> Iterator[App]:
    """A private copy of the loaded demo, so a test may change its consents."""
    app = copy_demo(demo_loaded, tmp_path / "data")
    yield app
    app.close()


def test_the_report_has_photos_only_with_consent_and_the_export_always(demo_copy: App) -> None:
    app = demo_copy
    with app.uow() as uow:
        (linh,) = [c for c in uow.repo.clients(1) if c.name.startswith("Linh")]
        linh_id = linh.id
    ctx = Context(app, Actor.operator(1))
    assert consent.client_consents(ctx, linh_id).given(ConsentFlag.PHOTOS_IN_REPORTS)  # the demo's
    with_photos = client_report_pdf(ctx, linh_id, today=TODAY)
    # the pair lined up and cropped alike, then the two originals
    assert jpeg_images(with_photos) == 4 and NO_PHOTOS_IN_REPORTS not in pdf_text(with_photos)

    consent.set_consent(ctx, linh_id, ConsentFlag.PHOTOS_IN_REPORTS, False)
    with app.uow() as uow:
        first_photo = uow.repo.photos_of(1, linh_id)[0].id
    for pairs in (None, [(first_photo, first_photo)]):  # asked for or by default: none
        without = client_report_pdf(ctx, linh_id, pairs=pairs, today=TODAY)
        text = " ".join(pdf_text(without).split())
        assert jpeg_images(without) == 0
        assert NO_PHOTOS_IN_REPORTS in text and "Measurements over the course" in text
    with app.uow() as uow:
        event = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_report").order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and event.detail["photos"] == []
        assert event.detail["photos_in_reports"] is False

    # The client's own copy of their data keeps every photo, and its README says why.
    me = Context(app, Actor("linh@demo.test", Role.CLIENT, 1, client_id=linh_id))
    _, data = export_client(me, linh_id)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        readme = zf.read("README.txt").decode()
    with app.uow() as uow:
        assert sum(n.startswith("photos/") for n in names) == len(uow.repo.photos_of(1, linh_id)) > 0
    assert "right of access" in readme
