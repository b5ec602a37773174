"""The client-file PDF on the demo clinic: it renders (checked by rendering it back with
pdfium, not by trusting fpdf2), it carries the provenance stamps, a non-Latin-1 name
survives, only permitted people get it, and every export is audited."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from tracker.app import courses
from tracker.app.consent import set_consent
from tracker.app.context import Context
from tracker.app.demo import DemoResult
from tracker.app.flags import acknowledge, client_flags, resolve
from tracker.app.reports import FontMissing, client_report_pdf, find_font, report_filename
from tracker.bootstrap import App
from tracker.domain import ConsentFlag, Contraindication, Role
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AuditEvent, Photo

TODAY = date(2026, 11, 21)


@dataclass(frozen=True)
class Demo:
    app: App
    operator: Actor
    ids: dict[str, int]  # client name → id


@dataclass(frozen=True)
class Pdf:
    data: bytes
    pages: list[str]  # extracted text per page, NFC
    page1_ink: float  # share of non-white pixels on page 1


@pytest.fixture(scope="module")
def demo(demo_loaded: tuple[App, DemoResult]) -> Demo:
    app, result = demo_loaded
    with app.uow() as uow:
        ids = {c.name: c.id for c in uow.repo.clients(result.clinic_id)}
    return Demo(app, Actor.operator(result.clinic_id), ids)


def read_pdf(data: bytes) -> Pdf:
    doc = pdfium.PdfDocument(data)
    ink = 0.0
    try:
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            text = page.get_textpage().get_text_range()
            pages.append(unicodedata.normalize("NFC", text))
            if i == 0:
                grey = np.asarray(page.render(scale=1).to_pil().convert("L"))
                ink = float((grey < 240).mean())
        return Pdf(data, pages, ink)
    finally:
        doc.close()


@pytest.fixture(scope="module")
def linh_report(demo: Demo) -> Pdf:
    return read_pdf(client_report_pdf(Context(demo.app, demo.operator), demo.ids["Linh Nguyễn"], today=TODAY))


def export_events(app: App, client_id: int) -> list[AuditEvent]:
    with app.uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "export_report", AuditEvent.entity_id == client_id
                )
            )
        )


def photos_of(app: App, client_id: int) -> list[Photo]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(Photo).where(Photo.client_id == client_id).order_by(Photo.id)))


def test_the_report_renders_with_a_non_latin1_name(linh_report: Pdf) -> None:
    assert linh_report.data.startswith(b"%PDF-")
    assert len(linh_report.data) < 3 * 1024 * 1024
    assert len(linh_report.pages) >= 2
    assert linh_report.page1_ink > 0.05  # not a blank page: header band and text
    first = linh_report.pages[0]
    assert "Nguyễn" in first
    assert "Enlarged pores" in first and "4 of 4 sessions done" in first
    assert "Summary" in first and "noise band" in first


def test_before_after_photos_carry_their_provenance_stamps(demo: Demo, linh_report: Pdf) -> None:
    text = "\n".join(linh_report.pages)
    photos = photos_of(demo.app, demo.ids["Linh Nguyễn"])
    befores = [p for p in photos if p.kind.value == "before"]
    baseline, latest = befores[0], befores[-1]  # default pair: first baseline vs latest before
    for photo in (baseline, latest):
        assert f"Taken {photo.taken_at:%Y-%m-%d %H:%M}" in text
        assert f"SHA-256 {photo.original_sha256[:12]}" in text
        assert f"photo #{photo.id}" in text
    assert text.count("Unedited") >= 2
    assert "before session 1 started" in text and "Photo quality 90 %" in text
    for section in ("Measurements over the course", "Flags and their evidence", "Sessions: settings"):
        assert section in text


def test_a_successful_export_is_audited(demo: Demo, linh_report: Pdf) -> None:
    events = export_events(demo.app, demo.ids["Linh Nguyễn"])
    (event,) = [e for e in events if e.detail["bytes"] == len(linh_report.data)]
    assert "sha256" not in event.detail  # the audit log keeps no hashes (tracker.app.audit)
    assert event.entity == "client" and event.actor == "cli" and event.clinic_id == demo.operator.clinic_id
    assert event.detail["bytes"] == len(linh_report.data)
    assert event.detail["pages"] == len(linh_report.pages)
    assert len(event.detail["photos"]) == 2


def test_clients_get_only_their_own_report(demo: Demo, linh_report: Pdf) -> None:
    linh, niamh = demo.ids["Linh Nguyễn"], demo.ids["Niamh O'Sullivan"]
    before = len(export_events(demo.app, linh))
    other = Actor("niamh@demo.test", Role.CLIENT, demo.operator.clinic_id, client_id=niamh)
    with pytest.raises(PermissionDenied):
        client_report_pdf(Context(demo.app, other), linh, today=TODAY)
    assert len(export_events(demo.app, linh)) == before  # a refusal is not an export

    # Linh may export her own, with a pair of her choosing: right after session 1 vs day 7.
    me = Actor("linh@demo.test", Role.CLIENT, demo.operator.clinic_id, client_id=linh)
    photos = photos_of(demo.app, linh)
    s1 = [p for p in photos if p.session_id == photos[0].session_id]  # 3 before, after, day 1, 3, 7
    after, day7 = s1[3], s1[-1]
    assert after.kind.value == "after"
    text = "\n".join(
        read_pdf(client_report_pdf(Context(demo.app, me), linh, pairs=[(after.id, day7.id)])).pages
    )
    assert f"SHA-256 {after.original_sha256[:12]}" in text and "Check-in · session 1" in text
    assert len(export_events(demo.app, linh)) == before + 1


def test_a_photo_of_another_client_cannot_be_put_in_a_report(demo: Demo) -> None:
    linh, niamh = demo.ids["Linh Nguyễn"], demo.ids["Niamh O'Sullivan"]
    before = len(export_events(demo.app, linh))
    mine, theirs = photos_of(demo.app, linh)[0].id, photos_of(demo.app, niamh)[0].id
    with pytest.raises(Rejected, match=f"Photo {theirs} is not"):
        client_report_pdf(Context(demo.app, demo.operator), linh, pairs=[(mine, theirs)], today=TODAY)
    assert len(export_events(demo.app, linh)) == before


def test_report_file_names_are_plain_ascii() -> None:
    assert report_filename("Linh Nguyễn", TODAY) == "report-Linh-Nguyen-2026-11-21.pdf"
    assert report_filename("Niamh O'Sullivan", TODAY) == "report-Niamh-OSullivan-2026-11-21.pdf"
    assert report_filename("Đặng Thị Ngọc", TODAY) == "report-Dang-Thi-Ngoc-2026-11-21.pdf"
    assert report_filename("../../etc/passwd", TODAY) == "report-etc-passwd-2026-11-21.pdf"
    assert report_filename("李小龍", TODAY) == "report-client-2026-11-21.pdf"


def test_a_missing_font_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        find_font([tmp_path])
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"")
    found = find_font([tmp_path])
    assert found.regular == found.bold == tmp_path / "DejaVuSans.ttf"  # regular stands in for bold


def test_a_course_without_photos_still_gets_a_report(app: App, operator: Actor, client_id: int) -> None:
    # With consent to photos in reports, so the page says why there are none: no pair yet.
    set_consent(Context(app, operator), client_id, ConsentFlag.PHOTOS_IN_REPORTS, True)
    courses.record_session(
        Context(app, operator), client_id, 1, datetime(2026, 1, 5, 10), device="Dermapen 4"
    )
    report = read_pdf(client_report_pdf(Context(app, operator), client_id, today=date(2026, 3, 1)))
    text = "\n".join(report.pages)
    assert len(report.pages) >= 2 and "Test Client" in report.pages[0]
    assert "No before/after pair yet" in text and "No measurements yet" in text
    assert "Session 2 is overdue" in text and "Dermapen 4" in text
    assert len(export_events(app, client_id)) == 1


def test_the_flags_section_lists_open_flags_and_a_line_per_handled_one(
    app: App, operator: Actor, client_id: int
) -> None:
    """Issue 11 item 2/5: the PDF shows the open flags with their evidence; a resolved or
    acknowledged flag is one line saying who handled it; a client's own copy has no flags."""
    ctx, today = Context(app, operator), date(2026, 3, 1)
    courses.record_session(ctx, client_id, 1, datetime(2026, 1, 5, 10))
    courses.record_intake(ctx, client_id, [Contraindication.ROSACEA])
    resolve(ctx, client_id, "contraindication:rosacea", "", today)
    overdue = next(
        f.key for f in client_flags(ctx, client_id, today).flags if f.flag.code == "overdue_session"
    )
    acknowledge(ctx, client_id, overdue, "Phoned, booking next week", today)

    text = "\n".join(read_pdf(client_report_pdf(ctx, client_id, today=today)).pages)
    flags = text[text.index("Flags and their evidence") :]
    assert "No usable photo for session 1" in flags and "no photos uploaded" in flags  # still open
    assert "Contraindication answered at intake: resolved on" in flags and "by cli" in flags
    assert "Session 2 is overdue: acknowledged on" in flags
    assert "answered yes at intake" not in text  # a handled flag's evidence is not repeated
    assert "Phoned" not in text  # the staff note stays in the app
    assert "2 open flag(s) for the practitioner: 1 to watch, 1 for information" in text  # photo, check-ins

    me = Actor("client@test", Role.CLIENT, operator.clinic_id, client_id=client_id)
    own = "\n".join(read_pdf(client_report_pdf(Context(app, me), client_id, today=today)).pages)
    assert "Flags and their evidence" not in own and "flag" not in own.lower()
