"""One error boundary for the pages.

app.py runs every page inside `error_boundary()`, and a page puts one around an action
whose failure must not end the page (a form's submit: the rest of the page still shows).
What the person can act on (tracker.errors) is shown as plain text: its message may hold a
name or a file name someone typed. Anything else is our fault: the page says so with a
short reference, and the traceback (which names files, code and data) goes to the server's
log under that reference, never to the page.

Streamlit's own control flow (`st.stop`, `st.rerun`, `st.switch_page`) raises
BaseExceptions, which pass through untouched. Where a page runs outside app.py (a
fragment's own rerun; a server's very first run, when Streamlit starts in its old
pages-folder mode), `client.showErrorDetails = "none"` in .streamlit/config.toml still
keeps the details off the page."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from tracker.errors import NotFound, TrackerError
from tracker.ui.text import md_escape

log = logging.getLogger(__name__)

Kind = Literal["error", "warning", "info"]

UNEXPECTED = (
    "Something went wrong on our side. Please try again; if it happens again, "
    "tell the clinic this reference: {reference}."
)


@dataclass(frozen=True)
class Notice:
    kind: Kind
    text: str  # plain text: shown escaped, never as markup


def notice_for(error: BaseException, reference: str = "") -> Notice:
    """What the page says about `error`. Only tracker.errors carry a message meant for
    people; any other message may hold internals, so it is never shown."""
    if isinstance(error, NotFound):
        return Notice("warning", str(error) or "That no longer exists.")
    if isinstance(error, TrackerError):  # Refused, NotAllowed
        return Notice("error", str(error) or "That was refused.")
    return Notice("error", UNEXPECTED.format(reference=reference))


def notice_logged(error: Exception) -> Notice:
    """`notice_for(error)`; for a fault of ours, the traceback is logged under the
    reference the notice names, so a person's report can be matched to it."""
    if isinstance(error, TrackerError):
        return notice_for(error)
    reference = secrets.token_hex(4)
    log.error("Unexpected error on a page (reference %s)", reference, exc_info=error)
    return notice_for(error, reference)


def show_notice(notice: Notice) -> None:
    {"error": st.error, "warning": st.warning, "info": st.info}[notice.kind](md_escape(notice.text))


def show_error(error: TrackerError, kind: Kind | None = None) -> None:
    """For a handler that does something of its own (keeps a form, asks again) and then
    tells the person: the same words and the same escaping as the boundary."""
    notice = notice_for(error)
    show_notice(Notice(kind or notice.kind, notice.text))


@contextmanager
def error_boundary() -> Iterator[None]:
    """Show what goes wrong inside as a notice; the page goes on after the block.

    Also a decorator (e.g. under `@st.fragment`, whose reruns do not pass through the
    page's boundary)."""
    try:
        yield
    except Exception as error:
        show_notice(notice_logged(error))


__all__ = [
    "UNEXPECTED",
    "Kind",
    "Notice",
    "error_boundary",
    "notice_for",
    "notice_logged",
    "show_error",
    "show_notice",
]
