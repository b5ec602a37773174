"""The two pages where a person chooses their own password: through a one-time link
(invite or reset, opened signed out) and the forced change after signing in with a
password the clinic set. app.py shows one of them instead of the navigation."""

from __future__ import annotations

import streamlit as st

from tracker.app import account_links, people
from tracker.app.context import Actor
from tracker.ui.context import TOKEN_KEY, get_app, password_chosen, sign_out, signed_in_as
from tracker.ui.errors import error_boundary
from tracker.ui.text import md_escape

LINK_PARAMS = account_links.PURPOSES  # ?invite=<token> or ?reset=<token>


def link_token() -> str | None:
    """The token of a one-time link this tab was opened with, if any."""
    for name in LINK_PARAMS:
        value = st.query_params.get(name)
        if value:
            return str(value)
    return None


def link_page() -> None:
    """Set your password through an invite or reset link, then you are signed in."""
    st.title("Set your password")
    token = link_token()
    app = get_app()
    try:
        found = account_links.open_link(app, token)
    except account_links.LinkRefused as refused:
        st.error(str(refused))
        if st.button("Go to sign-in", key="link_to_sign_in"):
            st.query_params.clear()
            st.rerun()
        return
    if found.clinic:
        st.subheader(md_escape(found.clinic), anchor=False)  # whose link this is
    if found.purpose == "reset":
        st.caption("Choose a new password for your account. Your old one stops working.")
    else:
        st.caption("Welcome. Choose the password you will sign in with.")
    st.text(f"Account: {found.email}")
    new, again, submitted = _new_password_form("link_password", "Set password and sign in")
    if submitted:
        if new != again:
            st.error("The two passwords differ.")
            return
        with error_boundary():
            actor = account_links.use_link(app, token, new)
            sign_out()  # whoever was signed in on this browser before
            signed_in_as(actor)
            st.query_params.clear()  # the link is spent: a reload must not show it again
            st.rerun()


def change_page(actor: Actor) -> None:
    """The first sign-in after the clinic set the password: nothing else until it is changed."""
    st.title("Choose a new password")
    st.caption(
        f"You signed in as {md_escape(actor.label)} with a password the clinic gave you. "
        "Please choose your own before you go on."
    )
    new, again, submitted = _new_password_form("forced_password", "Save my password")
    if submitted:
        if new != again:
            st.error("The two passwords differ.")
            return
        with error_boundary():
            password_chosen(people.finish_password_change(get_app(), st.session_state.get(TOKEN_KEY), new))
            st.rerun()


def _new_password_form(key: str, button: str) -> tuple[str, str, bool]:
    with st.form(key, clear_on_submit=True):
        new = st.text_input(
            f"New password (at least {people.MIN_PASSWORD_CHARS} characters)",
            type="password",
            key=f"{key}_new",
            autocomplete="new-password",
            help=people.PASSWORD_ADVICE,
        )
        again = st.text_input(
            "New password again", type="password", key=f"{key}_again", autocomplete="new-password"
        )
        submitted = st.form_submit_button(button, type="primary")
    return new, again, submitted
