"""The PDF report prints every name (issue 12 item 4): Chinese and emoji came out blank
with DejaVu Sans alone. fpdf2 falls back to WenQuanYi Micro Hei and Symbola; a character
no installed font has shows as the placeholder, never as nothing. Checked by extracting
the text back with pdfium."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date, datetime

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from tracker.app import courses, reports
from tracker.app.context import Context
from tracker.app.reports import PLACEHOLDER, client_report_pdf
from tracker.bootstrap import App
from tracker.permissions import Actor

NAME = "王芳 🌸 Nguyễn"
NOWHERE = "🫠"  # Unicode 14: in none of the three fonts


def _text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(
            unicodedata.normalize("NFC", doc[i].get_textpage().get_text_range()) for i in range(len(doc))
        )
    finally:
        doc.close()


def _report(app: App, operator: Actor, name: str) -> str:
    ctx = Context(app, operator)
    client = courses.create_client(ctx, name)
    courses.record_session(ctx, client, 1, datetime(2026, 1, 5, 10), device="针 🌸 pen", serum="玻尿酸 💧")
    return _text(client_report_pdf(ctx, client, today=date(2026, 3, 1)))


def test_cjk_and_emoji_names_are_printed(app: App, operator: Actor) -> None:
    found = reports.find_font().fallbacks
    assert [f.family for f in found] == ["WenQuanYi", "Symbola"], (
        "./run installs fonts-wqy-microhei fonts-symbola"
    )
    text = _report(app, operator, f"{NAME} {NOWHERE}")
    assert f"{NAME} {PLACEHOLDER}" in text  # the character no font has: a visible placeholder
    assert "针 🌸 pen" in text and "玻尿酸" in text


def test_without_the_fallback_fonts_a_placeholder_stands_in(
    app: App, operator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    find = reports.find_font
    monkeypatch.setattr(reports, "find_font", lambda: replace(find(), fallbacks=()))
    text = _report(app, operator, NAME)
    assert f"{PLACEHOLDER * 2} {PLACEHOLDER} Nguyễn" in text
