"""The photo a client is expected to take now: the session and kind the upload page
pre-fills, and the words of the landing page's first action (issue 11 item 8).

One function for both, so "Add today's day-3 check-in photo" on the landing page leads to
an upload page set to exactly that. Pure: the caller passes the clinic's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tracker.domain import PhotoKind, infer_kind, pick_session_number

CHECKIN_DAYS = (1, 3, 7)  # the check-ins the aftercare asks for (tracker/progress/flags.py)


@dataclass(frozen=True)
class ExpectedPhoto:
    session: int
    kind: PhotoKind
    day: int  # whole days since the session started (0 = the session's day)

    @property
    def what(self) -> str:
        """ "day-3 check-in photo", "before photo for session 2"."""
        if self.kind is PhotoKind.BEFORE:
            return f"before photo for session {self.session}"
        if self.kind is PhotoKind.AFTER:
            return f"after photo for session {self.session}"
        if self.day in CHECKIN_DAYS:
            return f"day-{self.day} check-in photo"
        return f"check-in photo (day {self.day} after session {self.session})"

    @property
    def action(self) -> str:
        return f"Add today's {self.what}"


def expected_photo(starts: Mapping[int, datetime], now: datetime) -> ExpectedPhoto | None:
    """The session and kind of a photo taken `now`; None before any session is booked."""
    number = pick_session_number(dict(starts), now)
    if number is None:
        return None
    at = starts[number]
    return ExpectedPhoto(number, infer_kind(at, now), max(0, (now.date() - at.date()).days))


__all__ = ["CHECKIN_DAYS", "ExpectedPhoto", "expected_photo"]
