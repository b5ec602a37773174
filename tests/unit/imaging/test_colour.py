"""One skin-tone angle per person from many photos."""

from __future__ import annotations

import math

from tracker.imaging.colour import ita_group, representative_ita


def test_chart_photos_decide_when_there_are_any() -> None:
    home = [(-12.4, False), (-25.0, False), (3.5, False), (4.2, False)]  # Linh's home photos
    chart = [(20.8, True), (18.9, True)]
    assert representative_ita(home + chart) == (20.8 + 18.9) / 2
    assert representative_ita(home) == (-12.4 + 3.5) / 2  # no chart photo: all photos


def test_nothing_usable_gives_none() -> None:
    assert representative_ita([]) is None
    assert representative_ita([(math.nan, True), (math.inf, False)]) is None


def test_groups_follow_the_ita_bounds() -> None:
    assert [ita_group(v) for v in (60, 50, 30, 20, 0, -40)] == [
        "very light",
        "light",
        "intermediate",
        "tan",
        "brown",
        "dark",
    ]
