"""Email reminders against a real SMTP server (aiosmtpd, started here on a free local port):
the right clients get the right messages, nothing goes without consent to contact, a
reminder is never sent twice, and a dry run sends nothing."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import date, datetime
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tracker.app import courses, people
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.cli import main
from tracker.domain import Role
from tracker.permissions import Actor

TODAY = date(2026, 12, 10)
PASSWORD = "a long enough secret"
CONTACT = {"contact": "2026-11-01T10:00:00"}


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 — aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self) -> list[str]:
        return sorted(str(m["To"]) for m in self.messages)

    def body(self, to: str) -> str:
        (found,) = [m for m in self.messages if m["To"] == to]
        payload = found.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode("utf-8")


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "MAIL_FROM": "reminders@clinic.test",
        "CLINIC_NAME": "Test Clinic",
        "CLINIC_PHONE": "020 7946 0000",
        "CLINIC_EMAIL": "hello@clinic.test",
        "PUBLIC_URL": "https://photos.clinic.test",
    }.items():
        monkeypatch.setenv(f"TRACKER_{name}", value)
    yield handler
    server.stop()


def _client(
    app: App, operator: Actor, name: str, session_at: datetime | None, *, consent: bool, login: bool
) -> None:
    ctx = Context(app, operator)
    cid = courses.create_client(ctx, name, consent=CONTACT if consent else None, interval_weeks=5)
    if session_at is not None:
        courses.record_session(ctx, cid, 1, session_at)
    if login:
        email_address = f"{name.split()[0].lower()}@home.test"
        people.create_account(ctx, email_address, Role.CLIENT, PASSWORD, client_id=cid)


@pytest.fixture
def clinic(app: App, operator: Actor) -> App:
    _client(app, operator, "Ann Today", datetime(2026, 12, 9, 10), consent=True, login=True)  # day 1: today
    _client(app, operator, "Ben Due", datetime(2026, 11, 5, 10), consent=True, login=True)  # session 2: today
    _client(app, operator, "Eve Soon", datetime(2026, 12, 4, 10), consent=True, login=True)  # day 7: tomorrow
    _client(app, operator, "Cat Quiet", datetime(2026, 12, 9, 10), consent=False, login=True)  # no consent
    _client(app, operator, "Dan Nologin", datetime(2026, 12, 9, 10), consent=True, login=False)
    _client(app, operator, "Fay Later", datetime(2026, 12, 1, 10), consent=True, login=True)  # nothing due
    return app


def _run(app: App, *extra: str, today: date = TODAY) -> int:
    data_dir = str(app.settings.data_dir)
    return main(["--data-dir", data_dir, "send-reminders", "--today", today.isoformat(), *extra])


def test_reminders_go_to_consenting_clients_once(
    clinic: App, inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(clinic) == 0
    assert inbox.to() == ["ann@home.test", "ben@home.test", "eve@home.test"]
    ann = inbox.body("ann@home.test")
    assert (
        "Hello Ann," in ann and "Today (Thu 10 Dec): take your day-1 check-in photo (after session 1)" in ann
    )
    assert "Test Clinic" in ann and "020 7946 0000" in ann and "https://photos.clinic.test" in ann
    assert "day-3" not in ann  # two days away: not yet
    assert "Today (Thu 10 Dec): your session 2 is due" in inbox.body("ben@home.test")
    assert "Tomorrow (Fri 11 Dec): take your day-7 check-in photo" in inbox.body("eve@home.test")
    assert all(m["From"] == "reminders@clinic.test" for m in inbox.messages)
    subjects = {m["To"]: m["Subject"] for m in inbox.messages}
    assert subjects["eve@home.test"] == "Test Clinic: your reminder for tomorrow"

    assert _run(clinic) == 0  # the same day again: nothing new
    assert len(inbox.messages) == 3
    assert "0 email(s) sent" in capsys.readouterr().out

    assert _run(clinic, today=date(2026, 12, 11)) == 0  # next day: Eve's day 7 went out already
    assert inbox.to() == ["ann@home.test", "ann@home.test", "ben@home.test", "eve@home.test"]
    assert "Tomorrow (Sat 12 Dec): take your day-3 check-in photo" in inbox.messages[-1].get_payload()


def test_a_dry_run_sends_and_records_nothing(
    clinic: App, inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(clinic, "--dry-run") == 0
    out = capsys.readouterr().out
    assert inbox.messages == []
    assert "would send to ann@home.test" in out and "cat@home.test" not in out and "3 email(s) to send" in out
    assert _run(clinic) == 0  # the dry run recorded nothing: the real run sends all three
    assert len(inbox.messages) == 3


def test_without_an_smtp_server_nothing_is_sent(
    clinic: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRACKER_SMTP_HOST", raising=False)
    assert _run(clinic) == 0
    assert "smtp_host is not set" in capsys.readouterr().out
