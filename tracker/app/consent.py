"""A client's consents, one per purpose (design §8; issue 11): read, give, withdraw.

Each answer is stored with when and by whom (tracker.domain.Consents, JSON on the client),
and every change is audited; a withdrawal has its own action, "consent_withdrawn", so the
audit log can be searched for it. The services that use photos for a purpose check the
consent themselves (reports, uploads), so no page can forget to.

Staff of the client's clinic may record any answer (the client tells them, or signs a
form); a client may change only the purposes that are theirs alone to decide (marketing,
email reminders). Treatment and clinical photos are a conversation with the practitioner.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracker.app import audit, client_view
from tracker.app.context import Context
from tracker.domain import ConsentEntry, ConsentFlag, Consents, Role
from tracker.errors import Refused
from tracker.permissions import Actor, PermissionDenied, require_client_access
from tracker.store.models import Client, utcnow
from tracker.store.uow import UnitOfWork

# What a client may change on their own account page.
CLIENT_MAY_CHANGE: tuple[ConsentFlag, ...] = (ConsentFlag.PHOTOS_FOR_MARKETING, ConsentFlag.CONTACT)

NO_PHOTOS_IN_REPORTS = "Photos are left out: the client has not agreed to photos in reports."


class PhotosNotAllowed(Refused):
    """The client withdrew (or declined) consent to photos for their care: no new photo
    may be kept."""


def client_consents(ctx: Context, client_id: int) -> Consents:
    """The client's consents as stored; staff of the clinic and the client themself may read them."""
    actor = ctx.actor
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        return _as_seen(actor, Consents.from_json(client.consent))


def set_consent(ctx: Context, client_id: int, flag: ConsentFlag, given: bool) -> Consents:
    """Give or withdraw one purpose's consent; returns the consents now stored."""
    return set_consents(ctx, client_id, {flag: given})


def set_consents(ctx: Context, client_id: int, answers: Mapping[ConsentFlag, bool]) -> Consents:
    """Record several answers at once (the consent panel's form), in one transaction: all
    are stored or, when one is not the actor's to change, none. An answer equal to the one
    on file changes nothing and is not audited."""
    actor = ctx.actor
    _require_may_change(actor, answers)
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        now = store_consents(uow, actor, client, answers)
        uow.commit()
        return _as_seen(actor, now)


def store_consents(
    uow: UnitOfWork, actor: Actor, client: Client, answers: Mapping[ConsentFlag, bool]
) -> Consents:
    """Write the changed answers onto `client` and audit each one, inside the caller's unit
    of work (a new client's intake uses it too). Returns the consents now on the client."""
    before = Consents.from_json(client.consent)
    at = utcnow().isoformat(timespec="seconds")
    entries = dict(before.entries)
    for flag, given in answers.items():
        old = before.entries.get(flag)
        if old is not None and old.given == bool(given):
            continue
        entries[flag] = ConsentEntry(given=bool(given), at=at, by=actor.label)
        audit.record(
            uow,
            actor,
            _action(was_given=before.given(flag), given=bool(given)),
            "client",
            client.id,
            detail={"purpose": flag.value, "given": bool(given)},
        )
    now = Consents(entries)
    client.consent = now.to_json()
    return now


def refuse_photos_without_care_consent(client: Client) -> None:
    """Refuse a new photo when the client has said no to photos for their care. A client
    whose consent was never asked (records from before consent was captured) is not refused:
    only an answer on file stops an upload. Existing photos stay: staff decide about them."""
    entry = Consents.from_json(client.consent).entries.get(ConsentFlag.PHOTOS_FOR_CARE)
    if entry is not None and not entry.given:
        raise PhotosNotAllowed(
            "No new photos can be kept: consent to photos for clinical care is not given "
            "(declined or withdrawn). The clinic can record it if the client agrees."
        )


def _action(*, was_given: bool, given: bool) -> str:
    if given:
        return "consent_given"
    return "consent_withdrawn" if was_given else "consent_declined"


def _as_seen(actor: Actor, consents: Consents) -> Consents:
    """The client herself reads "by the clinic" where a staff member recorded an answer."""
    return client_view.consents(consents, actor.label) if actor.role is Role.CLIENT else consents


def _require_may_change(actor: Actor, answers: Mapping[ConsentFlag, bool]) -> None:
    if actor.role is not Role.CLIENT:
        return  # staff: require_client_access checks the clinic
    others = [flag for flag in answers if flag not in CLIENT_MAY_CHANGE]
    if others:
        raise PermissionDenied(
            "Only the clinic can change your consent to "
            + ", ".join(f.label.lower() for f in others)
            + ": please talk to your practitioner."
        )
