"""Progress charts: Altair specs shared by the app and the PDF report.

Altair is Streamlit's native chart library, and `vl_convert` renders the very same
Vega-Lite spec to PNG without a browser or network (design §4), so a practitioner sees the
same picture on screen and in the client file. Every chart says how much change is noise
(the shaded band, design §2 item 3) and which points were left out of trends for low
capture quality (hollow grey, never hidden), because a chart that hides either would sell
a wiggle as progress.

Pure functions of a `CourseProgress`: no database, no Streamlit.
"""

from __future__ import annotations

import json
import math

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc

from tracker.domain import JsonObject, PhotoKind
from tracker.glossary import fmt, status_label, term
from tracker.progress.assessment import CourseProgress
from tracker.progress.recovery import NORMAL_T90_HOURS, SLOW_T90_HOURS

WIDTH = 640  # plot area, px: with axis titles and the legend the chart stays within 800 px
HEIGHT = 240
FONT = "DejaVu Sans"  # the report's font; vl_convert falls back to its own when it is missing

NOT_USED = "poor photo, not used"  # under the trend gate; short: a phone shows two a row
KIND_LABELS = {
    PhotoKind.BEFORE.value: "before session",
    PhotoKind.AFTER.value: "after session",
    PhotoKind.CHECKIN.value: "check-in",
}
SERIES_COLOURS = {
    KIND_LABELS[PhotoKind.BEFORE.value]: "#1d5f8a",
    KIND_LABELS[PhotoKind.AFTER.value]: "#e38ba0",
    KIND_LABELS[PhotoKind.CHECKIN.value]: "#f2b880",
    NOT_USED: "#9e9e9e",
}
BAND_COLOUR = "#7fa7c9"
NORMAL_COLOUR = "#59a14f"
_BEFORE_SERIES = (KIND_LABELS[PhotoKind.BEFORE.value], NOT_USED)
DAYS_TITLE = "Days since the first session"
HOURS_TITLE = "Hours since the session"


def metric_chart(progress: CourseProgress, metric: str, *, other_kinds: bool = True) -> alt.LayerChart:
    """One metric over the days since the course started.

    The before-photos are the trend (the skin at rest, session to session), drawn as the
    main line; after and check-in photos are lighter points because they show the
    treatment's passing redness and swelling, not progress. `other_kinds=False` leaves
    them out, which keeps the noise band readable for redness (after-photos sit ~25 EI
    above it; the recovery chart shows them instead).
    """
    plain = term(metric)  # plain words for clients and staff alike (tracker/glossary.py)
    label = plain.label
    y_title = plain.titled()
    points = _points(progress, metric)
    if not other_kinds:
        points = points[points["kind"] == PhotoKind.BEFORE.value]
    used_before = points[(points["kind"] == PhotoKind.BEFORE.value) & points["usable"]]
    used_other = points[(points["kind"] != PhotoKind.BEFORE.value) & points["usable"]]
    not_used = points[~points["usable"]]

    summary = progress.summaries.get(metric)
    base = summary.baseline if summary else None
    sdc = summary.sdc if summary else None
    x = alt.X("days:Q", title=DAYS_TITLE, scale=alt.Scale(nice=False, padding=12))
    y = alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False, padding=10))
    shown = (
        SERIES_COLOURS if other_kinds else {k: v for k, v in SERIES_COLOURS.items() if k in _BEFORE_SERIES}
    )
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=list(shown), range=list(shown.values())),
        # Two columns: four labels on one row run off a phone's screen.
        legend=alt.Legend(orient="bottom", direction="horizontal", columns=2, labelLimit=0),
    )
    tooltip = [
        alt.Tooltip("photo_id:Q", title="Photo"),
        alt.Tooltip("taken:N", title="Taken"),
        alt.Tooltip("session_label:N", title="Session"),
        alt.Tooltip("series:N", title="Kind"),
        alt.Tooltip("value:Q", title=y_title, format=f".{max(1, plain.decimals)}~f"),
        alt.Tooltip("quality:Q", title="Photo quality", format=".0%"),
    ]

    layers: list[alt.Chart] = []
    if base is not None and sdc is not None:
        band = pd.DataFrame(
            [{"lo": base - sdc, "hi": base + sdc, "base": base, "text": f"±{fmt(sdc, metric, band=sdc)}"}]
        )
        layers += [
            alt.Chart(_inline(band), name="noise_band")
            .mark_rect(color=BAND_COLOUR, opacity=0.22)
            .encode(
                y=alt.Y("lo:Q", title=y_title),
                y2="hi:Q",
                tooltip=[alt.Tooltip("text:N", title="Margin of error")],
            ),
            alt.Chart(_inline(band), name="baseline")
            .mark_rule(color=BAND_COLOUR, strokeDash=[4, 3])
            .encode(y="base:Q"),
        ]
    layers += _session_rules(progress)
    layers += [
        alt.Chart(_inline(used_before), name="before_line")
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=55), strokeWidth=2.2)
        .encode(x=x, y=y, color=colour, tooltip=tooltip),
        alt.Chart(_inline(used_other), name="other_kinds")
        .mark_point(filled=True, size=45, opacity=0.75)
        .encode(x=x, y=y, color=colour, tooltip=tooltip),
        alt.Chart(_inline(not_used), name="not_used")
        .mark_point(filled=False, size=55, strokeWidth=1.5)
        .encode(x=x, y=y, color=colour, tooltip=tooltip),
    ]
    status = summary.status if summary else None
    subtitle = "No margin of error yet: no usable first photo"
    if base is not None and sdc is not None:
        band_text = f"±{fmt(sdc, metric, band=sdc)}"
        subtitle = (
            f"Shaded: margin of error around the start ({band_text}); changes inside it are not real change"
        )
    if points.empty:
        subtitle = "No measurement yet"
    return alt.LayerChart(
        layer=layers,
        width=WIDTH,
        height=HEIGHT,
        title=alt.TitleParams(
            f"{label}: {status_label(status).lower()}" if status else label,
            subtitle=subtitle,
            anchor="start",
            fontSize=14,
        ),
    )


def recovery_chart(progress: CourseProgress, sessions: list[int] | None = None) -> alt.LayerChart:
    """Redness against hours since each session, with each session's fitted decay.

    The shaded 0–48 h window is the normal recovery (design §1) and the dotted rule at
    72 h is where redness still above the pre-session level is worth a look, so a
    practitioner can judge a curve at a glance and compare sessions with each other.
    """
    wanted = set(sessions) if sessions is not None else {s.number for s in progress.sessions}
    points = _points(progress, "delta_ei")
    points = points[
        points["kind"].isin([PhotoKind.AFTER.value, PhotoKind.CHECKIN.value])
        & points["session"].isin(wanted)
        & (points["hours"] >= 0)
    ]
    fits = [s for s in progress.sessions if s.number in wanted and s.recovery is not None]
    x_max = max([float(points["hours"].max()) if not points.empty else 0.0, SLOW_T90_HOURS + 24.0])
    curves = []
    for view in fits:
        fit = view.recovery
        assert fit is not None
        if fit.pre_level is None or fit.excess_at(0.0) is None:
            continue
        for h in np.linspace(0.0, x_max, 90):
            excess = fit.excess_at(float(h))
            assert excess is not None
            curves.append(
                {
                    "session_label": f"S{view.number}",
                    "hours": float(h),
                    "value": excess + fit.pre_level,
                    "fit": fit.method,
                    "t90": f"{fit.t90_hours:.0f} h" if fit.t90_hours is not None else "unknown",
                }
            )
    curve_frame = pd.DataFrame(curves, columns=["session_label", "hours", "value", "fit", "t90"])
    labels = [f"S{n}" for n in sorted(wanted)]
    x = alt.X("hours:Q", title=HOURS_TITLE, scale=alt.Scale(domain=[0, x_max], nice=False, clamp=True))
    y = alt.Y("value:Q", title=term("delta_ei").titled(), scale=alt.Scale(zero=False, padding=10))
    colour = alt.Color(
        "session_label:N",
        title="Session",
        scale=alt.Scale(domain=labels, scheme="tableau10"),
        legend=alt.Legend(orient="bottom", direction="horizontal"),  # a right legend halves a phone's plot
    )
    tooltip = [
        alt.Tooltip("photo_id:Q", title="Photo"),
        alt.Tooltip("taken:N", title="Taken"),
        alt.Tooltip("session_label:N", title="Session"),
        alt.Tooltip("hours:Q", title="Hours since session", format=".1f"),
        alt.Tooltip("value:Q", title=term("delta_ei").titled(), format=".1f"),
        alt.Tooltip("quality:Q", title="Photo quality", format=".0%"),
    ]
    window = pd.DataFrame(
        [{"start": 0.0, "end": NORMAL_T90_HOURS, "text": f"normal: settled by {NORMAL_T90_HOURS:g} h"}]
    )
    slow = pd.DataFrame([{"at": SLOW_T90_HOURS, "text": f"{SLOW_T90_HOURS:g} h"}])
    layers = [
        alt.Chart(_inline(window), name="normal_window")
        .mark_rect(color=NORMAL_COLOUR, opacity=0.12)
        .encode(x=alt.X("start:Q", title=HOURS_TITLE), x2="end:Q"),
        alt.Chart(_inline(window), name="normal_window_label")
        .mark_text(align="left", baseline="top", dx=4, dy=4, color="#3d7a35", fontSize=11)
        .encode(x=alt.X("start:Q", title=HOURS_TITLE), y=alt.value(0), text="text:N"),
        alt.Chart(_inline(slow), name="slow_rule")
        .mark_rule(color="#888888", strokeDash=[2, 3])
        .encode(
            x=alt.X("at:Q", title=HOURS_TITLE),
            tooltip=alt.Tooltip("text:N", title="Worth a look when still red after"),
        ),
        alt.Chart(_inline(slow), name="slow_rule_label")
        .mark_text(align="left", baseline="top", dx=3, dy=4, color="#666666", fontSize=10)
        .encode(x=alt.X("at:Q", title=HOURS_TITLE), y=alt.value(0), text="text:N"),
        alt.Chart(_inline(curve_frame), name="fitted_curves")
        .mark_line(strokeWidth=1.8, opacity=0.85)
        .encode(
            x=x,
            y=y,
            color=colour,
            detail="session_label:N",
            tooltip=[
                alt.Tooltip("session_label:N", title="Session"),
                alt.Tooltip("t90:N", title="Redness almost gone (90 %) after"),
            ],
        ),
        alt.Chart(_inline(points[points["usable"]]), name="points")
        .mark_point(filled=True, size=60)
        .encode(x=x, y=y, color=colour, tooltip=tooltip),
        alt.Chart(_inline(points[~points["usable"]]), name="not_used")
        .mark_point(filled=False, size=60, color=SERIES_COLOURS[NOT_USED], strokeWidth=1.5)
        .encode(x=x, y=y, tooltip=tooltip),
    ]
    return alt.LayerChart(
        layer=layers,
        width=WIDTH - 60,
        height=HEIGHT,
        title=alt.TitleParams(
            "Redness recovery after each session",
            subtitle="Points: after and check-in photos (hollow grey: not used). Lines: fitted recovery.",
            anchor="start",
            fontSize=14,
        ),
    )


def chart_titles(chart: alt.TopLevelMixin) -> tuple[str, str]:
    """The chart's title and subtitle as plain text ("" when it has none)."""
    title = getattr(chart, "title", alt.Undefined)
    if isinstance(title, str):
        return title, ""
    if not isinstance(title, alt.TitleParams):
        return "", ""
    text, subtitle = title.text, title.subtitle
    text = " ".join(text) if isinstance(text, list) else text
    subtitle = " ".join(subtitle) if isinstance(subtitle, list) else subtitle
    return (str(text) if isinstance(text, str) else ""), (str(subtitle) if isinstance(subtitle, str) else "")


def measured_points(progress: CourseProgress, metric: str) -> int:
    """How many photos have a value for the metric: below two a trend chart is empty axes."""
    return len(_points(progress, metric))


def recovery_points(progress: CourseProgress, sessions: list[int] | None = None) -> int:
    """How many after and check-in photos the recovery chart would plot."""
    wanted = set(sessions) if sessions is not None else {s.number for s in progress.sessions}
    points = _points(progress, "delta_ei")
    return int(
        (
            points["kind"].isin([PhotoKind.AFTER.value, PhotoKind.CHECKIN.value])
            & points["session"].isin(wanted)
            & (points["hours"] >= 0)
        ).sum()
    )


def chart_png(chart: alt.TopLevelMixin, scale: float = 2) -> bytes:
    """Render a chart to PNG offline, in the report's font unless the chart sets one.

    The font goes into a copy of the spec rather than onto the chart, because a chart
    with a config cannot be composed any further by the app.
    """
    spec = chart.to_dict()
    config = spec.setdefault("config", {})
    config.setdefault("font", FONT)
    config.setdefault("background", "white")
    return bytes(vlc.vegalite_to_png(json.dumps(spec), scale=scale))


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    """A layer's rows as plain JSON values. Altair's own DataFrame path sanitises each frame
    (about 6 ms for a few rows, 0.4 s for the nine charts of a review); pandas' JSON writer
    gives the same values (NaN as null) at once."""
    records: list[JsonObject] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return alt.InlineData(values=records)


def _points(progress: CourseProgress, metric: str) -> pd.DataFrame:
    """The table's rows that have the metric, with the columns the charts plot."""
    columns = ["photo_id", "session", "session_label", "kind", "series", "days", "hours", "value"]
    columns += ["taken", "quality", "usable"]
    table = progress.table
    if metric not in table.columns or table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype(
            {"usable": bool, "session": int, "hours": float}
        )
    rows = table[table[metric].notna()]
    usable = rows["usable"].astype(bool)
    series = rows["kind"].map(KIND_LABELS).where(usable, NOT_USED)
    return pd.DataFrame(
        {
            "photo_id": rows["photo_id"].astype(int),
            "session": rows["session"].astype(int),
            "session_label": "S" + rows["session"].astype(int).astype(str),
            "kind": rows["kind"].astype(str),
            "series": series.astype(str),
            "days": rows["days_since_start"].astype(float).round(3),
            "hours": rows["hours_since_session"].astype(float).round(2),
            "value": rows[metric].astype(float),
            "taken": pd.to_datetime(rows["taken_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            "quality": rows["quality"].astype(float).round(3),
            "usable": usable,
        }
    ).reset_index(drop=True)


def _session_rules(progress: CourseProgress) -> list[alt.Chart]:
    """Vertical rules at each session start, labelled S1, S2, … at the top."""
    if not progress.sessions:
        return []
    start = min(s.at for s in progress.sessions)
    rules = pd.DataFrame(
        [
            {
                "days": (s.at - start).total_seconds() / 86400.0,
                "label": f"S{s.number}",
                "when": f"Session {s.number}, {s.at:%Y-%m-%d}",
            }
            for s in progress.sessions
            if math.isfinite((s.at - start).total_seconds())
        ]
    )
    return [
        alt.Chart(_inline(rules), name="session_rules")
        .mark_rule(color="#b0b0b0", strokeDash=[3, 3])
        .encode(x=alt.X("days:Q", title=DAYS_TITLE), tooltip=alt.Tooltip("when:N", title="Session")),
        alt.Chart(_inline(rules), name="session_labels")
        .mark_text(align="left", baseline="top", dx=3, dy=2, color="#555555", fontSize=11)
        .encode(x=alt.X("days:Q", title=DAYS_TITLE), y=alt.value(0), text="label:N"),
    ]


__all__ = [
    "chart_png",
    "chart_titles",
    "measured_points",
    "metric_chart",
    "recovery_chart",
    "recovery_points",
]
