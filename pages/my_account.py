"""Everyone: change your own password (e.g. the first one a practitioner read out); clients
also download all their data here."""

from __future__ import annotations

import streamlit as st

from tracker.app import people
from tracker.app.consent import CLIENT_MAY_CHANGE, client_consents
from tracker.domain import ConsentFlag, Role
from tracker.ui.consent_panel import consent_panel, consent_summary
from tracker.ui.context import TOKEN_KEY, require_context, show_flash
from tracker.ui.download_link import download_link
from tracker.ui.errors import error_boundary
from tracker.ui.text import md_escape

ctx = require_context()
actor = ctx.actor
st.title("My account")
st.caption(f"Signed in as {md_escape(actor.label)} ({actor.role.value}).")
show_flash("my_account")

with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="pw_current")
    new = st.text_input(
        f"New password (at least {people.MIN_PASSWORD_CHARS} characters)",
        type="password",
        key="pw_new",
        help=people.PASSWORD_ADVICE,
    )
    again = st.text_input("New password again", type="password", key="pw_again")
    if st.form_submit_button("Change password"):
        if new != again:
            st.error("The two new passwords differ.")
        else:
            with error_boundary():
                people.change_own_password(ctx, current, new, keep_session=st.session_state.get(TOKEN_KEY))
                st.success("Password changed. Other browsers signed in as you have been signed out.")

if actor.role is Role.CLIENT and actor.client_id is not None:
    st.subheader("My data")
    st.caption(
        "Everything the clinic's tracker stores about you: your details, sessions, every photo as you "
        "uploaded it (without location) and every measurement, in one zip file. The practitioners' own "
        "working notes are the clinic's and are not in it."
    )
    download_link("Download my data (zip)", "export", actor.client_id, key="my_export_download")

if actor.role is Role.CLIENT and actor.client_id is not None:
    st.subheader("My consent")
    st.caption("You can change these at any time; a change takes effect at once.")
    consent_panel(ctx, actor.client_id, page="my_account", flags=CLIENT_MAY_CHANGE)
    st.caption("Agreed with your practitioner (ask them to change these):")
    consent_summary(
        client_consents(ctx, actor.client_id),
        [f for f in ConsentFlag if f not in CLIENT_MAY_CHANGE],
        you=actor.label,
    )
