"""Who is signed in, and the App they use. Streamlit state lives here and nowhere deeper."""

from __future__ import annotations

import json

import streamlit as st

from tracker.app.context import Actor, Context
from tracker.app.jobs import start_background
from tracker.app.people import authenticate, end_session, open_session, resume_session
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Role

ACTOR_KEY = "actor"
TOKEN_KEY = "session_token"
SIGNED_OUT_KEY = "signed_out"
COOKIE = "tracker_session"


def current_settings() -> Settings:
    """The settings as configured now (environment, .env, TOML)."""
    return Settings()


def get_app() -> App:
    """One App (engine, blob store) per configuration, shared by all sessions."""
    return _app_for(Settings().model_dump_json())


@st.cache_resource(show_spinner=False)
def _app_for(settings_json: str) -> App:
    app = open_app(Settings.model_validate_json(settings_json))
    start_background(app)  # series measured again after an upload changed their facts
    return app


def current_actor() -> Actor | None:
    """The signed-in actor of this browser tab: from the session state, else resumed from
    the browser's session cookie (a reload or a new tab), unless this tab signed out.

    The session is checked again on every run, so an account switched off, a password
    reset or a sign-out in another tab ends this tab's session at its next click too."""
    actor = st.session_state.get(ACTOR_KEY)
    if isinstance(actor, Actor):
        if resume_session(get_app(), st.session_state.get(TOKEN_KEY)) == actor:
            return actor
        _forget_session()
        st.rerun()  # start again signed out, so navigation is built for nobody
    if st.session_state.get(SIGNED_OUT_KEY):
        return None
    token = st.context.cookies.get(COOKIE)
    if not isinstance(token, str):  # no cookie (or, under AppTest, no browser at all)
        return None
    resumed = resume_session(get_app(), token)
    if resumed is not None:
        st.session_state[ACTOR_KEY] = resumed
        st.session_state[TOKEN_KEY] = token
    return resumed


def require_actor(*roles: Role) -> Actor:
    """The signed-in actor, or stop the page. Navigation never registers pages a role may
    not see; this is the second lock (and the services are the third)."""
    actor = current_actor()
    if actor is None or (roles and actor.role not in roles):
        st.error("Please sign in with an account that may see this page.")
        st.stop()
    assert actor is not None
    return actor


def require_context(*roles: Role) -> Context:
    """What a page passes to the use cases: the shared App and the signed-in person (or
    stop the page, as require_actor does)."""
    return Context(get_app(), require_actor(*roles))


def sign_in(email: str, password: str) -> Actor | None:
    """Attempts are also counted per source address when the server knows it (None on
    localhost and behind a proxy on this machine)."""
    actor = authenticate(get_app(), email, password, source=st.context.ip_address)
    if actor is not None:
        signed_in_as(actor)
    return actor


def signed_in_as(actor: Actor) -> None:
    """This tab's session for someone who just proved who they are (a password or a one-time
    link); one who must still choose a password is signed in too, for that form alone."""
    st.session_state[ACTOR_KEY] = actor
    st.session_state[TOKEN_KEY] = open_session(get_app(), actor)
    st.session_state.pop(SIGNED_OUT_KEY, None)


def password_chosen(actor: Actor) -> None:
    """After the forced change: the same session, now for the actor free to use the app."""
    st.session_state[ACTOR_KEY] = actor


def sign_out() -> None:
    end_session(get_app(), st.session_state.get(TOKEN_KEY))
    _forget_session()


def _forget_session() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[SIGNED_OUT_KEY] = True


def sync_browser_cookie() -> None:
    """Give the browser its session cookie while signed in, take it away after sign-out.

    Streamlit cannot set cookies from the server, so a one-line script does it. Not
    HttpOnly (a script sets it), so the only script that runs in the page is our own;
    SameSite=Strict keeps it off other sites' requests, and Secure is added under HTTPS.
    Called on every run, so a cookie the browser lost is given back."""
    token = st.session_state.get(TOKEN_KEY)
    if token:
        value, max_age = str(token), round(get_app().settings.session_hours * 3600)
    elif st.session_state.get(SIGNED_OUT_KEY):
        value, max_age = "", 0
    else:
        return
    st.html(cookie_script(value, max_age), unsafe_allow_javascript=True)


def cookie_script(value: str, max_age: int) -> str:
    """The script that writes the session cookie; `Secure` is added when the page itself
    came over HTTPS (the browser then never sends the token in clear), and left off on
    plain-HTTP localhost, where a Secure cookie would be dropped and sign-in lost."""
    cookie = json.dumps(f"{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Strict")
    return (
        "<script>document.cookie = "
        + cookie
        + ' + (location.protocol === "https:" ? "; Secure" : "");</script>'
    )


STAFF = (Role.PRACTITIONER, Role.ADMIN)


def flash(page: str, message: str, kind: str = "success") -> None:
    """A confirmation shown once at the top of `page`'s next run: a message written just
    before `st.rerun()` is otherwise never seen."""
    st.session_state[f"flash_{page}"] = (kind, message)


def show_flash(page: str) -> None:
    kind, message = st.session_state.pop(f"flash_{page}", (None, None))
    if message:
        {"warning": st.warning, "error": st.error}.get(kind or "", st.success)(message)
