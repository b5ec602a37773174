"""Issue 3 acceptance: delta_ei against rendered dermal blood (see tracker_dev.validation.redness)."""

from __future__ import annotations

import pytest

from tracker_dev.validation import Section
from tracker_dev.validation.redness import CAST_TONES, TONES, run


@pytest.fixture(scope="module")
def section() -> Section:
    return run(quick=True)


def test_delta_ei_rises_strictly_with_blood_in_every_light(section: Section) -> None:
    for tone in TONES:
        assert section.numbers[f"monotone_{tone}"] == 1.0, tone


def test_ranking_by_blood_holds_across_lights_and_exposures(section: Section) -> None:
    for tone in TONES:
        assert section.numbers[f"spearman_{tone}"] >= 0.95, tone


def test_dark_skin_response_is_at_least_half_the_light_skin_response(section: Section) -> None:
    assert section.numbers["dark_over_light_response"] >= 0.5
    assert section.numbers["slope_per_1pct_light"] > 2.0  # a real response, not a flat line


def test_exposure_alone_moves_delta_ei_less_than_a_quarter_step(section: Section) -> None:
    assert section.numbers["exposure_shift_over_step_max"] < 0.25


def test_colour_casts_move_delta_ei_less_than_a_quarter_step(section: Section) -> None:
    for tone in CAST_TONES:
        assert section.numbers[f"cast_shift_over_step_{tone}"] < 0.25, tone  # inf if delta_ei was lost


def test_colour_casts_turn_no_glare_free_skin_into_glare(section: Section) -> None:
    assert section.numbers["cast_glare_pct_max"] < 0.5
