"""Plain words for the client (issue 11 items 5, 8, 10): one retake action per photo, the
clinic's contact line, today's expected photo, money and the clinic's clock, the theme."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tracker.app.clinic import clinic_now, money
from tracker.app.guidance import RETAKE_FALLBACK, contact_line, retake_advice
from tracker.app.today import expected_photo
from tracker.config import Settings
from tracker.domain import PhotoKind
from tracker.serve import streamlit_options

QUALITY = Path(__file__).resolve().parents[2] / "tracker" / "imaging" / "quality.py"


def _quality_reasons() -> list[str]:
    """The literal text of every reason quality.py gives (f-strings with their fixed parts)."""
    reasons = []

    def text(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            return [
                "".join(
                    v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
                )
            ]
        if isinstance(node, ast.IfExp):
            return text(node.body) + text(node.orelse)
        return []

    for node in ast.walk(ast.parse(QUALITY.read_text())):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "penalise"
            and len(node.args) == 2
        ):
            reasons += text(node.args[1])
    return reasons


def test_every_quality_reason_has_one_plain_action() -> None:
    reasons = _quality_reasons()
    assert len(reasons) >= 15  # the parse found them
    for reason in reasons:
        advice = retake_advice([reason])
        assert advice != RETAKE_FALLBACK, reason
        assert advice.endswith(".") and ":" not in advice and ";" not in advice, advice  # one action
        for word in ("reference", "lighting-corrected", "calibrat", "registration", "EI"):
            assert word not in advice, (reason, advice)


def test_the_most_important_reason_wins() -> None:
    reasons = [
        "no untreated reference skin: redness is not lighting-corrected",
        "very blurry: hold the phone steady and tap to focus on the skin",
    ]
    assert retake_advice(reasons) == "Hold the phone still and tap the skin on the screen to focus."
    assert retake_advice([]) == RETAKE_FALLBACK


def test_contact_line() -> None:
    assert contact_line("020 7946 0000", "care@clinic.example") == (
        "Call your clinic on 020 7946 0000 or email care@clinic.example."
    )
    assert contact_line(" 020 7946 0000 ", "") == "Call your clinic on 020 7946 0000."
    assert contact_line("", "care@clinic.example") == "Email your clinic at care@clinic.example."
    assert contact_line("", "") == "Contact your clinic."


S1 = datetime(2026, 11, 2, 10, 0)
S2 = datetime(2026, 11, 30, 10, 0)


@pytest.mark.parametrize(
    ("now", "session", "kind", "action"),
    [
        (S1 - timedelta(minutes=20), 1, PhotoKind.BEFORE, "Add today's before photo for session 1"),
        (S1 + timedelta(minutes=30), 1, PhotoKind.AFTER, "Add today's after photo for session 1"),
        (S1 + timedelta(days=1), 1, PhotoKind.CHECKIN, "Add today's day-1 check-in photo"),
        (S1 + timedelta(days=3, hours=2), 1, PhotoKind.CHECKIN, "Add today's day-3 check-in photo"),
        (S1 + timedelta(days=7), 1, PhotoKind.CHECKIN, "Add today's day-7 check-in photo"),
        (
            S1 + timedelta(days=12),
            1,
            PhotoKind.CHECKIN,
            "Add today's check-in photo (day 12 after session 1)",
        ),
        (S2 + timedelta(days=3), 2, PhotoKind.CHECKIN, "Add today's day-3 check-in photo"),
    ],
)
def test_todays_expected_photo(now: datetime, session: int, kind: PhotoKind, action: str) -> None:
    found = expected_photo({1: S1, 2: S2}, now)
    assert found is not None
    assert (found.session, found.kind, found.action) == (session, kind, action)


def test_no_expected_photo_before_a_session_is_booked() -> None:
    assert expected_photo({}, S1) is None


def test_money_in_the_clinics_currency() -> None:
    assert money(250, "GBP") == "£250.00"
    assert money(1250.5, "EUR") == "€1,250.50"
    assert money(99, "CHF") == "CHF 99.00"
    assert money(None, "GBP") == "—"


def test_today_is_the_clinics_day_not_the_servers() -> None:
    east = clinic_now(Settings(_env_file=None, time_zone="Pacific/Kiritimati"))  # type: ignore[call-arg]
    west = clinic_now(Settings(_env_file=None, time_zone="Pacific/Pago_Pago"))  # type: ignore[call-arg]
    assert east.tzinfo is None and west.tzinfo is None  # wall clock, like session times
    assert round((east - west).total_seconds() / 3600) == 25  # UTC+14 against UTC−11


def test_the_accent_colour_is_the_theme_primary_colour() -> None:
    options = streamlit_options(Settings(_env_file=None, accent_colour="#12ab34"))  # type: ignore[call-arg]
    assert "--theme.primaryColor=#12ab34" in options
    with pytest.raises(ValueError):
        Settings(_env_file=None, accent_colour="red")  # type: ignore[call-arg]
