"""The photo's scale (px per mm) from a length a person measured on it.

Texture is only comparable at a fixed physical pitch (design §3.3), so without a scale the
texture metrics stay null. A colour chart gives the scale by itself; a clinic without one
can click both ends of a known length (a ruler held at the skin, a sticker of known size)
on the baseline photo. Clicks on a reduced view are off by a pixel or two of the full
photo at each end, so the length must be long enough for that to stay small.
"""

from __future__ import annotations

import math

MIN_LENGTH_MM = 2.0
MAX_LENGTH_MM = 300.0
MIN_SEGMENT_SHARE = 0.1  # of the photo's long side: ±2 px per end stays under ~1 % at 12 MP
MIN_PX_PER_MM, MAX_PX_PER_MM = 2.0, 200.0  # a room-wide shot … a macro lens


def scale_from_length(
    a: tuple[float, float], b: tuple[float, float], length_mm: float, size: tuple[int, int]
) -> float:
    """px/mm of the full-resolution photo of `size` (width, height) in which the points
    `a` and `b` (its pixels) are `length_mm` apart; ValueError saying what is wrong."""
    if not math.isfinite(length_mm) or not MIN_LENGTH_MM <= length_mm <= MAX_LENGTH_MM:
        raise ValueError(f"The known length must be between {MIN_LENGTH_MM:.0f} and {MAX_LENGTH_MM:.0f} mm.")
    width, height = size
    for x, y in (a, b):
        if not (-1 <= x <= width and -1 <= y <= height):
            raise ValueError(f"A scale point lies outside the photo ({width} × {height} px).")
    pixels = math.dist(a, b)
    shortest = MIN_SEGMENT_SHARE * max(width, height)
    if pixels < shortest:
        raise ValueError(
            f"The two points are only {pixels:.0f} px apart; measure a length of at least {shortest:.0f} px "
            "(a tenth of the photo's width) so that a click's error stays small."
        )
    px_per_mm = pixels / length_mm
    if not MIN_PX_PER_MM <= px_per_mm <= MAX_PX_PER_MM:
        raise ValueError(
            f"That gives {px_per_mm:.1f} px/mm, outside the {MIN_PX_PER_MM:.0f}–{MAX_PX_PER_MM:.0f} px/mm "
            "of a photo of skin; check the length in mm."
        )
    return px_per_mm
