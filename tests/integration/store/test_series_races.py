"""Two imports for one new course at once (a CI run of six parallel imports lost two photos
to "UNIQUE constraint failed: photo_series.course_id"): the series row is made once and both
read it, and only one photo becomes the series' baseline. The other process's step is taken
on its own unit of work, between this one's read and its write, on the run's database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from tests import images
from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.permissions import Actor
from tracker.store.models import PhotoSeries


def _course(app: App, operator: Actor, client_id: int) -> int:
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 9, 1, 10, 0))
    with app.uow() as uow:
        course = uow.repo.current_course(client_id)
        assert course is not None
        return course.id


def test_a_series_made_by_another_process_between_read_and_insert_is_read_not_made_twice(
    app: App, operator: Actor, client_id: int
) -> None:
    course_id = _course(app, operator, client_id)
    made_elsewhere: list[int] = []

    def the_other_import_goes_first(session: Session, *_: Any) -> None:
        if made_elsewhere:
            return
        with app.uow() as other:
            made_elsewhere.append(other.repo.series_made_for(operator.clinic_id, course_id).id)
            other.commit()

    with app.uow() as uow:
        assert uow.repo.series_of_course(operator.clinic_id, course_id) is None
        event.listen(uow.session, "before_flush", the_other_import_goes_first)
        series = uow.repo.series_made_for(operator.clinic_id, course_id)
        event.remove(uow.session, "before_flush", the_other_import_goes_first)
        assert made_elsewhere and series.id == made_elsewhere[0]
        uow.commit()
    with app.uow() as uow:
        count = uow.session.scalar(
            select(func.count(PhotoSeries.id)).where(PhotoSeries.course_id == course_id)
        )
    assert count == 1


def test_of_two_photos_claiming_an_empty_baseline_at_once_only_the_first_gets_it(
    app: App, operator: Actor, client_id: int
) -> None:
    course_id = _course(app, operator, client_id)
    ctx = Context(app, operator)
    first, second = (
        photos.import_photo(
            ctx, client_id, images.encode(images.noisy(seed=seed), "JPEG"), f"{seed}.jpg", session_number=1
        ).photo_id
        for seed in (1, 2)
    )
    with app.uow() as uow:  # as if neither had been measured yet
        uow.session.execute(
            update(PhotoSeries).where(PhotoSeries.course_id == course_id).values(baseline_photo_id=None)
        )
        uow.commit()

    with app.uow() as one, app.uow() as two:
        series_one = one.repo.series_made_for(operator.clinic_id, course_id)
        series_two = two.repo.series_made_for(operator.clinic_id, course_id)
        assert series_one.baseline_photo_id is None and series_two.baseline_photo_id is None
        assert one.repo.claim_baseline(series_one, first) is True
        one.commit()
        assert two.repo.claim_baseline(series_two, second) is False
        assert series_two.baseline_photo_id == first
        two.commit()
    with app.uow() as uow:
        series = uow.repo.series_of_course(operator.clinic_id, course_id)
        assert series is not None and series.baseline_photo_id == first
        # The baseline claims again (a re-analysis of it) and keeps it.
        assert uow.repo.claim_baseline(series, first) is True
        assert uow.repo.claim_baseline(series, second) is False
