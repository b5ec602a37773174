"""Staff: sign-in accounts. Practitioners give their clients a login; admins also manage
staff accounts. A new client either gets a one-time invite link to choose a password, or a
password read out that they must change at first sign-in; a forgotten password gets a reset
link. Switching off or resetting a password signs that account out everywhere."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tracker.app import account_links, courses, people
from tracker.domain import Role
from tracker.ui.context import STAFF, current_settings, require_context
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


# The password fields offered with a suggestion: emptied after each change so the next
# person is offered a fresh one (a form keeps the value it was first given).
PASSWORD_KEYS = ("login_password", "staff_password", "reset_password_value")


def _done(message: str, link: account_links.Link | None = None) -> None:
    """Show the outcome after a fresh run, so the table and lists include the change."""
    st.session_state["accounts_notice"] = message
    if link is not None:
        st.session_state["accounts_link"] = link
    for key in PASSWORD_KEYS:
        st.session_state.pop(key, None)
    st.rerun()


notice = st.session_state.pop("accounts_notice", None)
if notice:
    st.success(notice)
made = st.session_state.pop("accounts_link", None)
if isinstance(made, account_links.Link):
    hours = ctx.settings.invite_link_hours if made.purpose == "invite" else ctx.settings.reset_link_hours
    st.info(
        f"Send this link to {md_escape(made.email)}. It works once, for {hours:g} hours, and is shown "
        "only now (make a new one if it is lost)."
    )
    st.code(made.url, language=None, wrap_lines=True)


def suggested_password() -> str:
    """Fresh for every login; see people.generate_password (96 random bits)."""
    return people.generate_password()


rows = people.list_accounts(ctx)
if rows:
    st.dataframe(
        pd.DataFrame(
            [
                {"email": a.email, "role": a.role.value, "client": a.client_name or "", "status": a.status,
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
    invite = (
        st.radio(
            "How the client gets a password",
            ["invite", "password"],
            format_func={
                "invite": "Send an invite link (they choose their password)",
                "password": "Tell them a password (they choose their own at first sign-in)",
            }.get,
            key="login_how",
        )
        == "invite"
    )
    with st.form("client_login", clear_on_submit=True):
        names = {c.id: c.name for c in waiting}
        who = st.selectbox("Client", list(names), format_func=names.get, key="login_client")
        email = st.text_input("Client's email", key="login_email")
        password = (
            None
            if invite
            else st.text_input(
                "First password (tell the client)", value=suggested_password(), key="login_password"
            )
        )
        if st.form_submit_button("Create login"):
            with error_boundary():
                user_id = people.create_account(ctx, email, Role.CLIENT, password, client_id=who)
                address = md_escape(email.strip().lower())
                if password is None:
                    _done(
                        f"Created the login {address} for {md_escape(names[who])}.",
                        account_links.invite_link(ctx, user_id),
                    )
                _done(
                    f"{md_escape(names[who])} can now sign in as {address} with the password given, "
                    "and will then choose their own."
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
        settings = current_settings()
        staff_password: str | None = None
        if settings.oidc_enabled and not settings.oidc_staff_password_sign_in:
            provider = md_escape(settings.oidc_provider_name)
            st.caption(f"They sign in with {provider}, using this email: no password here.")
        else:
            staff_password = st.text_input("First password", value=suggested_password(), key="staff_password")
        if st.form_submit_button("Create account"):
            with error_boundary():
                people.create_account(ctx, email, role, staff_password, display_name=name)
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
    with error_boundary():
        if account.active and not account.password_set:  # invited: the first link lost or expired
            if st.button("Make a new invite link", key="invite_again"):
                _done(
                    f"Made a new invite link for {md_escape(account.email)}.",
                    account_links.invite_link(ctx, account.id),
                )
        elif account.active and st.button("Make a password reset link", key="reset_link"):
            _done(
                f"Made a reset link for {md_escape(account.email)}: their password works until they use it.",
                account_links.reset_link(ctx, account.id),
            )
    with st.form("reset_password", clear_on_submit=True):
        new_password = st.text_input(
            "Or type a new password (tell them; they choose their own at the next sign-in)",
            value=suggested_password(),
            key="reset_password_value",
        )
        if st.form_submit_button("Reset password"):
            with error_boundary():
                people.reset_password(ctx, account.id, new_password)
                _done(f"New password set for {md_escape(account.email)}; they are signed out everywhere.")
