"""Issue 5: the clinic dashboard and its per-client cache.

The demo tests run on a copy of the shared demo database (the dashboard writes its cache,
and the change tests edit inputs), never on the shared fixture itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete, insert, select

from tests.conftest import copy_demo
from tracker.app import courses
from tracker.app.context import Context
from tracker.app.courses import rate_session
from tracker.app.dashboard import StatusFields, clinic_dashboard, dashboard_counts, refresh_client_status
from tracker.app.demo import DemoResult
from tracker.bootstrap import App
from tracker.domain import PhotoKind, Role
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AnalysisResult, ClientStatus, Photo, TreatmentCourse, TreatmentSession
from tracker_dev.synth.clinic import build_big_clinic

TODAY = date(2026, 11, 21)  # the demo's photos end the day before


def _copy_demo(demo: tuple[App, DemoResult], folder: Path) -> App:
    """A private copy of the demo (its own database too, on a PostgreSQL run)."""
    return copy_demo(demo, folder / "data")


@pytest.fixture(scope="module")
def demo_copy(
    demo_loaded: tuple[App, DemoResult], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[App, Actor]]:
    app = _copy_demo(demo_loaded, tmp_path_factory.mktemp("dashboard-demo"))
    yield app, Actor.operator(demo_loaded[1].clinic_id)
    app.close()


@pytest.fixture
def own_demo(demo_loaded: tuple[App, DemoResult], tmp_path: Path) -> Iterator[tuple[App, Actor]]:
    """A copy this test may change."""
    app = _copy_demo(demo_loaded, tmp_path / "own")
    yield app, Actor.operator(demo_loaded[1].clinic_id)
    app.close()


def _row(df: pd.DataFrame, name: str) -> pd.Series:
    rows = df[df["name"].str.startswith(name)]
    assert len(rows) == 1, name
    return rows.iloc[0]


def _computed_at(app: App) -> dict[int, datetime | None]:
    with app.uow() as uow:
        rows = uow.session.execute(select(ClientStatus.client_id, ClientStatus.computed_at))
        return {client_id: at for client_id, at in rows}


def _client_id(app: App, actor: Actor, name: str) -> int:
    return int(_row(clinic_dashboard(Context(app, actor), TODAY), name)["client_id"])


def _same(left: pd.DataFrame, right: pd.DataFrame, what: str = "") -> None:
    """Equal frames (assert_frame_equal ignores attrs, where the recomputed count differs)."""
    pd.testing.assert_frame_equal(left, right, obj=what or "DataFrame")


# The demo ----------------------------------------------------------------------------------


def test_every_demo_client_has_a_row_and_the_slow_recoverer_comes_first(demo_copy: tuple[App, Actor]) -> None:
    app, actor = demo_copy
    df = clinic_dashboard(Context(app, actor), TODAY)
    assert sorted(df["name"]) == ["Adaeze Okafor", "Ava Lindqvist", "Linh Nguyễn", "Niamh O'Sullivan"]
    niamh = df.iloc[0]
    assert niamh["name"] == "Niamh O'Sullivan"
    assert {"slow_recovery", "contraindication"} <= set(niamh["flag_codes"])
    assert "redness slow to settle · sessions 1, 2, 3, 4" in niamh["flags"]
    assert "contraindication" in niamh["flags"]
    assert niamh["sessions"] == "4/4" and niamh["concern"] == "Fine lines & wrinkles"
    assert niamh["next_due"] == date(2027, 5, 14) and niamh["overdue_days"] == 0  # upkeep
    adaeze = _row(df, "Adaeze")
    assert adaeze["flags"] == "darkening watch (PIH) · session 4"
    assert adaeze["act"] == 1 and adaeze["sessions"] == "6/6"
    assert list(df["name"][:2]) == ["Niamh O'Sullivan", "Adaeze Okafor"]  # act flags first
    assert (df.loc[df["act"] == 0, "flags"] == "").all()
    assert df["redness_status"].isin(["improved", "worsened", "within noise", ""]).all()
    assert df["texture_change_pct"].notna().all() and (df["photos"] >= df["usable_photos"]).all()


def test_counts_of_the_demo(demo_copy: tuple[App, Actor]) -> None:
    app, actor = demo_copy
    counts = dashboard_counts(clinic_dashboard(Context(app, actor), TODAY))
    assert counts == {
        "clients": 4,
        "act": 2,
        "overdue": 0,
        "slow_recovery": 1,
        "pih_watch": 1,
        "no_usable_photo": 0,
        "due_this_week": 0,
    }


def test_a_client_cannot_see_the_dashboard(demo_copy: tuple[App, Actor]) -> None:
    app, actor = demo_copy
    me = _client_id(app, actor, "Ava")
    client = Actor(label="ava@demo.test", role=Role.CLIENT, clinic_id=actor.clinic_id, client_id=me)
    with pytest.raises(PermissionDenied):
        clinic_dashboard(Context(app, client), TODAY)
    other_clinic = Actor.operator(actor.clinic_id + 1)
    assert clinic_dashboard(Context(app, other_clinic), TODAY).empty  # clinic-scoped


def test_a_second_view_comes_from_the_cache(demo_copy: tuple[App, Actor]) -> None:
    app, actor = demo_copy
    first = clinic_dashboard(Context(app, actor), TODAY)
    stamps = _computed_at(app)
    second = clinic_dashboard(Context(app, actor), TODAY)
    assert second.attrs["refreshed"] == 0
    assert _computed_at(app) == stamps and all(stamps.values())
    _same(first, second)


# Staying fresh -----------------------------------------------------------------------------


def test_the_cache_follows_every_kind_of_change(own_demo: tuple[App, Actor]) -> None:
    app, actor = own_demo
    clinic_dashboard(Context(app, actor), TODAY)
    ava, niamh, linh = (_client_id(app, actor, n) for n in ("Ava", "Niamh", "Linh"))

    # A rating: only that client is recomputed, by the change event's handler.
    before = _computed_at(app)
    rate_session(Context(app, actor), ava, 5, 3)
    after = _computed_at(app)
    assert after[ava] != before[ava] and {k: v for k, v in after.items() if k != ava} == {
        k: v for k, v in before.items() if k != ava
    }

    # A new session through the services: sessions done and the next due date move.
    courses.record_session(
        Context(app, actor), niamh, 5, datetime(2026, 11, 20, 10, 0), override_reason="rosacea calm"
    )  # Niamh's intake has a contraindication: a new session needs a reason
    row = _row(clinic_dashboard(Context(app, actor), TODAY), "Niamh")
    assert row["sessions"] == "5/4" and row["next_due"] == date(2027, 5, 21)

    # A result re-measured in place (same row, no new id, no timestamp): the unit of work.
    with app.uow() as uow:
        latest_before = uow.session.scalars(
            select(AnalysisResult)
            .join(Photo, Photo.id == AnalysisResult.photo_id)
            .where(Photo.client_id == ava, Photo.kind == PhotoKind.BEFORE)
            .order_by(Photo.taken_at.desc())
        ).first()
        assert latest_before is not None
        latest_before.metrics = {**latest_before.metrics, "delta_ei": 15.0}
        uow.commit()
    row = _row(clinic_dashboard(Context(app, actor), TODAY), "Ava")
    assert row["redness_status"] == "worsened" and row["redness_change"] > 10

    # A session written by bulk SQL, which no hook sees: the signature's traces do.
    with app.uow() as uow:
        course = uow.repo.current_course(linh)
        assert course is not None
        uow.session.execute(
            insert(TreatmentSession),
            [{"course_id": course.id, "number": 5, "at": datetime(2026, 11, 21, 9, 0)}],
        )
        uow.commit()
    assert _row(clinic_dashboard(Context(app, actor), TODAY), "Linh")["sessions"] == "5/4"

    # A plan change.
    with app.uow() as uow:
        course = uow.repo.current_course(linh)
        assert course is not None
        course.planned_sessions = 6
        uow.commit()
    row = _row(clinic_dashboard(Context(app, actor), TODAY), "Linh")
    assert row["sessions"] == "5/6" and row["next_due"] is not None


def test_refresh_client_status_makes_the_next_view_warm(app: App, operator: Actor, client_id: int) -> None:
    data = refresh_client_status(Context(app, operator), client_id, TODAY)
    assert data.name == "Test Client" and data.sessions_done == 0 and data.flags == ()
    assert StatusFields.from_json(data.to_json()) == data  # the cached JSON reads back the same
    df = clinic_dashboard(Context(app, operator), TODAY)
    assert df.attrs["refreshed"] == 0 and df.iloc[0]["sessions"] == "0/4"

    app.handlers = {}  # no change event handled: the row is stale
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 9, 1, 10, 0))
    df = clinic_dashboard(Context(app, operator), TODAY)
    row = df.iloc[0]
    assert df.attrs["refreshed"] == 1 and row["sessions"] == "1/4"
    assert row["next_due"] == date(2026, 10, 6) and row["overdue_days"] == (TODAY - date(2026, 10, 13)).days
    assert "overdue" in row["flags"] and "no usable photo · session 1" in row["flags"]

    refresh_client_status(Context(app, operator), client_id, TODAY)
    assert clinic_dashboard(Context(app, operator), TODAY).attrs["refreshed"] == 0
    someone = Actor(label="x", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=client_id + 1)
    with pytest.raises(PermissionDenied):
        refresh_client_status(Context(app, someone), client_id, TODAY)


def test_a_cached_row_serves_later_days_exactly_as_a_fresh_one(own_demo: tuple[App, Actor]) -> None:
    """Rows are reused across days until a check-in window closes or a session starts;
    overdue days are derived at view time. Compare with a cache emptied before each view."""
    app, actor = own_demo
    clinic_dashboard(Context(app, actor), TODAY)
    for day in (
        date(2026, 11, 22),
        date(2026, 11, 23),
        date(2026, 12, 1),
        date(2027, 5, 21),
        date(2027, 6, 1),
    ):
        cached = clinic_dashboard(Context(app, actor), day)
        assert cached.attrs["refreshed"] < 4, day  # most rows were reused
        with app.uow() as uow:
            uow.session.execute(delete(ClientStatus))
            uow.commit()
        fresh = clinic_dashboard(Context(app, actor), day)
        assert fresh.attrs["refreshed"] == 4
        _same(cached, fresh, str(day))
    niamh = _row(fresh, "Niamh")
    assert niamh["overdue_days"] == 11 and "overdue" in niamh["flags"]  # due 14 May + a week of grace


def test_looking_back_in_time_recomputes(own_demo: tuple[App, Actor]) -> None:
    app, actor = own_demo
    clinic_dashboard(Context(app, actor), TODAY)
    assert clinic_dashboard(Context(app, actor), date(2026, 11, 1)).attrs["refreshed"] == 4


# A generated clinic -------------------------------------------------------------------------


def test_a_generated_clinic_gives_the_true_counts_from_the_cache(app: App) -> None:
    built = build_big_clinic(app, clients=30, seed=1, today=TODAY, rare=0.05)
    assert built.photos == 30 * 6 * 4
    actor = Actor.operator(built.clinic_id)
    df = clinic_dashboard(Context(app, actor), TODAY)
    assert df.attrs["refreshed"] == 30
    truth = {
        "clients": 30,
        "act": len(built.act),
        "overdue": len(built.overdue),
        "slow_recovery": len(built.slow_recovery),
        "pih_watch": len(built.pih),
        "no_usable_photo": len(built.no_usable_photo),
        "due_this_week": len(built.due_this_week),
    }
    assert dashboard_counts(df) == truth
    assert min(truth.values()) >= 1  # the seed gives some of each
    for code, ids in (
        ("slow_recovery", built.slow_recovery),
        ("pih_watch", built.pih),
        ("contraindication", built.contraindication),
        ("no_usable_photo", built.no_usable_photo),
        ("missed_checkins", built.missed_checkin),
        ("worsening_texture_dog", built.texture_worse),
        ("overdue_session", built.overdue),
    ):
        assert set(df.loc[df["flag_codes"].map(lambda c, code=code: code in c), "client_id"]) == ids, code
    assert set(df["client_id"][: len(built.act)]) == built.act  # act flags sort first

    stamps = _computed_at(app)
    again = clinic_dashboard(Context(app, actor), TODAY)
    assert again.attrs["refreshed"] == 0 and _computed_at(app) == stamps
    _same(df, again)


def test_the_generator_refuses_a_clinic_with_clients(app: App) -> None:
    build_big_clinic(app, clients=2, today=TODAY)
    with pytest.raises(ValueError, match="already has clients"):
        build_big_clinic(app, clients=2, today=TODAY)
    with app.uow() as uow:
        courses = uow.session.scalars(select(TreatmentCourse)).all()
        assert len(courses) == 2


def test_cached_fields_read_back_from_their_json_exactly() -> None:
    from tracker.domain import Concern

    fields = StatusFields(
        name="Zoë",
        concern=Concern.ACNE_SCARS,
        sessions_done=2,
        planned_sessions=4,
        redness_change=-1.25,
        redness_status="improved",
        texture_change_pct=-3.5,
        texture_status="within noise",
        flags=(
            ("slow_recovery", "watch", 2, "slow_recovery:s2"),
            ("contraindication", "act", None, "contraindication:rosacea"),
        ),
        next_number=3,
        next_due=date(2026, 12, 10),
        next_kind="course",
        last_photo=datetime(2026, 11, 30, 9, 15, 2),
        photos=9,
        photos_usable=8,
        ita_deg=-12.5,
    )
    stored = json.loads(json.dumps(fields.to_json()))  # as the JSON column keeps it
    assert StatusFields.from_json(stored) == fields
    assert stored["next"] == {"number": 3, "due": "2026-12-10", "kind": "course"}
    empty = StatusFields("Ana")  # a client without a course
    assert StatusFields.from_json(json.loads(json.dumps(empty.to_json()))) == empty
