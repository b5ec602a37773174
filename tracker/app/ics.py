"""A calendar file (RFC 5545 iCalendar) that phones and desktop calendars import.

Written by hand: the format is small and a dependency for it is not worth it. What the
RFC asks that calendars are strict about: CRLF line ends, lines folded at 75 octets (not
characters), text with `\\ ; ,` and newlines escaped, a UID and DTSTAMP on every event.
Timed events are written in UTC (`...Z`), so no VTIMEZONE block is needed; all-day
events are plain dates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

FOLD_OCTETS = 75


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    summary: str
    description: str
    start: date | datetime  # a date: all day; a datetime: aware (any zone)
    duration: timedelta = timedelta(hours=1)  # for timed events


def calendar(events: Iterable[CalendarEvent], *, name: str, stamp: datetime) -> bytes:
    """The VCALENDAR with one VEVENT per event, as UTF-8 bytes."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Recovery-photo tracker//Reminders//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(event.uid)}",
            f"DTSTAMP:{_utc(stamp)}",
            *_when(event),
            f"SUMMARY:{escape_text(event.summary)}",
            f"DESCRIPTION:{escape_text(event.description)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines).encode("utf-8")


def _when(event: CalendarEvent) -> list[str]:
    start = event.start
    if isinstance(start, datetime):
        return [f"DTSTART:{_utc(start)}", f"DTEND:{_utc(start + event.duration)}"]
    return [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{start + timedelta(days=1):%Y%m%d}"]


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("a calendar time needs its time zone")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped (RFC 5545, section 3.3.11)."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, continuations starting with a
    space (RFC 5545, section 3.1), never inside a UTF-8 character."""
    parts: list[str] = []
    current, size = "", 0
    limit = FOLD_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size = " ", 1
            limit = FOLD_OCTETS
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)
