"""The read side: course_facts loads a clinic's courses in a few queries, scoped by clinic."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.permissions import Actor
from tracker.store.models import AnalysisResult
from tracker.store.queries import course_facts

SAMPLE = Path(__file__).resolve().parents[3] / "sample_photos" / "ava" / "s1_before_a.jpg"


def test_course_facts_carry_the_stored_verdict_and_score_and_stay_in_the_clinic(
    app: App, operator: Actor, client_id: int
) -> None:
    ctx = Context(app, operator)
    courses.record_session(ctx, client_id, 1, datetime(2026, 9, 1, 10, 0))
    photo_id = photos.import_photo(ctx, client_id, SAMPLE.read_bytes(), "a.jpg", session_number=1).photo_id
    with app.uow() as uow:
        facts, names = course_facts(uow.session, operator.clinic_id, [client_id], date(2026, 9, 2))
    (photo,) = facts[client_id].photos
    assert photo.photo_id == photo_id and names == {client_id: "Test Client"}
    with app.uow() as uow:
        row = uow.session.scalars(select(AnalysisResult).where(AnalysisResult.photo_id == photo_id)).one()
        assert photo.score == row.quality["score"] and photo.usable is row.quality["usable_for_trends"]
        # A verdict that disagrees with the score wins: it was made once, on the unrounded score.
        row.quality = {**row.quality, "score": 0.9, "usable_for_trends": False}
        uow.commit()
    with app.uow() as uow:
        facts, _ = course_facts(uow.session, operator.clinic_id, [client_id], date(2026, 9, 2))
        other_clinic, other_names = course_facts(
            uow.session, operator.clinic_id + 1, [client_id], date(2026, 9, 2)
        )
    assert facts[client_id].photos[0].score == 0.9 and facts[client_id].photos[0].usable is False
    assert other_clinic == {} and other_names == {}
