"""The zone editor's picture: the saved zones and the points being picked, drawn on the
baseline photo. Plain Pillow, so it is tested without a browser; the page only shows it.

A practitioner needs to see what they clicked: without the outline on the photo, a
misplaced corner is only discovered in the numbers weeks later.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from tracker.app.measurements import Polygon, Zones, from_points

TREATED_COLOUR = (214, 51, 108)  # the treated zone: magenta
REFERENCE_COLOUR = (28, 126, 214)  # the reference zone: blue
SCALE_COLOUR = (232, 140, 0)  # the ends of a known length: amber
Point = tuple[float, float]


def draw_zones(
    image: Image.Image,
    scale: float,
    saved: Zones | None,
    draft: dict[str, list[Point]],
) -> Image.Image:
    """A copy of `image` (the photo shown, `scale` shown px per full-resolution px) with the
    saved zones as thin outlines and the draft (points per zone, also in full-resolution px) as dots joined
    in click order, closed once it is a zone (two corners or three points); the two ends of
    a known length ("scale") as a line."""
    out = image.convert("RGB")
    pen = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=max(12, out.width // 50))
    if saved is not None:
        for polygon in saved.treated_polygons():
            _outline(pen, [[x * scale, y * scale] for x, y in polygon], TREATED_COLOUR, 2)
        for polygon in saved.reference_polygons():
            _outline(pen, [[x * scale, y * scale] for x, y in polygon], REFERENCE_COLOUR, 2)
    for name, colour in (("treated", TREATED_COLOUR), ("reference", REFERENCE_COLOUR)):
        points = [(x * scale, y * scale) for x, y in draft.get(name, [])]
        if len(points) >= 2:
            _outline(pen, from_points(points), colour, 4)
        for x, y in points:
            pen.ellipse((x - 6, y - 6, x + 6, y + 6), fill=(255, 255, 255), outline=colour, width=3)
        if points:
            x, y = points[0]
            pen.text(
                (x + 9, y - 9),
                name,
                fill=colour,
                font=font,
                anchor="lb",
                stroke_width=2,
                stroke_fill=(255, 255, 255),
            )
    ends = [(x * scale, y * scale) for x, y in draft.get("scale", [])]
    if len(ends) == 2:
        pen.line([ends[0], ends[1]], fill=SCALE_COLOUR, width=3)
    for x, y in ends:
        pen.ellipse((x - 5, y - 5, x + 5, y + 5), fill=SCALE_COLOUR, outline=(255, 255, 255), width=2)
    return out


def _outline(pen: ImageDraw.ImageDraw, polygon: Polygon, colour: tuple[int, int, int], width: int) -> None:
    points = [(float(x), float(y)) for x, y in polygon]
    pen.line([*points, points[0]], fill=colour, width=width, joint="curve")


def describe(points: list[Point]) -> str:
    """What the clicks so far make, in words for the page."""
    if not points:
        return "no points yet"
    if len(points) == 1:
        return "1 point: click the opposite corner, or more points around the area"
    if len(points) == 2:
        return "a rectangle (2 corners)"
    return f"an outline of {len(points)} points"
