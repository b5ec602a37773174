"""Use cases: which face regions the client's current course treats, and which untreated
regions serve as its reference (issue 9). The rules are in tracker/regions.py.

The regions decide what the analysis compares, so a change measures every photo of the
course again: a trend must never mix two definitions of "treated". Zones drawn by hand on
the baseline photo still win over regions in the analysis; the course keeps the regions
anyway, as the record of what was treated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from tracker import audit
from tracker.analysis import reanalyze_series
from tracker.bootstrap import App
from tracker.domain import FaceRegion
from tracker.errors import Refused
from tracker.permissions import Actor, require_client_access, require_staff
from tracker.regions import Regions, default_treated, in_order, parse, regions_for, unknown_names
from tracker.store.models import Photo, TreatmentSession


@dataclass(frozen=True)
class CourseRegions:
    """The current course's regions as the analysis will use them."""

    treated: Regions
    reference: Regions | None  # None: chosen automatically from untreated skin in each photo
    treated_is_default: bool  # nothing chosen yet: the treated regions follow the concern


def course_regions(app: App, actor: Actor, client_id: int) -> CourseRegions | None:
    """The regions of the client's current course; None when there is no course. Staff of
    the clinic and the client themselves may read them."""
    with app.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        if course is None:
            return None
        treated, reference = regions_for(course)
        return CourseRegions(treated, reference, treated_is_default=not parse(course.treated_regions))


def set_course_regions(
    app: App,
    actor: Actor,
    client_id: int,
    treated: Sequence[FaceRegion | str] | None,
    reference: Sequence[FaceRegion | str] | None,
) -> None:
    """Record which regions the current course treats (`treated`; None goes back to the
    concern's default) and which untreated regions are its reference (`reference`; None or
    empty: chosen automatically). Staff only. Refused (`Refused`, saying why) when no region
    is treated, a name is unknown or a region would be both treated and reference.

    Saving what is already stored changes nothing (no audit row, no re-measuring); otherwise
    every photo of the course is measured again with the new regions."""
    require_staff(actor)
    wanted_treated = None if treated is None else _checked(treated, "treated")
    wanted_reference = _checked(reference or (), "reference") or None
    if wanted_treated is not None and not wanted_treated:
        raise Refused("Choose at least one treated region: a course treats some part of the face.")
    with app.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        if course is None:
            raise Refused("This client has no treatment course yet.")
        effective = wanted_treated or default_treated(course.concern)
        both = [r for r in wanted_reference or () if r in effective]
        if both:
            names = " and ".join(r.label for r in both)
            them = "it" if len(both) == 1 else "them"
            raise Refused(
                f"{names} cannot be both treated and the untreated reference: "
                f"take {them} out of one of the two."
            )
        new_treated = [r.value for r in wanted_treated] if wanted_treated is not None else None
        new_reference = [r.value for r in wanted_reference] if wanted_reference else None
        if (course.treated_regions, course.reference_regions) == (new_treated, new_reference):
            return
        course.treated_regions = new_treated
        course.reference_regions = new_reference
        audit.record(
            uow,
            actor,
            "set_regions",
            "treatment_course",
            course.id,
            detail={"client_id": client.id, "treated": new_treated, "reference": new_reference},
        )
        course_id = course.id
        photos = uow.session.scalar(
            select(func.count(Photo.id))
            .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
            .where(TreatmentSession.course_id == course_id)
        )
        uow.commit()
    if photos:
        reanalyze_series(app, actor, course_id)


def _checked(values: Sequence[FaceRegion | str], which: str) -> Regions:
    unknown = unknown_names(values)
    if unknown:
        known = ", ".join(r.value for r in FaceRegion)
        raise Refused(
            f"Not a face region: {', '.join(repr(u) for u in unknown)} ({which}). Known regions: {known}."
        )
    return in_order(FaceRegion(v) for v in values)
