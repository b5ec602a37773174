"""Series of measurements over a course: baseline, change, noise band and trend.

A practitioner needs to know whether a change is real. Every change is compared with the
smallest detectable change (SDC = 1.96·√2·SEM, design §3.7), estimated from the client's
repeat baseline photos, with a floor so that three lucky repeats cannot make noise look
like progress. Only points whose capture quality passes the gate enter baselines, changes
and trends; the others stay in the table, marked, so nothing is hidden.

Pure functions over plain data; no database. The rules read a `PhotoTable` (NumPy
columns): a course has a few dozen photos and the rules look at them a few hundred times
per client, so per-call pandas overhead (~50–200 µs a column access) made a pandas
DataFrame most of the dashboard's cold cost. The DataFrame (`frame`) is still what charts,
reports and pages read, and every rule also takes one, converting it first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

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


FIXED_COLUMNS = (
    "photo_id",
    "session",
    "kind",
    "taken_at",
    "hours_since_session",
    "days_since_start",
    "quality",
    "usable",
)


@dataclass(frozen=True, eq=False)
class PhotoTable:
    """The photos of a course as NumPy columns, one entry per photo, in `frame`'s order
    (capture time, then photo id). `metrics` holds one float column per metric (NaN where
    missing); `taken_at` holds the datetimes themselves, so comparisons with session times
    stay exact.

    The columns are read-only and never change, so the rules' repeated questions (which
    photos are usable before-photos of a metric, the level before a session: ~100 a client)
    are answered once per table and remembered in `_memo`."""

    photo_id: NDArray[np.int64]
    session: NDArray[np.int64]
    kind: NDArray[np.object_]  # PhotoKind values (str)
    taken_at: NDArray[np.object_]  # datetime
    hours_since_session: NDArray[np.float64]
    days_since_start: NDArray[np.float64]
    quality: NDArray[np.float64]
    usable: NDArray[np.bool_]
    metrics: dict[str, NDArray[np.float64]]
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for column in (*self._fixed_columns(), *self.metrics.values()):
            column.flags.writeable = False

    def _fixed_columns(self) -> tuple[NDArray[Any], ...]:
        return (
            self.photo_id,
            self.session,
            self.kind,
            self.taken_at,
            self.hours_since_session,
            self.days_since_start,
            self.quality,
            self.usable,
        )

    def __len__(self) -> int:
        return len(self.photo_id)

    def metric(self, name: str) -> NDArray[np.float64]:
        """A metric's column; all NaN for a metric no photo has."""
        found = self.metrics.get(name)
        return found if found is not None else np.full(len(self), np.nan)

    def seconds_after(self, moment: datetime) -> NDArray[np.float64]:
        """Seconds from `moment` to each photo (timedelta.total_seconds, which is what a
        pandas Timedelta column gives too, so thresholds cut exactly where they did)."""
        return np.array([(t - moment).total_seconds() for t in self.taken_at], dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """The table as `frame` returns it."""
        names = sorted(self.metrics)
        if not len(self):
            return pd.DataFrame([], columns=[*FIXED_COLUMNS, *names])
        return pd.DataFrame(
            {
                "photo_id": self.photo_id,
                "session": self.session,
                "kind": self.kind,
                "taken_at": self.taken_at,
                "hours_since_session": self.hours_since_session,
                "days_since_start": self.days_since_start,
                "quality": self.quality,
                "usable": self.usable,
                **{k: self.metrics[k] for k in names},
            }
        )

    @classmethod
    def of(cls, data: pd.DataFrame | PhotoTable) -> PhotoTable:
        """The table itself, or the columns of a DataFrame shaped like `frame`'s (any index;
        rows are taken in their order)."""
        if isinstance(data, PhotoTable):
            return data
        return cls(
            photo_id=data["photo_id"].to_numpy(np.int64),
            session=data["session"].to_numpy(np.int64),
            kind=data["kind"].to_numpy(dtype=object),
            taken_at=_objects(list(data["taken_at"])),
            hours_since_session=data["hours_since_session"].to_numpy(float),
            days_since_start=data["days_since_start"].to_numpy(float),
            quality=data["quality"].to_numpy(float),
            usable=data["usable"].to_numpy(bool),
            metrics={str(k): data[k].to_numpy(float) for k in data.columns if k not in FIXED_COLUMNS},
        )


def table(points: Sequence[PhotoPoint]) -> PhotoTable:
    """One entry per photo, sorted by capture time, with hours since its session and days
    since the course started. Every metric any photo has, and every one of METRICS, has a
    column; missing values are NaN."""
    names = sorted({k for p in points for k in p.metrics} | set(METRICS))
    ordered = sorted(points, key=lambda p: (p.taken_at, p.photo_id))
    return PhotoTable(
        photo_id=np.array([p.photo_id for p in ordered], dtype=np.int64),
        session=np.array([p.session for p in ordered], dtype=np.int64),
        kind=np.array([p.kind.value for p in ordered], dtype=object),
        taken_at=_objects([p.taken_at for p in ordered]),
        hours_since_session=np.array(
            [(p.taken_at - p.session_at).total_seconds() / 3600.0 for p in ordered], dtype=float
        ),
        days_since_start=np.array(
            [(p.taken_at - p.course_start).total_seconds() / 86400.0 for p in ordered], dtype=float
        ),
        quality=np.array([p.quality for p in ordered], dtype=float),
        usable=np.array([bool(p.usable) for p in ordered], dtype=bool),
        metrics={k: _floats([p.metrics.get(k) for p in ordered]) for k in names},
    )


def frame(points: Sequence[PhotoPoint]) -> pd.DataFrame:
    """One row per photo, sorted by capture time, with hours since its session and days
    since the course started. Missing metrics are NaN."""
    return table(points).to_frame()


# What the rules accept: the table, or a DataFrame shaped like `frame`'s (pages and tests).
Photos: TypeAlias = pd.DataFrame | PhotoTable


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


def baseline(df: Photos, metric: str) -> Baseline:
    """Mean of the usable before-photos of the first session that has any (normally the
    repeat photos of session 1); the first usable before-photo otherwise."""
    t = PhotoTable.of(df)
    ok = _usable_before(t, metric)
    if not ok.any():
        return Baseline(None, (), ())
    first = ok & (t.session == t.session[ok].min())
    values = tuple(t.metric(metric)[first].tolist())
    ids = tuple(t.photo_id[first].tolist())
    return Baseline(float(np.mean(values)), values, ids)


def usable_before(df: Photos, metric: str) -> NDArray[np.bool_]:
    """Rows that are usable before-photos with a value of `metric`, as a plain mask."""
    return _usable_before(PhotoTable.of(df), metric).copy()


def _usable_before(t: PhotoTable, metric: str) -> NDArray[np.bool_]:
    """`usable_before`, remembered by the table (read-only)."""
    key = ("usable_before", metric)
    if key not in t._memo:
        mask = (t.kind == PhotoKind.BEFORE.value) & t.usable & np.isfinite(t.metric(metric))
        mask.flags.writeable = False
        t._memo[key] = mask
    found: NDArray[np.bool_] = t._memo[key]
    return found


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
        return self.shown().to_json()

    def shown(self) -> Summary:
        """The summary as people and reports see it: rounded to 4 decimals once, here."""
        info = METRICS.get(self.metric)
        return Summary(
            metric=self.metric,
            label=info.label if info else self.metric,
            unit=info.unit if info else "",
            better=info.better if info else None,
            baseline=_r(self.baseline.value),
            baseline_photos=self.baseline.photo_ids,
            sdc=_r(self.noise.sdc),
            sem=_r(self.noise.sem),
            noise_source=self.noise.source,
            latest=_r(self.latest),
            latest_photo_id=self.latest_photo_id,
            latest_session=self.latest_session,
            change=_r(self.change),
            change_pct=_r(self.change_pct),
            status=self.label,
            trend_per_30_days=_r(self.trend_per_30_days),
            trend_points=self.trend_points,
        )


@dataclass(frozen=True)
class Summary:
    """One metric's change over the course, as shown: baseline, latest, change against the
    noise band (`sdc`, the smallest detectable change) and its verdict (`status`)."""

    metric: str
    label: str
    unit: str
    better: Better
    baseline: float | None
    baseline_photos: tuple[int, ...]
    sdc: float | None
    sem: float | None
    noise_source: str
    latest: float | None
    latest_photo_id: int | None
    latest_session: int | None
    change: float | None
    change_pct: float | None
    status: Label | None
    trend_per_30_days: float | None
    trend_points: int

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "label": self.label,
            "unit": self.unit,
            "better": self.better,
            "baseline": self.baseline,
            "baseline_photos": list(self.baseline_photos),
            "noise_band": {"sdc": self.sdc, "sem": self.sem, "source": self.noise_source},
            "latest": self.latest,
            "latest_photo_id": self.latest_photo_id,
            "latest_session": self.latest_session,
            "change": self.change,
            "change_pct": self.change_pct,
            "status": self.status,
            "trend_per_30_days": self.trend_per_30_days,
            "trend_points": self.trend_points,
        }


def summarise(df: Photos, metric: str, relative_error: float = DEFAULT_RELATIVE_ERROR) -> MetricSummary:
    """Change from baseline to the latest usable before-photo, labelled against the noise
    band, and the trend of all usable before-photos across the course."""
    t = PhotoTable.of(df)
    base = baseline(t, metric)
    band = noise_band(base, metric, relative_error)
    info = METRICS.get(metric, MetricInfo(metric, "", None, 0.0, True))
    ok = _usable_before(t, metric)
    values = t.metric(metric)[ok]
    days = t.days_since_start[ok]
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
    if len(set(days.tolist())) >= 3:
        slope = theil_sen_slope(values, days)
        slope = slope * 30.0 if math.isfinite(slope) else None
    return MetricSummary(
        metric=metric,
        baseline=base,
        noise=band,
        latest=latest,
        latest_photo_id=int(t.photo_id[last]) if last is not None else None,
        latest_session=int(t.session[last]) if last is not None else None,
        change=change,
        change_pct=change_pct,
        label=status,
        trend_per_30_days=slope,
        trend_points=len(values),
    )


def theil_sen_slope(y: NDArray[np.float64], x: NDArray[np.float64]) -> float:
    """The median of the slopes between all pairs of points with different x: the slope of
    `scipy.stats.theilslopes`, computed the same way, without its confidence interval and
    argument checks (~0.5 ms a call, ten calls per client). Needs two distinct x."""
    dx = x[:, np.newaxis] - x
    dy = y[:, np.newaxis] - y
    pairs = dx > 0
    slopes = dy[pairs] / dx[pairs]
    slopes.sort()
    return float(np.median(slopes))


def pre_session_level(df: Photos, session: int, metric: str) -> float | None:
    """The metric just before a session: its usable before-photos, else the latest usable
    before-photo of an earlier session."""
    t = PhotoTable.of(df)
    key = ("pre_session_level", session, metric)
    if key not in t._memo:
        t._memo[key] = _pre_session_level(t, session, metric)
    found: float | None = t._memo[key]
    return found


def _pre_session_level(t: PhotoTable, session: int, metric: str) -> float | None:
    ok = _usable_before(t, metric)
    values = t.metric(metric)
    own = ok & (t.session == session)
    if own.any():
        return float(values[own].mean())
    earlier = ok & (t.session < session)
    return float(values[earlier][-1]) if earlier.any() else None


def _objects(values: Sequence[Any]) -> NDArray[np.object_]:
    """A 1-D object array of `values` (np.array would look inside sequence-like values)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _floats(values: Sequence[object]) -> NDArray[np.float64]:
    """`_finite` of each value: in one NumPy conversion when all are plain numbers or None
    (what analysis stores), value by value otherwise."""
    if not all(v is None or type(v) is float or type(v) is int for v in values):
        return np.array([_finite(v) for v in values], dtype=float)
    column = np.array(values, dtype=float)  # None becomes NaN
    column[~np.isfinite(column)] = np.nan
    return column


def _finite(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)
