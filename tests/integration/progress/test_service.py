from __future__ import annotations

from datetime import date, datetime

import pytest

from tracker.app import courses
from tracker.app.context import Context
from tracker.app.courses import course_progress, rate_session, set_course_plan
from tracker.bootstrap import App
from tracker.domain import Concern, Role
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied
from tracker.progress.plans import CoursePlan


def test_new_clients_get_the_plan_of_their_concern(app: App, operator: Actor) -> None:
    cid = courses.create_client(Context(app, operator), "Fay", concern=Concern.FINE_LINES_WRINKLES)
    courses.record_session(Context(app, operator), cid, 1, datetime(2026, 1, 5, 10))
    p = course_progress(Context(app, operator), cid, date(2026, 3, 1))
    assert (p.plan.planned_sessions, p.plan.interval_weeks, p.plan.upkeep_interval_weeks) == (3, 4, 26)
    assert p.next.number == 2 and p.next.due == date(2026, 2, 2) and p.next.overdue
    assert any(f.code == "overdue_session" for f in p.flags)
    assert any(f.code == "no_usable_photo" for f in p.flags)  # session 1 has no photo at all


def test_plans_are_editable_and_validated(app: App, operator: Actor, client_id: int) -> None:
    set_course_plan(Context(app, operator), client_id, CoursePlan(6, 6))
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 1, 5, 10))
    assert course_progress(Context(app, operator), client_id, date(2026, 1, 6)).plan == CoursePlan(6, 6)
    with pytest.raises(Rejected, match="interval"):
        set_course_plan(Context(app, operator), client_id, CoursePlan(4, 40))
    client_actor = Actor("c@x", Role.CLIENT, operator.clinic_id, client_id=client_id)
    with pytest.raises(PermissionDenied):
        set_course_plan(Context(app, client_actor), client_id, CoursePlan(4, 5))


def test_clients_rate_their_own_sessions(app: App, operator: Actor, client_id: int) -> None:
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 1, 5, 10))
    me = Actor("me@x", Role.CLIENT, operator.clinic_id, client_id=client_id)
    rate_session(Context(app, me), client_id, 1, 7)
    assert course_progress(Context(app, operator), client_id, date(2026, 1, 6)).sessions[0].client_rating == 7
    with pytest.raises(Rejected, match="1 to 10"):
        rate_session(Context(app, me), client_id, 1, 11)
    with pytest.raises(Rejected, match="no session 2"):
        rate_session(Context(app, me), client_id, 2, 5)
    other = courses.create_client(Context(app, operator), "Other")
    with pytest.raises(PermissionDenied):
        rate_session(
            Context(app, Actor("o@x", Role.CLIENT, operator.clinic_id, client_id=other)), client_id, 1, 3
        )
