"""Practitioners' notes on a client: what was seen, said and decided between sessions.

Staff only: they are the clinic's working record, not part of the client's pages. Notes are
appended, never edited or deleted here, so the record shows what was known at each time
(a correction is a new note); deleting a client deletes their notes with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.app import audit
from tracker.app.context import Context
from tracker.errors import Refused
from tracker.permissions import require_client_access, require_staff
from tracker.store.models import ClientNote
from tracker.text_rules import checked_text

MAX_NOTE_CHARS = 5000


@dataclass(frozen=True)
class Note:
    id: int
    author: str
    created_at: datetime
    text: str


def add_note(ctx: Context, client_id: int, text: str) -> int:
    actor = ctx.actor
    require_staff(actor)
    body = checked_text((text or "").strip(), "The note", multiline=True)
    if not body:
        raise Refused("A note needs some text.")
    if len(body) > MAX_NOTE_CHARS:
        raise Refused(f"A note can hold at most {MAX_NOTE_CHARS} characters; this one has {len(body)}.")
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        note = ClientNote(client_id=client.id, author_user_id=actor.user_id, author=actor.label, text=body)
        uow.repo.add(note)
        uow.repo.flush()
        audit.record(uow, actor, "add_note", "client_note", note.id, detail={"client_id": client.id})
        uow.commit()
        return note.id


def client_notes(ctx: Context, client_id: int) -> list[Note]:
    """Newest first."""
    actor = ctx.actor
    require_staff(actor)
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        rows = uow.repo.notes(actor.clinic_id, client.id, newest_first=True)
        return [Note(n.id, n.author, n.created_at, n.text) for n in rows]
