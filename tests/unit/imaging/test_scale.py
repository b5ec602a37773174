"""The scale from a known length clicked on the photo, and what is refused."""

from __future__ import annotations

import pytest

from tracker.imaging.scale import scale_from_length

SIZE = (4000, 3000)


def test_the_scale_is_the_distance_over_the_length() -> None:
    assert scale_from_length((1000, 1000), (1300, 1400), 25.0, SIZE) == pytest.approx(500 / 25)


@pytest.mark.parametrize(
    ("a", "b", "mm", "message"),
    [
        ((1000, 1000), (1300, 1000), 10.0, "only 300 px apart; measure a length of at least 400 px"),
        ((1000, 1000), (2000, 1000), 0.5, "between 2 and 300 mm"),
        ((1000, 1000), (2000, 1000), float("nan"), "between 2 and 300 mm"),
        ((1000, 1000), (5000, 1000), 20.0, "outside the photo"),
        ((0, 0), (3999, 0), 5.0, r"799\.8 px/mm, outside"),
        ((0, 0), (400, 0), 250.0, r"1\.6 px/mm, outside"),
    ],
)
def test_unusable_measurements_are_refused(
    a: tuple[float, float], b: tuple[float, float], mm: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        scale_from_length(a, b, mm, SIZE)
