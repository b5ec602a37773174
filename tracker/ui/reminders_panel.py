"""The client's coming check-ins and next session, in words, with a calendar file to
import: on the client's "My course" and on the practitioner's client review."""

from __future__ import annotations

from datetime import date

import streamlit as st

from tracker.app.context import Context
from tracker.app.reminders import client_reminders
from tracker.ui.download_link import download_link
from tracker.ui.text import md_escape


def reminders_panel(ctx: Context, client_id: int, today: date, *, key: str) -> None:
    found = client_reminders(ctx, client_id, today)
    if not found:
        st.caption("Nothing coming up: no check-in photo or session is due from today on.")
        return
    for r in found:
        when = "Today" if r.on == today else "Tomorrow" if (r.on - today).days == 1 else f"{r.on:%a %d %b %Y}"
        time = f", {r.at:%H:%M}" if r.at is not None else ""
        st.markdown(f"- **{when}{time}**: {md_escape(r.title)}")
    download_link(
        "Add these to my calendar (.ics)" if ctx.actor.client_id == client_id else "Download calendar (.ics)",
        "calendar",
        client_id,
        key=key,
    )
