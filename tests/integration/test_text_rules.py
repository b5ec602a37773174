"""Names and free text refuse control and direction characters in the use cases (issue 12
item 4): with a clear message naming the field and the character, and nothing stored or
audited. And `python -m tracker` prints a name stored before the rule escaped, one record
per line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tracker.app import courses, flags, notes, people, photo_admin
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.cli import main
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor
from tracker.store.models import AuditEvent, Client, ClientNote, Clinic, TreatmentSession, User

ESC, RLO = "\x1b[31m", "\u202e"
Call = Callable[[Context, int], object]
CASES: dict[str, tuple[Call, str]] = {
    "client name": (lambda ctx, _c: courses.create_client(ctx, f"Eve{ESC}"), "The client's name"),
    "client name, newline": (
        lambda ctx, _c: courses.create_client(ctx, "Eve\nclient 9"),
        "The client's name",
    ),
    "treated area": (
        lambda ctx, _c: courses.create_client(ctx, "Eve", body_area=f"cheek{RLO}"),
        "treated area",
    ),
    "device": (lambda ctx, c: courses.record_session(ctx, c, 1, datetime(2026, 1, 5), device=ESC), "device"),
    "serum": (lambda ctx, c: courses.record_session(ctx, c, 1, datetime(2026, 1, 5), serum=RLO), "serum"),
    "session notes": (
        lambda ctx, c: courses.record_session(ctx, c, 1, datetime(2026, 1, 5), notes=f"ok\n{ESC}"),
        "session notes",
    ),
    "intake notes": (lambda ctx, c: courses.record_intake(ctx, c, [], notes=f"{RLO}gpj.exe"), "intake notes"),
    "note": (lambda ctx, c: notes.add_note(ctx, c, f"called{ESC}]0;pwned\x07"), "The note"),
    "flag note": (lambda ctx, c: flags.resolve(ctx, c, "any", f"done{RLO}", date(2026, 1, 5)), "The note"),
    "email": (
        lambda ctx, _c: people.create_account(ctx, f"a{RLO}@b.test", Role.PRACTITIONER, None),
        "email address",
    ),
    "display name": (
        lambda ctx, _c: people.create_account(
            ctx, "pat@b.test", Role.PRACTITIONER, None, display_name="P\x9b"
        ),
        "The name",
    ),
    "photo deletion reason": (
        lambda ctx, _c: photo_admin.delete_photo(ctx, 1, f"blurred{ESC}"),
        "The reason",
    ),
}


def _rows(app: App) -> tuple[int, ...]:
    with app.uow() as uow:
        db = uow.session
        counts = [
            int(db.scalar(select(func.count()).select_from(model)) or 0)
            for model in (AuditEvent, Client, ClientNote, TreatmentSession, User, Clinic)
        ]
        return (*counts, hash(json.dumps(db.scalars(select(Client.intake)).all(), sort_keys=True)))


@pytest.mark.parametrize("case", list(CASES))
def test_control_characters_are_refused_and_nothing_is_stored(
    app: App, operator: Actor, client_id: int, case: str
) -> None:
    call, field = CASES[case]
    before = _rows(app)
    with pytest.raises(Refused, match=r"control character|line break") as refused:
        call(Context(app, operator), client_id)
    assert field in str(refused.value) and "nothing was saved" in str(refused.value)
    assert _rows(app) == before


def test_a_clinic_name_with_a_control_character_is_refused(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(Refused, match="The clinic's name holds an invisible control character"):
        courses.ensure_clinic(app, f"Clinic{ESC}")
    assert main(["--data-dir", str(app.settings.data_dir), "add-clinic", f"Clinic{RLO}"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("refused: The clinic's name holds") and "U+202E" in out and RLO not in out


def test_names_in_every_script_with_emoji_are_taken(app: App, operator: Actor) -> None:
    ctx = Context(app, operator)
    for name in ("王芳 🌸 Nguyễn", "می‌خواهم", "👩‍⚕️ Zoë"):
        client = courses.create_client(ctx, name)
        assert courses.client_overview(ctx, client).name == name
    note = notes.add_note(ctx, client, "line one\r\n\tline two")
    assert [n.text for n in notes.client_notes(ctx, client) if n.id == note] == ["line one\n\tline two"]


def test_the_cli_prints_a_stored_control_character_escaped(
    app: App, operator: Actor, client_id: int, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = "Eve\x1b]8;;http://203.0.113.9\x07click\x1b]8;;\x07\x1b[2J\n  client 99: forged\u202e\x9b"
    with app.uow() as uow:  # as an old row holds it: written past the use cases' rule
        client = uow.session.get(Client, client_id)
        assert client is not None
        client.name = forged
        uow.commit()
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 1, 5), device="Dermapen")
    with app.uow() as uow:
        session = uow.session.scalars(select(TreatmentSession)).one()
        session.device = "pen\x1b[8m"
        uow.commit()
    data = str(app.settings.data_dir)
    assert main(["--data-dir", data, "list"]) == 0
    out = capsys.readouterr().out
    assert not any(char in out for char in "\x1b\x07\u202e\x9b")
    lines = out.splitlines()
    assert sum(line.startswith("  client ") for line in lines) == 1  # no forged record line
    assert (
        "\\u001b]8;;http://203.0.113.9\\u0007click" in out and "\\n  client 99: forged\\u202e\\u009b" in out
    )
    assert "pen\\u001b[8m" in out
    assert main(["--data-dir", data, "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
    listed = json.loads(out)["clinics"][0]["clients"][0]
    assert listed["name"] == forged  # the JSON escapes read back as the stored text
    assert main(["--data-dir", data, "progress", "--client", forged]) == 0
    out = capsys.readouterr().out
    assert not any(char in out for char in "\x1b\x07\u202e\x9b")
    assert out.splitlines()[0].startswith("Eve\\u001b]8;;") and "pen\\u001b[8m" in out
