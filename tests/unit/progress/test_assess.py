"""The pure core of progress: `assess` on facts built from plain values, no database."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np

from tracker.domain import Concern, PhotoKind
from tracker.progress.assessment import assess
from tracker.progress.facts import CourseFacts, PhotoFacts, SessionFacts
from tracker.progress.plans import CoursePlan
from tracker.progress.recovery import delinearise, linearise

START = datetime(2026, 1, 5, 10, 0)
RELATIVE_ERROR = 0.08


def _facts(
    sessions: tuple[SessionFacts, ...] = (SessionFacts(1, START),),
    photos: tuple[PhotoFacts, ...] = (),
    today: date = date(2026, 1, 20),
    **extra: object,
) -> CourseFacts:
    return CourseFacts(
        client_id=7,
        client_name="Fay",
        concern=Concern.FINE_LINES_WRINKLES,
        plan=CoursePlan(3, 4, 26),
        today=today,
        sessions=sessions,
        photos=photos,
        **extra,  # type: ignore[arg-type]
    )


def _recovery_photos(tau_hours: float, first_id: int = 1) -> tuple[PhotoFacts, ...]:
    """Two before-photos at 2 EI, then check-ins whose redness decays with `tau_hours`."""
    z0 = float(linearise(np.asarray(14.0)))
    photos = [
        PhotoFacts(first_id, 1, PhotoKind.BEFORE, START - timedelta(minutes=30), 0.9, {"delta_ei": 2.0}),
        PhotoFacts(first_id + 1, 1, PhotoKind.BEFORE, START - timedelta(minutes=20), 0.9, {"delta_ei": 2.1}),
    ]
    for i, hours in enumerate((1.0, 24.0, 72.0, 120.0, 168.0), start=2):
        ei = 2.0 + delinearise(z0 * math.exp(-hours / tau_hours))
        kind = PhotoKind.AFTER if hours < 2 else PhotoKind.CHECKIN
        photos.append(
            PhotoFacts(first_id + i, 1, kind, START + timedelta(hours=hours), 0.9, {"delta_ei": ei})
        )
    return tuple(photos)


def test_a_session_without_photos_is_due_overdue_and_flagged() -> None:
    p = assess(_facts(today=date(2026, 3, 1)), RELATIVE_ERROR)
    assert p.next.number == 2 and p.next.due == date(2026, 2, 2) and p.next.overdue
    assert {f.code for f in p.flags} == {"overdue_session", "no_usable_photo", "missed_checkins"}
    assert len(p.table) == 0 and p.sessions[0].photos == 0


def test_redness_that_settles_slowly_is_slow_recovery_and_a_normal_pace_is_not() -> None:
    slow = assess(_facts(photos=_recovery_photos(tau_hours=100.0)), RELATIVE_ERROR)
    assert [f.code for f in slow.flags if f.session == 1] == ["slow_recovery"]
    assert slow.sessions[0].recovery is not None and slow.sessions[0].recovery.t90_hours > 72  # type: ignore[operator]

    normal = assess(_facts(photos=_recovery_photos(tau_hours=8.0)), RELATIVE_ERROR)
    assert not [f for f in normal.flags if f.code == "slow_recovery"]
    assert normal.typical_tau_hours is not None and normal.typical_tau_hours < 20


def test_a_contraindication_at_intake_is_an_act_flag() -> None:
    p = assess(_facts(intake={"contraindications": ["rosacea"]}), RELATIVE_ERROR)
    flag = next(f for f in p.flags if f.code == "contraindication")
    assert flag.severity == "act" and p.flags[0] is flag  # act flags first


def test_unmeasured_and_poor_photos_are_kept_but_not_used() -> None:
    photos = (
        PhotoFacts(1, 1, PhotoKind.BEFORE, START - timedelta(minutes=30)),  # no result yet
        PhotoFacts(2, 1, PhotoKind.BEFORE, START - timedelta(minutes=20), 0.2, {"delta_ei": 3.0}),
    )
    p = assess(_facts(photos=photos), RELATIVE_ERROR)
    assert list(p.table["photo_id"]) == [1, 2] and not p.table["usable"].any()
    assert p.sessions[0].photos == 2 and p.sessions[0].usable_photos == 0
    assert p.summaries["delta_ei"].baseline is None
    assert [f.code for f in p.flags] == ["no_usable_photo", "missed_checkins"]


def test_the_stored_verdict_decides_usable_not_the_rounded_score() -> None:
    before = START - timedelta(minutes=30)
    photos = (
        # scored 0.4996, stored as 0.5 (rounded) with the verdict made on 0.4996
        PhotoFacts(1, 1, PhotoKind.BEFORE, before, 0.5, {"delta_ei": 3.0}, usable=False),
        PhotoFacts(2, 1, PhotoKind.BEFORE, before, 0.45, {"delta_ei": 3.0}, usable=True),
        PhotoFacts(3, 1, PhotoKind.BEFORE, before, 0.5, {"delta_ei": 3.0}),  # no stored verdict
        PhotoFacts(4, 1, PhotoKind.BEFORE, before, 0.49, {"delta_ei": 3.0}),
    )
    p = assess(_facts(photos=photos), RELATIVE_ERROR)
    assert dict(zip(p.table["photo_id"], p.table["usable"], strict=True)) == {
        1: False,
        2: True,
        3: True,
        4: False,
    }


def test_the_stored_skin_tone_wins_over_the_photos_median() -> None:
    photos = (PhotoFacts(1, 1, PhotoKind.BEFORE, START, 0.9, {"ita_deg": 40.0}),)
    assert assess(_facts(photos=photos), RELATIVE_ERROR).ita_deg == 40.0
    stored = assess(_facts(photos=photos, stored_ita=12.5, ita_calibrated=True), RELATIVE_ERROR)
    assert stored.ita_deg == 12.5 and stored.ita_calibrated
