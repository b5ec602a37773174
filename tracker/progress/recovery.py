"""Redness-recovery curves: delta_ei against hours since the session.

Right after micro-needling the skin is red; it normally settles within hours to 1–2 days
(design §1). We fit an exponential decay towards the pre-session level,
    delta_ei(t) = pre + A·exp(−t/τ),
and report the time to 50 % and 90 % recovery (τ·ln 2, τ·ln 10). With too few points the
fit falls back to the two-point solution, then to a bound, and says which it used: a
number with no basis is worse than no number.

The decay is fitted to the *blood* excess, not to EI itself: EI grows sublinearly with
dermal blood (diffuse reflectance goes with the square root of absorption). On the physics
model the response falls from 8.3 to 5.0 EI per +1 % blood between +0.25 % and +4.5 %,
which is y = a·b/(1 + b/b0) with a·b0 ≈ 53 (light skin) to 64 (dark skin) EI. Fitting EI
directly made every recovery look ~20 % slower than it was; the excess is linearised with
z = y / (1 − y/EI_SATURATION) first, EI_SATURATION = 60 (between the two).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

NORMAL_T90_HOURS = 48.0  # about 0–48 h is normal (design §1)
SLOW_T90_HOURS = 72.0  # beyond 72 h above the client's own baseline is worth a look
TAU_BOUNDS = (0.25, 2000.0)
EI_SATURATION = 60.0


def linearise(excess: np.ndarray) -> np.ndarray:
    """EI above the pre-session level → a quantity proportional to extra blood."""
    return np.asarray(excess / np.maximum(1.0 - excess / EI_SATURATION, 0.05))


def delinearise(z: float) -> float:
    return z / (1.0 + z / EI_SATURATION)


Method = Literal["exponential", "two-point", "bound", "insufficient"]


@dataclass(frozen=True)
class RecoveryFit:
    method: Method
    pre_level: float | None
    peak_excess: float | None  # fitted redness above the pre-session level at t = 0, EI
    tau_hours: float | None
    tau_is_upper_bound: bool
    points: tuple[tuple[float, float], ...]  # (hours, delta_ei) used

    @property
    def t50_hours(self) -> float | None:
        return self.tau_hours * math.log(2) if self.tau_hours is not None else None

    @property
    def t90_hours(self) -> float | None:
        return self.tau_hours * math.log(10) if self.tau_hours is not None else None

    def compare_with_normal(self) -> str:
        t90 = self.t90_hours
        if t90 is None:
            return "unknown"
        if t90 <= NORMAL_T90_HOURS:
            return "normal"
        if self.tau_is_upper_bound:
            return "unknown"
        return "slow end of normal" if t90 <= SLOW_T90_HOURS else "slower than normal"

    def excess_at(self, hours: float) -> float | None:
        """Fitted redness above the pre-session level `hours` after the session, EI."""
        if self.peak_excess is None or self.tau_hours is None:
            return None
        z0 = self.peak_excess / max(1.0 - self.peak_excess / EI_SATURATION, 0.05)
        return delinearise(z0 * math.exp(-hours / self.tau_hours))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "pre_level": _r(self.pre_level),
            "peak_excess": _r(self.peak_excess),
            "tau_hours": _r(self.tau_hours),
            "tau_is_upper_bound": self.tau_is_upper_bound,
            "t50_hours": _r(self.t50_hours),
            "t90_hours": _r(self.t90_hours),
            "vs_normal": self.compare_with_normal(),
            "points": [[_r(t), _r(v)] for t, v in self.points],
        }


def fit_recovery(
    hours: Sequence[float], values: Sequence[float], pre_level: float | None, noise: float
) -> RecoveryFit:
    """Fit the decay of the points after a session (any order, duplicates and NaN allowed).

    `noise` is the smallest detectable change of delta_ei: excess below it is treated as
    "back to the pre-session level" when choosing the fallback.
    """
    points = _clean(hours, values)
    if pre_level is None or not math.isfinite(pre_level) or not points:
        return RecoveryFit("insufficient", pre_level, None, None, False, points)
    t = np.array([p[0] for p in points])
    excess = np.array([p[1] for p in points]) - pre_level
    above = excess > max(noise, 1e-9)
    z = linearise(excess)
    if above.sum() >= 2 and len(points) >= 3:
        fitted = _exponential(t, z)
        if fitted is not None:
            return RecoveryFit("exponential", pre_level, delinearise(fitted[0]), fitted[1], False, points)
    if above.sum() >= 2:
        first, last = np.flatnonzero(above)[[0, -1]]
        if t[last] > t[first] and z[first] > z[last]:
            tau = (t[last] - t[first]) / math.log(z[first] / z[last])
            peak = delinearise(z[first] * math.exp(t[first] / tau))
            return RecoveryFit("two-point", pre_level, peak, _clip_tau(tau), False, points)
    if above.sum() >= 1:
        # Red at one time, back within noise at a later one: τ is at most what would take
        # the excess down to the noise level by then.
        first = int(np.flatnonzero(above)[0])
        later_quiet = np.flatnonzero(~above & (t > t[first]))
        if later_quiet.size:
            quiet = int(later_quiet[0])
            tau = (t[quiet] - t[first]) / math.log(z[first] / float(linearise(np.array(max(noise, 1e-9)))))
            if tau > 0:
                peak = delinearise(z[first] * math.exp(t[first] / tau))
                return RecoveryFit("bound", pre_level, peak, _clip_tau(tau), True, points)
    return RecoveryFit("insufficient", pre_level, None, None, False, points)


def _exponential(t: np.ndarray, excess: np.ndarray) -> tuple[float, float] | None:
    start_tau = float(np.clip(np.median(t[t > 0]) if (t > 0).any() else 24.0, 1.0, 200.0))
    start_peak = float(max(excess.max(), 1e-3))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(
                lambda x, a, tau: a * np.exp(-x / tau),
                t,
                excess,
                p0=(start_peak, start_tau),
                bounds=((0.0, TAU_BOUNDS[0]), (np.inf, TAU_BOUNDS[1])),
                maxfev=2000,
            )
    except (RuntimeError, ValueError):
        return None
    peak, tau = float(params[0]), float(params[1])
    if not (math.isfinite(peak) and math.isfinite(tau)) or peak <= 0:
        return None
    return peak, tau


def _clean(hours: Sequence[float], values: Sequence[float]) -> tuple[tuple[float, float], ...]:
    """Finite points after the session, sorted; duplicate times averaged."""
    by_time: dict[float, list[float]] = {}
    for h, v in zip(hours, values, strict=True):
        if h is None or v is None:
            continue
        h, v = float(h), float(v)
        if math.isfinite(h) and math.isfinite(v) and h >= 0:
            by_time.setdefault(round(h, 6), []).append(v)
    # A single value is its own mean (np.mean costs ~5 µs a call, and most times have one).
    return tuple((h, vs[0] if len(vs) == 1 else float(np.mean(vs))) for h, vs in sorted(by_time.items()))


def _clip_tau(tau: float) -> float:
    return float(min(max(tau, TAU_BOUNDS[0]), TAU_BOUNDS[1]))


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)
