"""The append-only audit log: who did what to which record, and when (design §8).

One helper so every service writes the same fields; rows are only ever added.

A row names people by id, never by name or email ("user 12" did "upload" to "photo 31"
of client 7), and its detail holds facts, not personal values: a photo id rather than the
file's name or hash, which intake fields changed rather than the answers. So the trail
can be kept after a client is deleted (the rows about her become "deleted client 7"), and
an email reused in another clinic, or a renamed account, never inherits anyone's history.
The audit log page turns ids back into the current emails and names of the admin's own
clinic when it shows them.

Staff-typed reasons and notes (why a photo was deleted, what was done about a flag) are
kept while the client exists, because the admin reading the log needs them; they may
mention the client, so her deletion strips them (`forget_client`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tracker.app.context import Context
from tracker.domain import JsonObject, Role
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import utcnow
from tracker.store.uow import UnitOfWork

MAX_EVENTS_SHOWN = 1000

# Detail keys that hold text someone typed about a client: dropped when she is deleted.
FREE_TEXT_KEYS = frozenset({"reason", "note"})


def actor_label(actor: Actor) -> str:
    """What the `actor` column says: an account by id ("user 12"), or the operator ("cli")."""
    return user_label(actor.user_id) if actor.user_id is not None else actor.label


def user_label(user_id: int) -> str:
    return f"user {user_id}"


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: JsonObject | None = None,
) -> None:
    """Add an audit row to the unit of work; it is committed (or rolled back) with it."""
    uow.repo.audit(
        actor=actor_label(actor),
        actor_user_id=actor.user_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        clinic_id=actor.clinic_id,
        detail=detail,
        at=utcnow(),
    )


def forget_client(
    uow: UnitOfWork, clinic_id: int, client_id: int, emails: list[str], user_ids: list[int]
) -> None:
    """Inside the deletion's unit of work: strip typed text from the clinic's rows about the
    client, and name her accounts by id wherever a row still holds an email (rows written
    before ids were used, or a sign-in attempt that carried the typed email)."""
    for event in uow.repo.audit_events_about_client(clinic_id, client_id):
        kept = {k: v for k, v in (event.detail or {}).items() if k not in FREE_TEXT_KEYS}
        if kept != (event.detail or {}):
            event.detail = kept
    for email, user_id in zip(emails, user_ids, strict=True):
        uow.repo.relabel_audit_actor(email, user_label(user_id))


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    actor: str  # the account's current email (of the admin's clinic), or "deleted account 12", "cli"
    action: str
    entity: str
    entity_id: int | None
    detail: JsonObject
    record: str  # "client 7 (Ava Example)", "deleted client 7", "account 3 (pat@…)", "photo 31"


def clinic_events(
    ctx: Context,
    *,
    since: date,
    until: date,
    who: str = "",
    action: str = "",
    limit: int = MAX_EVENTS_SHOWN,
) -> list[Event]:
    """The clinic's audit trail between two days (inclusive), newest first; admins only.

    Only rows written for this clinic: never another clinic's, whoever the email of the
    person behind them (a reused address), and not sign-in attempts for unknown emails.
    `who`: part of the email of one of the clinic's accounts."""
    actor = ctx.actor
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can read the audit log.")
    start = datetime.combine(since, time.min)
    end = datetime.combine(until, time.min) + timedelta(days=1)
    with ctx.uow() as uow:
        emails = uow.repo.account_emails(actor.clinic_id)
        wanted = who.strip().lower()
        user_ids = None if not wanted else [uid for uid, email in emails.items() if wanted in email.lower()]
        rows = uow.repo.audit_events(
            actor.clinic_id,
            start,
            end,
            user_ids=user_ids,
            action=action,
            limit=max(1, min(limit, MAX_EVENTS_SHOWN)),
        )
        client_ids = {e.entity_id for e in rows if e.entity == "client" and e.entity_id is not None}
        client_ids |= {_client_id(e.detail) for e in rows} - {None}  # type: ignore[arg-type]
        names = uow.repo.client_names(actor.clinic_id, {c for c in client_ids if c is not None})
        return [
            Event(
                e.id,
                e.at,
                _who(e.actor, e.actor_user_id, emails),
                e.action,
                e.entity,
                e.entity_id,
                _shown_detail(dict(e.detail or {}), names),
                _record(e.entity, e.entity_id, names, emails),
            )
            for e in rows
        ]


def _client_id(detail: JsonObject | None) -> int | None:
    value = (detail or {}).get("client_id")
    return value if isinstance(value, int) else None


def _who(label: str, user_id: int | None, emails: dict[int, str]) -> str:
    if user_id is not None and user_id in emails:
        return emails[user_id]
    if label.startswith("user "):
        return f"deleted account {label.removeprefix('user ')}"
    return label


def _record(entity: str, entity_id: int | None, names: dict[int, str], emails: dict[int, str]) -> str:
    if entity_id is None:
        return entity
    if entity == "user":
        email = emails.get(entity_id)
        return f"account {entity_id} ({email})" if email is not None else f"deleted account {entity_id}"
    if entity != "client":
        return f"{entity} {entity_id}"
    name = names.get(entity_id)
    return f"client {entity_id} ({name})" if name is not None else f"deleted client {entity_id}"


def _shown_detail(detail: JsonObject, names: dict[int, str]) -> JsonObject:
    client_id = _client_id(detail)
    if client_id is not None:
        detail["client_id"] = _record("client", client_id, names, {})
    return detail
