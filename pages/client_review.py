"""Practitioner: one client's review — timeline, comparisons, maps, charts, recovery,
flags, zones and the report.

Only the open tab is computed (tabs that rerun, `.open`): building all seven tabs and nine
charts on every click took about 3 s of server time. The client's progress is computed
once and kept for as long as the client's data is unchanged (the dashboard's input
signature), so a click costs a signature check, not a recomputation."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from tracker.app import courses, jobs, photos
from tracker.app.charts import measured_points, metric_chart, recovery_chart, recovery_points
from tracker.app.client_view import STAFF_ONLY_HELP
from tracker.app.clinic import clinic_today, money
from tracker.app.courses import SUMMARY_METRICS, CourseProgress, course_progress, ita_group
from tracker.app.dashboard import input_signature
from tracker.app.notes import MAX_NOTE_CHARS, add_note, client_notes
from tracker.app.photos import AlignedPair, aligned_pair, default_comparison
from tracker.app.records import delete_client
from tracker.domain import Role
from tracker.errors import Refused
from tracker.glossary import (
    fmt,
    fmt_pct,
    fmt_quality,
    label,
    photo_kind_words,
    photo_label,
    short_label,
    status_label,
    term,
)
from tracker.ui.charts import show_chart
from tracker.ui.compare_slider import comparison_slider
from tracker.ui.context import STAFF, require_context
from tracker.ui.download_link import download_link
from tracker.ui.errors import error_boundary, show_error
from tracker.ui.flag_review import flag_section
from tracker.ui.inline import jpeg_bytes_uri
from tracker.ui.photo_actions import show_photo_notice, staff_photo_actions
from tracker.ui.reminders_panel import reminders_panel
from tracker.ui.text import md_escape
from tracker.ui.zone_editor import apply_pending, zone_editor

ctx = require_context(*STAFF)
actor = ctx.actor
notice = st.session_state.pop("deleted_notice", None)
if notice:
    st.success(notice)
clients = courses.client_names(ctx)
if not clients:
    st.info("No clients yet.")
    st.stop()
ids = [c.id for c in clients]
names = {c.id: c.name for c in clients}
preset = st.session_state.get("review_client_id")
client_id = st.selectbox(
    "Client", ids, index=ids.index(preset) if preset in ids else 0, format_func=names.get, key="review_client"
)
st.session_state["review_client_id"] = client_id
apply_pending(ctx, client_id)  # zones or scale saved in the Zones tab: before progress is read
today = clinic_today(ctx.settings)
signature = input_signature(ctx, client_id)  # changes whenever the client's data does


def _progress() -> CourseProgress:
    """This client's progress, reused while the client's data is unchanged."""
    key = (client_id, today, signature)
    kept = st.session_state.get("review_progress")
    if kept is not None and kept[0] == key:
        return kept[1]  # type: ignore[no-any-return]
    computed = course_progress(ctx, client_id, today)
    st.session_state["review_progress"] = (key, computed)
    return computed


try:
    progress = _progress()
except Refused as exc:  # no course yet: said as a note, and nothing more to show
    show_error(exc, kind="info")
    st.stop()
table = progress.table
st.title(md_escape(names[client_id]))
st.caption(
    f"{progress.concern.label} · {md_escape(progress.body_area or 'area not set')} · "
    f"{len(progress.sessions)}/{progress.plan.planned_sessions} sessions · "
    + (
        f"skin tone {ita_group(progress.ita_deg)} (ITA {progress.ita_deg:.0f}°)"
        if progress.ita_deg is not None
        else ""
    )
)


def _remeasuring_note(done: int, total: int) -> str:
    counted = f": {done} of {total} done" if total else ""
    return (
        "This client's photos are being measured again (the series' scale or starting photo "
        f"changed){counted}. "
        "The numbers on this page update when it has finished."
    )


if jobs.progress(ctx, client_id) is not None:

    @st.fragment(run_every=2)
    def remeasuring() -> None:
        job = jobs.progress(ctx, client_id)
        if job is None:
            st.rerun(scope="app")  # finished: show the new numbers
        else:
            st.info(_remeasuring_note(job.done, job.total), icon=":material/sync:")

    remeasuring()

# Photos named by session, kind and date ("Session 2 · day-3 check-in · 24 Aug"), with the
# time added where two photos would otherwise read the same (three baseline before-photos).
labels: dict[int, str] = {
    int(row.photo_id): photo_label(row.session, row.kind, row.taken_at, row.hours_since_session)
    for row in table.itertuples()
}
_repeated = Counter(labels.values())
labels = {
    pid: f"{text} {row.taken_at:%H:%M}" if _repeated[text] > 1 else text
    for (pid, text), row in zip(labels.items(), table.itertuples(), strict=True)
}


def _show_in_compare(photo_id: int) -> None:
    """A flag's photo link (a button callback, so it may set the tab before it is drawn):
    open the Compare tab with the photo second and its session's before-photo first."""
    st.session_state["review_tab"] = "Compare"
    st.session_state["cmp_focus"] = (client_id, photo_id)


def flags_and_notes() -> None:
    flag_section(ctx, client_id, progress.flags, today, labels, _show_in_compare)
    st.subheader("Notes")
    with st.form("add_note", clear_on_submit=True):
        note_text = st.text_area(
            "New note (seen by the clinic's staff only)",
            max_chars=MAX_NOTE_CHARS,
            key="note_text",
            help=STAFF_ONLY_HELP,
        )
        if st.form_submit_button("Add note"):
            with error_boundary():
                add_note(ctx, client_id, note_text)
                st.success("Note added.")
    for note in client_notes(ctx, client_id):
        st.markdown(f"**{note.created_at:%d %b %Y %H:%M}** · {md_escape(note.author)}")
        st.text(note.text)


def timeline() -> None:
    show_photo_notice()
    st.subheader("Coming up")
    st.caption("The client's check-ins and next session; emailed only with their consent to reminders.")
    reminders_panel(ctx, client_id, today, key="review_calendar")
    st.subheader("Sessions")
    numbers = [s.number for s in progress.sessions]
    for s in progress.sessions:
        rows = table[table["session"] == s.number]
        header = (
            f"Session {s.number} · {s.at:%d %b %Y} · {md_escape(s.device or 'device not recorded')} · "
            f"needles {s.needle_depth_mm or '?'} mm deep, {s.passes or '?'} passes · "
            f"{md_escape(s.serum or 'no serum')}"
            + (f" · rated {s.client_rating}/10" if s.client_rating else "")
        )
        with st.expander(header, expanded=s.number == progress.sessions[-1].number):
            cols = st.columns(6)
            for i, row in enumerate(rows.itertuples()):
                thumb = jpeg_bytes_uri(photos.photo_bytes(ctx, int(row.photo_id), "thumbnail"))
                quality = "✓" if row.usable else "✗ not used for the trend"
                what = photo_kind_words(row.kind, row.hours_since_session)
                cols[i % 6].image(
                    thumb,
                    caption=f"{what[:1].upper()}{what[1:]} · {row.taken_at:%d %b %H:%M} · "
                    f"photo quality {fmt_quality(row.quality)} {quality}",
                )
                with cols[i % 6]:
                    staff_photo_actions(ctx, int(row.photo_id), str(row.kind), s.number, numbers)


def _aligned(a: int, b: int) -> AlignedPair:
    """The aligned pair, kept while the same two photos are compared (a view switch, a
    slider move): aligning decodes and warps two display copies."""
    kept = st.session_state.get("review_pair")
    if kept is not None and kept[0] == (a, b, signature):
        return kept[1]  # type: ignore[no-any-return]
    pair = aligned_pair(ctx, a, b)
    st.session_state["review_pair"] = ((a, b, signature), pair)
    return pair


def compare_photos() -> None:
    photo_ids = list(labels)
    if len(photo_ids) < 2:
        st.info("Two photos are needed for a comparison.")
    else:
        # The baseline before-photo against the latest usable before-photo.
        default = default_comparison(table)
        if default is None:
            st.info("No later before-photo of good enough quality yet: choose the two photos to compare.")
        first, second = default or (photo_ids[0], photo_ids[-1])
        focus = st.session_state.pop("cmp_focus", None)  # a flag's photo link
        if focus and focus[0] == client_id and focus[1] in photo_ids:
            second = focus[1]
            session = table.loc[table["photo_id"] == second, "session"].iloc[0]
            own = table[(table["session"] == session) & (table["kind"] == "before")]["photo_id"]
            first = next((int(p) for p in own if int(p) != second), first)
            for name in (f"cmp_a_{client_id}", f"cmp_b_{client_id}"):
                st.session_state.pop(name, None)  # the widgets start from the link's photos
        c1, c2 = st.columns(2)
        a = c1.selectbox(
            "First photo",
            photo_ids,
            index=photo_ids.index(first),
            format_func=labels.get,
            key=f"cmp_a_{client_id}",
        )
        b = c2.selectbox(
            "Second photo",
            photo_ids,
            index=photo_ids.index(second),
            format_func=labels.get,
            key=f"cmp_b_{client_id}",
        )

        @st.fragment
        @error_boundary()  # a fragment's own reruns do not pass through the page's boundary
        def compare() -> None:
            pair = _aligned(a, b)
            mode = st.segmented_control(
                "View",
                ["Slider", "Side by side", "Redness map", "Difference map"],
                default="Slider",
                key="cmp_mode",
            )
            if mode == "Side by side":
                left, right = st.columns(2)
                left.image(pair.first, caption=labels[a], width="stretch")
                right.image(pair.second, caption=labels[b] + " (aligned)", width="stretch")
            elif mode == "Redness map":
                shown = pair.redness_map()
                st.image(shown.rgb, caption=shown.legend, width="stretch")
            elif mode == "Difference map":
                shown = pair.difference_map()
                st.image(shown.rgb, caption=shown.legend, width="stretch")
            else:
                comparison_slider(pair.first, pair.second, labels[a], labels[b] + " (aligned)")
            if not pair.ok:
                st.caption("These photos could not be lined up exactly; compare with care.")

        compare()


CHART_GROUPS = {
    "Redness": ("delta_ei", "red_area_pct"),
    "Pigment": ("delta_l_star", "mel_index", "spot_area_pct"),
    "Texture": ("texture_dog", "glcm_contrast", "line_density", "pore_density"),
}
assert sorted(m for ms in CHART_GROUPS.values() for m in ms) == sorted(SUMMARY_METRICS)


def _band(metric: str) -> float | None:
    summary = progress.summaries.get(metric)
    return summary.sdc if summary else None


def charts() -> None:
    # Plain labels, numbers to the noise band's resolution, "—" for none; the technical
    # term in its own column (tracker/glossary.py).
    summary = pd.DataFrame(
        [
            {
                "measure": term(key).label,
                "baseline": fmt(m.baseline, key, band=m.sdc),
                "latest": fmt(m.latest, key, band=m.sdc),
                "change": fmt(m.change, key, band=m.sdc, signed=True),
                "change %": fmt_pct(m.change_pct),
                "noise band ±": fmt(m.sdc, key, band=m.sdc),
                "status": status_label(m.status),
                "trend / 30 days": fmt(m.trend_per_30_days, key, band=m.sdc, signed=True),
                "better": term(key).better or "—",
                "technical": term(key).technical,
            }
            for key, m in progress.summaries.items()
        ]
    )
    st.dataframe(
        summary,
        hide_index=True,
        width="stretch",
        column_config={
            "measure": st.column_config.TextColumn("Measure", pinned=True),
            "baseline": "Start",
            "latest": "Latest",
            "change": "Change",
            "change %": "Change %",
            "noise band ±": st.column_config.TextColumn(
                "Margin of error ±", help=term("noise_band").staff_help
            ),
            "status": "Status",
            "trend / 30 days": "Trend / 30 days",
            "better": "Better is",
            "technical": "Technical term",
        },
    )
    # One group of charts at a time: nine charts in a row are a long scroll, and each one
    # costs server time to build the first time it is seen.
    group = st.segmented_control(
        "Charts", list(CHART_GROUPS), default="Redness", key=f"chart_group_{client_id}", width="stretch"
    )
    for metric in CHART_GROUPS.get(group or "Redness", ()):
        show_chart(
            lambda metric=metric: metric_chart(progress, metric),
            key=f"chart_{metric}",
            kept_as=(client_id, signature, today, metric),
            enough=measured_points(progress, metric) >= 2,
        )
    settings_rows = [
        {"Session": s.number, "Date": f"{s.at:%Y-%m-%d}", "Device": s.device or "—",
         term("needle_depth_mm").titled(): fmt(s.needle_depth_mm, "needle_depth_mm", unit=False),
         "Passes": fmt(s.passes, "passes"), "Serum": s.serum or "—",
         "Client's rating": f"{s.client_rating}/10" if s.client_rating else "—",
         "Price": money(s.price, ctx.settings.currency),
         **{f"Change in {short_label(k)} after": fmt(v, k, band=_band(k), signed=True)
            for k, v in s.change_that_followed.items()}}
        for s in progress.sessions
    ]  # fmt: skip
    st.caption("Session settings beside the change that followed (to the next session's starting point)")
    st.dataframe(pd.DataFrame(settings_rows), hide_index=True, width="stretch")


def recovery() -> None:
    show_chart(
        lambda: recovery_chart(progress, None),
        key="chart_recovery",
        kept_as=(client_id, signature, today, "recovery"),
        enough=recovery_points(progress) > 0,
        empty="No after-session or check-in photos yet: the recovery curve needs them.",
    )
    for s in progress.sessions:
        rec = s.recovery
        if rec and rec.t50_hours is not None and rec.t90_hours is not None:
            st.markdown(
                f"- Session {s.number}: half the redness gone after {rec.t50_hours:.0f} h (T50), "
                f"almost all (90 %) after {rec.t90_hours:.0f} h (T90) "
                f"({rec.compare_with_normal()}; {s.recovery_vs_earlier}; fit: {rec.method})"
            )


def zones() -> None:
    zone_editor(ctx, client_id)


def report() -> None:
    st.caption("A PDF for the client file: course summary, stamped before/after, charts, metrics and flags.")
    # Built when the link is clicked, under the consents as they are then: a report never
    # carries photos the client has since withdrawn from reports.
    download_link("Download report (PDF)", "report", client_id, key="report_download")
    st.caption("Made when you click, from the data and consents as they are then: it takes a few seconds.")
    metric = st.selectbox("Chart as PNG", list(SUMMARY_METRICS), format_func=label, key="png_metric")
    download_link("Download chart (PNG)", "chart", client_id, metric=metric, key="png_download")

    st.subheader("All of this client's data")
    st.caption(
        "A zip with the record, intake and consent, sessions, every photo as uploaded (location removed) "
        "and every measurement, plus your notes: for a client's request for their data."
    )
    download_link("Download data (zip)", "export", client_id, key="export_download")
    if actor.role is Role.ADMIN:
        with st.expander("Delete this client"):
            st.warning(
                f"Deletes {md_escape(names[client_id])}'s record, course, sessions, photos, measurements, "
                "notes and login, for good. Export the data first if it must be kept. The audit log keeps "
                "that a deletion happened."
            )
            typed = st.text_input(f"Type **{md_escape(names[client_id])}** to confirm", key="delete_confirm")
            if st.button("Delete client and all their data", type="primary", key="delete_client"):
                with error_boundary():
                    done = delete_client(ctx, client_id, typed)
                    st.session_state.pop("review_client_id", None)
                    st.session_state["deleted_notice"] = (
                        f"Deleted {md_escape(names[client_id])}: "
                        f"{done.photos} photos, {done.files_deleted} files."
                    )
                    st.rerun()


VIEWS = {
    "Flags & notes": flags_and_notes,
    "Timeline": timeline,
    "Compare": compare_photos,
    "Charts": charts,
    "Recovery": recovery,
    "Zones": zones,
    "Report": report,
}
for tab, show in zip(st.tabs(list(VIEWS), key="review_tab", on_change="rerun"), VIEWS.values(), strict=True):
    if tab.open:
        with tab:
            show()
