"""Practitioner: every client of the clinic at a glance — who to look at today."""

from __future__ import annotations

from datetime import date

import streamlit as st

from tracker.app.clinic import clinic_today
from tracker.app.dashboard import (
    COUNT_LABELS,
    DISPLAY_COLUMNS,
    clinic_dashboard,
    dashboard_counts,
    dashboard_filter,
)
from tracker.glossary import DASH, fmt, fmt_pct, status_label, term
from tracker.ui.context import STAFF, require_context
from tracker.ui.download_link import download_link

# Who needs attention first: the flags and the next due date come right after the name, so
# they are in view at 1280 px with the sidebar open; the numbers follow.
SHOWN = [
    "name", "flags", "next_due", "overdue_days", "redness_status", "texture_status", "redness_change",
    "texture_change_pct", "sessions", "concern", "act", "watch", "last_photo",
]  # fmt: skip
assert set(SHOWN) == set(DISPLAY_COLUMNS)

ctx = require_context(*STAFF)
actor = ctx.actor
st.title("Dashboard")
with st.spinner("Loading the clinic…"):
    table = clinic_dashboard(ctx, clinic_today(ctx.settings))
if table.empty:
    st.info("No clients yet. Add one under *Record session & intake*, or load the demo.")
    st.stop()

# The counts are the filters: a click shows the clients a number counts (open flags only;
# acknowledged, resolved and snoozed flags are not counted). "Clients" shows everyone.
counts = dashboard_counts(table)
tile = st.pills(
    "Show",
    list(counts),
    format_func=lambda key: f"{COUNT_LABELS.get(key, key)} · {counts[key]}",
    key="dash_tile",
    width="stretch",
)

left, mid, right = st.columns([2, 2, 1])
concerns = sorted(table["concern"].dropna().unique())
picked = left.multiselect("Concern", concerns, key="dash_concern")
search = mid.text_input("Search by name", key="dash_search")
flagged_only = right.toggle("Flagged only", key="dash_flagged")
view = dashboard_filter(table, tile)
if picked:
    view = view[view["concern"].isin(picked)]
if search:
    view = view[view["name"].str.contains(search, case=False, regex=False)]
if flagged_only:
    view = view[(view["act"] + view["watch"]) > 0]

st.caption("Click a client's row to open their review.")


def _day(value: object) -> str:
    return value.strftime("%d %b %Y") if isinstance(value, date) else DASH


# Plain words and numbers as the glossary writes them ("No clear change", "+1.2", "—"), never
# "within noise" or the "None" a table shows for a missing date or number.
shown = view[["client_id", *SHOWN]].assign(
    redness_status=view["redness_status"].map(status_label),
    texture_status=view["texture_status"].map(status_label),
    redness_change=view["redness_change"].map(lambda v: fmt(v, "delta_ei", signed=True, unit=False)),
    texture_change_pct=view["texture_change_pct"].map(fmt_pct),
    next_due=view["next_due"].map(_day),
    last_photo=view["last_photo"].map(_day),
)
event = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    # A click on any cell opens the review: a row selection alone needed the 16-px checkbox.
    selection_mode=["single-row", "single-cell"],
    column_config={
        "client_id": None,
        "name": st.column_config.TextColumn("Client", pinned=True),
        "concern": "Concern",
        "sessions": "Sessions",
        "redness_change": st.column_config.TextColumn(
            f"Redness change, {term('delta_ei').unit}", help=term("delta_ei").staff_help
        ),
        "redness_status": "Redness",
        "texture_change_pct": st.column_config.TextColumn(
            "Texture change", help=term("texture_dog").staff_help
        ),
        "texture_status": "Texture",
        "flags": st.column_config.TextColumn("Flags", width="medium"),
        "act": st.column_config.NumberColumn(term("act").label, help=term("act").staff_help),
        "watch": st.column_config.NumberColumn(term("watch").label, help=term("watch").staff_help),
        "next_due": "Next due",
        "overdue_days": "Days overdue",
        "last_photo": "Last photo",
    },
    key="dash_table",
)
# The table's own CSV download is off (.streamlit/config.toml): this file makes a typed
# value that a spreadsheet would run as a formula plain text. Built when the link is
# followed, for the person signed in (tracker/app/downloads.py).
download_link("Download table for a spreadsheet (CSV)", "dashboard", key="dash_csv_download")
selection = event.selection if event else None
rows = list(selection.rows) if selection else []
rows += [cell[0] for cell in (selection.cells if selection else [])]
if rows:
    st.session_state["review_client_id"] = int(view.iloc[rows[0]]["client_id"])
    st.switch_page("pages/client_review.py")
