"""Practitioner: record a session (date, settings, price, notes), add a client, the face
regions the course treats, and the intake screening.

Every form's widgets are keyed by client (and session, and the stored revision), so a form
always shows the chosen client's own saved answers: with shared keys, Streamlit kept the
last client's ticks and one click saved them onto the next client. Changing a recorded
session or taking a contraindication off the file is asked for, with what will change.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import streamlit as st

from tracker.app import courses
from tracker.app.client_view import CLIENT_SEES_HELP, STAFF_ONLY_HELP
from tracker.app.clinic import clinic_today
from tracker.app.courses import default_plan
from tracker.domain import Concern, ConsentFlag, Contraindication
from tracker.ui.consent_panel import consent_panel
from tracker.ui.context import STAFF, flash, require_context, show_flash
from tracker.ui.errors import error_boundary, show_error
from tracker.ui.region_picker import region_picker
from tracker.ui.text import md_escape

ctx = require_context(*STAFF)
actor = ctx.actor
st.title("Record session & intake")
show_flash("record")

clients = courses.client_names(ctx)


@error_boundary()  # a refusal is said, and the form keeps what was typed
def add_client(
    name: str, concern: Concern, dob: date | None, body_area: str, same_name_ok: bool,
    consents: dict[ConsentFlag, bool],
) -> None:  # fmt: skip
    try:
        new_id = courses.create_client(
            ctx, name, concern=concern, date_of_birth=dob, body_area=body_area,
            allow_same_name=same_name_ok, consents=consents,
        )  # fmt: skip
    except courses.SameName as exc:  # the form keeps the name, and asks to confirm
        st.session_state["record_same_name"] = name
        show_error(exc, kind="warning")
        return
    plan = default_plan(concern)
    st.session_state.pop("record_same_name", None)
    st.session_state["review_client_id"] = new_id  # the new client is the one shown below
    flash(
        "record",
        f"Added {md_escape(name)}: {plan.planned_sessions} sessions every "
        f"{plan.interval_weeks} weeks. Record the first session below.",
    )
    st.rerun()


with st.expander("New client", expanded=not clients), st.form("new_client", clear_on_submit=False):
    name = st.text_input("Name", key="new_client_name", max_chars=200)
    concern = st.selectbox("Concern", list(Concern), format_func=lambda c: c.label, key="new_client_concern")
    dob = st.date_input(
        "Date of birth (optional)", value=None, min_value=date(1920, 1, 1), key="new_client_dob"
    )
    body_area = st.text_input("Treated area", value="face", key="new_client_area", max_chars=200)
    st.markdown("**Consent** · tick what the client agrees to; each can be changed later")
    new_consents = {
        flag: st.checkbox(flag.label, value=False, key=f"new_client_consent_{flag.value}")
        for flag in ConsentFlag
    }
    pending_same = st.session_state.get("record_same_name")
    same_ok = False
    if pending_same and pending_same == name:
        same_ok = st.checkbox(
            f"{md_escape(pending_same)} is a different person: add a second record", key="new_client_same"
        )
    if st.form_submit_button("Add client"):
        add_client(name, concern, dob, body_area, same_ok, new_consents)
if not clients:
    st.stop()

ids = [c.id for c in clients]
names = {c.id: c.name for c in clients}
preset = st.session_state.get("review_client_id")
if preset in ids and preset != st.session_state.get("record_client"):
    st.session_state["record_client"] = preset  # the client opened elsewhere, or just added


def _picked() -> None:
    st.session_state["review_client_id"] = st.session_state["record_client"]  # other pages follow


client_id = st.selectbox("Client", ids, format_func=names.get, key="record_client", on_change=_picked)
row = courses.client_overview(ctx, client_id)

# Session ---------------------------------------------------------------------------------

st.subheader("Session")
sessions = {s.number: s for s in row.sessions}
next_number = max(sessions, default=0) + 1
choices = [next_number, *sorted(sessions, reverse=True)]
chosen = st.selectbox(
    "Session",
    choices,
    format_func=lambda n: (
        f"New: session {n}" if n not in sessions else f"Session {n} · {sessions[n].at:%d %b %Y}"
    ),
    key=f"s_pick_{client_id}_{next_number}",  # a new session recorded: the next one is proposed
)
existing = sessions.get(chosen)
last = sessions[max(sessions)] if sessions else None
template = existing or last  # a new session starts from the last one's settings
on_file = courses.contraindications_to_override(ctx, client_id) if existing is None else []


def _revision(s: courses.SessionRow | None) -> str:
    """Part of the widget keys: after a save the form shows what is now stored."""
    if s is None:
        return "new"
    return str(abs(hash((s.at, s.device, s.needle_depth_mm, s.passes, s.serum, s.price, s.notes))))


key = f"{client_id}_{chosen}_{_revision(existing)}"
with st.form(f"session_{key}"):
    c1, c2, c3 = st.columns(3)
    c1.markdown(f"**Session {chosen}**" + ("" if existing else " (new)"))
    day = c2.date_input(
        "Date", value=existing.at.date() if existing else clinic_today(ctx.settings), key=f"s_date_{key}"
    )
    at = c3.time_input("Time", value=existing.at.time() if existing else time(10, 0), key=f"s_time_{key}")
    c4, c5, c6 = st.columns(3)
    device = c4.text_input(
        "Device", value=template.device if template else "Dermapen 4", key=f"s_device_{key}",
        help=CLIENT_SEES_HELP,
    )  # fmt: skip
    depth = c5.number_input(
        "Needle depth (mm)", min_value=0.1, max_value=3.5, step=0.25, key=f"s_depth_{key}",
        value=float(template.needle_depth_mm) if template and template.needle_depth_mm else 0.5,
    )  # fmt: skip
    passes = c6.number_input(
        "Passes", min_value=1, max_value=10, key=f"s_passes_{key}",
        value=int(template.passes) if template and template.passes else 2,
    )  # fmt: skip
    c7, c8 = st.columns(2)
    serum = c7.text_input(
        "Serum / PRP", value=template.serum if template else "hyaluronic acid", key=f"s_serum_{key}",
        help=CLIENT_SEES_HELP,
    )  # fmt: skip
    price = c8.number_input(
        f"Price ({ctx.settings.currency})", min_value=0.0, max_value=5000.0, step=10.0, key=f"s_price_{key}",
        value=float(template.price) if template and template.price is not None else 250.0,
    )  # fmt: skip
    notes = st.text_area(
        "Notes", value=existing.notes if existing else "", key=f"s_notes_{key}", help=STAFF_ONLY_HELP
    )
    treat_anyway, override_reason = False, ""
    if on_file:  # a new session needs the practitioner's decision, with a reason (audited)
        st.warning("Contraindications on the intake: " + "; ".join(c.question for c in on_file) + ".")
        treat_anyway = st.checkbox("Treat anyway", key=f"s_override_{key}")
        override_reason = st.text_area(
            "Reason for treating anyway (kept in the audit log)",
            key=f"s_override_reason_{key}",
            help=STAFF_ONLY_HELP,
            max_chars=1000,
        )
    submitted = st.form_submit_button(
        "Save session" if existing is None else f"Save changes to session {chosen}", type="primary"
    )


def _money(value: Decimal | float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


wanted: dict[str, Any] = {
    "date": datetime.combine(day, at), "device": device.strip(), "needle depth (mm)": float(depth),
    "passes": int(passes), "serum": serum.strip(), "price": _money(price),
    "notes": notes.strip(),
}  # fmt: skip
pending_key = f"record_session_pending_{client_id}"


@error_boundary()  # a refusal is said, and the form keeps its values
def save_session(replace: bool) -> None:
    courses.record_session(
        ctx, client_id, chosen, wanted["date"], device=wanted["device"],
        needle_depth_mm=wanted["needle depth (mm)"], passes=wanted["passes"], serum=wanted["serum"],
        price=wanted["price"], notes=wanted["notes"], practitioner_id=actor.user_id, replace=replace,
        override_reason=override_reason if treat_anyway else "",
    )  # fmt: skip
    st.session_state.pop(pending_key, None)
    verb = "changed" if replace else "saved"
    flash("record", f"Session {chosen} {verb} for {md_escape(names[client_id])}.")
    st.rerun()


if submitted:
    if existing is None:
        save_session(replace=False)
    else:
        stored: dict[str, Any] = {
            "date": existing.at, "device": existing.device, "needle depth (mm)": existing.needle_depth_mm,
            "passes": existing.passes, "serum": existing.serum,
            "price": _money(existing.price),
            "notes": existing.notes,
        }  # fmt: skip
        changes = [(k, stored[k], v) for k, v in wanted.items() if stored[k] != v]
        if not changes:
            st.info(f"Nothing to save: session {chosen} already has these settings.")
        else:
            st.session_state[pending_key] = (chosen, changes)

pending = st.session_state.get(pending_key)
if pending and pending[0] == chosen and existing is not None:
    st.warning(
        f"Session {chosen} is already recorded for {md_escape(names[client_id])}. Saving would change:"
    )
    st.table(
        [
            {"setting": f, "now": str(o if o is not None else "—"), "after saving": str(n)}
            for f, o, n in pending[1]
        ]
    )
    yes, no = st.columns(2)
    if yes.button(f"Yes, change session {chosen}", type="primary", key=f"s_confirm_{key}"):
        save_session(replace=True)
    if no.button("Keep it as it is", key=f"s_cancel_{key}"):
        st.session_state.pop(pending_key, None)
        st.rerun()

# Treated areas ---------------------------------------------------------------------------

st.subheader("Treated areas")
region_picker(ctx, client_id, names[client_id], row.concern, row.photo_count)

# Intake ----------------------------------------------------------------------------------

st.subheader("Intake screening")
intake = courses.client_intake(ctx, client_id)
answered = {c.value for c in intake.contraindications}
ikey = f"{client_id}_{intake.answered_at or 'none'}"
if answered:
    st.warning(
        "Contraindications on file: " + "; ".join(Contraindication(a).question for a in sorted(answered))
    )
with st.form(f"intake_{ikey}"):
    st.caption(
        "Tick everything that applies now. Any tick needs a practitioner's decision before treatment. "
        "The client sees their own answers in their data export; the notes are staff only."
    )
    ticks = {
        c: st.checkbox(c.question, value=c.value in answered, key=f"ci_{c.value}_{ikey}")
        for c in Contraindication
    }
    intake_notes = st.text_area("Notes", value=intake.notes, key=f"ci_notes_{ikey}", help=STAFF_ONLY_HELP)
    intake_saved = st.form_submit_button("Save intake")
yes_answers = [c for c, v in ticks.items() if v]
removal_key = f"record_intake_pending_{client_id}"


@error_boundary()  # a refusal is said, and the ticks stay as they are
def save_intake(allow_removal: bool) -> None:
    try:
        flagged = courses.record_intake(
            ctx, client_id, yes_answers, intake_notes, allow_removal=allow_removal
        )
    except courses.IntakeRemoval as exc:
        st.session_state[removal_key] = str(exc)
        return
    st.session_state.pop(removal_key, None)
    if flagged:
        flash(
            "record",
            "Intake saved. **Check before treating:** " + "; ".join(c.question for c in flagged) + ". "
            "Micro-needling may need to wait or be adapted.",
            kind="warning",
        )
    else:
        flash("record", f"Intake saved for {md_escape(names[client_id])}: nothing to flag.")
    st.rerun()


if intake_saved:
    save_intake(allow_removal=False)
removal = st.session_state.get(removal_key)
if removal:
    st.warning(md_escape(removal))
    yes, no = st.columns(2)
    if yes.button("Yes, remove it and save", type="primary", key=f"ci_confirm_{ikey}"):
        save_intake(allow_removal=True)
    if no.button("Keep it on file", key=f"ci_cancel_{ikey}"):
        st.session_state.pop(removal_key, None)
        st.rerun()

# Consent -----------------------------------------------------------------------------------

st.subheader("Consent")
st.caption("What the client has agreed to, per purpose. A withdrawal takes effect at once and is audited.")
consent_panel(ctx, client_id, page="record")
