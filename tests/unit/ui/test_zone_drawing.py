"""The zone editor's picture shows the zones in use and the points being picked."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tracker.imaging.zones import Zones, from_points
from tracker.ui.zone_drawing import REFERENCE_COLOUR, SCALE_COLOUR, TREATED_COLOUR, describe, draw_zones


def _grey() -> Image.Image:
    return Image.new("RGB", (400, 300), (128, 128, 128))


def _near(pixel: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return bool(np.abs(pixel.astype(int) - np.array(colour)).max() <= 2)


def test_saved_zones_are_outlined_at_the_shown_scale() -> None:
    saved = Zones(from_points([(200, 200), (600, 400)]), from_points([(1000, 100), (1400, 300)]), "manual")
    out = np.asarray(draw_zones(_grey(), 0.25, saved, {"treated": [], "reference": []}))
    assert _near(out[50, 75], TREATED_COLOUR)  # treated top edge: y 200 → 50, x 200..600 → 50..150
    assert _near(out[50, 250], REFERENCE_COLOUR)  # reference left edge: x 1000 → 250, y 100..300 → 25..75
    assert _near(out[75, 100], (128, 128, 128))  # inside stays the photo


def test_draft_points_are_dots_and_two_make_a_box() -> None:
    draft = {"treated": [(40.0, 40.0), (140.0, 120.0)], "reference": [(300.0, 50.0)]}
    out = np.asarray(draw_zones(_grey(), 1.0, None, draft))
    assert _near(out[40, 40], (255, 255, 255))  # the dot's centre
    assert _near(out[40, 90], TREATED_COLOUR)  # the box's top edge between the corners
    assert _near(out[50, 300], (255, 255, 255))
    assert _near(out[80, 220], (128, 128, 128))  # one reference point: no outline yet


def test_describe_says_what_the_clicks_make() -> None:
    assert describe([]) == "no points yet"
    assert describe([(0, 0)]).startswith("1 point")
    assert describe([(0, 0), (1, 1)]) == "a rectangle (2 corners)"
    assert describe([(0, 0), (1, 1), (2, 0)]) == "an outline of 3 points"


def test_the_ends_of_a_known_length_are_joined() -> None:
    draft = {"treated": [], "reference": [], "scale": [(50.0, 200.0), (350.0, 200.0)]}
    out = np.asarray(draw_zones(_grey(), 1.0, None, draft))
    assert _near(out[200, 200], SCALE_COLOUR)
    assert _near(out[150, 200], (128, 128, 128))


def test_the_zones_source_is_said_in_words() -> None:
    from tracker.imaging.zones import LANDMARKS, Zones
    from tracker.ui.zone_editor import zone_source_words

    square = [[0.0, 0.0], [40.0, 0.0], [40.0, 40.0], [0.0, 40.0]]
    found = Zones(
        square,
        square,
        LANDMARKS,
        treated_regions=("left_cheek", "right_cheek"),
        reference_regions=("forehead",),
    )
    assert (
        zone_source_words(found)
        == "found on the face (treated: left cheek, right cheek; reference: forehead)"
    )
    assert zone_source_words(Zones(square, None, "manual")) == "drawn by a practitioner"
    assert zone_source_words(None) == "none yet"
