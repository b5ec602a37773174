from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tracker.domain import PhotoKind, infer_kind, pick_session_number

T0 = datetime(2026, 5, 4, 10, 0)
STARTS = {1: T0, 2: T0 + timedelta(weeks=5), 3: T0 + timedelta(weeks=10)}


def test_photo_goes_to_the_session_it_follows() -> None:
    assert pick_session_number(STARTS, T0 - timedelta(days=30)) == 1  # predates everything
    assert pick_session_number(STARTS, T0 - timedelta(minutes=20)) == 1  # before-photo
    assert pick_session_number(STARTS, T0 + timedelta(days=7)) == 1  # day-7 check-in
    assert pick_session_number(STARTS, STARTS[2] - timedelta(hours=2)) == 2
    assert pick_session_number(STARTS, STARTS[3] + timedelta(days=60)) == 3
    assert pick_session_number({}, T0) is None


def test_kind_from_time_relative_to_session() -> None:
    assert infer_kind(T0, T0 - timedelta(minutes=1)) is PhotoKind.BEFORE
    assert infer_kind(T0, T0 + timedelta(minutes=40)) is PhotoKind.AFTER
    assert infer_kind(T0, T0 + timedelta(hours=24)) is PhotoKind.CHECKIN


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
def test_chosen_session_never_starts_much_after_the_photo(taken: datetime) -> None:
    number = pick_session_number(STARTS, taken)
    assert number in STARTS
    started_before = [n for n, at in STARTS.items() if at <= taken + timedelta(hours=12)]
    if started_before:
        assert number == max(started_before)


def test_consents_read_old_and_new_records_and_drop_unknown_purposes() -> None:
    from tracker.domain import ConsentFlag, Consents

    old = Consents.from_json({"treatment": "2026-01-05T10:00:00", "photos_for_care": None, "retired": "x"})
    assert old.given(ConsentFlag.TREATMENT)
    assert not old.given(ConsentFlag.PHOTOS_FOR_CARE)
    assert set(old.entries) == {ConsentFlag.TREATMENT}
    new = Consents.from_json(
        {
            "contact": {"given": False, "at": "2026-02-01T09:00:00", "by": "p@clinic.test"},
            "treatment": {"given": True},
        }
    )
    assert not new.given(ConsentFlag.CONTACT) and new.given(ConsentFlag.TREATMENT)
    assert Consents.from_json(new.to_json()) == new
