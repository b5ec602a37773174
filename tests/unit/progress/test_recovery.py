from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.progress.recovery import EI_SATURATION, RecoveryFit, fit_recovery


def _ei(peak_blood_z: float, tau: float, hours: list[float], pre: float = 0.5) -> list[float]:
    """Redness as the skin shows it: blood excess decaying, seen through EI's saturation."""
    z = [peak_blood_z * math.exp(-h / tau) for h in hours]
    return [pre + v / (1 + v / EI_SATURATION) for v in z]


@pytest.mark.parametrize("tau", [8.0, 12.0, 24.0, 70.0])
def test_a_clean_decay_is_recovered(tau: float) -> None:
    hours = [0.4, 24.0, 72.0, 168.0]
    fit = fit_recovery(hours, _ei(35.0, tau, hours), pre_level=0.5, noise=0.8)
    assert fit.method in ("exponential", "two-point")
    assert fit.tau_hours == pytest.approx(tau, rel=0.05)
    assert fit.t50_hours == pytest.approx(tau * math.log(2), rel=0.05)
    assert fit.t90_hours == pytest.approx(tau * math.log(10), rel=0.05)
    t90 = tau * math.log(10)
    expected = "normal" if t90 <= 48 else "slow end of normal" if t90 <= 72 else "slower than normal"
    assert fit.compare_with_normal() == expected


def test_one_red_point_then_quiet_gives_an_upper_bound() -> None:
    fit = fit_recovery([0.5, 72.0], [20.0, 0.6], pre_level=0.5, noise=0.8)
    assert fit.method == "bound" and fit.tau_is_upper_bound
    assert fit.tau_hours is not None and fit.tau_hours < 72.0 / math.log(20 / 0.8)
    assert fit.compare_with_normal() in ("normal", "unknown")


def test_no_pre_level_or_no_points_is_insufficient() -> None:
    assert fit_recovery([1.0, 24.0], [20.0, 3.0], pre_level=None, noise=0.8).method == "insufficient"
    assert fit_recovery([], [], pre_level=0.0, noise=0.8).method == "insufficient"
    assert fit_recovery([5.0], [0.2], pre_level=0.0, noise=0.8).method == "insufficient"


finite = st.floats(min_value=-50, max_value=80, allow_nan=False, allow_infinity=False)
maybe = st.one_of(finite, st.just(float("nan")))
times = st.one_of(st.floats(min_value=-24, max_value=400, allow_nan=False), st.just(float("nan")))


@settings(max_examples=300, deadline=None)
@given(
    points=st.lists(st.tuples(times, maybe), min_size=0, max_size=8),
    pre=st.one_of(st.none(), finite, st.just(float("nan"))),
    noise=st.floats(min_value=0.0, max_value=5.0),
)
def test_never_crashes_and_gives_sensible_output(
    points: list[tuple[float, float]], pre: float | None, noise: float
) -> None:
    hours = [p[0] for p in points]
    values = [p[1] for p in points]
    fit = fit_recovery(hours, values, pre, noise)
    assert isinstance(fit, RecoveryFit)
    assert all(t >= 0 and math.isfinite(t) and math.isfinite(v) for t, v in fit.points)
    assert list(fit.points) == sorted(fit.points)
    assert len({t for t, _ in fit.points}) == len(fit.points)  # duplicates merged
    if fit.tau_hours is not None:
        assert 0.25 <= fit.tau_hours <= 2000 and fit.t90_hours is not None and fit.t90_hours > fit.t50_hours  # type: ignore[operator]
        assert fit.peak_excess is not None and fit.peak_excess >= 0
    else:
        assert fit.method == "insufficient"
    fit.to_json()


@settings(max_examples=100, deadline=None)
@given(st.permutations([0.4, 24.0, 24.0, 72.0, 168.0]))
def test_order_and_duplicates_do_not_change_the_fit(order: list[float]) -> None:
    reference = [0.4, 24.0, 24.0, 72.0, 168.0]
    values = dict(zip(reference, _ei(30.0, 12.0, reference), strict=False))
    a = fit_recovery(reference, [values[h] for h in reference], 0.5, 0.8)
    b = fit_recovery(order, [values[h] for h in order], 0.5, 0.8)
    assert a.tau_hours == pytest.approx(b.tau_hours) and np.isclose(a.peak_excess or 0, b.peak_excess or 0)
