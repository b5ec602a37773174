"""Admin: the clinic's audit trail — who signed in, viewed, exported or changed what."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from tracker.app import audit
from tracker.domain import Role
from tracker.ui.context import require_context

ctx = require_context(Role.ADMIN)
actor = ctx.actor
st.title("Audit log")
st.caption(
    "The log keeps ids, not names: accounts and clients are shown by their current email "
    "and name, and as “deleted client 7” once deleted."
)

left, middle, right = st.columns(3)
days = left.date_input(
    "Days", value=(date.today() - timedelta(days=7), date.today()), max_value=date.today(), key="audit_days"
)
who = middle.text_input("Who (part of the email of one of the clinic's accounts)", key="audit_who")
action = right.text_input("Action (e.g. export_report, sign_in_failed)", key="audit_action")
since, until = (days[0], days[-1]) if isinstance(days, tuple) and days else (date.today(), date.today())
events = audit.clinic_events(ctx, since=since, until=until, who=who, action=action.strip())
if len(events) == audit.MAX_EVENTS_SHOWN:
    st.caption(f"The newest {audit.MAX_EVENTS_SHOWN} events; narrow the days or filters to see older ones.")
if not events:
    st.info("No events for these days and filters.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {"at (UTC)": e.at, "who": e.actor, "action": e.action,
                 "record": e.record,
                 "detail": ", ".join(f"{k}: {v}" for k, v in e.detail.items())}
                for e in events
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"who": st.column_config.TextColumn(width="medium")},
    )  # fmt: skip
