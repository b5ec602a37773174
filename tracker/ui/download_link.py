"""A link to one of the app's downloads (tracker/app/downloads.py), in place of Streamlit's
download button.

Why: a download button's bytes were kept by Streamlit under a /media URL that anyone could
fetch, without signing in, for minutes after the browser closed. The link names only what
to build; the app's own route builds it when clicked, for the person signed in in this
browser (by the HttpOnly session cookie), after the use case's permission check.
"""

from __future__ import annotations

import html

import streamlit as st

from tracker.app.downloads import download_path

# Looks like the app's buttons, with a finger-sized target on a phone.
_STYLE = (
    "display:inline-block;padding:0.55rem 0.9rem;min-height:44px;box-sizing:border-box;"
    "border:1px solid rgba(49,51,63,0.2);border-radius:0.5rem;text-decoration:none;color:inherit"
)


def download_link(
    label: str, kind: str, client_id: int | None = None, *, key: str, metric: str | None = None
) -> None:
    href = html.escape(download_path(kind, client_id, metric), quote=True)
    with st.container(key=key):
        # Our own markup from fixed labels and ids: nothing a person typed goes into it.
        st.markdown(
            f'<a href="{href}" download class="tracker-download" style="{_STYLE}">⬇ {html.escape(label)}</a>',
            unsafe_allow_html=True,
        )


__all__ = ["download_link"]
