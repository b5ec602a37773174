"""Issue 10 (5): a committed change keeps the dashboard fresh through change events.

Each write use case is run as the pages and the CLI run it, with no call to the dashboard
afterwards; the next view must show the new state without recomputing anything (the
ClientInputsChanged handler did it after the commit)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from tests import images
from tracker.app import courses, measurements, photos
from tracker.app.context import Context
from tracker.app.courses import rate_session, set_course_plan, set_course_regions
from tracker.app.dashboard import clinic_dashboard, input_signature
from tracker.app.notes import add_note
from tracker.app.photo_admin import delete_photo
from tracker.app.photos import upload_photo
from tracker.app.records import delete_client
from tracker.bootstrap import App
from tracker.domain import Contraindication, FaceRegion, Role
from tracker.events import ClientInputsChanged, Event, PhotoFilesDropped
from tracker.imaging.zones import Zones
from tracker.permissions import Actor
from tracker.progress.plans import CoursePlan
from tracker.store.models import ClientStatus, TreatmentSession

# The handler refreshes for the real today, as in production, so the views use it too.
TODAY = date.today()
SESSION_DAY = TODAY - timedelta(days=10)
AT = datetime.combine(SESSION_DAY, time(10, 0))
PHOTO = images.encode(images.quadrants(), "JPEG")


def _view(app: App, actor: Actor, client_id: int) -> pd.Series:
    """The client's dashboard row, from a view that had nothing to recompute."""
    df = clinic_dashboard(Context(app, actor), TODAY)
    assert df.attrs["refreshed"] == 0, "the view had to recompute: the change event did not"
    return df.set_index("client_id").loc[client_id]


def _computed_at(app: App, client_id: int) -> datetime | None:
    with app.uow() as uow:
        row = uow.session.get(ClientStatus, client_id)
        assert row is not None
        return row.computed_at


@pytest.fixture
def viewed(app: App, operator: Actor, client_id: int) -> int:
    """A new client, whose row the dashboard has already (creating the client was a change)."""
    assert _view(app, operator, client_id)["sessions"] == "0/4"
    return client_id


def test_a_recorded_session_shows_at_once(app: App, operator: Actor, viewed: int) -> None:
    courses.record_session(Context(app, operator), viewed, 1, AT)
    row = _view(app, operator, viewed)
    assert row["sessions"] == "1/4" and row["next_due"] == SESSION_DAY + timedelta(weeks=5)
    assert "no usable photo · session 1" in row["flags"]


def test_an_intake_with_a_contraindication_shows_at_once(app: App, operator: Actor, viewed: int) -> None:
    courses.record_intake(Context(app, operator), viewed, [Contraindication.ROSACEA])
    row = _view(app, operator, viewed)
    assert "contraindication" in row["flag_codes"] and row["act"] == 1


def test_a_plan_and_a_rating_show_at_once(app: App, operator: Actor, viewed: int) -> None:
    set_course_plan(Context(app, operator), viewed, CoursePlan(6, 4, None))
    assert _view(app, operator, viewed)["sessions"] == "0/6"

    courses.record_session(Context(app, operator), viewed, 1, AT)
    before = _computed_at(app, viewed)
    rate_session(Context(app, operator), viewed, 1, 7)  # not on the dashboard, but an input of the row
    assert _computed_at(app, viewed) != before
    row = _view(app, operator, viewed)
    assert row["sessions"] == "1/6" and row["next_due"] == SESSION_DAY + timedelta(weeks=4)


def test_an_imported_photo_and_new_zones_show_at_once(app: App, operator: Actor, viewed: int) -> None:
    done = photos.import_photo(
        Context(app, operator),
        viewed,
        PHOTO,
        "p.jpg",
        taken_at=AT - timedelta(minutes=30),
        create_session=True,
    )
    row = _view(app, operator, viewed)
    assert row["photos"] == 1 and row["last_photo"] == SESSION_DAY and row["sessions"] == "1/4"

    before = _computed_at(app, viewed)
    treated = [[100.0, 100.0], [300.0, 100.0], [300.0, 300.0], [100.0, 300.0]]
    reference = [[400.0, 100.0], [600.0, 100.0], [600.0, 300.0], [400.0, 300.0]]
    measurements.set_series_zones(
        Context(app, operator), viewed, Zones(treated, reference, "manual"), px_per_mm=5.0
    )
    assert _computed_at(app, viewed) != before
    assert _view(app, operator, viewed)["photos"] == 1
    series = measurements.series_info(Context(app, operator), viewed)
    assert series is not None and series.baseline_photo_id == done.photo_id


def test_new_course_regions_show_at_once(app: App, operator: Actor, viewed: int) -> None:
    photos.import_photo(
        Context(app, operator),
        viewed,
        PHOTO,
        "p.jpg",
        taken_at=AT - timedelta(minutes=30),
        create_session=True,
    )
    _view(app, operator, viewed)
    before = _computed_at(app, viewed)
    set_course_regions(Context(app, operator), viewed, [FaceRegion.FOREHEAD], None)
    assert _computed_at(app, viewed) != before
    _view(app, operator, viewed)


def test_a_discarded_upload_and_a_deleted_client_leave_the_dashboard(
    app: App, operator: Actor, viewed: int
) -> None:
    other = courses.create_client(Context(app, operator), "Other Client")
    clinic_dashboard(Context(app, operator), TODAY)
    done = photos.import_photo(
        Context(app, operator),
        viewed,
        PHOTO,
        "p.jpg",
        taken_at=AT - timedelta(minutes=30),
        create_session=True,
    )
    assert _view(app, operator, viewed)["photos"] == 1

    delete_photo(
        Context(app, operator), done.photo_id, "over the upload limits"
    )  # bulk SQL: an explicit event
    assert _view(app, operator, viewed)["photos"] == 0

    delete_client(Context(app, operator), other, "Other Client")
    df = clinic_dashboard(Context(app, operator), TODAY)
    assert df.attrs["refreshed"] == 0 and list(df["client_id"]) == [viewed]


def test_a_client_uploading_their_own_photo_refreshes_the_practitioners_row(
    app: App, operator: Actor, viewed: int
) -> None:
    courses.record_session(Context(app, operator), viewed, 1, AT)
    me = Actor(label="me@x", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=viewed)
    upload_photo(Context(app, me), viewed, images.encode(images.noisy(), "JPEG"), "q.jpg", session_number=1)
    assert _view(app, operator, viewed)["photos"] == 1  # measured in a child process
    photos.import_photo(
        Context(app, me), viewed, PHOTO, "p.jpg", taken_at=AT + timedelta(hours=1), session_number=1
    )
    assert _view(app, operator, viewed)["photos"] == 2


# The dispatch -------------------------------------------------------------------------------


def test_each_commit_publishes_the_clients_it_changed_once(app: App, operator: Actor, client_id: int) -> None:
    seen: list[Event] = []
    app.handlers = {ClientInputsChanged: [lambda _app, e: seen.append(e)]}
    other = courses.create_client(Context(app, operator), "Other Client")
    assert seen == [ClientInputsChanged(operator.clinic_id, other)]

    seen.clear()
    courses.record_session(Context(app, operator), client_id, 1, AT)
    assert seen == [ClientInputsChanged(operator.clinic_id, client_id)]

    seen.clear()
    add_note(Context(app, operator), client_id, "called about the next session")  # not a progress input
    with app.uow() as uow:  # loaded, not changed
        uow.session.scalars(select(TreatmentSession)).all()
        uow.commit()
    assert seen == []


def test_a_use_case_that_commits_several_times_publishes_once(
    app: App, operator: Actor, client_id: int
) -> None:
    seen: list[Event] = []
    app.handlers = {ClientInputsChanged: [lambda _app, e: seen.append(e)]}
    courses.record_session(Context(app, operator), client_id, 1, AT)
    seen.clear()
    # The photo's row, then its measurement: two commits that change the client's inputs.
    photos.import_photo(Context(app, operator), client_id, PHOTO, "a.jpg", session_number=1)
    assert seen == [ClientInputsChanged(operator.clinic_id, client_id)]

    seen.clear()
    with app.grouped_events():  # held back to the end of the block, repeats dropped
        courses.record_session(Context(app, operator), client_id, 2, AT + timedelta(weeks=5))
        rate_session(Context(app, operator), client_id, 1, 8)
        assert seen == []
        other = App(app.settings, app.engine, app.session_factory, app.blobs, app.handlers)
        courses.record_session(Context(other, operator), client_id, 3, AT + timedelta(weeks=10))
        assert len(seen) == 1  # another App's commit is not held by this block
    assert seen == [ClientInputsChanged(operator.clinic_id, client_id)] * 2

    seen.clear()
    with pytest.raises(RuntimeError), app.grouped_events():
        rate_session(Context(app, operator), client_id, 1, 9)
        raise RuntimeError("after a commit")
    assert seen == [ClientInputsChanged(operator.clinic_id, client_id)]  # what was committed is said


def test_nothing_is_published_when_the_transaction_is_rolled_back(
    app: App, operator: Actor, client_id: int
) -> None:
    seen: list[Event] = []
    app.handlers = {ClientInputsChanged: [lambda _app, e: seen.append(e)]}
    with pytest.raises(RuntimeError), app.uow() as uow:
        course = uow.repo.current_course(client_id)
        assert course is not None
        course.planned_sessions = 9
        uow.repo.flush()
        raise RuntimeError("the use case changed its mind")
    assert seen == []
    with app.uow() as uow:
        course = uow.repo.current_course(client_id)
        assert course is not None and course.planned_sessions == 4


def test_a_failing_handler_is_logged_and_undoes_nothing(
    app: App, operator: Actor, client_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The change is committed before any handler runs, and a handler only keeps derived
    state in step: its failure must not make the write look failed, nor stop the others."""
    seen: list[Event] = []

    def broken(_app: App, _event: Event) -> None:
        raise RuntimeError("cache unavailable")

    app.handlers = {ClientInputsChanged: [broken, lambda _app, e: seen.append(e)]}
    with caplog.at_level(logging.ERROR, logger="tracker.application"):
        courses.record_session(Context(app, operator), client_id, 1, AT)
    assert seen == [ClientInputsChanged(operator.clinic_id, client_id)]
    assert any("broken" in r.getMessage() and r.exc_info for r in caplog.records)
    with app.uow() as uow:
        assert uow.session.scalar(select(TreatmentSession.number)) == 1


def test_a_row_left_stale_by_a_failed_handler_is_recomputed_by_the_view(
    app: App, operator: Actor, viewed: int
) -> None:
    app.handlers = {}  # as if every handler had failed
    courses.record_session(Context(app, operator), viewed, 1, AT)
    with app.uow() as uow:
        row = uow.session.get(ClientStatus, viewed)
        assert row is not None and row.signature != input_signature(Context(app, operator), viewed)
    df = clinic_dashboard(Context(app, operator), TODAY)
    assert df.attrs["refreshed"] == 1 and df.iloc[0]["sessions"] == "1/4"


def test_deleted_photos_files_are_published_for_the_kept_baselines(
    app: App, operator: Actor, client_id: int
) -> None:
    seen: list[Event] = []
    app.handlers = {PhotoFilesDropped: [lambda _app, e: seen.append(e)]}
    done = photos.import_photo(Context(app, operator), client_id, PHOTO, "p.jpg", create_session=True)
    with app.uow() as uow:
        photo = uow.session.get(measurements.Photo, done.photo_id)
        assert photo is not None
        keys = frozenset(photo.blob_keys.values())
    delete_client(Context(app, operator), client_id, "Test Client")
    assert seen == [PhotoFilesDropped(keys)]
