"""Flags have a lifecycle: a practitioner acknowledges, resolves, snoozes or reopens them.

A flag is computed from the client's data on every view (tracker/progress/flags.py) and
named by its key: (client, code, session), or for a flag without a session, what it is
about (the due date, the intake answers). The practitioners' actions are rows of
`flag_review`, added and never changed: the latest row of a key is the flag's state, the
rows are its history. States:

- open: no row, or the latest is "reopened", or a snooze whose date has come;
- acknowledged: someone is on it (a note saying what was done or decided is required);
  not counted on the dashboard, still listed on the client review with its actions;
- resolved: done; it stays resolved for that key. A new session, a new due date or a
  different intake answer is a new key, hence a new open flag (kept simple on purpose:
  the same flag with worse numbers for the same session is not raised again);
- snoozed until a date: hidden before that date, open again on it.

Only the clinic's staff see and act on flags; every action is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from tracker.app import audit
from tracker.app.context import Context
from tracker.app.courses import course_progress
from tracker.domain import JsonObject
from tracker.errors import Refused
from tracker.permissions import require_client_access, require_staff
from tracker.progress.flags import Flag as Flag
from tracker.store import flag_reviews
from tracker.store.models import FlagReview, utcnow
from tracker.text_rules import checked_text

MAX_FLAG_NOTE_CHARS = 2000
MAX_SNOOZE_DAYS = 365


class FlagState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    SNOOZED = "snoozed"


@dataclass(frozen=True)
class Review:
    """One practitioner action on a flag (a row of flag_review)."""

    key: str
    title: str
    action: str  # "acknowledged" | "resolved" | "snoozed" | "reopened"
    note: str
    snoozed_until: date | None
    by: str
    at: datetime


@dataclass(frozen=True)
class FlagView:
    """A computed flag with its state for `today` and its history, oldest first."""

    flag: Flag
    state: FlagState
    history: tuple[Review, ...] = ()

    @property
    def key(self) -> str:
        return self.flag.key

    @property
    def is_open(self) -> bool:
        return self.state is FlagState.OPEN

    @property
    def latest(self) -> Review | None:
        return self.history[-1] if self.history else None


@dataclass(frozen=True)
class ClientFlags:
    """A client's flags for the review page: the computed ones with their state, and every
    review row (newest first), also of flags no longer computed (a resolved missed check-in
    that a late photo has since filled)."""

    flags: tuple[FlagView, ...]
    history: tuple[Review, ...]

    @property
    def open(self) -> list[FlagView]:
        return [f for f in self.flags if f.is_open]

    @property
    def handled(self) -> list[FlagView]:
        """Acknowledged, snoozed or resolved: still computed, not open."""
        return [f for f in self.flags if not f.is_open]


def state_of(latest: Review | None, today: date) -> FlagState:
    """The state a flag's latest review gives it on `today`."""
    if latest is None or latest.action == "reopened":
        return FlagState.OPEN
    if latest.action == "snoozed":
        if latest.snoozed_until is None or latest.snoozed_until <= today:
            return FlagState.OPEN
        return FlagState.SNOOZED
    return FlagState(latest.action)


def open_keys(reviews: Mapping[str, Review], keys: Iterable[str], today: date) -> set[str]:
    """Which of `keys` are open on `today`, given the latest review of each key."""
    return {k for k in keys if state_of(reviews.get(k), today) is FlagState.OPEN}


def latest_reviews(ctx: Context, only: int | None = None) -> dict[int, dict[str, Review]]:
    """{client id: {flag key: its latest review}} for the actor's clinic in one query (the
    dashboard applies them when it builds its frame, so an action shows at once)."""
    actor = ctx.actor
    require_staff(actor)
    out: dict[int, dict[str, Review]] = {}
    with ctx.uow() as uow:
        if only is not None:
            require_client_access(actor, uow.repo.client(actor.clinic_id, only))
        for row in flag_reviews.clinic_reviews(uow.session, actor.clinic_id, only):
            out.setdefault(row.client_id, {})[row.flag_key] = _review(row)
    return out


def review_flags(ctx: Context, client_id: int, flags: Sequence[Flag], today: date) -> ClientFlags:
    """The client's computed `flags` (from the page's course_progress) with their states."""
    actor = ctx.actor
    require_staff(actor)
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        rows = [_review(r) for r in flag_reviews.clinic_reviews(uow.session, actor.clinic_id, client.id)]
    by_key: dict[str, list[Review]] = {}
    for r in rows:
        by_key.setdefault(r.key, []).append(r)
    views = []
    for f in flags:
        history = tuple(by_key.get(f.key, ()))
        views.append(FlagView(f, state_of(history[-1] if history else None, today), history))
    return ClientFlags(tuple(views), tuple(reversed(rows)))


def client_flags(ctx: Context, client_id: int, today: date) -> ClientFlags:
    """The client's flags computed now, with their states (course_progress + review_flags)."""
    return review_flags(ctx, client_id, course_progress(ctx, client_id, today).flags, today)


def acknowledge(ctx: Context, client_id: int, key: str, note: str, today: date) -> None:
    """Someone is on it: what was done or decided is the note, which is required."""
    text = _note(note)
    if not text:
        raise Refused("Say what was done or decided: acknowledging a flag needs a note.")
    _act(ctx, client_id, key, "acknowledged", text, None, today)


def resolve(ctx: Context, client_id: int, key: str, note: str, today: date) -> None:
    _act(ctx, client_id, key, "resolved", _note(note), None, today)


def snooze(ctx: Context, client_id: int, key: str, until: date, note: str, today: date) -> None:
    """Hidden until `until`, open again on that day."""
    if until <= today:
        raise Refused("Snooze until a day after today.")
    if until > today + timedelta(days=MAX_SNOOZE_DAYS):
        raise Refused(f"A flag can be snoozed for at most {MAX_SNOOZE_DAYS} days.")
    _act(ctx, client_id, key, "snoozed", _note(note), until, today)


def reopen(ctx: Context, client_id: int, key: str, note: str, today: date) -> None:
    _act(ctx, client_id, key, "reopened", _note(note), None, today)


# From each state, the actions that make sense (a refused one changes nothing).
ALLOWED = {
    FlagState.OPEN: {"acknowledged", "resolved", "snoozed"},
    FlagState.ACKNOWLEDGED: {"resolved", "snoozed", "reopened"},
    FlagState.SNOOZED: {"acknowledged", "resolved", "reopened"},
    FlagState.RESOLVED: {"reopened"},
}
VERBS = {"acknowledged": "acknowledge", "resolved": "resolve", "snoozed": "snooze", "reopened": "reopen"}


def _act(
    ctx: Context, client_id: int, key: str, action: str, note: str, until: date | None, today: date
) -> None:
    """Check the flag exists now and the action fits its state; add the row and its audit."""
    actor = ctx.actor
    require_staff(actor)
    with ctx.uow() as uow:
        require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
    current = {f.key: f for f in client_flags(ctx, client_id, today).flags}
    view = current.get(key)
    if view is None:
        raise Refused("This flag no longer applies to the client (their data changed): reload the page.")
    if action not in ALLOWED[view.state]:
        raise Refused(f"This flag is {view.state.value}: it cannot be {action} now.")
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        row = FlagReview(
            client_id=client.id,
            flag_key=key,
            title=view.flag.title[:300],
            state=action,
            note=note,
            snoozed_until=until,
            by_user_id=actor.user_id,
            by=actor.label,
            at=utcnow(),
        )
        uow.repo.add(row)
        uow.repo.flush()
        detail: JsonObject = {"client_id": client.id, "flag": key, "state": action}
        if note:
            detail["note"] = note
        if until is not None:
            detail["until"] = until.isoformat()
        audit.record(uow, actor, f"flag_{VERBS[action]}", "flag_review", row.id, detail=detail)
        uow.commit()


def _note(note: str) -> str:
    text = checked_text((note or "").strip(), "The note", multiline=True)
    if len(text) > MAX_FLAG_NOTE_CHARS:
        raise Refused(f"A note can hold at most {MAX_FLAG_NOTE_CHARS} characters; this one has {len(text)}.")
    return text


def _review(row: FlagReview) -> Review:
    return Review(row.flag_key, row.title, row.state, row.note, row.snoozed_until, row.by, row.at)


__all__ = [
    "ClientFlags",
    "Flag",
    "FlagState",
    "FlagView",
    "Review",
    "acknowledge",
    "client_flags",
    "latest_reviews",
    "open_keys",
    "reopen",
    "resolve",
    "review_flags",
    "snooze",
    "state_of",
]
