"""Progress of one client's course: the use case behind the CLI's `progress` and the
dashboards. One batched load (tracker/store/queries.py) gives the course's facts;
`assess` turns them into progress with the pure code of this package, no database."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from tracker.domain import Concern, PhotoKind
from tracker.imaging.quality import TREND_THRESHOLD
from tracker.progress import flags as rules
from tracker.progress.facts import CourseFacts
from tracker.progress.plans import CoursePlan, NextSession, next_session
from tracker.progress.recovery import RecoveryFit, fit_recovery
from tracker.progress.series import (
    METRICS,
    PhotoPoint,
    PhotoTable,
    Summary,
    pre_session_level,
    summarise,
    table,
)

SUMMARY_METRICS = (
    "delta_ei",
    "red_area_pct",
    "delta_l_star",
    "mel_index",
    "spot_area_pct",
    "texture_dog",
    "glcm_contrast",
    "line_density",
    "pore_density",
)
# Shown beside each session's settings: the change to the next session's starting point.
FOLLOWING_CHANGE_METRICS = ("delta_ei", "texture_dog", "spot_area_pct")


@dataclass
class SessionView:
    number: int
    at: datetime
    device: str
    needle_depth_mm: float | None
    passes: int | None
    serum: str
    price: float | None
    client_rating: int | None
    photos: int
    usable_photos: int
    change_that_followed: dict[str, float | None]
    recovery: RecoveryFit | None
    recovery_vs_earlier: str

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "at": self.at.isoformat(),
            "settings": {
                "device": self.device,
                "needle_depth_mm": self.needle_depth_mm,
                "passes": self.passes,
                "serum": self.serum,
            },
            "price": self.price,
            "client_rating": self.client_rating,
            "photos": self.photos,
            "usable_photos": self.usable_photos,
            "change_that_followed": self.change_that_followed,
            "recovery": self.recovery.to_json() if self.recovery else None,
            "recovery_vs_earlier": self.recovery_vs_earlier,
        }


@dataclass
class CourseProgress:
    client_id: int
    client_name: str
    concern: Concern
    plan: CoursePlan
    body_area: str
    today: date
    ita_deg: float | None
    ita_calibrated: bool
    next: NextSession
    sessions: list[SessionView]
    summaries: dict[str, Summary]  # by metric, as shown (rounded once)
    flags: list[rules.Flag]
    photos: PhotoTable = field(repr=False)

    @cached_property
    def table(self) -> pd.DataFrame:
        """The photos as a DataFrame, for charts, pages and reports; built when first read
        (the dashboard reads the NumPy columns and never needs it)."""
        return self.photos.to_frame()

    @property
    def typical_tau_hours(self) -> float | None:
        """The client's usual recovery time constant: the median over sessions with a fit
        (one noisy after-photo can throw a single session's fit off)."""
        taus = [
            s.recovery.tau_hours
            for s in self.sessions
            if s.recovery and s.recovery.tau_hours and s.recovery.method in ("exponential", "two-point")
        ]
        return float(statistics.median(taus)) if taus else None

    def to_json(self) -> dict[str, Any]:
        return {
            "client": {
                "id": self.client_id,
                "name": self.client_name,
                "ita_deg": _r(self.ita_deg),
                "ita_calibrated": self.ita_calibrated,
            },
            "course": {
                "concern": self.concern.value,
                "concern_label": self.concern.label,
                "body_area": self.body_area,
                "planned_sessions": self.plan.planned_sessions,
                "interval_weeks": self.plan.interval_weeks,
                "upkeep_interval_weeks": self.plan.upkeep_interval_weeks,
                "sessions_done": len(self.sessions),
                "next_session": {
                    "number": self.next.number,
                    "due": self.next.due.isoformat() if self.next.due else None,
                    "kind": self.next.kind,
                    "overdue_days": self.next.overdue_days,
                },
            },
            "today": self.today.isoformat(),
            "recovery": {
                "typical_tau_hours": _r(self.typical_tau_hours),
                "typical_t50_hours": _r(self.typical_tau_hours * math.log(2))
                if self.typical_tau_hours
                else None,
                "typical_t90_hours": _r(self.typical_tau_hours * math.log(10))
                if self.typical_tau_hours
                else None,
            },
            "metrics": {m: s.to_json() for m, s in self.summaries.items()},
            "sessions": [s.to_json() for s in self.sessions],
            "flags": [f.to_json() for f in self.flags],
            "photos": len(self.photos),
            "photos_usable": int(self.photos.usable.sum()),
        }


def assess(facts: CourseFacts, relative_error: float) -> CourseProgress:
    """The whole progress of one course from its facts: series, noise bands (with
    `relative_error` for a single baseline photo), recovery fits, flags and the next
    session. Pure: no database, no clock (`facts.today` is the day assessed)."""
    today = facts.today
    now = datetime.combine(today, time(23, 59))
    plan, intake, stored_ita = facts.plan, dict(facts.intake), facts.stored_ita
    ita_calibrated = facts.ita_calibrated
    session_rows = [
        (s.number, s.at, s.device, s.needle_depth_mm, s.passes, s.serum, s.price, s.client_rating)
        for s in facts.sessions
    ]
    session_at = {number: at for number, at, *_ in session_rows}
    start = min(session_at.values()) if session_at else now
    points = [
        PhotoPoint(
            photo_id=photo.photo_id,
            session=photo.session,
            kind=photo.kind,
            taken_at=photo.taken_at,
            session_at=session_at[photo.session],
            course_start=start,
            quality=photo.score or 0.0,
            usable=photo.score is not None
            and (photo.usable if photo.usable is not None else photo.score >= TREND_THRESHOLD),
            metrics=dict(photo.metrics),
        )
        for photo in facts.photos
    ]
    df = table(points)  # the rules read NumPy columns; the DataFrame is for charts and pages
    relative = relative_error
    summaries = {m: summarise(df, m, relative) for m in SUMMARY_METRICS}
    redness_band = summaries["delta_ei"].noise
    a_star_band = summarise(df, "delta_a_star", relative).noise
    # The client's agreed ITA (analysis keeps it, chart photos first); the plain median of
    # this course's usable photos only when none is stored yet.
    ita = stored_ita if stored_ita is not None else _median(df.metric("ita_deg")[df.usable])

    ordered = sorted(session_rows, key=lambda r: r[1])
    views: list[SessionView] = []
    found: list[rules.Flag] = []
    earlier_t90: list[float] = []
    for i, (number, at, device, depth, passes, serum, price, rating) in enumerate(ordered):
        next_at = ordered[i + 1][1] if i + 1 < len(ordered) else None
        fit = _recovery(df, number, at, next_at, redness_band.sdc)
        views.append(
            SessionView(
                number=number,
                at=at,
                device=device,
                needle_depth_mm=depth,
                passes=passes,
                serum=serum,
                price=float(price) if price is not None else None,
                client_rating=rating,
                photos=int((df.session == number).sum()),
                usable_photos=int(((df.session == number) & df.usable).sum()),
                change_that_followed=_following_change(df, number, ordered[i + 1][0] if next_at else None),
                recovery=fit,
                recovery_vs_earlier=_vs_earlier(fit, earlier_t90),
            )
        )
        if fit and fit.t90_hours is not None and fit.method in ("exponential", "two-point"):
            earlier_t90.append(fit.t90_hours)
        for flag in (
            rules.slow_recovery(df, number, at, next_at, redness_band, fit),
            rules.pih_watch(
                df,
                number,
                at,
                next_at,
                summaries["delta_l_star"].noise,
                redness_band,
                a_star_band,
                fit,
                ita,
                ita_calibrated,
            ),
        ):
            if flag:
                found.append(flag)

    upcoming = next_session(plan, [r[1] for r in session_rows if r[1] <= now], today)
    for flag in (
        rules.worsening(summaries["texture_dog"], "Texture is getting worse", df),
        rules.overdue(upcoming),
        rules.contraindications(intake),
    ):
        if flag:
            found.append(flag)
    past = [(r[0], r[1]) for r in ordered if r[1] <= now]
    found += rules.no_usable_photo(df, past, now)
    found += rules.missed_checkins(df, past, now)
    order = {"act": 0, "watch": 1, "info": 2}
    found.sort(key=lambda f: (order.get(f.severity, 3), f.session or 0))
    return CourseProgress(
        client_id=facts.client_id,
        client_name=facts.client_name,
        concern=facts.concern,
        plan=plan,
        body_area=facts.body_area,
        today=today,
        ita_deg=ita,
        ita_calibrated=ita_calibrated,
        next=upcoming,
        sessions=views,
        summaries={m: s.shown() for m, s in summaries.items()},
        flags=found,
        photos=df,
    )


def _recovery(
    df: PhotoTable, number: int, at: datetime, next_at: datetime | None, noise: float
) -> RecoveryFit | None:
    mask = (
        (df.session == number)
        & ((df.kind == PhotoKind.AFTER.value) | (df.kind == PhotoKind.CHECKIN.value))
        & df.usable
        & (df.taken_at >= at)
    )
    if next_at is not None:
        mask &= df.taken_at < next_at
    if not mask.any():
        return None
    pre = pre_session_level(df, number, "delta_ei")
    return fit_recovery(
        df.hours_since_session[mask].tolist(), df.metric("delta_ei")[mask].tolist(), pre, noise
    )


def _vs_earlier(fit: RecoveryFit | None, earlier_t90: list[float]) -> str:
    if fit is None or fit.t90_hours is None or fit.tau_is_upper_bound or not earlier_t90:
        return "no earlier session to compare" if not earlier_t90 else "not enough points"
    usual = statistics.median(earlier_t90)
    ratio = fit.t90_hours / usual if usual > 0 else math.inf
    if ratio > 1.5:
        return f"{ratio:.1f}× slower than earlier sessions ({usual:.0f} h)"
    if ratio < 1 / 1.5:
        return f"{1 / ratio:.1f}× faster than earlier sessions ({usual:.0f} h)"
    return f"similar to earlier sessions ({usual:.0f} h)"


def _following_change(df: PhotoTable, number: int, next_number: int | None) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for metric in FOLLOWING_CHANGE_METRICS:
        start = pre_session_level(df, number, metric)
        end = pre_session_level(df, next_number, metric) if next_number is not None else None
        out[metric] = _r(end - start) if start is not None and end is not None else None
    return out


def _median(values: NDArray[np.float64]) -> float | None:
    clean = values[~np.isnan(values)]
    return float(np.median(clean)) if len(clean) else None


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


__all__ = ["METRICS", "CourseProgress", "assess"]
