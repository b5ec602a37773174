"""Staff sign-in through the identity provider: the button on the sign-in page, and the
trade of Streamlit's st.user for our own login session.

After st.login the browser comes back with Streamlit's identity cookie, and st.user holds the
provider's claims. take_identity runs before anything asks who is signed in: it maps the
claims to a staff account (tracker/app/oidc.py), opens our session as a password would
(signed_in_as: the same HttpOnly cookie hand-off, idle timeout and checks), and has the
browser drop Streamlit's cookie, so a sign-out or an idle timeout is not undone by it.
It runs once per browser tab: a tab that signed out ignores the st.user it still holds.
"""

from __future__ import annotations

import json

import streamlit as st

from tracker.app.oidc import FORGET_IDENTITY_PATH, NO_ROLE, Identity, IdentityRefused, sign_in_with_identity
from tracker.ui.context import ACTOR_KEY, SIGNED_OUT_KEY, current_settings, get_app, signed_in_as
from tracker.ui.text import md_escape

TAKEN_KEY = "oidc_taken"
REFUSAL_KEY = "oidc_refusal"


def take_identity() -> None:
    """Sign this tab in as the staff account the provider's answer maps to, or keep the
    refusal to show on the sign-in page."""
    if not current_settings().oidc_enabled:
        return
    state = st.session_state
    if state.get(ACTOR_KEY) is not None or state.get(SIGNED_OUT_KEY) or state.get(TAKEN_KEY):
        return
    if st.user.get("is_logged_in") is not True:  # no key at all without an [auth] section
        return
    state[TAKEN_KEY] = True
    identity = Identity.from_claims(dict(st.user.to_dict()))
    try:
        if identity is None:
            raise IdentityRefused(NO_ROLE)
        signed_in_as(sign_in_with_identity(get_app(), identity))
    except IdentityRefused as refused:
        state[REFUSAL_KEY] = str(refused)
    st.html(forget_script(), unsafe_allow_javascript=True)


def forget_script() -> str:
    return (
        "<script>fetch("
        + json.dumps(FORGET_IDENTITY_PATH)
        + ', {method: "POST", credentials: "same-origin", cache: "no-store"});</script>'
    )


def provider_sign_in() -> None:
    """The "Sign in with <provider>" button (staff), and the last refusal if there was one."""
    settings = current_settings()
    if not settings.oidc_enabled:
        return
    refusal = st.session_state.get(REFUSAL_KEY)
    if refusal:
        st.error(refusal)
    label = f"Sign in with {md_escape(settings.oidc_provider_name)}"  # a label is markdown
    if st.button(label, key="oidc_sign_in", type="primary"):
        st.login()
    if not settings.oidc_staff_password_sign_in:
        st.caption(
            "Staff sign in with the button above. Clients: sign in with your email and password below."
        )
    else:
        st.caption(
            "Staff of the clinic chain: the button above. Or sign in with your email and password below."
        )


__all__ = ["provider_sign_in", "take_identity"]
