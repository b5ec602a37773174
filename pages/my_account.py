"""Everyone: change your own password (e.g. the first one a practitioner read out)."""

from __future__ import annotations

import streamlit as st

from tracker import accounts
from tracker.ingest import Rejected
from tracker.permissions import PermissionDenied
from tracker.ui.context import TOKEN_KEY, get_app, require_actor

actor = require_actor()
app = get_app()
st.title("My account")
st.caption(f"Signed in as {actor.label} ({actor.role.value}).")

with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="pw_current")
    new = st.text_input(
        f"New password (at least {accounts.MIN_PASSWORD_CHARS} characters)", type="password", key="pw_new"
    )
    again = st.text_input("New password again", type="password", key="pw_again")
    if st.form_submit_button("Change password"):
        if new != again:
            st.error("The two new passwords differ.")
        else:
            try:
                accounts.change_own_password(
                    app, actor, current, new, keep_session=st.session_state.get(TOKEN_KEY)
                )
                st.success("Password changed. Other browsers signed in as you have been signed out.")
            except (Rejected, PermissionDenied) as exc:
                st.error(str(exc))
