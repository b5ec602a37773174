"""Flags for practitioners: whom to look at today, and why.

Each flag carries its evidence in words a practitioner can check against the photos
(which photo, what value, against which level and noise band), because a flag without a
reason is either ignored or over-trusted. Photos are named as the practitioner knows them
("session 2, day-3 check-in, 12 Mar"), never by internal id; the ids go in `data["photo_ids"]`
so a page can open the photo. Titles and evidence use the glossary's plain words and units,
rounded to the noise band ("margin of error"), with the technical term in brackets where a
practitioner may want it ("Darkening watch (PIH)"); `code`, `key` and `data` stay technical
because practitioners' reviews are stored against the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tracker.domain import Contraindication, PhotoKind
from tracker.glossary import fmt, fmt_quality, label, photo_kind_words, short_label
from tracker.progress.plans import NextSession
from tracker.progress.recovery import NORMAL_T90_HOURS, SLOW_T90_HOURS, RecoveryFit
from tracker.progress.series import MetricSummary, NoiseBand, Photos, PhotoTable, pre_session_level

# A day-3 check-in is "about 72 h": taken from 60 h on it counts as after 72 h.
SLOW_RECOVERY_FROM_HOURS = 60.0
# PIH watch window: weeks 1–6 after a session (design §3.2).
PIH_WINDOW_DAYS = (6.5, 42.0)
# Darkening of the treated zone against reference skin (drop of delta_l_star) that is worth
# a look; tighter for darker skin, where PIH is most likely (design §1, §3.2).
PIH_THRESHOLD_L = {"dark": 1.5, "light": 2.5}
PIH_DARK_ITA = 28.0
# Expected recovery check-ins and when each counts as taken (hours after the session).
CHECKINS = {"day 1": (12.0, 48.0), "day 3": (48.0, 120.0), "day 7": (120.0, 240.0)}


@dataclass(frozen=True)
class Flag:
    code: str
    title: str
    severity: str  # "act" | "watch" | "info"
    evidence: list[str]
    session: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The flag's identity across recomputation: the same concern about the same thing
        gives the same key, so a practitioner's acknowledgement or resolution stays attached
        to it (tracker/app/flags.py). A new session, a new due date, a different intake answer
        or a later worse photo is a new thing to look at, so it gets a new key."""
        if self.session is not None:
            return f"{self.code}:s{self.session}"
        if self.code == "overdue_session":
            return overdue_key(str(self.data.get("due", "")))
        if self.code == "contraindication":
            return contraindication_key(self.data.get("answers", []))
        if "latest_session" in self.data:
            return f"{self.code}:latest s{self.data['latest_session']}"
        return self.code

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "code": self.code,
            "title": self.title,
            "severity": self.severity,
            "session": self.session,
            "evidence": self.evidence,
            "data": self.data,
        }


def contraindication_key(answers: Iterable[object]) -> str:
    """The key of the intake's contraindication flag for these 'yes' answers: resolving it
    is how a practitioner clears the contraindications for new sessions (tracker.app.courses)."""
    return "contraindication:" + ",".join(sorted(str(a) for a in answers if a))


def overdue_key(due_iso: str) -> str:
    """The key of the overdue-session flag for a due date (the dashboard derives this flag
    at view time from the stored due date, and must name it as the assessment does)."""
    return f"overdue_session:{due_iso}"


def photo_words(t: PhotoTable, i: int) -> str:
    """A photo as the practitioner knows it: "session 2, day-3 check-in, 12 Mar"."""
    what = photo_kind_words(str(t.kind[i]), float(t.hours_since_session[i]))
    taken: datetime = t.taken_at[i]
    return f"session {int(t.session[i])}, {what}, {taken.day} {taken:%b}"


def _photo_ids(t: PhotoTable, mask: NDArray[np.bool_]) -> list[int]:
    return [int(p) for p in t.photo_id[mask]]


def slow_recovery(
    df: Photos,
    session: int,
    session_at: datetime,
    next_at: datetime | None,
    band: NoiseBand,
    fit: RecoveryFit | None,
) -> Flag | None:
    """Redness still above the pre-session level plus the noise band from ~72 h on."""
    t = PhotoTable.of(df)
    pre = pre_session_level(t, session, "delta_ei")
    if pre is None:
        return None
    ei = t.metric("delta_ei")
    red = (
        _after(t, session, session_at, next_at)
        & (t.hours_since_session >= SLOW_RECOVERY_FROM_HOURS)
        & t.usable
        & (ei > pre + band.sdc)  # NaN compares False
    )
    if not red.any():
        return None
    if fit is not None and fit.t90_hours is not None and fit.t90_hours <= SLOW_T90_HOURS:
        # The redness decayed at a normal pace and then sat at a new level: not slow
        # recovery (on the renderer, post-inflammatory darkening raises EI like this).
        return None
    sdc = band.sdc
    evidence = [
        f"{photo_words(t, i)} ({t.hours_since_session[i]:.0f} h after): redness {_ei(ei[i], sdc)}, "
        f"above the level before the session ({_ei(pre, sdc, unit=False)}) by more than the "
        f"margin of error ({_ei(sdc, sdc, unit=False)})"
        for i in np.flatnonzero(red).tolist()
    ]
    if fit is not None and fit.t90_hours is not None:
        evidence.append(
            f"recovery time (90 % of the redness gone, T90) {fit.t90_hours:.0f} hours; "
            f"normal is up to {NORMAL_T90_HOURS:g} hours"
        )
    return Flag(
        code="slow_recovery",
        title=f"Redness slow to settle after session {session}",
        severity="act" if (fit and fit.t90_hours and fit.t90_hours > 2 * SLOW_T90_HOURS) else "watch",
        evidence=evidence,
        session=session,
        data={"pre_level": round(pre, 2), "noise_band": round(band.sdc, 2), "photo_ids": _photo_ids(t, red)},
    )


def pih_watch(
    df: Photos,
    session: int,
    session_at: datetime,
    next_at: datetime | None,
    band: NoiseBand,
    ei_band: NoiseBand,
    a_star_band: NoiseBand,
    fit: RecoveryFit | None,
    ita_deg: float | None,
    ita_calibrated: bool = False,
) -> Flag | None:
    """Darkening of the treated zone against reference skin in weeks 1–6 after a session,
    beyond a threshold that is tighter below ITA 28° and never inside the noise band.

    The looser light-skin threshold needs a skin tone measured under a colour chart: an ITA
    from home photos can be 20–40° off (issue 9), and a dark-skinned client read as light
    would be watched least where PIH is most likely. Without one, the tighter threshold."""
    t = PhotoTable.of(df)
    pre = pre_session_level(t, session, "delta_l_star")
    if pre is None:
        return None
    light = ita_deg is not None and ita_calibrated and ita_deg >= PIH_DARK_ITA
    dark = not light
    threshold = max(PIH_THRESHOLD_L["dark" if dark else "light"], band.sdc)
    seconds = t.seconds_after(session_at)
    days = seconds / 86400.0
    mask = (
        (days >= PIH_WINDOW_DAYS[0])
        & (days <= PIH_WINDOW_DAYS[1])
        & t.usable
        & np.isfinite(t.metric("delta_l_star"))
        & (t.kind != PhotoKind.AFTER.value)
    )
    if next_at is not None:
        mask &= t.taken_at < next_at  # the next session starts its own watch
    # Red skin is darker too: only photos taken once the session's redness had resolved can
    # show pigment. The recovery curve says when that was (a slow recoverer is still red on
    # day 7); without a curve, a* is the check. EI is not: extra melanin raises EI as well,
    # so it would hide the very darkening we look for.
    if fit is not None and fit.tau_hours is not None and not fit.tau_is_upper_bound:
        hours = seconds / 3600.0
        for i in np.flatnonzero(mask).tolist():
            residual = fit.excess_at(float(hours[i])) or 0.0
            mask[i] = residual <= ei_band.sdc
    else:
        pre_a = pre_session_level(t, session, "delta_a_star")
        if pre_a is not None:
            a_star = t.metric("delta_a_star")
            mask &= np.isnan(a_star) | (a_star <= pre_a + a_star_band.sdc)
    if not mask.any():
        return None
    darkening = pre - float(t.metric("delta_l_star")[mask].mean())
    if darkening <= threshold:
        return None
    photos = int(mask.sum())
    evidence = [
        f"treated skin is {fmt(darkening, 'delta_l_star', band=band.sdc)} darker than untreated skin "
        f"nearby, compared with before session {session} (lightness, ΔL*; average of {photos} "
        f"photo{'s' if photos != 1 else ''} in weeks 1–6); a look is due above "
        f"{fmt(threshold, 'delta_l_star', band=band.sdc, unit=False)} for "
        f"{_tone_words(ita_deg, ita_calibrated)}; margin of error "
        f"{fmt(band.sdc, 'delta_l_star', band=band.sdc, unit=False)}"
    ]
    l_stars, mel_indices = t.metric("delta_l_star"), t.metric("mel_index")
    for i in np.flatnonzero(mask).tolist():
        mel = (
            f", {short_label('mel_index')} {fmt(mel_indices[i], 'mel_index')}"
            if not np.isnan(mel_indices[i])
            else ""
        )
        evidence.append(
            f"{photo_words(t, i)}: {short_label('delta_l_star')} "
            f"{fmt(l_stars[i], 'delta_l_star', band=band.sdc)}{mel}"
        )
    return Flag(
        code="pih_watch",
        title=f"Darkening watch (PIH) after session {session}",
        severity="act",
        evidence=evidence,
        session=session,
        data={
            "darkening_l": round(darkening, 2),
            "threshold": threshold,
            "ita_deg": ita_deg,
            "ita_calibrated": ita_calibrated,
            "photo_ids": _photo_ids(t, mask),
        },
    )


def _tone_words(ita_deg: float | None, calibrated: bool) -> str:
    if ita_deg is None:
        return "a skin tone not measured yet (the sensitive level)"
    if not calibrated and ita_deg >= PIH_DARK_ITA:
        return f"a skin tone of {ita_deg:.0f}° (ITA) measured without a colour chart (the sensitive level)"
    if ita_deg < PIH_DARK_ITA:
        return f"deeper skin (ITA below {PIH_DARK_ITA:g}°)"
    return f"lighter skin (ITA {PIH_DARK_ITA:g}° or more)"


def _ei(value: float, band: float, *, unit: bool = True) -> str:
    """A redness (EI) number rounded to the margin of error, with the glossary's unit."""
    return fmt(value, "delta_ei", band=band, unit=unit)


def worsening(summary: MetricSummary, title: str, df: Photos | None = None) -> Flag | None:
    """The metric's latest value is worse than its baseline beyond the noise band. With the
    photos (`df`), the latest photo is named by session, kind and date."""
    if summary.label != "worsened" or summary.change is None or summary.baseline.value is None:
        return None
    latest = f"session {summary.latest_session}"
    photo_ids = [int(summary.latest_photo_id)] if summary.latest_photo_id is not None else []
    if df is not None and photo_ids:
        t = PhotoTable.of(df)
        found = np.flatnonzero(t.photo_id == photo_ids[0])
        if len(found):
            latest = photo_words(t, int(found[0]))
    m, sdc = summary.metric, summary.noise.sdc
    return Flag(
        code=f"worsening_{summary.metric}",
        title=title,
        severity="watch",
        evidence=[
            f"{label(m)}: {fmt(summary.baseline.value, m, band=sdc)} at the start → "
            f"{fmt(summary.latest, m, band=sdc)} now ({latest}); a change of "
            f"{fmt(summary.change, m, band=sdc, signed=True)}, more than the margin of error "
            f"{fmt(sdc, m, band=sdc)} ({summary.noise.source})"
        ],
        data={"latest_session": summary.latest_session, "photo_ids": photo_ids},
    )


def no_usable_photo(df: Photos, sessions: Sequence[tuple[int, datetime]], now: datetime) -> list[Flag]:
    t = PhotoTable.of(df)
    flags = []
    for number, at in sessions:
        if at > now:
            continue
        rows = t.session == number
        if t.usable[rows].any():
            continue
        count = int(rows.sum())
        why = (
            "no photos uploaded"
            if not count
            else f"{count} photo{'s' if count != 1 else ''}, none good enough to measure "
            f"(best photo quality {fmt_quality(float(t.quality[rows].max()))})"
        )
        flags.append(
            Flag(
                "no_usable_photo",
                f"No usable photo for session {number}",
                "watch",
                [why],
                session=number,
                data={"photo_ids": _photo_ids(t, rows)},
            )
        )
    return flags


def missed_checkins(df: Photos, sessions: Sequence[tuple[int, datetime]], now: datetime) -> list[Flag]:
    t = PhotoTable.of(df)
    flags = []
    for i, (number, at) in enumerate(sessions):
        next_at = sessions[i + 1][1] if i + 1 < len(sessions) else None
        hours = t.hours_since_session[_after(t, number, at, next_at)]
        missing = [
            name
            for name, (lo, hi) in CHECKINS.items()
            if now >= at + timedelta(hours=hi) and not ((hours >= lo) & (hours < hi)).any()
        ]
        if missing:
            flags.append(
                Flag(
                    "missed_checkins",
                    f"Missed check-in photos after session {number}",
                    "info",
                    [f"no photo for the {', '.join(missing)} check-in"],
                    session=number,
                    data={"missing": missing},
                )
            )
    return flags


def overdue(next_session: NextSession) -> Flag | None:
    if not next_session.overdue or next_session.due is None:
        return None
    what = "upkeep session" if next_session.kind == "upkeep" else f"session {next_session.number}"
    return Flag(
        "overdue_session",
        f"{what.capitalize()} is overdue",
        "watch",
        [f"due {next_session.due:%d %b %Y}, {next_session.overdue_days} day(s) past the week of grace"],
        data={"due": next_session.due.isoformat(), "days_overdue": next_session.overdue_days},
    )


def contraindications(intake: dict[str, Any]) -> Flag | None:
    answered = [a for a in intake.get("contraindications", []) if a]
    if not answered:
        return None
    words = []
    for code in answered:
        try:
            words.append(Contraindication(code).question)
        except ValueError:
            words.append(str(code))
    evidence = [f"answered yes at intake: {w}" for w in words]
    if intake.get("notes"):
        evidence.append(f"intake notes: {intake['notes']}")
    return Flag(
        "contraindication", "Contraindication answered at intake", "act", evidence, data={"answers": answered}
    )


def _after(t: PhotoTable, session: int, at: datetime, next_at: datetime | None) -> NDArray[np.bool_]:
    """The session's photos after it started (after-photos and check-ins), as a mask."""
    mask: NDArray[np.bool_] = (t.session == session) & (t.kind != PhotoKind.BEFORE.value) & (t.taken_at >= at)
    if next_at is not None:
        mask &= t.taken_at < next_at
    return mask
