"""Client: my course — the landing page. Its first action is today's photo; then what to
do today, the sessions done and planned, and my ratings."""

from __future__ import annotations

import streamlit as st

from tracker.app.clinic import clinic_now, clinic_profile
from tracker.app.courses import course_progress, rate_session
from tracker.app.guidance import PREPARATION, WARNING_SIGNS, aftercare_for_day
from tracker.app.today import expected_photo
from tracker.domain import Role
from tracker.errors import Refused
from tracker.ui.context import require_context
from tracker.ui.errors import show_error
from tracker.ui.reminders_panel import reminders_panel
from tracker.ui.text import md_escape

ctx = require_context(Role.CLIENT)
actor = ctx.actor
assert actor.client_id is not None
now = clinic_now(ctx.settings)
today = now.date()
clinic = clinic_profile(ctx)
st.title("My course")
try:
    progress = course_progress(ctx, actor.client_id, today)
except Refused as exc:  # no course yet: said as a note, and nothing more to show
    show_error(exc, kind="info")
    st.stop()
nxt = progress.next
sessions = progress.sessions

expected = expected_photo({s.number: s.at for s in sessions}, now)
if expected is not None and st.button(
    expected.action, type="primary", icon=":material/photo_camera:", width="stretch", key="add_today"
):
    st.switch_page("pages/upload.py")

# The treatment as a line of text: a metric tile cut "Uneven tone & hyperpigmentation" short
# on a phone.
st.caption(f"{progress.concern.label} · {md_escape(clinic.name)}")
c2, c3 = st.columns(2)
c2.metric("Sessions", f"{len(sessions)} of {progress.plan.planned_sessions}")
if nxt.kind == "complete":
    c3.metric("Next session", "Course complete")
elif nxt.due:
    c3.metric("Next session due", nxt.due.strftime("%d %b %Y"))
else:
    c3.metric("Next session", "To be booked")

st.subheader("Coming up")
reminders_panel(ctx, actor.client_id, today, key="my_calendar")

past = [s for s in sessions if s.at.date() <= today]
latest = past[-1] if past else None
if latest is not None:
    day = (today - latest.at.date()).days
    items = aftercare_for_day(day)
    if items:
        st.subheader(f"Aftercare — day {day} after session {latest.number}")
        for i, item in enumerate(items):
            st.checkbox(item, key=f"aftercare_{latest.number}_{day}_{i}")
        with st.expander("Call the clinic if you notice", expanded=True):
            for sign in WARNING_SIGNS:
                st.markdown(f"- {sign}")
            st.markdown(f"**{md_escape(clinic.contact)}**")
due = nxt.due
if (due is not None and 0 <= (due - today).days <= 14) or (nxt.number == 1 and not past):
    st.subheader("Before your next session")
    for i, item in enumerate(PREPARATION):
        st.checkbox(item, key=f"prep_{i}")

st.subheader("Sessions")
if not sessions:
    st.caption("No sessions recorded yet.")
for s in sessions:
    with st.container(border=True):
        left, right = st.columns([3, 2])
        left.markdown(f"**Session {s.number}** · {s.at:%d %b %Y}")
        recovery = s.recovery
        if recovery and recovery.t90_hours is not None:
            left.caption(f"Redness had almost gone (90 %) after about {recovery.t90_hours:.0f} hours.")
        if s.at.date() <= today:
            rating = right.slider(
                "How happy are you with your skin after this session?",
                1,
                10,
                value=s.client_rating or 5,
                key=f"rating_{s.number}",
            )
            if right.button("Save rating", key=f"save_rating_{s.number}"):
                rate_session(ctx, actor.client_id, s.number, int(rating))
                st.success(f"Saved: {rating}/10 for session {s.number}.")
st.caption(f"{md_escape(clinic.name)} · {md_escape(clinic.contact)}")
