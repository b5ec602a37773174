"""Practitioner: record a session (date, settings, price, notes), add a client, and the
intake screening."""

from __future__ import annotations

from datetime import date, datetime, time

import streamlit as st

from tracker import services
from tracker.dashboard import refresh_after_change
from tracker.domain import Concern, Contraindication
from tracker.ingest import Rejected
from tracker.progress.plans import default_plan
from tracker.ui.context import STAFF, get_app, require_actor

actor = require_actor(*STAFF)
app = get_app()
st.title("Record session & intake")

clients = services.overview(app, actor)
with st.expander("New client", expanded=not clients), st.form("new_client"):
    name = st.text_input("Name", key="new_client_name")
    concern = st.selectbox("Concern", list(Concern), format_func=lambda c: c.label, key="new_client_concern")
    dob = st.date_input(
        "Date of birth (optional)", value=None, min_value=date(1920, 1, 1), key="new_client_dob"
    )
    body_area = st.text_input("Treated area", value="face", key="new_client_area")
    if st.form_submit_button("Add client"):
        try:
            plan = default_plan(concern)
            services.create_client(app, actor, name, concern=concern, date_of_birth=dob, body_area=body_area)
            st.success(f"Added {name}: {plan.planned_sessions} sessions every {plan.interval_weeks} weeks.")
            st.rerun()
        except Rejected as exc:
            st.error(str(exc))
if not clients:
    st.stop()

ids = [c.id for c in clients]
names = {c.id: c.name for c in clients}
preset = st.session_state.get("review_client_id")
client_id = st.selectbox(
    "Client", ids, index=ids.index(preset) if preset in ids else 0, format_func=names.get, key="record_client"
)
row = next(c for c in clients if c.id == client_id)

st.subheader("Session")
with st.form("session"):
    next_number = (max((s.number for s in row.sessions), default=0)) + 1
    c1, c2, c3 = st.columns(3)
    number = c1.number_input("Session number", min_value=1, max_value=20, value=next_number, key="s_number")
    day = c2.date_input("Date", value=date.today(), key="s_date")
    at = c3.time_input("Time", value=time(10, 0), key="s_time")
    c4, c5, c6 = st.columns(3)
    device = c4.text_input("Device", value="Dermapen 4", key="s_device")
    depth = c5.number_input(
        "Needle depth (mm)", min_value=0.1, max_value=3.5, value=0.5, step=0.25, key="s_depth"
    )
    passes = c6.number_input("Passes", min_value=1, max_value=10, value=2, key="s_passes")
    c7, c8 = st.columns(2)
    serum = c7.text_input("Serum / PRP", value="hyaluronic acid", key="s_serum")
    price = c8.number_input("Price", min_value=0.0, max_value=5000.0, value=250.0, step=10.0, key="s_price")
    notes = st.text_area("Notes", key="s_notes")
    if st.form_submit_button("Save session", type="primary"):
        try:
            services.record_session(
                app, actor, client_id, int(number), datetime.combine(day, at),
                device=device, needle_depth_mm=float(depth), passes=int(passes), serum=serum,
                price=float(price), notes=notes, practitioner_id=actor.user_id,
            )  # fmt: skip
            refresh_after_change(app, actor, client_id)
            st.success(f"Session {int(number)} saved for {names[client_id]}.")
        except Rejected as exc:
            st.error(str(exc))

st.subheader("Intake screening")
intake = services.client_intake(app, actor, client_id)
answered = set(intake.get("contraindications", []))
with st.form("intake"):
    st.caption("Tick everything that applies now. Any tick needs a practitioner's decision before treatment.")
    ticks = {
        c: st.checkbox(c.question, value=c.value in answered, key=f"ci_{c.value}") for c in Contraindication
    }
    intake_notes = st.text_area("Notes", value=intake.get("notes", ""), key="ci_notes")
    if st.form_submit_button("Save intake"):
        yes = services.record_intake(app, actor, client_id, [c for c, v in ticks.items() if v], intake_notes)
        refresh_after_change(app, actor, client_id)
        if yes:
            st.warning(
                "**Check before treating:** " + "; ".join(c.question for c in yes) + ". "
                "Micro-needling may need to wait or be adapted."
            )
        else:
            st.success("Intake saved: nothing to flag.")
if answered:
    st.warning("Contraindications on file: " + "; ".join(Contraindication(a).question for a in answered))
