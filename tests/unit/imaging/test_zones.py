"""Zones a person picks on the photo: corners or outlines, and the checks that refuse
zones which cannot give a sound measurement."""

from __future__ import annotations

import pytest

from tracker.imaging.zones import MAX_ZONE_POINTS, Zones, check_zones, from_points

SIZE = (4000, 3000)
TREATED = from_points([(1000, 1000), (1600, 1400)])
REFERENCE = from_points([(2500, 400), (3000, 800)])


def test_two_clicks_are_corners_in_any_order_and_more_are_an_outline() -> None:
    assert from_points([(1600, 1400), (1000, 1000)]) == TREATED
    assert TREATED == [[1000, 1000], [1600, 1000], [1600, 1400], [1000, 1400]]
    outline = [(100.0, 100.0), (300.0, 120.0), (250.0, 300.0)]
    assert from_points(outline) == [[100.0, 100.0], [300.0, 120.0], [250.0, 300.0]]


def test_sound_zones_pass() -> None:
    check_zones(Zones(TREATED, REFERENCE, "manual"), SIZE, px_per_mm=20.0)
    check_zones(Zones(TREATED, None, "manual"), SIZE)  # a reference is optional


@pytest.mark.parametrize(
    ("zones", "px_per_mm", "message"),
    [
        (Zones(TREATED, TREATED, "manual"), None, "reference zone overlaps the treated zone"),
        (
            Zones(TREATED, from_points([(1400, 1200), (1800, 1400)]), "manual"),  # half inside
            None,
            r"overlaps the treated zone \((49|50|51) % of it\)",
        ),
        (Zones(from_points([(3900, 10), (4100, 300)]), None, "manual"), None, "treated zone reaches outside"),
        (Zones(TREATED, from_points([(10, 10), (30, 30)]), "manual"), None, "reference zone is only 400 px"),
        (Zones(from_points([(10, 10), (60, 60)]), None, "manual"), 20.0, r"covers only 6\.2 mm²"),
        (
            Zones([[0.0, 0.0], [500.0, 500.0], [500.0, 0.0], [0.0, 500.0]], None, "manual"),
            None,
            "outline crosses itself",
        ),
        (Zones([[0.0, 0.0], [500.0, 500.0]], None, "manual"), None, "at least three points"),
        (
            Zones([[float(i), float(i * i % 97)] for i in range(MAX_ZONE_POINTS + 1)], None, "manual"),
            None,
            "at most 64",
        ),
        (Zones([[0.0, 0.0], [500.0, float("nan")], [0.0, 500.0]], None, "manual"), None, "valid coordinates"),
    ],
)
def test_unsound_zones_are_refused_with_what_is_wrong(
    zones: Zones, px_per_mm: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_zones(zones, SIZE, px_per_mm)


def test_a_concave_outline_is_not_mistaken_for_a_crossing_one() -> None:
    crescent = [[0.0, 0.0], [400.0, 0.0], [400.0, 400.0], [0.0, 400.0], [200.0, 200.0]]
    check_zones(Zones(crescent, None, "manual"), SIZE)
