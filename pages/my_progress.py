"""Client: my progress — before/after, charts with the noise band, the latest recovery."""

from __future__ import annotations

import streamlit as st

from tracker.app.charts import measured_points, metric_chart, recovery_chart, recovery_points
from tracker.app.clinic import clinic_profile, clinic_today
from tracker.app.courses import course_progress
from tracker.app.dashboard import input_signature
from tracker.app.photos import aligned_pair, default_comparison
from tracker.domain import Role
from tracker.errors import Refused
from tracker.glossary import term
from tracker.ui.charts import show_chart
from tracker.ui.compare_slider import comparison_slider
from tracker.ui.context import require_context
from tracker.ui.errors import show_error
from tracker.ui.photo_actions import my_recent_uploads, show_photo_notice
from tracker.ui.text import md_escape

# Flags a client hears about: what their photos show. Intake answers and missed or overdue
# appointments are the practitioner's matter (issue 11: a new client was told on day 0 to
# expect a call because of an intake answer).
PHOTO_FLAGS = ("slow_recovery", "pih_watch", "worsening_")

ctx = require_context(Role.CLIENT)
actor = ctx.actor
assert actor.client_id is not None
today = clinic_today(ctx.settings)
st.title("My progress")
try:
    progress = course_progress(ctx, actor.client_id, today)
except Refused as exc:  # no course yet: said as a note, and nothing more to show
    show_error(exc, kind="info")
    st.stop()
table = progress.table


def summary_lines() -> list[str]:
    lines = []
    latest = next((s for s in reversed(progress.sessions) if s.recovery and s.recovery.t90_hours), None)
    if latest and latest.recovery and latest.recovery.t90_hours:
        hours = latest.recovery.t90_hours
        pace = (
            "as expected" if latest.recovery.compare_with_normal() == "normal" else "more slowly than usual"
        )
        lines.append(
            f"After session {latest.number} your redness was back to your usual level in about "
            f"{hours:.0f} hours ({pace})."
        )
    texture = progress.summaries["texture_dog"]
    if texture.status == "improved" and texture.change_pct is not None:
        lines.append(f"Your skin texture is {abs(texture.change_pct):.0f} % smoother than at the start.")
    elif texture.status == "within noise":
        lines.append(
            "Texture changes so far are within what photos can reliably show; collagen builds over months."
        )
    if any(f.severity == "act" and f.code.startswith(PHOTO_FLAGS) for f in progress.flags):
        lines.append(
            "Your practitioner may want to look at your latest photos; they will contact you if needed. "
            + md_escape(clinic_profile(ctx).contact.replace("Call", "To talk sooner, call", 1))
        )
    return lines or ["Upload your photos before and after each session to see your progress here."]


for line in summary_lines():
    st.markdown(f"- {line}")
show_photo_notice()
my_recent_uploads(ctx)

st.subheader("Before and now")
chosen = default_comparison(table)  # your first before-photo against the latest good one
if chosen is None:
    st.info("Your before-and-now comparison appears once a later before-photo of good quality is in.")
else:
    pair = aligned_pair(ctx, *chosen)
    comparison_slider(pair.first, pair.second, "first photo", "latest (aligned)")
    if not pair.ok:
        st.caption("These photos could not be lined up exactly; compare them with care.")

st.subheader("Redness and texture over the course")
st.caption(
    "The shaded band is the margin of error: changes inside it are too small to be sure of. "
    "Lower is better for both."
)
signature = input_signature(ctx, actor.client_id)
for metric in ("delta_ei", "texture_dog"):
    show_chart(
        lambda metric=metric: metric_chart(progress, metric),
        key=f"chart_{metric}",
        kept_as=(actor.client_id, signature, today, metric),
        enough=measured_points(progress, metric) >= 2,
        empty="Not enough photos yet: your chart appears once two photos have been measured.",
    )
    st.caption(md_escape(term(metric).client_help))
if progress.sessions:
    last = progress.sessions[-1].number
    st.subheader(f"Recovery after session {last}")
    show_chart(
        lambda: recovery_chart(progress, [last]),
        key="chart_recovery",
        kept_as=(actor.client_id, signature, today, "recovery", last),
        enough=recovery_points(progress, [last]) > 0,
        empty="Your recovery curve appears once you upload photos after the session and at the check-ins.",
    )
