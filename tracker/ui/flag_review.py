"""The flags part of the client review: open flags with their actions (acknowledge with a
note, resolve, snooze until a date), the flags being handled, and every action taken.

Kept out of pages/client_review.py so the page stays a list of tabs. The page passes the
flags it already computed and how to show a photo (the link from a flag's evidence)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

import streamlit as st

from tracker.app import flags as lifecycle
from tracker.app.client_view import STAFF_ONLY_HELP
from tracker.app.context import Context
from tracker.app.flags import MAX_FLAG_NOTE_CHARS, Flag, FlagState, FlagView, Review
from tracker.glossary import label
from tracker.ui.errors import error_boundary
from tracker.ui.text import md_escape

# More photos than this under one flag are listed in the evidence, not as buttons.
MAX_PHOTO_BUTTONS = 4
DEFAULT_SNOOZE_DAYS = 7
BOXES = {"act": st.error, "watch": st.warning}
DONE_WORDS = {
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "snoozed": "Snoozed",
    "reopened": "Reopened",
}


def flag_section(
    ctx: Context,
    client_id: int,
    computed: Sequence[Flag],
    today: date,
    photo_labels: Mapping[int, str],
    show_photo: Callable[[int], None],
) -> None:
    """`photo_labels`: the photos the page can show; `show_photo` is called (as a button's
    callback, before the page reruns) to open one of them."""
    reviewed = lifecycle.review_flags(ctx, client_id, computed, today)
    done = st.session_state.pop("flag_done", None)
    if done:
        st.success(md_escape(done))
    open_flags = reviewed.open
    if not open_flags:
        st.success("No open flags.")
    for view in open_flags:
        _open_flag(ctx, client_id, view, today, photo_labels, show_photo)
    if reviewed.handled:
        st.subheader("Acknowledged, snoozed and resolved")
        for view in reviewed.handled:
            _handled_flag(ctx, client_id, view, today)
    if reviewed.history:
        with st.expander(f"Flag history ({len(reviewed.history)} actions)"):
            for review in reviewed.history:
                _history_line(review)


def _open_flag(
    ctx: Context,
    client_id: int,
    view: FlagView,
    today: date,
    photo_labels: Mapping[int, str],
    show_photo: Callable[[int], None],
) -> None:
    flag, key = view.flag, view.key
    box = BOXES.get(flag.severity, st.info)
    # Evidence may quote the intake notes someone typed: text, never markup.
    # The severity in words as well as colour ("Needs action", "Keep an eye on").
    box(
        f"**{md_escape(flag.title)}** · {md_escape(label(flag.severity))}\n\n"
        + "\n".join(f"- {md_escape(e)}" for e in flag.evidence)
    )
    shown = [p for p in flag.data.get("photo_ids", []) if p in photo_labels][:MAX_PHOTO_BUTTONS]
    links = st.container(horizontal=True) if shown else None
    for photo_id in shown:
        assert links is not None
        links.button(
            f"Compare {photo_labels[photo_id]}",
            key=f"flag_photo_{key}_{photo_id}",
            icon=":material/compare:",
            type="tertiary",
            on_click=show_photo,
            args=(photo_id,),
        )
    if view.latest is not None:  # reopened, or a snooze that has come due
        st.caption(md_escape(_latest_words(view.latest)))
    with st.expander("Acknowledge, resolve or snooze"), st.form(f"flag_form_{key}", clear_on_submit=True):
        note = st.text_input(
            "Note (needed to acknowledge: what was done or decided)",
            max_chars=MAX_FLAG_NOTE_CHARS,
            help=STAFF_ONLY_HELP,
            key=f"flag_note_{key}",
        )
        until = st.date_input(
            "Snooze until",
            value=today + timedelta(days=DEFAULT_SNOOZE_DAYS),
            min_value=today + timedelta(days=1),
            max_value=today + timedelta(days=lifecycle.MAX_SNOOZE_DAYS),
            format="DD/MM/YYYY",
            key=f"flag_until_{key}",
        )
        row = st.container(horizontal=True)
        with row:
            ack = st.form_submit_button("Acknowledge", key=f"flag_ack_{key}")
            res = st.form_submit_button("Resolve", key=f"flag_resolve_{key}")
            snz = st.form_submit_button("Snooze", key=f"flag_snooze_{key}")
        if ack or res or snz:
            with error_boundary():
                if ack:
                    lifecycle.acknowledge(ctx, client_id, key, note, today)
                    _done(f"Acknowledged: {flag.title}.")
                elif res:
                    lifecycle.resolve(ctx, client_id, key, note, today)
                    _done(f"Resolved: {flag.title}.")
                elif isinstance(until, date):
                    lifecycle.snooze(ctx, client_id, key, until, note, today)
                    _done(f"Snoozed until {until:%d %b %Y}: {flag.title}.")


def _handled_flag(ctx: Context, client_id: int, view: FlagView, today: date) -> None:
    flag, key = view.flag, view.key
    with st.container(border=True):
        st.markdown(f"**{md_escape(flag.title)}** · {view.state.value}")
        if view.latest is not None:
            st.caption(md_escape(_latest_words(view.latest)))
            if view.latest.note:
                st.text(view.latest.note)
        buttons = st.container(horizontal=True)
        if view.state is not FlagState.RESOLVED and buttons.button("Resolve", key=f"flag_resolve2_{key}"):
            with error_boundary():
                lifecycle.resolve(ctx, client_id, key, "", today)
                _done(f"Resolved: {flag.title}.")
        if buttons.button("Reopen", key=f"flag_reopen_{key}"):
            with error_boundary():
                lifecycle.reopen(ctx, client_id, key, "", today)
                _done(f"Reopened: {flag.title}.")


def _history_line(review: Review) -> None:
    what = DONE_WORDS.get(review.action, review.action)
    if review.snoozed_until is not None:
        what += f" until {review.snoozed_until:%d %b %Y}"
    st.markdown(
        f"**{review.at:%d %b %Y %H:%M}** · {md_escape(review.by)} · {what} · {md_escape(review.title)}"
    )
    if review.note:
        st.text(review.note)


def _latest_words(review: Review) -> str:
    what = DONE_WORDS.get(review.action, review.action)
    if review.snoozed_until is not None:
        what += f" until {review.snoozed_until:%d %b %Y}"
    return f"{what} by {review.by} on {review.at:%d %b %Y %H:%M}"


def _done(message: str) -> None:
    """Say what was done after the rerun that moves the flag to its new place."""
    st.session_state["flag_done"] = message
    st.rerun()
