"""Admin: the clinic's background jobs (re-analysis after a metric-version change), their
progress and failures, with a Retry button for a job that failed for good."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tracker.app import job_queue
from tracker.domain import Role
from tracker.ui.context import require_context
from tracker.ui.errors import error_boundary
from tracker.ui.text import md_escape

ctx = require_context(Role.ADMIN)
st.title("Background jobs")
st.caption(
    "Heavy work the worker processes do off the pages: measuring every photo again after the "
    "measurement method changes, client by client. A job that fails is tried again "
    f"{ctx.settings.job_max_attempts} times, then waits here for you to retry it."
)

notice = st.session_state.pop("jobs_notice", None)
if notice:
    st.success(notice)

jobs = job_queue.list_jobs(ctx)
counts = {state: sum(1 for j in jobs if j.shown_state == state) for state in (*job_queue.STATES, "stalled")}
stalled = [j for j in jobs if j.silent_since is not None]
if jobs:
    st.markdown(
        f"**{counts['queued']}** waiting · **{counts['running']}** running · **{counts['done']}** done · "
        f"**{counts['failed']}** failed" + (f" · **{counts['stalled']}** stalled" if stalled else "")
    )
    if st.button("Refresh", icon=":material/refresh:"):
        st.rerun()
else:
    st.info("No background jobs yet. `python -m tracker reanalyze` queues one per client after an upgrade.")

if stalled:
    last = max(j.silent_since for j in stalled if j.silent_since is not None)
    if len(stalled) == 1:
        which, it = f"Job {stalled[0].id} has stopped: its worker has", "it"
    else:
        which, it = f"{len(stalled)} jobs have stopped: their workers have", "them"
    st.warning(
        f"{which} not reported since {last:%Y-%m-%d %H:%M} UTC (the process was stopped, or its "
        f"machine went away). Nothing is lost: the next worker that runs takes {it} again. If "
        "none is running, start one with `python -m tracker worker`.",
        icon=":material/pause_circle:",
    )

for job in [j for j in jobs if j.state == "failed"]:
    with st.container(border=True):
        st.markdown(f"**Job {job.id}** · {md_escape(job.label)} · failed after {job.attempts} attempts")
        st.code(job.error or "no message", language=None, wrap_lines=True)
        if st.button("Retry", key=f"retry_job_{job.id}", icon=":material/replay:", type="primary"):
            with error_boundary():
                job_queue.retry_job(ctx, job.id)
                st.session_state["jobs_notice"] = f"Job {job.id} is queued again."
                st.rerun()

if jobs:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "job": j.id,
                    "state": j.shown_state,
                    "photos": f"{j.done if j.state != 'done' else j.total}/{j.total}",
                    "progress": round(100 * (j.done if j.state != "done" else j.total) / j.total)
                    if j.total
                    else 0,
                    "worker": j.worker if j.state == "running" else "",
                    "what": j.label,
                    "not measured": len(j.failures),
                    "attempts": f"{j.attempts}/{j.max_attempts}",
                    "queued (UTC)": j.created_at,
                    "ended (UTC)": j.finished_at,
                }
                for j in jobs
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "progress": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%d%%"),
            "queued (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "ended (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        },
    )
    unmeasured = [(j.id, line) for j in jobs for line in j.failures]
    if unmeasured:
        with st.expander(f"Photos that could not be measured ({len(unmeasured)})"):
            st.caption("The job ran; these photos keep their status (e.g. no face found) and need a look.")
            for job_id, line in unmeasured[:200]:
                st.markdown(f"- job {job_id}: {md_escape(line)}")
