"""Course plans: how many sessions, how far apart, and when the next one is due.

Defaults come from the design rules (docs/design.md §1): results build over months, sessions are 4–6 weeks
apart; acne scars take about 4 sessions, stretch marks and burn scars up to 6, anti-ageing
3 and then upkeep about twice a year. Every plan is editable per client; these are only
what a new course starts with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tracker.domain import Concern

# A session is "overdue" this long after its due date: clinics book around holidays.
OVERDUE_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class CoursePlan:
    planned_sessions: int
    interval_weeks: int
    upkeep_interval_weeks: int | None = None  # after the course; None = no upkeep


DEFAULT_PLANS: dict[Concern, CoursePlan] = {
    Concern.ACNE_SCARS: CoursePlan(4, 5),
    Concern.STRETCH_MARKS: CoursePlan(6, 5),
    Concern.BURN_SCARS: CoursePlan(6, 6),
    Concern.FINE_LINES_WRINKLES: CoursePlan(3, 4, upkeep_interval_weeks=26),
    Concern.ENLARGED_PORES: CoursePlan(4, 5),
    Concern.UNEVEN_TONE: CoursePlan(4, 5),
    Concern.SCALP_HAIR: CoursePlan(6, 4),
    Concern.OTHER: CoursePlan(4, 5),
}
# What a practitioner may set (design §1: 3–6 sessions, 4–6 weeks apart; wider for edge cases).
SESSIONS_RANGE = (1, 12)
INTERVAL_RANGE = (2, 12)


def default_plan(concern: Concern) -> CoursePlan:
    return DEFAULT_PLANS[concern]


def validate_plan(plan: CoursePlan) -> list[str]:
    """Problems with a plan, in words; empty when it is acceptable."""
    problems = []
    if not SESSIONS_RANGE[0] <= plan.planned_sessions <= SESSIONS_RANGE[1]:
        problems.append(f"planned sessions must be {SESSIONS_RANGE[0]}–{SESSIONS_RANGE[1]}")
    if not INTERVAL_RANGE[0] <= plan.interval_weeks <= INTERVAL_RANGE[1]:
        problems.append(f"the interval must be {INTERVAL_RANGE[0]}–{INTERVAL_RANGE[1]} weeks")
    if plan.upkeep_interval_weeks is not None and not 8 <= plan.upkeep_interval_weeks <= 104:
        problems.append("upkeep must be every 8–104 weeks")
    return problems


@dataclass(frozen=True)
class NextSession:
    number: int | None  # None when the course is complete and there is no upkeep
    due: date | None
    kind: str  # "course", "upkeep" or "complete"
    overdue_days: int  # days past due + grace; 0 when not overdue

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def next_session(plan: CoursePlan, session_starts: list[datetime], today: date) -> NextSession:
    """When the next session is due. Before the first session nothing is due yet: the
    first appointment is booked, not computed."""
    done = len(session_starts)
    if done == 0:
        return NextSession(number=1, due=None, kind="course", overdue_days=0)
    last = max(session_starts).date()
    if done < plan.planned_sessions:
        due, kind = last + timedelta(weeks=plan.interval_weeks), "course"
    elif plan.upkeep_interval_weeks:
        due, kind = last + timedelta(weeks=plan.upkeep_interval_weeks), "upkeep"
    else:
        return NextSession(number=None, due=None, kind="complete", overdue_days=0)
    late = (today - (due + OVERDUE_GRACE)).days
    return NextSession(number=done + 1, due=due, kind=kind, overdue_days=max(0, late))
