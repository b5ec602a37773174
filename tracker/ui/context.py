"""Who is signed in, and the App they use. Streamlit state lives here and nowhere deeper."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import streamlit as st

from tracker.app.context import Actor, Context
from tracker.app.cookie_handoff import SESSION_COOKIE, SESSION_PATH, SIGNOUT_PATH
from tracker.app.cookie_handoff import issue as issue_code
from tracker.app.jobs import start_background
from tracker.app.people import authenticate, end_session, open_session, resume_session
from tracker.app.source_address import source_address
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Role

ACTOR_KEY = "actor"
TOKEN_KEY = "session_token"
SIGNED_OUT_KEY = "signed_out"
HANDED_KEY = "cookie_handed"  # the session token this tab has handed to the browser's cookie
CLEARED_KEY = "cookie_cleared"  # this tab has had the server clear the cookie after sign-out
COOKIE = SESSION_COOKIE


def current_settings() -> Settings:
    """The settings as configured now (environment, .env, TOML)."""
    return Settings()


def get_app() -> App:
    """One App (engine, blob store) per configuration, shared by all sessions."""
    return _app_for(Settings().to_json())


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
        st.session_state[HANDED_KEY] = token  # the browser has this cookie already
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
    localhost; behind a proxy, the browser's address the trusted proxy passes on)."""
    app = get_app()
    source = source_address(st.context.ip_address, st.context.headers, app.settings.trusted_proxy_networks)
    actor = authenticate(app, email, password, source=source)
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
    """Hand the browser its session cookie once after a sign-in here, and have the server take
    it away once after a sign-out.

    Streamlit cannot set a cookie from the server, and a cookie a script writes is readable by
    scripts. So the page gets a one-time code (good for a minute), and a one-line script POSTs
    it to the app's own route, whose answer sets the HttpOnly `__Host-` cookie
    (tracker/web/session_routes.py). The code is in the request body, never in a URL."""
    token = st.session_state.get(TOKEN_KEY)
    if token and st.session_state.get(HANDED_KEY) != token:
        st.session_state[HANDED_KEY] = token
        st.html(handoff_script(issue_code(get_app(), str(token))), unsafe_allow_javascript=True)
    elif st.session_state.get(SIGNED_OUT_KEY) and not st.session_state.get(CLEARED_KEY):
        st.session_state[CLEARED_KEY] = True
        st.html(signout_script(), unsafe_allow_javascript=True)
    if token and not cookie_kept_by_browser():
        with st.sidebar:
            st.caption(
                "Signed in for this tab only: over plain HTTP to another computer the browser keeps "
                "no sign-in cookie. A reload or a new tab asks you to sign in again, and downloads "
                "work only over the clinic's https:// address."
            )


def handoff_script(code: str) -> str:
    """The script that trades the one-time code for the cookie. Only in a secure context
    (https, or this machine): elsewhere the browser would refuse a `__Host-` cookie anyway."""
    return (
        "<script>if (window.isSecureContext) fetch("
        + json.dumps(SESSION_PATH)
        + ', {method: "POST", credentials: "same-origin", cache: "no-store", '
        + 'headers: {"Content-Type": "text/plain"}, body: '
        + json.dumps(code)
        + "});</script>"
    )


def signout_script() -> str:
    return (
        "<script>fetch("
        + json.dumps(SIGNOUT_PATH)
        + ', {method: "POST", credentials: "same-origin", cache: "no-store"});</script>'
    )


def cookie_kept_by_browser() -> bool:
    """Whether this browser keeps the `__Host-` cookie: only over HTTPS, or on this machine
    (a secure context for the browser). True when unknown (AppTest has no browser)."""
    url = st.context.url
    if not url:
        return True
    parts = urlsplit(url)
    return parts.scheme == "https" or parts.hostname in {"localhost", "127.0.0.1", "::1"}


STAFF = (Role.PRACTITIONER, Role.ADMIN)


def flash(page: str, message: str, kind: str = "success") -> None:
    """A confirmation shown once at the top of `page`'s next run: a message written just
    before `st.rerun()` is otherwise never seen."""
    st.session_state[f"flash_{page}"] = (kind, message)


def show_flash(page: str) -> None:
    kind, message = st.session_state.pop(f"flash_{page}", (None, None))
    if message:
        {"warning": st.warning, "error": st.error}.get(kind or "", st.success)(message)
