from __future__ import annotations

from datetime import date, datetime

from tracker.domain import Concern
from tracker.progress.plans import CoursePlan, default_plan, next_session, validate_plan


def test_defaults_follow_the_brief() -> None:
    assert default_plan(Concern.ACNE_SCARS).planned_sessions == 4
    assert default_plan(Concern.STRETCH_MARKS).planned_sessions == 6
    assert default_plan(Concern.BURN_SCARS).planned_sessions == 6
    anti_ageing = default_plan(Concern.FINE_LINES_WRINKLES)
    assert anti_ageing.planned_sessions == 3 and anti_ageing.upkeep_interval_weeks == 26
    for concern in Concern:
        plan = default_plan(concern)
        assert 3 <= plan.planned_sessions <= 6 and 4 <= plan.interval_weeks <= 6
        assert validate_plan(plan) == []


def test_due_dates_and_overdue() -> None:
    plan = CoursePlan(4, 5)
    starts = [datetime(2026, 6, 1, 10), datetime(2026, 7, 6, 10)]
    on_time = next_session(plan, starts, date(2026, 8, 10))
    assert (on_time.number, on_time.due, on_time.overdue) == (3, date(2026, 8, 10), False)
    late = next_session(plan, starts, date(2026, 8, 30))
    assert late.overdue and late.overdue_days == 13
    assert next_session(plan, [], date(2026, 1, 1)).due is None


def test_course_end_and_upkeep() -> None:
    done = [datetime(2026, 1, 5), datetime(2026, 2, 2), datetime(2026, 3, 2)]
    assert next_session(CoursePlan(3, 4), done, date(2026, 11, 21)).kind == "complete"
    upkeep = next_session(CoursePlan(3, 4, upkeep_interval_weeks=26), done, date(2026, 11, 21))
    assert upkeep.kind == "upkeep" and upkeep.due == date(2026, 8, 31) and upkeep.overdue


def test_invalid_plans_are_explained() -> None:
    assert validate_plan(CoursePlan(0, 5)) and validate_plan(CoursePlan(4, 30))
