"""The glossary: every metric has plain words, and numbers are rounded to what the noise
band supports (issue 11 item 5)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from tracker.domain import PhotoKind
from tracker.glossary import (
    DASH,
    METRIC_TERMS,
    decimals_for,
    fmt,
    fmt_pct,
    fmt_quality,
    kind_label,
    photo_label,
    term,
)
from tracker.progress.assessment import SUMMARY_METRICS
from tracker.progress.series import METRICS


def test_every_metric_has_an_entry_with_plain_words() -> None:
    assert set(METRIC_TERMS) == set(METRICS)
    assert set(SUMMARY_METRICS) <= set(METRIC_TERMS)
    for key, t in METRIC_TERMS.items():
        assert t.key == key
        assert t.label and t.explanation and t.technical, key
        assert "_" not in t.label and "_" not in t.unit and "_" not in t.explanation, key
        assert t.better == METRICS[key].better, key  # one direction of progress, not two
        for word in ("EI", "ITA", "SDC", "a*", "L*"):
            assert word not in t.label.split() and word not in t.unit, (key, word)


def test_engine_terms_used_on_pages_have_entries() -> None:
    for key in ("ei", "ita", "t50", "t90", "quality", "noise_band", "needle_depth_mm", "act", "watch"):
        t = term(key)
        assert t.technical != key or key in ("needle_depth_mm", "passes"), key
        assert "_" not in t.label
    assert "T90" in term("t90").staff_help and "T90" not in term("t90").client_help


def test_an_unknown_key_is_humanised_never_shown_raw() -> None:
    assert term("new_metric_x").label == "New metric x"


def test_kind_labels() -> None:
    assert kind_label(PhotoKind.CHECKIN) == "Check-in"
    assert kind_label("checkin") == "Check-in"
    assert [kind_label(k) for k in PhotoKind] == ["Before", "After", "Check-in"]


@pytest.mark.parametrize(
    ("band", "places"), [(0.8, 1), (3.0, 0), (12.0, 0), (0.03, 2), (0.0042, 3), (1.0, 0), (0.1, 1)]
)
def test_decimals_follow_the_noise_bands_first_significant_digit(band: float, places: int) -> None:
    assert decimals_for("delta_ei", band) == places


def test_numbers_are_rounded_to_the_band_with_their_unit() -> None:
    assert fmt(2.41722, "delta_ei", band=0.8) == "2.4 points"
    assert fmt(37.46, "red_area_pct", band=3.0) == "37%"
    assert fmt(0.041722, "texture_dog", band=0.004) == "0.042"
    assert fmt(-1.26, "delta_ei", band=0.8, signed=True) == "−1.3 points"
    assert fmt(1.26, "delta_ei", band=0.8, signed=True, unit=False) == "+1.3"


def test_a_change_inside_the_band_gets_fewer_digits() -> None:
    assert fmt(0.46, "delta_ei", band=0.8, signed=True) == "0 points"
    assert fmt(0.66, "delta_ei", band=0.8, signed=True) == "+1 point"
    assert fmt(0.0123, "texture_dog", band=0.04, signed=True) == "0.0"
    assert fmt(0.031, "texture_dog", band=0.04, signed=True) == "0.0"  # rounded to zero: no sign
    assert fmt(-0.04, "delta_ei", band=0.8, signed=True) == "0 points"  # never "−0"


def test_without_a_band_the_terms_default_digits_are_used() -> None:
    assert fmt(2.41722, "delta_ei") == "2.4 points"
    assert fmt(0.123456, "texture_dog") == "0.123"
    assert fmt(12.5, "t90") == "12 hours"


@pytest.mark.parametrize("missing", [None, math.nan, math.inf])
def test_missing_numbers_show_a_dash_never_none_or_nan(missing: float | None) -> None:
    assert fmt(missing, "delta_ei") == DASH
    assert fmt_pct(missing) == DASH
    assert fmt_quality(missing) == DASH


def test_percent_and_quality() -> None:
    assert fmt_pct(-12.4) == "−12 %" and fmt_pct(0.3) == "0 %"
    assert fmt_quality(0.9) == "90 %"


def test_photos_are_named_by_session_kind_and_date() -> None:
    taken = datetime(2026, 8, 24, 11, 29)
    assert photo_label(2, PhotoKind.CHECKIN, taken, 70.0) == "Session 2 · day-3 check-in · 24 Aug"
    assert photo_label(1, "before", taken, -0.5) == "Session 1 · before-photo · 24 Aug"
    assert photo_label(3, PhotoKind.AFTER, taken, 0.2) == "Session 3 · after-photo · 24 Aug"
    assert photo_label(2, "checkin", taken, 2.0) == "Session 2 · day-1 check-in · 24 Aug"  # never day 0
    assert photo_label(2, "checkin", taken, float("nan")) == "Session 2 · check-in · 24 Aug"
