"""The rules that turn a course's stored regions into what the analysis uses."""

from __future__ import annotations

from tracker.domain import REFERENCE_PREFERENCE, Concern, FaceRegion
from tracker.regions import no_reference_reason, regions_for, stored_regions, untreated
from tracker.store.models import TreatmentCourse

F = FaceRegion


def _course(
    concern: Concern, treated: list[object] | None, reference: list[object] | None
) -> TreatmentCourse:
    return TreatmentCourse(
        concern=concern,
        planned_sessions=4,
        interval_weeks=4,
        treated_regions=treated,
        reference_regions=reference,
    )


def test_nothing_stored_means_the_concerns_default_and_an_automatic_reference() -> None:
    assert regions_for(_course(Concern.FINE_LINES_WRINKLES, None, None)) == ((F.FOREHEAD, F.PERIORAL), None)
    assert regions_for(_course(Concern.ENLARGED_PORES, [], [])) == (
        (F.NOSE, F.LEFT_CHEEK, F.RIGHT_CHEEK),
        None,
    )


def test_stored_regions_are_read_in_a_fixed_order_and_unknown_names_are_skipped() -> None:
    """A stored row must never stop a photo being measured: a name this version does not
    know (or junk) is skipped, and nothing known left means the default."""
    course = _course(Concern.ACNE_SCARS, ["chin", "forehead", "ear", 7, "chin"], ["neck", None])
    assert regions_for(course) == ((F.FOREHEAD, F.CHIN), (F.NECK,))
    assert stored_regions(Concern.ACNE_SCARS, ["ear"], None) == ((F.LEFT_CHEEK, F.RIGHT_CHEEK), None)


def test_a_stored_reference_that_is_also_treated_is_not_used_as_reference() -> None:
    assert stored_regions(Concern.OTHER, ["nose", "chin"], ["chin"]) == ((F.NOSE, F.CHIN), None)
    assert stored_regions(Concern.OTHER, ["nose"], ["chin", "nose"]) == ((F.NOSE,), (F.CHIN,))


def test_untreated_regions_come_in_the_reference_preference() -> None:
    assert untreated([]) == REFERENCE_PREFERENCE
    assert untreated([F.FOREHEAD, F.LEFT_CHEEK])[:2] == (F.RIGHT_CHEEK, F.CHIN)
    assert untreated(list(FaceRegion)) == ()


def test_the_reason_redness_cannot_be_compared_is_given_only_when_it_applies() -> None:
    everything = no_reference_reason(list(FaceRegion), None)
    assert everything is not None and "cannot be compared with untreated skin" in everything
    neck_left = no_reference_reason([r for r in FaceRegion if r is not F.NECK], None)
    assert neck_left is not None and "Only the neck" in neck_left
    assert no_reference_reason([F.LEFT_CHEEK, F.RIGHT_CHEEK], None) is None
    assert (
        no_reference_reason([r for r in FaceRegion if r is not F.NECK], [F.NECK]) is None
    )  # chosen on purpose
