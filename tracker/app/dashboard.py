"""The practitioners' dashboard: every client of the clinic on one page, most urgent first.

Why a cache
-----------
`course_progress` computes everything for one client (series, noise bands, recovery-curve
fits, flags) in about 35 ms. A clinic of 1,000 clients would wait half a minute for every
view, so each client's dashboard fields are kept in `client_status` and recomputed only
when stale.

When a cached row is stale (the invalidation scheme)
----------------------------------------------------
A row serves `today` only if both hold:

1. Its `signature` equals the client's *current* signature: a digest of everything
   `course_progress` reads, gathered for the whole clinic in six grouped queries: the
   client's name and intake; the course's plan; each session's id, number, time and
   rating; count, id sum and highest id of the photos and of the analysis results (index
   only); each series' `updated_at`; the noise setting; `CACHE_VERSION`; and
   `client_status.input_version`, a counter that the unit of work (tracker/store/uow.py)
   bumps inside the writer's own transaction whenever its ORM session inserted, updated or
   deleted a client, course, session, photo, result or series row of the client. The
   counter catches what leaves no trace (a result re-measured in place keeps its id and
   has no update time); the traces catch writes the session does not see (bulk SQL).
   Not seen: an in-place edit that is neither (a raw SQL UPDATE of a result). No clock
   is compared: the signature is read *before* the inputs, so a change committed
   meanwhile leaves the stored signature behind and the next view recomputes; a cached
   row can be newer than its signature, never older.
2. `valid_from <= today < valid_until`. Overdue days are derived from the stored due date
   at view time; everything else that depends on the date changes on known days (a
   check-in window closing, a pre-booked session starting), and `valid_until` is the
   first of them. A new day makes stale only the few clients with such an event, not the
   whole clinic (which would make the first view of every morning a cold one).

After the commit, the unit of work publishes ClientInputsChanged for each such client,
and its handler (`refresh_changed_client`, wired in tracker/bootstrap.py) recomputes the
client's row at once, so the next view is warm even at the end of a busy day of uploads,
sessions, intakes, ratings and zone changes. `clinic_dashboard` recomputes whatever is
still stale by itself (a handler that failed, bulk SQL), so a missed refresh costs time,
never correctness. Bump `CACHE_VERSION` when the stored fields or the progress rules
change.

Reviewed flags
--------------
The cache holds the computed flags with their keys; the practitioners' reviews
(acknowledged, resolved, snoozed: tracker/app/flags.py) are applied when the frame is built,
from one query per view. A review changes nothing `course_progress` reads, so it is not
part of the signature, and it shows on the next view without any recomputation. The
frame's flags, counts and ranking are those of OPEN flags only.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import pandas as pd

from tracker.app.clinic import clinic_today
from tracker.app.context import Context
from tracker.app.flags import Review, latest_reviews, open_keys
from tracker.application import App
from tracker.domain import Concern
from tracker.permissions import Actor, require_client_access, require_staff
from tracker.progress import flags as rules
from tracker.progress.assessment import CourseProgress, assess
from tracker.progress.plans import OVERDUE_GRACE
from tracker.store import client_status
from tracker.store.models import utcnow
from tracker.store.queries import course_facts
from tracker.store.uow import UnitOfWork

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: flags carry their keys
# course_progress evaluates the day at this time (its `now`).
DAY_END = time(23, 59)
# Cold refreshes are written in batches, so an interrupted first view keeps its progress.
WRITE_BATCH = 50
# Stale clients whose facts are loaded together (a few queries per batch).
FACTS_BATCH = 250
# Flags recomputed at view time from stored facts, never cached.
DATE_DRIVEN_FLAGS = frozenset({"overdue_session"})
SEVERITIES = ("act", "watch", "info")
# Plain words first, the technical term in brackets where a practitioner may look for it.
FLAG_LABELS = {
    "contraindication": "contraindication",
    "slow_recovery": "redness slow to settle",
    "pih_watch": "darkening watch (PIH)",
    "worsening_texture_dog": "texture worse",
    "overdue_session": "overdue",
    "no_usable_photo": "no usable photo",
    "missed_checkins": "missed check-ins",
}
COUNT_LABELS = {
    "clients": "Clients",
    "act": "Needing action",
    "overdue": "Overdue",
    "slow_recovery": "Redness slow to settle",
    "pih_watch": "Darkening watch (PIH)",
    "no_usable_photo": "No usable photo",
    "due_this_week": "Due this week",
}
COLUMNS = [
    "client_id",
    "name",
    "concern",
    "sessions",
    "sessions_done",
    "planned_sessions",
    "redness_change",
    "redness_status",
    "texture_change_pct",
    "texture_status",
    "flags",
    "act",
    "watch",
    "info",
    "next_due",
    "due_in_days",
    "overdue_days",
    "last_photo",
    "photos",
    "usable_photos",
    "ita_deg",
    "flag_codes",
]
# What a table for people shows (client_id and flag_codes are for links and filters).
DISPLAY_COLUMNS = [
    "name",
    "concern",
    "sessions",
    "redness_change",
    "redness_status",
    "texture_change_pct",
    "texture_status",
    "flags",
    "act",
    "watch",
    "next_due",
    "overdue_days",
    "last_photo",
]


@dataclass(frozen=True)
class StatusFields:
    """One client's cached dashboard fields: what the dashboard shows that does not depend
    on the day (overdue days and the date-driven flags are derived at view time). Stored
    as JSON in client_status.data (`to_json`, the shape CACHE_VERSION names)."""

    name: str
    concern: Concern | None = None
    sessions_done: int = 0
    planned_sessions: int = 0
    redness_change: float | None = None
    redness_status: str | None = None
    texture_change_pct: float | None = None
    texture_status: str | None = None
    flags: tuple[tuple[str, str, int | None, str], ...] = ()  # (code, severity, session, key)
    next_number: int | None = None
    next_due: date | None = None
    next_kind: str = "complete"
    last_photo: datetime | None = None
    photos: int = 0
    photos_usable: int = 0
    ita_deg: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "concern": self.concern.value if self.concern else None,
            "sessions_done": self.sessions_done,
            "planned_sessions": self.planned_sessions,
            "redness": {"change": self.redness_change, "status": self.redness_status},
            "texture": {"change_pct": self.texture_change_pct, "status": self.texture_status},
            "flags": [list(f) for f in self.flags],
            "next": {
                "number": self.next_number,
                "due": self.next_due.isoformat() if self.next_due else None,
                "kind": self.next_kind,
            },
            "last_photo": self.last_photo.isoformat() if self.last_photo else None,
            "photos": self.photos,
            "photos_usable": self.photos_usable,
            "ita_deg": self.ita_deg,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StatusFields:
        redness, texture, upcoming = data["redness"], data["texture"], data["next"]
        return cls(
            name=data["name"],
            concern=Concern(data["concern"]) if data["concern"] else None,
            sessions_done=int(data["sessions_done"]),
            planned_sessions=int(data["planned_sessions"]),
            redness_change=redness["change"],
            redness_status=redness["status"],
            texture_change_pct=texture["change_pct"],
            texture_status=texture["status"],
            flags=tuple((str(c), str(sev), session, str(key)) for c, sev, session, key in data["flags"]),
            next_number=upcoming["number"],
            next_due=date.fromisoformat(upcoming["due"]) if upcoming["due"] else None,
            next_kind=upcoming["kind"],
            last_photo=datetime.fromisoformat(data["last_photo"]) if data["last_photo"] else None,
            photos=int(data["photos"]),
            photos_usable=int(data["photos_usable"]),
            ita_deg=data["ita_deg"],
        )


# Views --------------------------------------------------------------------------------------


def clinic_dashboard(ctx: Context, today: date) -> pd.DataFrame:
    """One row per client of the actor's clinic, most urgent first: act flags, then overdue,
    then watch flags. Stale cache rows are recomputed first (see the module docstring).

    `df.attrs` carries `today` (ISO date) and `refreshed` (how many clients had to be
    recomputed). DISPLAY_COLUMNS are the ones meant for people; the others help filtering."""
    app, actor = ctx.app, ctx.actor
    require_staff(actor)
    ctx.require_account()
    data, refreshed = _fresh_data(app, actor, today)
    df = _frame(data, today, latest_reviews(ctx))
    df.attrs["refreshed"] = refreshed
    return df


def dashboard_counts(df: pd.DataFrame) -> dict[str, int]:
    """The numbers at the top of the dashboard (keys as in COUNT_LABELS), of open flags
    only. "Due this week": the next session is due within 7 days, or was due and is still
    in its week of grace. Each number is the row count of `dashboard_filter` for its key."""
    return {key: int(mask.sum()) for key, mask in _count_masks(df).items()}


def dashboard_filter(df: pd.DataFrame, key: str | None) -> pd.DataFrame:
    """The rows a count tile stands for (None or "clients": all), so a click on a tile
    shows exactly the clients it counted."""
    if not key or key == "clients":
        return df
    return df[_count_masks(df)[key]]


def _count_masks(df: pd.DataFrame) -> dict[str, pd.Series]:
    def has(code: str) -> pd.Series:
        return df["flag_codes"].map(lambda codes: code in codes).astype(bool)

    due_soon = df["due_in_days"].le(7).fillna(False).astype(bool) & df["overdue_days"].eq(0)
    return {
        "clients": pd.Series(True, index=df.index),
        "act": df["act"].gt(0),
        "overdue": has("overdue_session"),
        "slow_recovery": has("slow_recovery"),
        "pih_watch": has("pih_watch"),
        "no_usable_photo": has("no_usable_photo"),
        "due_this_week": due_soon,
    }


def refresh_client_status(ctx: Context, client_id: int, today: date) -> StatusFields:
    """Recompute one client's cached dashboard fields now (one `course_progress` run) and
    return them. Anyone who may see the client may refresh it: it only rewrites the cache,
    and clients' own uploads and ratings are what change it."""
    app, actor = ctx.app, ctx.actor
    with ctx.uow() as uow:
        require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
    data, _ = _fresh_data(app, actor, today, only=client_id, force=True)
    return data[client_id]


def input_signature(ctx: Context, client_id: int) -> str:
    """A digest of everything `course_progress` reads for the client (the cache key of the
    module docstring): equal digests mean an earlier computation is still right, so a view
    can reuse it instead of computing again on every click."""
    app, actor = ctx.app, ctx.actor
    with ctx.uow() as uow:
        require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        found = _signatures(uow, actor.clinic_id, client_id, app.settings.noise_relative_error)
    return found.get(client_id, "")


def refresh_changed_client(app: App, clinic_id: int, client_id: int, today: date | None = None) -> None:
    """After a committed change of the client's inputs (the ClientInputsChanged handler):
    recompute the client's row now, so the practitioners' next view stays warm. The change
    came through a use case that checked its actor, so this acts as the clinic's operator."""
    _fresh_data(
        app, Actor.operator(clinic_id), today or clinic_today(app.settings), only=client_id, force=True
    )


def refresh_clinic_status(
    ctx: Context,
    today: date,
    *,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> int:
    """Bring every stale row of the clinic up to date (a batch job after a metric-version
    change, so that no practitioner waits for the cold view). Returns the rows recomputed."""
    app, actor = ctx.app, ctx.actor
    require_staff(actor)
    ctx.require_account()
    return _fresh_data(app, actor, today, progress=progress)[1]


# The cache ----------------------------------------------------------------------------------


def _fresh_data(
    app: App,
    actor: Actor,
    today: date,
    *,
    only: int | None = None,
    force: bool = False,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> tuple[dict[int, StatusFields], int]:
    """The cached fields of every client (or of `only`), recomputing stale ones."""
    _ensure_rows(app, actor.clinic_id, only)
    with app.uow() as uow:
        # One snapshot: the signatures are read before any input course_progress reads.
        signatures = _signatures(uow, actor.clinic_id, only, app.settings.noise_relative_error)
        cached = client_status.cached_rows(uow.session, actor.clinic_id, only)
    out: dict[int, StatusFields] = {}
    stale: list[int] = []
    for cid, signature in signatures.items():
        row = cached.get(cid)
        if not force and row is not None and _serves(row[0], row[1], row[2], row[3], signature, today):
            assert row[3] is not None
            out[cid] = StatusFields.from_json(row[3])
        else:
            stale.append(cid)
    pending: list[dict[str, object]] = []  # rows as the store writes them
    batch: dict[int, tuple[StatusFields, date | None] | None] = {}
    at = {cid: i for i, cid in enumerate(stale)}
    for cid in progress(stale) if progress else stale:
        if cid not in batch:  # the facts of the next FACTS_BATCH clients, in a few queries
            batch = _compute(app, actor, stale[at[cid] : at[cid] + FACTS_BATCH], today)
        computed = batch[cid]
        if computed is None:  # deleted since the signatures were read
            continue
        data, valid_until = computed
        out[cid] = data
        row_json = {
            "cid": cid,
            "sig": signatures[cid],
            "start": today,
            "end": valid_until,
            "data": data.to_json(),
        }
        pending.append(row_json)
        if len(pending) >= WRITE_BATCH:
            _store(app, pending)
            pending = []
    if pending:
        _store(app, pending)
    if stale:
        log.info("dashboard: recomputed %d of %d clients", len(stale), len(signatures))
    return out, len(stale)


def _serves(
    stored: str | None,
    valid_from: date | None,
    valid_until: date | None,
    data: Mapping[str, object] | None,
    signature: str,
    today: date,
) -> bool:
    return (
        data is not None
        and stored == signature
        and valid_from is not None
        and valid_from <= today
        and (valid_until is None or today < valid_until)
    )


def _ensure_rows(app: App, clinic_id: int, only: int | None) -> None:
    """Give every client a cache row before signatures are read, so a writer's commit
    always has a row to bump (a bump that finds no row would be lost). On SQLite the insert waits
    for any writer holding the lock, whose change the following read then sees."""
    with app.uow() as uow:
        if client_status.add_missing_rows(uow.session, clinic_id, only):  # False also: another view made them
            uow.commit()


def _store(app: App, rows: Sequence[dict[str, object]]) -> None:
    """Write computed rows; `input_version` is the writers' column and is left alone."""
    with app.uow() as uow:
        client_status.store_rows(uow.session, rows, utcnow())
        uow.commit()


def _signatures(uow: UnitOfWork, clinic_id: int, only: int | None, relative_error: float) -> dict[int, str]:
    """Digest of each client's inputs (see the module docstring), read in six queries for
    the whole clinic whatever its size (tracker/store/client_status.py)."""
    head = [CACHE_VERSION, relative_error]
    return {
        cid: hashlib.blake2b(repr([*head, *values]).encode(), digest_size=16).hexdigest()
        for cid, values in client_status.input_traces(uow.session, clinic_id, only).items()
    }


def _compute(
    app: App, actor: Actor, client_ids: list[int], today: date
) -> dict[int, tuple[StatusFields, date | None] | None]:
    """The cached fields of each client and the first day they no longer hold (None: a
    client deleted meanwhile). The facts come in one load scoped to
    the actor's clinic (its permission was checked by the caller); each client is then
    assessed in pure code."""
    with app.uow() as uow:
        facts, names = course_facts(uow.session, actor.clinic_id, client_ids, today)
    relative = app.settings.noise_relative_error
    out: dict[int, tuple[StatusFields, date | None] | None] = {}
    for cid in client_ids:
        if cid in facts:
            progress = assess(facts[cid], relative)
            out[cid] = _status_data(progress), _valid_until(progress)
        elif cid in names:  # no course yet: nothing to measure, nothing due
            out[cid] = StatusFields(name=names[cid]), None
        else:
            out[cid] = None
    return out


def _status_data(p: CourseProgress) -> StatusFields:
    """The compact dashboard fields of one course_progress result."""
    now = datetime.combine(p.today, DAY_END)
    redness, texture = p.summaries["delta_ei"], p.summaries["texture_dog"]
    photos = p.photos
    return StatusFields(
        name=p.client_name,
        concern=p.concern,
        sessions_done=sum(1 for s in p.sessions if s.at <= now),
        planned_sessions=p.plan.planned_sessions,
        redness_change=redness.change,
        redness_status=redness.status,
        texture_change_pct=texture.change_pct,
        texture_status=texture.status,
        flags=tuple(
            (f.code, f.severity, f.session, f.key) for f in p.flags if f.code not in DATE_DRIVEN_FLAGS
        ),
        next_number=p.next.number,
        next_due=p.next.due,
        next_kind=p.next.kind,
        last_photo=cast(datetime, max(photos.taken_at)) if len(photos) else None,
        photos=len(photos),
        photos_usable=int(photos.usable.sum()),
        ita_deg=round(p.ita_deg, 1) if p.ita_deg is not None and math.isfinite(p.ita_deg) else None,
    )


def _valid_until(p: CourseProgress) -> date | None:
    """The first day on which course_progress could say something else for the same inputs:
    a session starts (it counts from then on) or a check-in window closes (a missing photo
    becomes a missed check-in). Overdue days are derived at view time, so they don't count."""
    now = datetime.combine(p.today, DAY_END)
    moments = [s.at for s in p.sessions] + [
        s.at + timedelta(hours=hi) for s in p.sessions for _, hi in rules.CHECKINS.values()
    ]
    days = [m.date() if m.time() <= DAY_END else m.date() + timedelta(days=1) for m in moments if m > now]
    return min(days) if days else None


# The frame ----------------------------------------------------------------------------------


def _frame(
    data: dict[int, StatusFields], today: date, reviews: Mapping[int, Mapping[str, Review]] | None = None
) -> pd.DataFrame:
    """The frame of open flags: `reviews` ({client id: {flag key: latest review}}) hide the
    acknowledged, resolved and snoozed ones."""
    reviews = reviews or {}
    ranked = sorted(
        (_record(cid, d, today, reviews.get(cid, {})) for cid, d in data.items()), key=lambda pair: pair[0]
    )
    df = pd.DataFrame.from_records([row for _, row in ranked], columns=COLUMNS)
    df["due_in_days"] = df["due_in_days"].astype("Int64")
    for column in ("redness_change", "texture_change_pct", "ita_deg"):
        df[column] = df[column].astype(float)
    df.attrs["today"] = today.isoformat()  # JSON-friendly: Streamlit serialises attrs
    return df


def _record(
    client_id: int, d: StatusFields, today: date, reviews: Mapping[str, Review]
) -> tuple[tuple[bool, int, int, int, float, str, int], dict[str, object]]:
    """One row of the frame (COLUMNS) for `today`, and its rank: open act flags first (most
    first), then the most overdue (unless that flag is handled), the most watch flags, the
    soonest due, by name."""
    due = d.next_due
    overdue_days = max(0, (today - (due + OVERDUE_GRACE)).days) if due else 0
    flags = list(d.flags)
    if overdue_days and due:
        flags.append(("overdue_session", "watch", None, rules.overdue_key(due.isoformat())))
    still_open = open_keys(reviews, (f[3] for f in flags), today)
    flags = [f for f in flags if f[3] in still_open]
    overdue_open = overdue_days if any(f[0] == "overdue_session" for f in flags) else 0
    counts = {s: sum(1 for f in flags if f[1] == s) for s in SEVERITIES}
    due_in_days = (due - today).days if due else None
    rank = (
        counts["act"] == 0,
        -counts["act"],
        -overdue_open,
        -counts["watch"],
        due_in_days if due_in_days is not None else math.inf,
        d.name.casefold(),
        client_id,
    )
    return rank, {
        "client_id": client_id,
        "name": d.name,
        "concern": d.concern.label if d.concern else "",
        "sessions": f"{d.sessions_done}/{d.planned_sessions}",
        "sessions_done": d.sessions_done,
        "planned_sessions": d.planned_sessions,
        "redness_change": _num(d.redness_change, 2),
        "redness_status": d.redness_status or "",
        "texture_change_pct": _num(d.texture_change_pct, 1),
        "texture_status": d.texture_status or "",
        "flags": _flag_text(flags),
        **counts,
        "next_due": due,
        "due_in_days": due_in_days,
        "overdue_days": overdue_days,
        "last_photo": d.last_photo.date() if d.last_photo else None,
        "photos": d.photos,
        "usable_photos": d.photos_usable,
        "ita_deg": _num(d.ita_deg, 1),
        "flag_codes": tuple(dict.fromkeys(f[0] for f in flags)),
    }


def _flag_text(flags: Sequence[tuple[str, str, int | None, str]]) -> str:
    """Short labels, most severe first, one per kind of flag with its sessions:
    "contraindication; redness slow to settle · sessions 1, 2, 3"."""
    sessions: dict[str, list[int]] = defaultdict(list)
    rank: dict[str, int] = {}
    for code, severity, session, _ in flags:
        rank[code] = min(rank.get(code, 9), SEVERITIES.index(severity) if severity in SEVERITIES else 3)
        if session is not None:
            sessions[code].append(session)
    parts = []
    for code in sorted(rank, key=lambda c: rank[c]):
        label = FLAG_LABELS.get(code, code.replace("_", " "))
        numbers = sorted(set(sessions[code]))
        if numbers:
            label += f" · session{'s' if len(numbers) > 1 else ''} {', '.join(str(n) for n in numbers)}"
        parts.append(label)
    return "; ".join(parts)


def _num(value: float | None, digits: int) -> float:
    return round(float(value), digits) if value is not None else math.nan


__all__ = [
    "CACHE_VERSION",
    "COUNT_LABELS",
    "DISPLAY_COLUMNS",
    "FLAG_LABELS",
    "clinic_dashboard",
    "dashboard_counts",
    "dashboard_filter",
    "input_signature",
    "refresh_changed_client",
    "refresh_client_status",
    "refresh_clinic_status",
]
