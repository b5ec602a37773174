"""The NumPy photo table the progress rules read, against the DataFrame they used to read:
same rows, same columns, same answers."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import theilslopes

from tracker.domain import PhotoKind
from tracker.progress import flags as rules
from tracker.progress.recovery import fit_recovery
from tracker.progress.series import (
    METRICS,
    NoiseBand,
    PhotoPoint,
    PhotoTable,
    frame,
    pre_session_level,
    summarise,
    table,
    theil_sen_slope,
    usable_before,
)

START = datetime(2026, 6, 1, 10)


def _point(
    i: int, session: int, kind: PhotoKind, hours: float, metrics: dict[str, float | None], usable: bool = True
) -> PhotoPoint:
    at = START + timedelta(weeks=5 * (session - 1))
    return PhotoPoint(
        photo_id=i, session=session, kind=kind, taken_at=at + timedelta(hours=hours), session_at=at,
        course_start=START, quality=0.9 if usable else 0.2, usable=usable, metrics=dict(metrics),
    )  # fmt: skip


def _reference_frame(points: list[PhotoPoint]) -> pd.DataFrame:
    """How `frame` built its DataFrame before the table existed (rows of dicts, sorted)."""
    names = sorted({k for p in points for k in p.metrics} | set(METRICS))

    def finite(v: object) -> float:
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return math.nan
        return x if math.isfinite(x) else math.nan

    rows = [
        {
            "photo_id": p.photo_id,
            "session": p.session,
            "kind": p.kind.value,
            "taken_at": p.taken_at,
            "hours_since_session": (p.taken_at - p.session_at).total_seconds() / 3600.0,
            "days_since_start": (p.taken_at - p.course_start).total_seconds() / 86400.0,
            "quality": p.quality,
            "usable": bool(p.usable),
            **{k: finite(p.metrics.get(k)) for k in names},
        }
        for p in points
    ]
    columns = ["photo_id", "session", "kind", "taken_at", "hours_since_session", "days_since_start"]
    df = pd.DataFrame(rows, columns=[*columns, "quality", "usable", *names])
    return df.sort_values(["taken_at", "photo_id"], kind="stable").reset_index(drop=True)


def _course() -> list[PhotoPoint]:
    """Two sessions: repeat before-photos, an after-photo, check-ins (one at the same time as
    another photo, one unusable), odd metric values (None, inf, a string, an extra metric)."""
    return [
        _point(1, 1, PhotoKind.BEFORE, -0.5, {"delta_ei": 2.0, "delta_l_star": 1.0, "delta_a_star": 0.1}),
        _point(2, 1, PhotoKind.BEFORE, -0.4, {"delta_ei": 2.2, "delta_l_star": 1.2, "extra": 5.0}),
        _point(3, 1, PhotoKind.AFTER, 0.5, {"delta_ei": 14.0, "delta_l_star": -3.0}),
        _point(5, 1, PhotoKind.CHECKIN, 24.0, {"delta_ei": 9.0, "delta_l_star": None}),
        _point(4, 1, PhotoKind.CHECKIN, 24.0, {"delta_ei": 8.0, "mel_index": float("inf")}),
        _point(6, 1, PhotoKind.CHECKIN, 80.0, {"delta_ei": 6.0, "delta_l_star": -1.5}, usable=False),
        _point(7, 1, PhotoKind.CHECKIN, 200.0, {"delta_ei": 5.0, "delta_l_star": -1.0, "mel_index": 1.1}),
        _point(8, 2, PhotoKind.BEFORE, -0.3, {"delta_ei": 1.5, "mel_index": "0.5"}),  # type: ignore[dict-item]
        _point(9, 2, PhotoKind.CHECKIN, 72.0, {"delta_ei": 4.0, "delta_a_star": 2.0}),
    ]


def test_frame_is_the_dataframe_it_always_was() -> None:
    points = _course()
    pd.testing.assert_frame_equal(frame(list(reversed(points))), _reference_frame(points))
    pd.testing.assert_frame_equal(frame([]), _reference_frame([]))


def test_a_frame_read_back_gives_the_same_table() -> None:
    t = table(_course())
    back = PhotoTable.of(t.to_frame())
    assert back.photo_id.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9]  # capture time, then id
    assert back.taken_at.tolist() == t.taken_at.tolist()
    assert np.array_equal(back.metric("delta_l_star"), t.metric("delta_l_star"), equal_nan=True)
    assert t.metric("mel_index")[-2] == 0.5 and math.isnan(t.metric("mel_index")[3])
    assert np.isnan(t.metric("no such metric")).all()
    assert PhotoTable.of(t) is t


def test_the_rules_answer_the_same_on_a_table_and_on_a_dataframe() -> None:
    t = table(_course())
    df = t.to_frame()
    shuffled_index = df.set_axis([10 * i for i in range(len(df))][::-1])  # any index, same rows
    band = NoiseBand(0.8, None, "floor")
    fit = fit_recovery([0.5, 24.0, 200.0], [14.0, 8.5, 5.0], 2.1, 0.8)
    sessions = [(1, START), (2, START + timedelta(weeks=5))]
    now = START + timedelta(weeks=12)
    for data in (df, shuffled_index):
        for metric in ("delta_ei", "delta_l_star", "delta_a_star", "extra", "mel_index"):
            assert summarise(data, metric) == summarise(t, metric)
            assert usable_before(data, metric).tolist() == usable_before(t, metric).tolist()
            for session in (1, 2, 3):
                assert pre_session_level(data, session, metric) == pre_session_level(t, session, metric)
        for f in (fit, None):
            assert rules.slow_recovery(data, 1, START, sessions[1][1], band, f) == rules.slow_recovery(
                t, 1, START, sessions[1][1], band, f
            )
            pih = rules.pih_watch(t, 1, START, sessions[1][1], band, band, band, f, 20.0)
            assert rules.pih_watch(data, 1, START, sessions[1][1], band, band, band, f, 20.0) == pih
        assert rules.missed_checkins(data, sessions, now) == rules.missed_checkins(t, sessions, now)
        assert rules.no_usable_photo(data, sessions, now) == rules.no_usable_photo(t, sessions, now)


def test_slow_recovery_and_pih_watch_read_the_table() -> None:
    t = table(_course())
    band = NoiseBand(0.8, None, "floor")
    slow = rules.slow_recovery(t, 1, START, START + timedelta(weeks=5), band, None)
    assert slow is not None
    # Photos named as the practitioner knows them; the id is kept for the link.
    assert slow.evidence == [
        "session 1, day-8 check-in, 9 Jun (200 h after): redness 5.0 points, above the level "
        "before the session (2.1) by more than the margin of error (0.8)"
    ]
    assert slow.data["photo_ids"] == [7] and slow.key == "slow_recovery:s1"
    pih = rules.pih_watch(t, 1, START, START + timedelta(weeks=5), band, band, band, None, 20.0)
    assert pih is not None and pih.data["darkening_l"] == 2.1  # 1.1 before, −1.0 on day 8
    assert pih.evidence[1:] == ["session 1, day-8 check-in, 9 Jun: lightness −1.0 point, pigment 1.10"]
    assert "2.1 points darker" in pih.evidence[0] and "margin of error 0.8" in pih.evidence[0]
    assert slow.title == "Redness slow to settle after session 1"
    assert pih.title == "Darkening watch (PIH) after session 1"
    assert pih.data["photo_ids"] == [7]


def test_remembered_answers_cannot_be_changed_by_callers() -> None:
    t = table(_course())
    mask = usable_before(t, "delta_ei")
    mask[:] = False  # the caller's own copy
    assert usable_before(t, "delta_ei").tolist() == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        True,
        False,
    ]
    assert pre_session_level(t, 2, "delta_ei") == 1.5 and pre_session_level(t, 2, "delta_ei") == 1.5
    with pytest.raises(ValueError):
        t.metric("delta_ei")[0] = 0.0  # columns are read-only, so what is remembered stays right


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)),
        min_size=2,
        max_size=15,
    ).filter(lambda pts: len({x for x, _ in pts}) >= 2)
)
def test_theil_sen_slope_is_scipys(points: list[tuple[int, float]]) -> None:
    x = np.array([p[0] / 7.0 for p in points])
    y = np.array([p[1] for p in points])
    with np.errstate(invalid="ignore"):  # scipy's confidence interval, with tied points
        expected = float(theilslopes(y, x)[0])
    assert theil_sen_slope(y, x) == expected
