"""The report's before/after pair, measured on the PDF itself (pdfium's image boxes): the
lined-up pair framed alike (two images of one size, side by side) above the two unedited
originals, and no image (photo or chart) overlapping another."""

from __future__ import annotations

import unicodedata
from datetime import date

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_raw  # type: ignore[import-untyped]

from tracker.app.context import Context
from tracker.app.demo import DemoResult
from tracker.app.reports import client_report_pdf
from tracker.bootstrap import App
from tracker.permissions import Actor

TODAY = date(2026, 11, 21)
Box = tuple[float, float, float, float]  # left, bottom, right, top in points


def _overlap(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def _pages(data: bytes) -> list[tuple[str, list[Box]]]:
    doc = pdfium.PdfDocument(data)
    try:
        out = []
        for i in range(len(doc)):
            page = doc[i]
            text = unicodedata.normalize("NFC", page.get_textpage().get_text_range())
            images = [tuple(o.get_bounds()) for o in page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE])]
            out.append((text, images))
        return out
    finally:
        doc.close()


def test_the_pair_is_lined_up_alike_above_the_originals_and_nothing_overlaps(
    demo_loaded: tuple[App, DemoResult],
) -> None:
    app, result = demo_loaded
    with app.uow() as uow:
        ava = next(c.id for c in uow.repo.clients(result.clinic_id) if c.name.startswith("Ava"))
    pages = _pages(client_report_pdf(Context(app, Actor.operator(result.clinic_id)), ava, today=TODAY))

    for _text, boxes in pages:
        for i, a in enumerate(boxes):
            assert all(not _overlap(a, b) for b in boxes[i + 1 :]), f"images overlap: {a}, {boxes}"

    text, boxes = next(p for p in pages if "Before and after" in p[0])
    assert "Lined up and cropped alike" in text and "Unedited originals (display copies)" in text
    assert len(boxes) == 4  # the lined-up pair, then the two originals
    by_height = sorted(boxes, key=lambda b: -b[3])
    lined, originals = by_height[:2], by_height[2:]
    (la, lb) = sorted(lined)
    # framed alike: the same size, side by side on one line
    assert abs((la[2] - la[0]) - (lb[2] - lb[0])) < 0.5 and abs((la[3] - la[1]) - (lb[3] - lb[1])) < 0.5
    assert abs(la[1] - lb[1]) < 0.5 and la[2] < lb[0]
    # the originals below the pair
    assert max(b[3] for b in originals) < min(b[1] for b in lined)
