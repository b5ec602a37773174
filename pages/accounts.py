"""Staff: sign-in accounts. Practitioners give their clients a login; admins also manage
staff accounts. Switching off or resetting a password signs that account out everywhere."""

from __future__ import annotations

import secrets

import pandas as pd
import streamlit as st

from tracker.app import courses, people
from tracker.domain import Role
from tracker.ui.context import STAFF, require_context
from tracker.ui.errors import error_boundary
from tracker.ui.text import md_escape

ctx = require_context(*STAFF)
actor = ctx.actor
is_admin = actor.role is Role.ADMIN
st.title("Accounts")
st.caption(
    "Every account of the clinic."
    if is_admin
    else "Your clients' logins (staff accounts are managed by an admin)."
)


def _done(message: str) -> None:
    """Show the outcome after a fresh run, so the table and lists include the change."""
    st.session_state["accounts_notice"] = message
    st.rerun()


notice = st.session_state.pop("accounts_notice", None)
if notice:
    st.success(notice)


def suggested_password() -> str:
    """Easy to read out over the phone, long enough to be safe (~70 bits)."""
    return "-".join(secrets.token_hex(3) for _ in range(4))


rows = people.list_accounts(ctx)
if rows:
    st.dataframe(
        pd.DataFrame(
            [
                {"email": a.email, "role": a.role.value, "client": a.client_name or "", "active": a.active,
                 "since": a.created_at.date()}
                for a in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )  # fmt: skip
else:
    st.info("No accounts yet.")

st.subheader("Give a client a login")
linked = {a.client_id for a in rows if a.client_id is not None}
waiting = [c for c in courses.client_names(ctx) if c.id not in linked]
if not waiting:
    st.caption("Every client has a login.")
else:
    with st.form("client_login", clear_on_submit=True):
        names = {c.id: c.name for c in waiting}
        who = st.selectbox("Client", list(names), format_func=names.get, key="login_client")
        email = st.text_input("Client's email", key="login_email")
        password = st.text_input(
            "First password (tell the client)", value=suggested_password(), key="login_password"
        )
        if st.form_submit_button("Create login"):
            with error_boundary():
                people.create_account(ctx, email, Role.CLIENT, password, client_id=who)
                st.success(
                    f"{md_escape(names[who])} can now sign in as {md_escape(email.strip().lower())} "
                    "with the password given."
                )

if is_admin:
    st.subheader("Add a staff account")
    with st.form("staff_account", clear_on_submit=True):
        email = st.text_input("Email", key="staff_email")
        name = st.text_input("Name", key="staff_name")
        role = st.radio(
            "Role",
            [Role.PRACTITIONER, Role.ADMIN],
            format_func=lambda r: r.value,
            horizontal=True,
            key="staff_role",
        )
        password = st.text_input("First password", value=suggested_password(), key="staff_password")
        if st.form_submit_button("Create account"):
            with error_boundary():
                people.create_account(ctx, email, role, password, display_name=name)
                _done(f"Created the {role.value} account {md_escape(email.strip().lower())}.")

if rows:
    st.subheader("Switch off, switch on or reset")
    by_id = {a.id: a for a in rows}
    chosen = st.selectbox(
        "Account",
        list(by_id),
        format_func=lambda i: f"{by_id[i].email} ({by_id[i].role.value}{'' if by_id[i].active else ', off'})",
        key="manage_account",
    )
    account = by_id[chosen]
    off, on = st.columns(2)
    with error_boundary():
        if account.active and off.button("Switch off (signs out everywhere)", key="account_off"):
            people.set_active(ctx, account.id, False)
            st.rerun()
        if not account.active and on.button("Switch on", key="account_on"):
            people.set_active(ctx, account.id, True)
            st.rerun()
    with st.form("reset_password", clear_on_submit=True):
        new_password = st.text_input("New password", value=suggested_password(), key="reset_password_value")
        if st.form_submit_button("Reset password"):
            with error_boundary():
                people.reset_password(ctx, account.id, new_password)
                st.success(
                    f"New password set for {md_escape(account.email)}; they are signed out everywhere."
                )
