"""The Record page's face diagram: a frontal face with each named region as a shape, the
treated regions filled in one colour, a chosen reference in another, the rest outlined.

Drawn by our own code (Pillow), so it needs nothing from outside, is tested without a
browser and looks the same in the PDF-free places it may be reused. The colours are the
zone editor's, so "magenta = treated, blue = reference" holds across the app.

A frontal view shows the client's left on the right of the picture; the diagram says so
in words above each side, because a practitioner facing the client thinks the other way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from PIL import Image, ImageDraw, ImageFont

from tracker.domain import FaceRegion
from tracker.ui.zone_drawing import REFERENCE_COLOUR, TREATED_COLOUR

Colour = tuple[int, int, int]
Point = tuple[float, float]
Shape = list[Point]

BACKGROUND: Colour = (255, 255, 255)
INK: Colour = (55, 55, 60)  # the face's outline, eyes, legend text
REGION_LINE: Colour = (120, 120, 128)  # an untreated region's outline
LABEL_ON_FILL: Colour = (255, 255, 255)

# Geometry in units: the face part of the picture is 100 units wide and FACE_HEIGHT tall.
FACE_HEIGHT = 128.0
_CX, _CY, _RX, _RY = 50.0, 58.0, 33.0, 44.0  # the face's outline, an ellipse
_SUPERSAMPLE = 3  # drawn larger and reduced: smooth edges without an anti-aliasing library


def _ellipse_point(rx: float, ry: float, angle_deg: float) -> Point:
    """A point of an ellipse around the face's centre; 0° is straight down, 90° the
    picture's left."""
    a = math.radians(angle_deg)
    return (_CX - rx * math.sin(a), _CY + ry * math.cos(a))


def _arc(rx: float, ry: float, start: float, end: float, steps: int = 24) -> Shape:
    return [_ellipse_point(rx, ry, start + (end - start) * i / steps) for i in range(steps + 1)]


def _mirror(shape: Shape) -> Shape:
    return [(2 * _CX - x, y) for x, y in reversed(shape)]


def _forehead() -> Shape:
    """The part of the face above the brows (y < 41), inside the outline."""
    rx, ry, brow = _RX - 3, _RY - 3, 41.0
    # the angle (from straight down) where the inset outline meets the brow line
    start = 180 - math.degrees(math.acos((brow - _CY) / -ry))
    return _arc(rx, ry, start, 360 - start)


def _chin() -> Shape:
    rx, ry, top, half = _RX - 2.5, _RY - 2.5, 91.0, 10.0
    end = math.degrees(math.asin(half / rx))
    return [(_CX + half, top), *_arc(rx, ry, -end, end), (_CX - half, top)]


def _jaw_picture_left() -> Shape:
    """The lower edge of the face on the picture's left, from the chin's side up to below
    the cheek (the client's right jaw)."""
    outer = _arc(_RX - 1.5, _RY - 1.5, 26, 62, 12)
    inner = _arc(_RX - 7.5, _RY - 7.5, 62, 26, 12)
    return outer + inner


_CHEEK_PICTURE_LEFT: Shape = [(22, 56), (37, 56), (41.5, 62), (40.5, 73), (31, 77.5), (23, 70)]
_NOSE: Shape = [(46, 46), (54, 46), (57.5, 65), (53.5, 69.5), (46.5, 69.5), (42.5, 65)]
_NECK: Shape = [(36.5, 105), (63.5, 105), (66, 123), (34, 123)]


def _perioral() -> Shape:
    return [
        (50 + 11.5 * math.sin(math.radians(a)), 80 - 7.5 * math.cos(math.radians(a)))
        for a in range(0, 360, 10)
    ]


def region_shapes() -> dict[FaceRegion, tuple[Shape, ...]]:
    """Each region's shapes in units (x right, y down, face part 100 × FACE_HEIGHT). The
    client's right is the picture's left (a frontal view)."""
    jaw = _jaw_picture_left()
    return {
        FaceRegion.FOREHEAD: (_forehead(),),
        FaceRegion.NOSE: (_NOSE,),
        FaceRegion.RIGHT_CHEEK: (_CHEEK_PICTURE_LEFT,),
        FaceRegion.LEFT_CHEEK: (_mirror(_CHEEK_PICTURE_LEFT),),
        FaceRegion.PERIORAL: (_perioral(),),
        FaceRegion.CHIN: (_chin(),),
        FaceRegion.JAWLINE: (jaw, _mirror(jaw)),
        FaceRegion.NECK: (_NECK,),
    }


# Where each region's name is written (units), and how it breaks into lines.
_LABELS: dict[FaceRegion, tuple[Point, str]] = {
    FaceRegion.FOREHEAD: ((50, 30), "Forehead"),
    FaceRegion.NOSE: ((50, 60), "Nose"),
    FaceRegion.RIGHT_CHEEK: ((31.5, 65.5), "Right\ncheek"),
    FaceRegion.LEFT_CHEEK: ((68.5, 65.5), "Left\ncheek"),
    FaceRegion.PERIORAL: ((50, 79.5), "Around\nthe mouth"),
    FaceRegion.CHIN: ((50, 95), "Chin"),
    FaceRegion.NECK: ((50, 115), "Neck"),
}
_JAW_LABEL: Point = (10.5, 96)  # outside the face, with a short line to the jaw
_JAW_POINTER: tuple[Point, Point] = ((17.5, 93), (24.5, 88))


def shapes_px(width: int) -> dict[FaceRegion, tuple[Shape, ...]]:
    """`region_shapes` in the pixels of a diagram `width` px wide (the face part starts at
    the top of the picture)."""
    k = width / 100
    return {r: tuple([(x * k, y * k) for x, y in s] for s in shapes) for r, shapes in region_shapes().items()}


def draw_face_diagram(
    treated: Iterable[FaceRegion],
    reference: Iterable[FaceRegion] | None,
    *,
    width: int = 360,
) -> Image.Image:
    """The diagram, `width` px wide, with a legend below the face. `reference` None means
    the reference is chosen automatically (from the regions not treated); a region given as
    both is drawn as treated."""
    treated_set = set(treated)
    reference_set = set(reference or ()) - treated_set
    big = width * _SUPERSAMPLE
    k = big / 100
    font = ImageFont.load_default(size=round(4.0 * k))
    small = ImageFont.load_default(size=round(3.6 * k))
    legend = _legend_rows(reference is not None and bool(reference_set), treated_set)
    row_h = 6.8 * k
    height = round(FACE_HEIGHT * k + row_h * len(legend) + 2 * k)
    img = Image.new("RGB", (big, height), BACKGROUND)
    pen = ImageDraw.Draw(img)

    def px(points: Shape) -> list[Point]:
        return [(x * k, y * k) for x, y in points]

    line = max(2, round(0.45 * k))
    # neck behind the face, then the face, then the regions on top
    pen.line(px([(35, 96), (33, 126)]), fill=INK, width=line)
    pen.line(px([(65, 96), (67, 126)]), fill=INK, width=line)
    for side in (-1, 1):  # ears
        ex = _CX + side * (_RX + 1.5)
        pen.ellipse(px([(ex - 3.5, 49), (ex + 3.5, 67)]), outline=INK, width=line)
    pen.ellipse(
        px([(_CX - _RX, _CY - _RY), (_CX + _RX, _CY + _RY)]), fill=BACKGROUND, outline=INK, width=line
    )

    for region, shapes in region_shapes().items():
        fill = (
            TREATED_COLOUR if region in treated_set else REFERENCE_COLOUR if region in reference_set else None
        )
        for shape in shapes:
            pen.polygon(px(shape), fill=fill, outline=fill or REGION_LINE, width=max(1, line // 2 + 1))

    # eyes and brows: not regions, only there so the picture reads as a face
    for side in (-1, 1):
        ex = _CX + side * 12
        pen.ellipse(px([(ex - 6, 48.5), (ex + 6, 53.5)]), outline=INK, width=line)
        pen.ellipse(px([(ex - 1.6, 49.4), (ex + 1.6, 52.6)]), fill=INK)
        pen.arc(px([(ex - 7, 43), (ex + 7, 49)]), 200, 340, fill=INK, width=line)

    for region, ((x, y), text) in _LABELS.items():
        filled = region in treated_set or region in reference_set
        pen.multiline_text(
            (x * k, y * k),
            text,
            font=small if "\n" in text else font,
            fill=LABEL_ON_FILL if filled else INK,
            anchor="mm",
            align="center",
            spacing=round(0.3 * k),
        )
    # the jaw is a thin strip: its name goes outside the face, with a line to it
    pen.line(px(list(_JAW_POINTER)), fill=INK, width=max(1, line // 2 + 1))
    pen.text((_JAW_LABEL[0] * k, _JAW_LABEL[1] * k), "Jawline", font=small, fill=INK, anchor="mm")

    pen.text((3 * k, 3 * k), "client's right", font=font, fill=INK, anchor="lt")
    pen.text((97 * k, 3 * k), "client's left", font=font, fill=INK, anchor="rt")

    top = FACE_HEIGHT * k + 1 * k
    for i, (colour, text) in enumerate(legend):
        y = top + i * row_h
        box = (4 * k, y + 0.8 * k, 8.5 * k, y + 5.3 * k)
        if colour is None:
            pen.rectangle(box, fill=BACKGROUND, outline=REGION_LINE, width=max(1, line // 2 + 1))
        else:
            pen.rectangle(box, fill=colour)
        pen.text((11 * k, y + 3.05 * k), text, font=small, fill=INK, anchor="lm")
    return img.resize((width, round(height / _SUPERSAMPLE)), Image.Resampling.LANCZOS)


def _legend_rows(reference_chosen: bool, treated: set[FaceRegion]) -> list[tuple[Colour | None, str]]:
    rows: list[tuple[Colour | None, str]] = [(TREATED_COLOUR, "Treated")]
    if reference_chosen:
        rows.append((REFERENCE_COLOUR, "Reference: untreated skin to compare with"))
        rows.append((None, "Not treated"))
    elif len(treated) < len(FaceRegion):
        rows.append((None, "Not treated (the reference is picked from these)"))
    return rows


def describe(treated: Iterable[FaceRegion], reference: Iterable[FaceRegion] | None) -> str:
    """The diagram in words (its caption, and the text for screen readers)."""
    treated_names = [r.label for r in FaceRegion if r in set(treated)]
    text = "Treated: " + (", ".join(treated_names) if treated_names else "nothing") + "."
    if reference:
        text += " Reference: " + ", ".join(r.label for r in FaceRegion if r in set(reference)) + "."
    else:
        text += " Reference: chosen automatically from untreated skin in each photo."
    return text
