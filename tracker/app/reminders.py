"""Reminders of a client's next steps: the day-1, 3 and 7 check-in photos after their
latest session and their next session, as a calendar file (.ics) to import and as emails a
daily command sends (python -m tracker send-reminders, run by a timer; see README).

Nothing is emailed without the client's consent to contact (ConsentFlag.CONTACT), nor to a
client without an active login. Each reminder sent is recorded (table sent_reminder, unique
per client, reminder and day) in the same transaction that is committed only once the
server accepted the email: a second run the same day, or the next day for a reminder
already sent "tomorrow", sends nothing again. A table rather than audit events, because
the database's unique key then enforces "never twice" even for two runs at once, and the
question "was this sent?" is one indexed lookup, not a search through JSON details.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from tracker.app import audit
from tracker.app.context import Context
from tracker.app.ics import CalendarEvent, calendar
from tracker.config import Settings
from tracker.domain import ConsentFlag, Consents, Role
from tracker.errors import Refused
from tracker.permissions import PermissionDenied, require_client_access
from tracker.progress.flags import CHECKINS
from tracker.progress.plans import CoursePlan, next_session
from tracker.store.reminders import ReminderFacts, already_sent, record_sent, reminder_facts

# The check-in days after a session, from the flag rules' windows ("day 1" -> 1).
CHECKIN_DAYS = tuple(int(name.split()[-1]) for name in CHECKINS)
# A booked session's length in the calendar.
SESSION_LENGTH = timedelta(hours=1)

Send = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class Reminder:
    what: str  # stable key: "checkin-3-s2" (day 3 after session 2), "session-4"
    on: date
    at: datetime | None  # a booked session's start (clinic time); None: a whole day
    title: str  # plain words, as the client reads it
    action: str  # what to do, for the email: "take your day-3 check-in photo"


@dataclass(frozen=True)
class Outgoing:
    """One email: to whom, and which reminders it carries."""

    client_id: int
    to: str
    subject: str
    body: str
    reminders: tuple[Reminder, ...]


def upcoming(
    sessions: Sequence[tuple[int, datetime]], plan: CoursePlan | None, today: date
) -> list[Reminder]:
    """From today on: the check-ins after the latest session held (today's included) and
    the next session, booked (recorded with a later date) or due by the course plan."""
    held = [(n, at) for n, at in sessions if at.date() <= today]
    booked = [(n, at) for n, at in sessions if at.date() > today]
    found: list[Reminder] = []
    if held:
        number, at = held[-1]
        for day in CHECKIN_DAYS:
            on = at.date() + timedelta(days=day)
            if on >= today:
                found.append(
                    Reminder(
                        f"checkin-{day}-s{number}",
                        on,
                        None,
                        f"Day-{day} check-in photo after session {number}",
                        f"take your day-{day} check-in photo (after session {number})",
                    )
                )
    for number, at in booked:
        found.append(
            Reminder(
                f"session-{number}",
                at.date(),
                at,
                f"Session {number} at the clinic",
                f"session {number} at the clinic, {at:%H:%M}",
            )
        )
    if not booked and plan is not None and held:
        nxt = next_session(plan, [at for _, at in held], today)
        if nxt.due is not None and nxt.number is not None and nxt.due >= today:
            word = "Upkeep session" if nxt.kind == "upkeep" else f"Session {nxt.number}"
            found.append(
                Reminder(
                    f"session-{nxt.number}",
                    nxt.due,
                    None,
                    f"{word} due: book it with the clinic",
                    f"your {word.lower()} is due: please book it with the clinic if you have not",
                )
            )
    return sorted(found, key=lambda r: (r.on, r.what))


def client_reminders(ctx: Context, client_id: int, today: date) -> list[Reminder]:
    """The client's upcoming reminders (the client themselves, or staff)."""
    actor = ctx.actor
    with ctx.uow() as uow:
        require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        facts = reminder_facts(uow.session, actor.clinic_id, client_id)[0]
    return upcoming(facts.sessions, facts.plan, today)


def calendar_file(ctx: Context, client_id: int, today: date) -> tuple[str, bytes]:
    """(file name, .ics bytes) of the client's upcoming check-ins and next session."""
    settings = ctx.settings
    zone = ZoneInfo(settings.time_zone)
    reminders = client_reminders(ctx, client_id, today)
    host = urlsplit(settings.public_url).hostname or "recovery-tracker.invalid"
    events = [
        CalendarEvent(
            uid=f"{r.what}-c{client_id}@{host}",
            summary=f"{r.title} ({settings.clinic_name})",
            description=_event_text(r, settings),
            start=r.at.replace(tzinfo=zone) if r.at is not None else r.on,
            duration=SESSION_LENGTH,
        )
        for r in reminders
    ]
    body = calendar(events, name=f"{settings.clinic_name}: my treatment", stamp=datetime.now(zone))
    return f"reminders-{today:%Y-%m-%d}.ics", body


def _event_text(reminder: Reminder, settings: Settings) -> str:
    lines = [reminder.title + "."]
    if reminder.what.startswith("checkin"):
        lines.append("Take the photo in the same place and light as before, without make-up.")
    lines += _contact_lines(settings)
    return "\n".join(lines)


def _contact_lines(settings: Settings) -> list[str]:
    lines = []
    if settings.public_url:
        lines.append(f"Open the tracker: {settings.public_url}")
    contact = " or ".join(x for x in (settings.clinic_phone, settings.clinic_email) if x)
    if contact:
        lines.append(f"Questions? Contact {settings.clinic_name}: {contact}")
    return lines


# Email ------------------------------------------------------------------------------------


def send_reminders(ctx: Context, today: date, *, send: Send | None) -> list[Outgoing]:
    """Email each client of the clinic who consented to contact the reminders due today or
    tomorrow that they have not been sent yet. `send` None: a dry run (nothing is sent or
    recorded; the emails are returned all the same). Operator and admins only."""
    app, actor = ctx.app, ctx.actor
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can send reminders.")
    settings = app.settings
    if send is not None and not settings.mail_from:
        raise Refused("mail_from is not set: the emails need a sender address.")
    with ctx.uow() as uow:
        everyone = reminder_facts(uow.session, actor.clinic_id)
    out = []
    for facts in everyone:
        if not facts.email or not Consents.from_json(facts.consent).given(ConsentFlag.CONTACT):
            continue
        due = [r for r in upcoming(facts.sessions, facts.plan, today) if r.on <= today + timedelta(days=1)]
        if not due:
            continue
        with ctx.uow() as uow:
            sent = already_sent(uow.session, facts.client_id, [(r.what, r.on) for r in due])
            new = tuple(r for r in due if (r.what, r.on) not in sent)
            if not new:
                continue
            email = _compose(settings, facts, new, today)
            out.append(email)
            if send is None:
                continue
            if not record_sent(uow.session, facts.client_id, [(r.what, r.on) for r in new]):
                out.pop()  # another run sent it a moment ago
                continue
            audit.record(
                uow, actor, "reminder_sent", "client", facts.client_id, detail={"what": [r.what for r in new]}
            )
            send(_message(settings, email))
            uow.commit()  # only once the server took it
    return out


def _compose(
    settings: Settings, facts: ReminderFacts, reminders: tuple[Reminder, ...], today: date
) -> Outgoing:
    when = {today: "Today", today + timedelta(days=1): "Tomorrow"}
    first = facts.name.split()[0] if facts.name.split() else facts.name
    lines = [f"Hello {first},", "", f"A reminder from {settings.clinic_name}:", ""]
    lines += [f"- {when[r.on]} ({r.on:%a %d %b}): {r.action}." for r in reminders]
    lines += ["", *_contact_lines(settings), ""]
    lines.append(
        "You get these emails because you agreed to reminders by email; to stop them, tell the clinic."
    )
    soon = "today" if any(r.on == today for r in reminders) else "tomorrow"
    subject = f"{settings.clinic_name}: your reminder for {soon}"
    return Outgoing(facts.client_id, facts.email or "", subject, "\n".join(lines) + "\n", reminders)


def _message(settings: Settings, email: Outgoing) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.body)
    return message


@contextmanager
def smtp_sender(settings: Settings) -> Iterator[Send]:
    """One connection to settings.smtp_host for a whole run, secured as configured."""
    if not settings.smtp_host:
        raise Refused("smtp_host is not set: no email can be sent.")
    context = ssl.create_default_context()
    server: smtplib.SMTP
    if settings.smtp_security == "tls":
        server = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, context=context, timeout=30)
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    with server:
        if settings.smtp_security == "starttls":
            server.starttls(context=context)
        if settings.smtp_username:
            server.login(settings.smtp_username, settings.smtp_password)

        def send(message: EmailMessage) -> None:
            server.send_message(message)

        yield send
