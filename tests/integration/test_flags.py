"""Issue 11 item 2: flags have a lifecycle (open → acknowledged → resolved, or snoozed until a
date), audited, scoped to the clinic, and the dashboard counts open flags only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.app import courses
from tracker.app.context import Context
from tracker.app.dashboard import clinic_dashboard, dashboard_counts, dashboard_filter
from tracker.app.flags import (
    FlagState,
    acknowledge,
    client_flags,
    latest_reviews,
    reopen,
    resolve,
    snooze,
)
from tracker.bootstrap import App
from tracker.domain import Contraindication, Role
from tracker.errors import Refused
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AuditEvent, FlagReview

TODAY = date(2026, 3, 1)
CONTRA = "contraindication:rosacea"


@pytest.fixture
def flagged(app: App, operator: Actor, client_id: int) -> int:
    """A client with a session on 5 Jan and no photos, and rosacea answered at intake: by
    1 Mar they have an act flag (contraindication) and watch flags (no usable photo,
    overdue session 2)."""
    ctx = Context(app, operator)
    courses.record_session(ctx, client_id, 1, datetime(2026, 1, 5, 10))
    courses.record_intake(ctx, client_id, [Contraindication.ROSACEA])
    return client_id


def _state(app: App, actor: Actor, client_id: int, key: str, today: date = TODAY) -> FlagState:
    found = {f.key: f for f in client_flags(Context(app, actor), client_id, today).flags}
    return found[key].state


def _row(app: App, actor: Actor, client_id: int, today: date = TODAY) -> dict[str, object]:
    df = clinic_dashboard(Context(app, actor), today)
    return dict(df[df["client_id"] == client_id].iloc[0])


def _audit(app: App) -> list[str]:
    with app.uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent.action).where(AuditEvent.entity == "flag_review").order_by(AuditEvent.id)
            )
        )


def test_flags_have_stable_keys_and_start_open(app: App, operator: Actor, flagged: int) -> None:
    first = client_flags(Context(app, operator), flagged, TODAY)
    again = client_flags(Context(app, operator), flagged, TODAY)
    keys = {f.key for f in first.flags}
    assert keys == {f.key for f in again.flags}  # the same flags, recomputed, have the same keys
    assert {CONTRA, "no_usable_photo:s1", "missed_checkins:s1"} <= keys
    assert any(k.startswith("overdue_session:2026-") for k in keys)
    assert all(f.state is FlagState.OPEN for f in first.flags) and first.history == ()


def test_acknowledge_then_resolve_leaves_the_dashboard_at_once_and_is_audited(
    app: App, operator: Actor, flagged: int
) -> None:
    ctx = Context(app, operator)
    before = _row(app, operator, flagged)
    assert before["act"] == 1 and "contraindication" in before["flag_codes"]

    with pytest.raises(Refused, match="needs a note"):
        acknowledge(ctx, flagged, CONTRA, "   ", TODAY)
    assert _audit(app) == []  # refused: nothing written

    acknowledge(ctx, flagged, CONTRA, "Rosacea is calm; spoke to her GP.", TODAY)
    assert _state(app, operator, flagged, CONTRA) is FlagState.ACKNOWLEDGED
    row = _row(app, operator, flagged)  # no recomputation needed: applied when the frame is built
    assert row["act"] == 0 and "contraindication" not in row["flag_codes"]
    assert "contraindication" not in str(row["flags"])

    resolve(ctx, flagged, CONTRA, "", TODAY)
    shown = client_flags(ctx, flagged, TODAY)
    view = next(f for f in shown.flags if f.key == CONTRA)
    assert view.state is FlagState.RESOLVED and not view.is_open
    assert [r.action for r in view.history] == ["acknowledged", "resolved"]
    first = view.history[0]
    assert first.note == "Rosacea is calm; spoke to her GP." and first.by == operator.label
    assert [r.action for r in shown.history] == ["resolved", "acknowledged"]  # newest first
    assert CONTRA not in {f.key for f in shown.open}

    with pytest.raises(Refused, match="is resolved"):
        resolve(ctx, flagged, CONTRA, "", TODAY)
    with pytest.raises(Refused, match="is resolved"):
        acknowledge(ctx, flagged, CONTRA, "again", TODAY)

    reopen(ctx, flagged, CONTRA, "Flared up.", TODAY)
    assert _state(app, operator, flagged, CONTRA) is FlagState.OPEN
    assert _row(app, operator, flagged)["act"] == 1
    assert _audit(app) == ["flag_acknowledge", "flag_resolve", "flag_reopen"]
    with app.uow() as uow:
        query = select(AuditEvent.detail).where(AuditEvent.entity == "flag_review")
        details = list(uow.session.scalars(query))
    assert details[0] == {
        "client_id": flagged,
        "flag": CONTRA,
        "state": "acknowledged",
        "note": "Rosacea is calm; spoke to her GP.",
    }


def test_a_snoozed_flag_opens_again_on_its_date(app: App, operator: Actor, flagged: int) -> None:
    ctx = Context(app, operator)
    key = "no_usable_photo:s1"
    for bad in (TODAY, TODAY - timedelta(days=3), TODAY + timedelta(days=400)):
        with pytest.raises(Refused):
            snooze(ctx, flagged, key, bad, "", TODAY)
    until = TODAY + timedelta(days=7)
    watch_before = _row(app, operator, flagged)["watch"]
    snooze(ctx, flagged, key, until, "Photos promised next week.", TODAY)
    assert _state(app, operator, flagged, key) is FlagState.SNOOZED
    assert _state(app, operator, flagged, key, until - timedelta(days=1)) is FlagState.SNOOZED
    assert _state(app, operator, flagged, key, until) is FlagState.OPEN
    assert _row(app, operator, flagged)["watch"] == watch_before - 1
    assert "no_usable_photo" in _row(app, operator, flagged, until)["flag_codes"]  # due again: counted
    assert _audit(app) == ["flag_snooze"]
    with app.uow() as uow:
        stored = uow.session.scalars(select(FlagReview)).one()
    assert (stored.state, stored.snoozed_until) == ("snoozed", until)
    assert stored.note == "Photos promised next week."


def test_a_resolved_flag_stays_resolved_but_a_new_session_or_answer_is_a_new_flag(
    app: App, operator: Actor, flagged: int
) -> None:
    ctx = Context(app, operator)
    resolve(ctx, flagged, "no_usable_photo:s1", "Client lost her phone; agreed.", TODAY)
    with pytest.raises(courses.ContraindicationOnFile):  # open: a new session needs a reason
        courses.record_session(ctx, flagged, 2, datetime(2026, 2, 20, 10))
    resolve(ctx, flagged, CONTRA, "Cleared by GP.", TODAY)
    courses.record_session(ctx, flagged, 2, datetime(2026, 2, 20, 10))  # resolved: no override needed
    courses.record_intake(ctx, flagged, [Contraindication.ROSACEA, Contraindication.ECZEMA])
    states = {f.key: f.state for f in client_flags(ctx, flagged, TODAY).flags}
    assert states["no_usable_photo:s1"] is FlagState.RESOLVED
    assert states["no_usable_photo:s2"] is FlagState.OPEN
    assert CONTRA not in states  # the answers changed: the old flag is no longer computed …
    assert states["contraindication:eczema,rosacea"] is FlagState.OPEN  # … and the new one is open
    history = client_flags(ctx, flagged, TODAY).history
    assert {r.key for r in history} == {"no_usable_photo:s1", CONTRA}  # kept, with its title
    assert next(r for r in history if r.key == CONTRA).title == "Contraindication answered at intake"
    assert _row(app, operator, flagged)["act"] == 1


def test_an_unknown_flag_or_a_wrong_state_changes_nothing(app: App, operator: Actor, flagged: int) -> None:
    ctx = Context(app, operator)
    with pytest.raises(Refused, match="no longer applies"):
        resolve(ctx, flagged, "slow_recovery:s9", "", TODAY)
    with pytest.raises(Refused, match="is open"):
        reopen(ctx, flagged, CONTRA, "", TODAY)
    with pytest.raises(Refused, match="at most"):
        acknowledge(ctx, flagged, CONTRA, "x" * 5000, TODAY)
    with app.uow() as uow:
        assert uow.session.scalars(select(FlagReview)).all() == []
    assert _audit(app) == []


def test_only_the_clinics_staff_see_and_act_on_flags(app: App, operator: Actor, flagged: int) -> None:
    resolve(Context(app, operator), flagged, CONTRA, "", TODAY)
    the_client = Actor(label="c@x", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=flagged)
    other_clinic = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    for actor in (the_client, other_clinic):
        ctx = Context(app, actor)
        with pytest.raises(PermissionDenied):
            client_flags(ctx, flagged, TODAY)
        with pytest.raises(PermissionDenied):
            reopen(ctx, flagged, CONTRA, "", TODAY)
        with pytest.raises(PermissionDenied):
            acknowledge(ctx, flagged, "no_usable_photo:s1", "Sneaky.", TODAY)
    assert latest_reviews(Context(app, other_clinic)) == {}
    assert set(latest_reviews(Context(app, operator))[flagged]) == {CONTRA}
    assert _state(app, operator, flagged, CONTRA) is FlagState.RESOLVED


def test_each_count_is_the_row_count_of_its_filter(app: App, operator: Actor, flagged: int) -> None:
    ctx = Context(app, operator)
    other = courses.create_client(ctx, "Quiet Client")
    df = clinic_dashboard(ctx, TODAY)
    counts = dashboard_counts(df)
    for key, count in counts.items():
        assert len(dashboard_filter(df, key)) == count, key
    assert set(dashboard_filter(df, "act")["client_id"]) == {flagged}
    assert set(dashboard_filter(df, "overdue")["client_id"]) == {flagged}
    assert set(dashboard_filter(df, None)["client_id"]) == {flagged, other}
    overdue = next(f.key for f in client_flags(ctx, flagged, TODAY).flags if f.flag.code == "overdue_session")
    snooze(ctx, flagged, overdue, TODAY + timedelta(days=2), "Booked for Tuesday.", TODAY)
    df = clinic_dashboard(ctx, TODAY)
    assert dashboard_counts(df)["overdue"] == 0 and dashboard_filter(df, "overdue").empty
    assert int(df[df["client_id"] == flagged]["overdue_days"].iloc[0]) > 0  # the fact is still shown
