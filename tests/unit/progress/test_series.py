from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.domain import PhotoKind
from tracker.progress.series import PhotoPoint, baseline, frame, label, noise_band, summarise

START = datetime(2026, 6, 1, 10)


def _point(
    i: int, session: int, kind: PhotoKind, days: float, value: float | None, usable: bool = True
) -> PhotoPoint:
    at = START + timedelta(weeks=5 * (session - 1))
    return PhotoPoint(
        photo_id=i, session=session, kind=kind, taken_at=at + timedelta(days=days), session_at=at,
        course_start=START, quality=0.9 if usable else 0.2, usable=usable, metrics={"texture_dog": value},
    )  # fmt: skip


def test_repeat_baselines_give_the_noise_band_and_labels() -> None:
    points = [
        _point(1, 1, PhotoKind.BEFORE, -0.02, 0.0300),
        _point(2, 1, PhotoKind.BEFORE, -0.01, 0.0310),
        _point(3, 1, PhotoKind.BEFORE, -0.005, 0.0305),
        _point(4, 2, PhotoKind.BEFORE, -0.01, 0.0302),  # tiny change: noise
    ]
    summary = summarise(frame(points), "texture_dog")
    assert summary.baseline.value == 0.0305
    sem = pd.Series([0.030, 0.031, 0.0305]).std()
    assert math.isclose(summary.noise.sdc, 1.96 * math.sqrt(2) * sem)
    assert summary.label == "within noise"
    better = summarise(frame([*points, _point(5, 3, PhotoKind.BEFORE, -0.01, 0.0270)]), "texture_dog")
    assert better.label == "improved" and better.change_pct is not None and better.change_pct < -10
    worse = summarise(frame([*points, _point(5, 3, PhotoKind.BEFORE, -0.01, 0.0340)]), "texture_dog")
    assert worse.label == "worsened"


def test_single_baseline_uses_the_configured_relative_error() -> None:
    points = [_point(1, 1, PhotoKind.BEFORE, -0.01, 0.0400), _point(2, 2, PhotoKind.BEFORE, -0.01, 0.0390)]
    summary = summarise(frame(points), "texture_dog", relative_error=0.05)
    assert math.isclose(summary.noise.sdc, 0.002) and "5 %" in summary.noise.source
    assert summary.label == "within noise"  # −2.5 % < 5 %


def test_poor_quality_points_are_shown_but_not_used() -> None:
    points = [
        _point(1, 1, PhotoKind.BEFORE, -0.01, 0.0300, usable=False),
        _point(2, 1, PhotoKind.BEFORE, -0.005, 0.0400),
        _point(3, 2, PhotoKind.BEFORE, -0.01, 0.0100, usable=False),
    ]
    df = frame(points)
    assert len(df) == 3 and df["usable"].tolist() == [False, True, False]
    summary = summarise(df, "texture_dog")
    assert summary.baseline.value == 0.0400 and summary.latest_photo_id == 2


def test_labels_follow_the_metric_direction() -> None:
    band = noise_band(baseline(frame([_point(1, 1, PhotoKind.BEFORE, 0, 1.0)]), "texture_dog"), "texture_dog")
    assert label(-1.0, band, "lower") == "improved" and label(-1.0, band, "higher") == "worsened"
    assert label(float("nan"), band, "lower") is None


values = st.one_of(
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), st.just(float("nan")), st.none()
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 4),
            st.sampled_from(list(PhotoKind)),
            st.floats(min_value=-2, max_value=60, allow_nan=False),
            values,
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_series_code_never_crashes(rows: list[tuple[int, PhotoKind, float, float | None, bool]]) -> None:
    points = [_point(i, s, k, d, v, u) for i, (s, k, d, v, u) in enumerate(rows)]
    df = frame(list(reversed(points)))  # unsorted input
    assert df["taken_at"].is_monotonic_increasing
    summary = summarise(df, "texture_dog")
    summary.to_json()
    if summary.baseline.value is None:
        assert summary.change is None and summary.label is None
    if summary.change is not None:
        assert math.isfinite(summary.change)
        assert summary.label in ("within noise", "improved", "worsened")
