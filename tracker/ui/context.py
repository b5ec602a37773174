"""Who is signed in, and the App they use. Streamlit state lives here and nowhere deeper."""

from __future__ import annotations

import streamlit as st

from tracker.auth import authenticate
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Role
from tracker.permissions import Actor

ACTOR_KEY = "actor"


def get_app() -> App:
    """One App (engine, blob store) per configuration, shared by all sessions."""
    return _app_for(Settings().model_dump_json())


@st.cache_resource(show_spinner=False)
def _app_for(settings_json: str) -> App:
    return open_app(Settings.model_validate_json(settings_json))


def current_actor() -> Actor | None:
    actor = st.session_state.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def require_actor(*roles: Role) -> Actor:
    """The signed-in actor, or stop the page. Navigation never registers pages a role may
    not see; this is the second lock (and the services are the third)."""
    actor = current_actor()
    if actor is None or (roles and actor.role not in roles):
        st.error("Please sign in with an account that may see this page.")
        st.stop()
    assert actor is not None
    return actor


def sign_in(email: str, password: str) -> Actor | None:
    actor = authenticate(get_app(), email, password)
    if actor is not None:
        st.session_state[ACTOR_KEY] = actor
    return actor


def sign_out() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


STAFF = (Role.PRACTITIONER, Role.ADMIN)
