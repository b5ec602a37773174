"""Streamlit entry point: settings → sign-in → role → navigation over file-based pages.

Pages a role may not see are never registered, so they cannot be reached by URL; each
page checks the role again, and the services check permissions a third time.
"""

from __future__ import annotations

import streamlit as st

from tracker.app import courses
from tracker.app.clinic import clinic_profile
from tracker.app.context import Context
from tracker.app.demo import iter_demo_credentials, load_manifest
from tracker.domain import Role
from tracker.ui.context import (
    current_actor,
    current_settings,
    get_app,
    sign_in,
    sign_out,
    sync_browser_cookie,
)
from tracker.ui.errors import error_boundary
from tracker.ui.oidc import provider_sign_in, take_identity
from tracker.ui.password_pages import change_page, link_page, link_token
from tracker.ui.text import md_escape

st.set_page_config(page_title="Recovery tracker", page_icon="🩹", layout="wide")


@st.cache_data(ttl=60, show_spinner=False)
def _demo_accounts_block_production(environment: str) -> bool:
    """A production server serves nothing while demo accounts (published passwords) are on."""
    return environment == "production" and bool(courses.demo_accounts_active(get_app()))


if _demo_accounts_block_production(current_settings().environment):
    st.error(
        "This installation runs in production, but the demo's accounts are switched on and their "
        "passwords are published. An administrator must run `python -m tracker demo-off` first."
    )
    st.stop()

CLIENT_PAGES = [
    st.Page("pages/my_course.py", title="My course", icon=":material/event:", default=True),
    st.Page("pages/upload.py", title="Upload photos", icon=":material/photo_camera:"),
    st.Page("pages/my_progress.py", title="My progress", icon=":material/monitoring:"),
]
STAFF_PAGES = [
    st.Page("pages/dashboard.py", title="Dashboard", icon=":material/dashboard:", default=True),
    st.Page("pages/client_review.py", title="Client review", icon=":material/person_search:"),
    st.Page("pages/record.py", title="Record session & intake", icon=":material/edit_note:"),
    st.Page("pages/accounts.py", title="Accounts", icon=":material/group:"),
]
ADMIN_PAGES = [
    *STAFF_PAGES,
    st.Page("pages/audit_log.py", title="Audit log", icon=":material/history:"),
    st.Page("pages/jobs.py", title="Background jobs", icon=":material/memory:"),
]
ACCOUNT_PAGE = st.Page("pages/my_account.py", title="My account", icon=":material/key:")


def sign_in_page() -> None:
    st.title("Recovery-photo tracker")
    st.caption("Sign in to see your photos and progress.")
    provider_sign_in()
    with st.form("sign_in"):
        email = st.text_input("Email", key="email", autocomplete="username")
        password = st.text_input("Password", type="password", key="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        with error_boundary():  # too many attempts: refused with its reason
            if sign_in(email, password):
                st.rerun()
            st.error("That email and password do not match an account.")
    if current_settings().demo_mode:
        _demo_accounts()


def _demo_accounts() -> None:
    try:
        manifest = load_manifest()
    except FileNotFoundError:
        return
    with st.expander("Demo accounts (demo mode only)", expanded=True):
        rows = [{"role": r, "email": e, "password": p} for r, e, p in iter_demo_credentials(manifest)]
        st.dataframe(rows, hide_index=True, width="stretch")


take_identity()  # back from the identity provider: its answer becomes our login session
actor = current_actor()
if link_token():  # an invite or reset link: set a password, then be signed in
    page = st.navigation(
        [st.Page(link_page, title="Set your password", icon=":material/key:")], position="hidden"
    )
elif actor is None:
    page = st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:")], position="hidden")
elif actor.must_change_password:  # the clinic set the password: nothing else until it is changed
    page = st.navigation(
        [
            st.Page(
                lambda: change_page(actor),
                title="Choose a new password",
                icon=":material/key:",
                url_path="choose-password",
            )
        ],
        position="hidden",
    )
    with st.sidebar:
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
else:
    pages = {Role.CLIENT: CLIENT_PAGES, Role.PRACTITIONER: STAFF_PAGES}.get(actor.role, ADMIN_PAGES)
    if actor.role is Role.CLIENT:
        # A client is on a phone, where Streamlit folds even "top" navigation behind the
        # sidebar's small "»": the pages are links along the top of every page instead.
        page = st.navigation([*pages, ACCOUNT_PAGE], position="hidden")
        with st.container(horizontal=True, key="client_nav", gap="small"):
            for client_page in [*pages, ACCOUNT_PAGE]:
                st.page_link(client_page)
    else:
        page = st.navigation([*pages, ACCOUNT_PAGE])
    clinic = clinic_profile(Context(get_app(), actor))
    if clinic.logo is not None:
        st.logo(str(clinic.logo), size="large")
    with st.sidebar:
        st.markdown(f"**{md_escape(clinic.name)}**")
        st.caption(f"Signed in as {md_escape(actor.label)} ({actor.role.value})")
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()
sync_browser_cookie()
with error_boundary():  # no page shows a traceback; what a person can act on is said plainly
    page.run()
