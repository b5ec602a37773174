"""Untrusted text as an attacker would type it, planted in every field a person fills in.

Shared by tests/app/test_untrusted_text.py (every page through AppTest) and
tests/e2e/test_untrusted_text.py (a real browser counts requests to the outside host).
The values are written straight into the store, as an old row or a careless import would
hold them: what is tested is how the pages show them, not whether the forms take them.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from tracker.bootstrap import App
from tracker.store.models import Client, ClientNote, Clinic, FlagReview, Photo, TreatmentSession, User

HOST = "203.0.113.9"  # TEST-NET-3: never a real host
HOSTILE = (
    f"![x](http://{HOST}/pixel.png) [click](http://{HOST}) **bold** "
    "<img src=x onerror=alert(1)> $x^2$ :red[red]"
)
CLIENT_NAME = f"Ava {HOSTILE}"
CLIENT_EMAIL = "ava@demo.test"
# What markup would make of HOSTILE, once every backslash-escaped character is set aside.
_LIVE = ("](", "**bold**", "<img", "$x^2$", ":red[")
_ESCAPED = re.compile(r"\\.", re.DOTALL)


def plant(app: App) -> int:
    """Put HOSTILE into the demo client Ava's record, notes, sessions, photos, flags, her
    practitioner's name and the clinic's name; returns her client id."""
    with app.uow() as uow:
        db = uow.session
        client = db.scalars(select(Client).where(Client.name.startswith("Ava"))).one()
        client.name = CLIENT_NAME
        client.intake = {**client.intake, "notes": HOSTILE}
        for course in client.courses:
            course.body_area = HOSTILE
            sessions = select(TreatmentSession).where(TreatmentSession.course_id == course.id)
            for session in db.scalars(sessions):
                session.device = session.serum = session.notes = HOSTILE
        for photo in db.scalars(select(Photo).where(Photo.client_id == client.id)):
            photo.original_filename = f"{HOSTILE}.jpg"
        db.add(ClientNote(client_id=client.id, author=HOSTILE, text=HOSTILE))
        for review in db.scalars(select(FlagReview).where(FlagReview.client_id == client.id)):
            review.note = review.by = HOSTILE
        clinic = db.get(Clinic, client.clinic_id)
        assert clinic is not None
        clinic.name = f"Clinic {HOSTILE}"
        for user in db.scalars(select(User).where(User.clinic_id == client.clinic_id)):
            user.display_name = f"{user.display_name} {HOSTILE}"
        client_id = client.id
        uow.commit()
    return client_id


def live_markup(text: str) -> list[str]:
    """What in `text` would render as a link, image, HTML, formula or styling if `text`
    is Markdown: the hostile parts left unescaped, or a bare URL (an autolink)."""
    found = [part for part in _LIVE if part in _ESCAPED.sub("\x00", text)]
    if f"http://{HOST}" in text.replace("\\", ""):
        found.append("autolink")
    return found


__all__ = ["CLIENT_EMAIL", "CLIENT_NAME", "HOST", "HOSTILE", "live_markup", "plant"]
