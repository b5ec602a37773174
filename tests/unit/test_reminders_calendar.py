"""The reminders a client gets and the calendar file they download, read back line by line
as a calendar would (RFC 5545: unfold, split name;params:value, unescape)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tracker.app.ics import FOLD_OCTETS, CalendarEvent, calendar, escape_text, fold
from tracker.app.reminders import upcoming
from tracker.progress.plans import CoursePlan

LONDON = ZoneInfo("Europe/London")
PLAN = CoursePlan(planned_sessions=4, interval_weeks=5)


def parse(ics: bytes) -> list[dict[str, tuple[str, str]]]:
    """The VEVENTs as {name: (params, value)}, after unfolding and unescaping."""
    text = ics.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # CRLF only
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= FOLD_OCTETS for line in lines)
    unfolded: list[str] = []
    for line in lines:
        if line.startswith(" "):
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    assert unfolded[0] == "BEGIN:VCALENDAR" and unfolded[-1] == "END:VCALENDAR"
    events: list[dict[str, tuple[str, str]]] = []
    for line in unfolded:
        name_params, value = line.split(":", 1)
        name, _, params = name_params.partition(";")
        if line == "BEGIN:VEVENT":
            events.append({})
        elif events and line != "END:VEVENT" and name not in ("BEGIN", "END"):
            events[-1][name] = (params, _unescape(value))
    return events


def _unescape(value: str) -> str:
    out, i = "", 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out += "\n" if value[i + 1] in "nN" else value[i + 1]
            i += 2
        else:
            out += value[i]
            i += 1
    return out


def test_checkins_after_the_latest_session_and_the_next_session_due() -> None:
    sessions = [(1, datetime(2026, 10, 1, 10)), (2, datetime(2026, 12, 8, 14, 30))]
    found = upcoming(sessions, PLAN, date(2026, 12, 10))
    assert [(r.what, r.on) for r in found] == [
        ("checkin-3-s2", date(2026, 12, 11)),
        ("checkin-7-s2", date(2026, 12, 15)),
        ("session-3", date(2027, 1, 12)),  # 5 weeks after session 2
    ]
    assert found[0].title == "Day-3 check-in photo after session 2"  # day 1 (9 Dec) has passed
    assert upcoming([], PLAN, date(2026, 12, 10)) == []  # before the first session: booked, not computed


def test_a_booked_session_is_a_timed_event_and_replaces_the_due_date() -> None:
    sessions = [(1, datetime(2026, 12, 1, 10)), (2, datetime(2027, 1, 5, 9, 15))]
    found = upcoming(sessions, PLAN, date(2026, 12, 30))
    assert [(r.what, r.on, r.at) for r in found] == [
        ("session-2", date(2027, 1, 5), datetime(2027, 1, 5, 9, 15))
    ]
    complete = upcoming([(n, datetime(2026, 1 + n, 1)) for n in range(1, 5)], PLAN, date(2026, 5, 2))
    assert [r.what for r in complete] == ["checkin-1-s4", "checkin-3-s4", "checkin-7-s4"]  # no fifth session


def test_the_calendar_file_reads_back() -> None:
    summary = "Day-3 check-in, session 2; Clinic \\ Ltd — ümlauts " + "x" * 60
    events = [
        CalendarEvent(
            "checkin-3-s2-c7@photos.clinic.test", summary, "Line one.\nLine two, more.", date(2026, 12, 11)
        ),
        CalendarEvent(
            "session-3-c7@photos.clinic.test", "Session 3", "", datetime(2026, 7, 1, 9, 30, tzinfo=LONDON)
        ),
    ]
    stamp = datetime(2026, 12, 10, 8, 0, tzinfo=LONDON)
    read = parse(calendar(events, name="My Clinic: my treatment", stamp=stamp))
    assert len(read) == 2
    day, timed = read
    assert day["UID"] == ("", "checkin-3-s2-c7@photos.clinic.test")
    assert day["SUMMARY"] == ("", summary)  # folded and escaped, read back unchanged
    assert day["DESCRIPTION"] == ("", "Line one.\nLine two, more.")
    assert day["DTSTART"] == ("VALUE=DATE", "20261211") and day["DTEND"] == ("VALUE=DATE", "20261212")
    assert day["DTSTAMP"] == ("", "20261210T080000Z")  # London is on UTC in December
    assert timed["DTSTART"] == ("", "20260701T083000Z")  # 09:30 summer time is 08:30 UTC
    assert timed["DTEND"] == ("", "20260701T093000Z")


def test_escaping_and_folding() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "SUMMARY:" + "é" * 80  # two octets each: a fold must not split one
    folded = fold(line).split("\r\n")
    assert all(len(part.encode("utf-8")) <= FOLD_OCTETS for part in folded)
    assert "".join(p[1:] if i else p for i, p in enumerate(folded)) == line
