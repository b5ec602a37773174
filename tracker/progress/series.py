"""Series of measurements over a course: baseline, change, noise band and trend.

A practitioner needs to know whether a change is real. Every change is compared with the
smallest detectable change (SDC = 1.96·√2·SEM, design §3.7), estimated from the client's
repeat baseline photos, with a floor so that three lucky repeats cannot make noise look
like progress. Only points whose capture quality passes the gate enter baselines, changes
and trends; the others stay in the table, marked, so nothing is hidden.

Pure functions over plain data and pandas; no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import theilslopes

from tracker.domain import PhotoKind

Better = Literal["lower", "higher"] | None
Label = Literal["within noise", "improved", "worsened"]


@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: str
    better: Better  # which direction is progress; None = no direction (e.g. skin tone)
    floor: float  # smallest SDC ever used, in the metric's unit (repeat-capture noise seen
    # on the renderer's repeat photos, rounded up)
    relative: bool  # whether "% change" means anything (not for values around zero)


METRICS: dict[str, MetricInfo] = {
    "delta_ei": MetricInfo("Redness vs untreated skin", "EI", "lower", 0.8, False),
    "red_area_pct": MetricInfo("Red area", "%", "lower", 3.0, False),
    "delta_a_star": MetricInfo("Redness (a*) vs untreated skin", "Δa*", "lower", 0.8, False),
    "delta_l_star": MetricInfo("Lightness vs untreated skin", "ΔL*", "higher", 0.8, False),
    "mel_index": MetricInfo("Melanin index", "", "lower", 0.3, True),
    "spot_area_pct": MetricInfo("Brown-spot area", "%", "lower", 2.0, False),
    "texture_dog": MetricInfo("Fine texture (0.1–0.4 mm)", "", "lower", 0.0, True),
    "glcm_contrast": MetricInfo("Texture contrast", "", "lower", 0.0, True),
    "line_density": MetricInfo("Fine lines", "mm/cm²", "lower", 0.0, True),
    "pore_density": MetricInfo("Visible pores", "/cm²", "lower", 0.0, True),
    "ita_deg": MetricInfo("Skin tone angle (ITA)", "°", None, 3.0, False),
}
# Relative repeat error assumed when a metric has a single baseline photo (booth systems
# re-measure with 2–6 % variation; phone photos do worse). A setting in Settings.
DEFAULT_RELATIVE_ERROR = 0.08


@dataclass(frozen=True)
class PhotoPoint:
    """One analysed photo, as the progress code sees it."""

    photo_id: int
    session: int
    kind: PhotoKind
    taken_at: datetime
    session_at: datetime
    course_start: datetime
    quality: float
    usable: bool
    metrics: dict[str, float | None] = field(default_factory=dict)


def frame(points: Sequence[PhotoPoint]) -> pd.DataFrame:
    """One row per photo, sorted by capture time, with hours since its session and days
    since the course started. Missing metrics are NaN."""
    names = sorted({k for p in points for k in p.metrics} | set(METRICS))
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
            **{k: _finite(p.metrics.get(k)) for k in names},
        }
        for p in points
    ]
    columns = ["photo_id", "session", "kind", "taken_at", "hours_since_session", "days_since_start"]
    df = pd.DataFrame(rows, columns=[*columns, "quality", "usable", *names])
    return df.sort_values(["taken_at", "photo_id"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class NoiseBand:
    sdc: float
    sem: float | None
    source: str  # how the band was obtained, for the evidence shown to people

    def to_json(self) -> dict[str, Any]:
        return {"sdc": _r(self.sdc), "sem": _r(self.sem), "source": self.source}


@dataclass(frozen=True)
class Baseline:
    value: float | None
    values: tuple[float, ...]  # the repeat photos it is the mean of
    photo_ids: tuple[int, ...]


def baseline(df: pd.DataFrame, metric: str) -> Baseline:
    """Mean of the usable before-photos of the first session that has any (normally the
    repeat photos of session 1); the first usable before-photo otherwise."""
    ok = usable_before(df, metric)
    if not ok.any():
        return Baseline(None, (), ())
    sessions = df["session"].to_numpy()
    first = ok & (sessions == sessions[ok].min())
    values = tuple(float(v) for v in df[metric].to_numpy(float)[first])
    ids = tuple(int(i) for i in df["photo_id"].to_numpy()[first])
    return Baseline(float(np.mean(values)), values, ids)


def usable_before(df: pd.DataFrame, metric: str) -> NDArray[np.bool_]:
    """Rows that are usable before-photos with a value of `metric`, as a plain mask.

    Why numpy and not a filtered DataFrame: a course has a few dozen rows, and these masks
    are built ~100 times per client; taking a filtered copy of every column each time made
    pandas overhead most of the dashboard's cold cost."""
    kinds = df["kind"].to_numpy(dtype=object)
    values = df[metric].to_numpy(float) if metric in df else np.full(len(df), np.nan)
    mask: NDArray[np.bool_] = (
        (kinds == PhotoKind.BEFORE.value) & df["usable"].to_numpy(bool) & np.isfinite(values)
    )
    return mask


def noise_band(base: Baseline, metric: str, relative_error: float = DEFAULT_RELATIVE_ERROR) -> NoiseBand:
    info = METRICS.get(metric, MetricInfo(metric, "", None, 0.0, True))
    if len(base.values) >= 2:
        sem = float(np.std(base.values, ddof=1))
        sdc, source = 1.96 * math.sqrt(2) * sem, f"{len(base.values)} repeat baseline photos"
    else:
        sem = None
        scale = abs(base.value) if base.value is not None and info.relative else 0.0
        sdc, source = (
            relative_error * scale,
            f"assumed {100 * relative_error:g} % repeat error (one baseline photo)",
        )
    if sdc < info.floor:
        sdc, source = info.floor, f"{source}; raised to the floor of {info.floor:g} {info.unit}".rstrip()
    return NoiseBand(sdc=sdc, sem=sem, source=source)


def label(change: float, band: NoiseBand, better: Better) -> Label | None:
    if not math.isfinite(change):
        return None
    if abs(change) <= band.sdc:
        return "within noise"
    if better is None:
        return None
    return "improved" if (change < 0) == (better == "lower") else "worsened"


@dataclass(frozen=True)
class MetricSummary:
    metric: str
    baseline: Baseline
    noise: NoiseBand
    latest: float | None
    latest_photo_id: int | None
    latest_session: int | None
    change: float | None
    change_pct: float | None
    label: Label | None
    trend_per_30_days: float | None  # Theil–Sen slope of the before-photos
    trend_points: int

    def to_json(self) -> dict[str, Any]:
        info = METRICS.get(self.metric)
        return {
            "metric": self.metric,
            "label": info.label if info else self.metric,
            "unit": info.unit if info else "",
            "better": info.better if info else None,
            "baseline": _r(self.baseline.value),
            "baseline_photos": list(self.baseline.photo_ids),
            "noise_band": self.noise.to_json(),
            "latest": _r(self.latest),
            "latest_photo_id": self.latest_photo_id,
            "latest_session": self.latest_session,
            "change": _r(self.change),
            "change_pct": _r(self.change_pct),
            "status": self.label,
            "trend_per_30_days": _r(self.trend_per_30_days),
            "trend_points": self.trend_points,
        }


def summarise(df: pd.DataFrame, metric: str, relative_error: float = DEFAULT_RELATIVE_ERROR) -> MetricSummary:
    """Change from baseline to the latest usable before-photo, labelled against the noise
    band, and the trend of all usable before-photos across the course."""
    base = baseline(df, metric)
    band = noise_band(base, metric, relative_error)
    info = METRICS.get(metric, MetricInfo(metric, "", None, 0.0, True))
    ok = usable_before(df, metric)
    values = df[metric].to_numpy(float)[ok] if ok.any() else np.array([], float)
    days = df["days_since_start"].to_numpy(float)[ok]
    last = int(np.flatnonzero(ok)[-1]) if ok.any() else None
    latest = float(values[-1]) if last is not None else None
    change = change_pct = None
    status: Label | None = None
    if latest is not None and base.value is not None:
        change = latest - base.value
        if info.relative and abs(base.value) > 1e-9:
            change_pct = 100.0 * change / abs(base.value)
        status = label(change, band, info.better)
    slope = None
    if len(np.unique(days)) >= 3:
        slope = float(theilslopes(values, days)[0])
        slope = slope * 30.0 if math.isfinite(slope) else None
    return MetricSummary(
        metric=metric,
        baseline=base,
        noise=band,
        latest=latest,
        latest_photo_id=int(df["photo_id"].iloc[last]) if last is not None else None,
        latest_session=int(df["session"].iloc[last]) if last is not None else None,
        change=change,
        change_pct=change_pct,
        label=status,
        trend_per_30_days=slope,
        trend_points=len(values),
    )


def pre_session_level(df: pd.DataFrame, session: int, metric: str) -> float | None:
    """The metric just before a session: its usable before-photos, else the latest usable
    before-photo of an earlier session."""
    ok = usable_before(df, metric)
    sessions = df["session"].to_numpy()
    values = df[metric].to_numpy(float)
    own = ok & (sessions == session)
    if own.any():
        return float(values[own].mean())
    earlier = ok & (sessions < session)
    return float(values[earlier][-1]) if earlier.any() else None


def _finite(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)
