"""What the progress rules need to know about one client's current course, as plain values:
loaded in one go (tracker/store/queries.py, for one client or a whole clinic), then
assessed by pure code (`tracker.progress.assessment.assess`), testable without a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tracker.domain import Concern, PhotoKind
from tracker.progress.plans import CoursePlan


@dataclass(frozen=True)
class SessionFacts:
    number: int
    at: datetime
    device: str = ""
    needle_depth_mm: float | None = None
    passes: int | None = None
    serum: str = ""
    price: float | None = None
    client_rating: int | None = None


@dataclass(frozen=True)
class PhotoFacts:
    """One photo of the course and its latest analysis result (score None: not measured).
    `usable` is the result's stored verdict on entering trends (imaging.quality decides it
    once); None for a result stored without one, which is then judged by its score."""

    photo_id: int
    session: int  # the session's number
    kind: PhotoKind
    taken_at: datetime
    score: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    usable: bool | None = None


@dataclass(frozen=True)
class CourseFacts:
    client_id: int
    client_name: str
    concern: Concern
    plan: CoursePlan
    today: date
    body_area: str = ""
    intake: Mapping[str, Any] = field(default_factory=dict)
    stored_ita: float | None = None  # the client's agreed ITA, when analysis has one
    ita_calibrated: bool = False
    sessions: tuple[SessionFacts, ...] = ()  # by number
    photos: tuple[PhotoFacts, ...] = ()  # by photo id
