"""The PDF carries the clinic's branding from configuration (issue 11 item 10): its name
from the database, its phone, email and address, its logo and its colour; and the metric
table speaks the glossary's plain words, rounded to the noise band."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium  # type: ignore[import-untyped]
from PIL import Image

from tests.integration.test_reports import TODAY, read_pdf
from tracker.app.context import Context
from tracker.app.demo import DemoResult
from tracker.app.reports import client_report_pdf
from tracker.bootstrap import App
from tracker.permissions import Actor

LOGO_RGB = (20, 160, 60)
MM_TO_PT = 72 / 25.4


def test_the_pdf_header_has_the_clinics_name_contact_logo_and_colour(
    demo_loaded: tuple[App, DemoResult], tmp_path: Path
) -> None:
    app, result = demo_loaded
    logo = tmp_path / "logo.png"
    Image.new("RGB", (200, 80), LOGO_RGB).save(logo)
    settings = app.settings.model_copy(
        update={
            "clinic_phone": "020 7946 0000",
            "clinic_email": "care@clinic.example",
            "clinic_address": "1 High Street, Bath",
            "clinic_logo": logo,
            "accent_colour": "#804020",
        }
    )
    branded = dataclasses.replace(app, settings=settings)
    with app.uow() as uow:
        clinic = uow.repo.clinic(result.clinic_id)
        assert clinic is not None
        clinic_name = clinic.name
        linh = next(c.id for c in uow.repo.clients(result.clinic_id) if c.name.startswith("Linh"))
    data = client_report_pdf(Context(branded, Actor.operator(result.clinic_id)), linh, today=TODAY)
    pdf = read_pdf(data)
    first = pdf.pages[0]
    assert clinic_name in first
    assert "020 7946 0000 · care@clinic.example · 1 High Street, Bath" in first

    doc = pdfium.PdfDocument(data)
    try:
        page = np.asarray(doc[0].render(scale=1).to_pil().convert("RGB")).astype(int)
    finally:
        doc.close()
    # The logo sits at the right of the title band (x 145–195 mm, y 6–26 mm); the band
    # itself is the clinic's colour.
    logo_px = page[round(15 * MM_TO_PT), round(170 * MM_TO_PT)]
    band_px = page[round(30 * MM_TO_PT), round(100 * MM_TO_PT)]
    assert np.abs(logo_px - LOGO_RGB).max() <= 8, logo_px
    assert np.abs(band_px - (0x80, 0x40, 0x20)).max() <= 8, band_px

    # Plain words in the metric table: no metric keys, no 4-decimal floats, no "None".
    text = "\n".join(pdf.pages)
    assert "Redness (points)" in text and "delta_ei" not in text
    assert not re.search(r"\d\.\d{4,}", text) and "None" not in text and "nan" not in text.split()
