"""What a client is shown of her own record, and what stays the clinic's (issue 12 item 7).

Why one place: the same record reaches the client by several paths (her pages, her data
export, her PDF, the calendar), and a rule kept in each page is forgotten in the next one.
The use cases apply these when the actor is the client herself; staff see everything.

A client's right of access includes what she told the clinic (her intake answers, her
consents, her ratings), her photos and their measurements, and her treatment (session
dates, areas, device and settings, price). It does not include the practitioners' working
record: their notes on her, session notes, intake notes, flag reviews, the evidence behind
flags about appointments or the intake, nor the staff's email addresses (who recorded an
answer is said as "the clinic").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from tracker.domain import Consents, Intake, JsonObject
from tracker.progress.flags import Flag

# The flags a client hears about: what her photos show. Intake answers and missed or
# overdue appointments are the practitioner's matter (and their evidence may quote the
# intake notes).
CLIENT_FLAG_CODES = ("slow_recovery", "pih_watch", "worsening_")
BY_THE_CLINIC = "the clinic"
# Keys of the stored intake that are staff-only: the practitioner's notes and their email.
STAFF_ONLY_INTAKE_KEYS = ("notes", "recorded_by")


def intake(value: Intake) -> Intake:
    """Her answers and when they were given, without the practitioner's notes or email."""
    return replace(value, notes="", recorded_by="")


def intake_json(stored: Mapping[str, object] | None) -> JsonObject:
    """The stored intake JSON as the client's export holds it."""
    return {k: v for k, v in (stored or {}).items() if k not in STAFF_ONLY_INTAKE_KEYS}


def consents(value: Consents, you: str) -> Consents:
    """Her consents; an answer someone at the clinic recorded says "by the clinic"."""
    return Consents(
        {
            flag: replace(entry, by=entry.by if entry.by in ("", you) else BY_THE_CLINIC)
            for flag, entry in value.entries.items()
        }
    )


def flags(found: Sequence[Flag]) -> list[Flag]:
    """Only the flags about what her photos show."""
    return [f for f in found if f.code.startswith(CLIENT_FLAG_CODES)]


# What the forms say under each field a person types into, so nobody writes in a staff-only
# field what they would not want the client to read, nor thinks a field is private when it
# is not.
STAFF_ONLY_HELP = "Staff only: the client never sees this."
CLIENT_SEES_HELP = "The client sees this too: in their progress report and their data export."
