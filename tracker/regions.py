"""Which face regions a course treats, and which untreated regions are its reference: the
rules, free of storage, permissions and Streamlit, so the analysis, the use cases and the
pages read a course the same way.

Stored on the course (tracker/store/models.py) as lists of FaceRegion values, where NULL
means "not said": the treated regions then follow the course's concern
(DEFAULT_TREATED_REGIONS) and the reference is chosen automatically from the untreated
regions a photo shows (REFERENCE_PREFERENCE). Reading is forgiving (a name this version
does not know is skipped, an empty list counts as not said) because a stored row must never
stop a photo being measured; writing is strict (tracker/app/courses.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracker.domain import DEFAULT_TREATED_REGIONS, REFERENCE_PREFERENCE, Concern, FaceRegion
from tracker.store.models import TreatmentCourse

Regions = tuple[FaceRegion, ...]

_KNOWN = {r.value: r for r in FaceRegion}


def in_order(regions: Iterable[FaceRegion]) -> Regions:
    """`regions` once each, in FaceRegion's order: two choices of the same regions compare
    equal however they were ticked."""
    chosen = set(regions)
    return tuple(r for r in FaceRegion if r in chosen)


def default_treated(concern: Concern) -> Regions:
    """What a course of this concern treats when the practitioner has not said otherwise."""
    return in_order(DEFAULT_TREATED_REGIONS.get(concern, DEFAULT_TREATED_REGIONS[Concern.OTHER]))


def untreated(treated: Iterable[FaceRegion]) -> Regions:
    """The regions left for the reference, best first (REFERENCE_PREFERENCE)."""
    taken = set(treated)
    return tuple(r for r in REFERENCE_PREFERENCE if r not in taken)


def unknown_names(values: Iterable[Any]) -> list[str]:
    """The values that are not FaceRegion names, as text for a message."""
    return [str(v) for v in values if not (isinstance(v, str) and v in _KNOWN)]


def parse(values: Iterable[Any] | None) -> Regions:
    """Stored values as regions, skipping any this version does not know."""
    return in_order(_KNOWN[v] for v in values or () if isinstance(v, str) and v in _KNOWN)


def stored_regions(
    concern: Concern, treated_value: list[Any] | None, reference_value: list[Any] | None
) -> tuple[Regions, Regions | None]:
    """(treated, reference or None for "chosen automatically") from the stored columns."""
    treated = parse(treated_value) or default_treated(concern)
    reference = tuple(r for r in parse(reference_value) if r not in treated)
    return treated, reference or None


def regions_for(course: TreatmentCourse) -> tuple[Regions, Regions | None]:
    """The course's treated regions and its reference override (None: choose the reference
    automatically from untreated regions each photo shows). Pure: reads the row only."""
    return stored_regions(course.concern, course.treated_regions, course.reference_regions)


def no_reference_reason(treated: Iterable[FaceRegion], reference: Iterable[FaceRegion] | None) -> str | None:
    """Why redness may not be comparable with untreated skin for these regions, in words for
    the practitioner; None when untreated skin is left to compare with."""
    if reference:
        return None
    left = untreated(treated)
    if not left:
        return (
            "Every region is marked as treated, so redness cannot be compared with untreated skin: "
            "the paired measurements (treated against untreated skin) will stay empty. "
            "Leave at least one region untreated to compare with."
        )
    if left == (FaceRegion.NECK,):
        return (
            "Only the neck is left untreated. In photos that do not show the neck, redness cannot "
            "be compared with untreated skin and the paired measurements stay empty. "
            "Treat fewer regions, or make sure the neck is in every photo."
        )
    return None
