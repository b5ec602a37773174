"""The consent panel: one tick box per purpose with what is on file (given or withdrawn,
when, by whom), saved together. Staff see it on the Record page with every purpose; a
client sees it on My account with the purposes that are theirs to change, and the others
read-only.

The widgets are keyed by client and by the stored answers, so after a save (or on another
client) the boxes show what is on file, never the last client's ticks. Only the purposes
whose tick differs from the file are sent: a purpose never asked stays unasked unless it
is ticked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from tracker.app import consent
from tracker.app.context import Context
from tracker.domain import ConsentEntry, ConsentFlag, Consents
from tracker.ui.context import flash
from tracker.ui.errors import error_boundary
from tracker.ui.text import md_escape

SAVE_LABEL = "Save consent"


def consent_state(entry: ConsentEntry | None, you: str = "") -> str:
    """'Given on 1 Dec 2026 by …', 'Withdrawn on …' or 'Not asked yet', as Markdown-safe text."""
    if entry is None:
        return "Not asked yet"
    text = "Given" if entry.given else "Not given"
    if entry.at:
        with contextlib.suppress(ValueError):  # a hand-edited time: said without it
            text += f" on {datetime.fromisoformat(entry.at):%d %b %Y}"
    if entry.by:
        text += " by you" if you and entry.by == you else f" by {md_escape(entry.by)}"
    return text


def consent_panel(
    ctx: Context,
    client_id: int,
    *,
    page: str,
    flags: Sequence[ConsentFlag] = tuple(ConsentFlag),
) -> None:
    """The form for one client; a save flashes on `page` (tracker.ui.context.flash)."""
    stored = consent.client_consents(ctx, client_id)
    you = ctx.actor.label
    revision = hashlib.sha256(json.dumps(stored.to_json(), sort_keys=True).encode()).hexdigest()[:12]
    key = f"{client_id}_{revision}"
    with st.form(f"consent_{key}"):
        ticks: dict[ConsentFlag, bool] = {}
        for flag in flags:
            ticks[flag] = st.checkbox(flag.label, value=stored.given(flag), key=f"consent_{flag.value}_{key}")
            st.caption(consent_state(stored.entries.get(flag), you))
        saved = st.form_submit_button(SAVE_LABEL)
    if saved:
        _save(ctx, client_id, stored, ticks, page)


def consent_summary(stored: Consents, flags: Sequence[ConsentFlag], you: str = "") -> None:
    """The purposes shown but not changeable here, one line each."""
    lines = []
    for flag in flags:
        state = consent_state(stored.entries.get(flag), you)
        lines.append(f"- {flag.label}: {state[:1].lower()}{state[1:]}")
    st.markdown("\n".join(lines))


def _save(ctx: Context, client_id: int, stored: Consents, ticks: dict[ConsentFlag, bool], page: str) -> None:
    changed = {flag: given for flag, given in ticks.items() if given != stored.given(flag)}
    if not changed:
        st.info("Nothing to save: the answers on file are the same.")
        return
    with error_boundary():  # a refusal is said, and the ticks stay as they are
        consent.set_consents(ctx, client_id, changed)
        given = [f.label for f, v in changed.items() if v]
        withdrawn = [f.label for f, v in changed.items() if not v]
        parts = ([f"given: {', '.join(given)}"] if given else []) + (
            [f"withdrawn: {', '.join(withdrawn)}"] if withdrawn else []
        )
        flash(page, "Consent saved; " + "; ".join(parts) + ".", kind="warning" if withdrawn else "success")
        st.rerun()


__all__ = ["SAVE_LABEL", "consent_panel", "consent_state", "consent_summary"]
