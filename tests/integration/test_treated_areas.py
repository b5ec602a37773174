"""Which face regions a course treats: the use cases, on a real SQLite database."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime

import pytest
from sqlalchemy import select

from tests import images
from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.app.courses import CourseRegions, course_regions, set_course_regions
from tracker.app.records import export_client
from tracker.bootstrap import App
from tracker.domain import DEFAULT_TREATED_REGIONS, Concern, FaceRegion, PhotoStatus, Role
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied
from tracker.regions import in_order
from tracker.store.models import AuditEvent, Photo, TreatmentCourse


def _stored(app: App, client_id: int) -> tuple[object, object]:
    with app.uow() as uow:
        course = uow.repo.current_course(client_id)
        assert course is not None
        return course.treated_regions, course.reference_regions


def _audit_rows(app: App) -> list[AuditEvent]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "set_regions")))


@pytest.mark.parametrize("concern", list(Concern))
def test_a_new_course_treats_its_concerns_default_regions_and_stores_nothing(
    app: App, operator: Actor, concern: Concern
) -> None:
    client_id = courses.create_client(Context(app, operator), f"Client {concern.value}", concern=concern)
    regions = course_regions(Context(app, operator), client_id)
    assert regions == CourseRegions(
        treated=in_order(DEFAULT_TREATED_REGIONS[concern]), reference=None, treated_is_default=True
    )
    assert _stored(app, client_id) == (None, None)  # NULL: existing and new rows read the same way


def test_set_then_reset_to_the_default(app: App, operator: Actor) -> None:
    client_id = courses.create_client(Context(app, operator), "Mira", concern=Concern.ACNE_SCARS)
    set_course_regions(Context(app, operator), client_id, ["chin", FaceRegion.FOREHEAD], [FaceRegion.NECK])
    assert course_regions(Context(app, operator), client_id) == CourseRegions(
        treated=(FaceRegion.FOREHEAD, FaceRegion.CHIN), reference=(FaceRegion.NECK,), treated_is_default=False
    )
    assert _stored(app, client_id) == (["forehead", "chin"], ["neck"])

    set_course_regions(Context(app, operator), client_id, [FaceRegion.FOREHEAD, FaceRegion.CHIN], None)
    regions = course_regions(Context(app, operator), client_id)
    assert regions is not None and regions.reference is None  # back to automatic

    set_course_regions(
        Context(app, operator), client_id, None, [FaceRegion.FOREHEAD]
    )  # default treated again
    assert course_regions(Context(app, operator), client_id) == CourseRegions(
        treated=(FaceRegion.LEFT_CHEEK, FaceRegion.RIGHT_CHEEK),
        reference=(FaceRegion.FOREHEAD,),
        treated_is_default=True,
    )
    assert _stored(app, client_id) == (None, ["forehead"])
    set_course_regions(Context(app, operator), client_id, None, [])  # an empty reference: automatic
    assert _stored(app, client_id) == (None, None)


def test_every_region_treated_is_allowed(app: App, operator: Actor, client_id: int) -> None:
    """The page says why redness cannot be compared; the choice itself is the practitioner's."""
    set_course_regions(Context(app, operator), client_id, list(FaceRegion), None)
    regions = course_regions(Context(app, operator), client_id)
    assert regions is not None and regions.treated == tuple(FaceRegion) and regions.reference is None


def test_each_change_is_audited_and_saving_the_same_again_is_not(
    app: App, operator: Actor, client_id: int
) -> None:
    set_course_regions(Context(app, operator), client_id, [FaceRegion.NOSE], [FaceRegion.FOREHEAD])
    set_course_regions(Context(app, operator), client_id, ["nose"], ["forehead"])  # the same: nothing happens
    rows = _audit_rows(app)
    assert len(rows) == 1
    with app.uow() as uow:
        course_id = uow.session.scalar(
            select(TreatmentCourse.id).where(TreatmentCourse.client_id == client_id)
        )
    event = rows[0]
    assert (event.actor, event.entity, event.entity_id) == ("cli", "treatment_course", course_id)
    assert event.detail == {"client_id": client_id, "treated": ["nose"], "reference": ["forehead"]}
    set_course_regions(Context(app, operator), client_id, None, None)
    assert _audit_rows(app)[-1].detail == {"client_id": client_id, "treated": None, "reference": None}


@pytest.mark.parametrize(
    ("treated", "reference", "words"),
    [
        ([], None, "Choose at least one treated region"),
        (["forehead", "ear"], None, "Not a face region: 'ear' (treated)"),
        (["forehead"], ["elbow"], "Not a face region: 'elbow' (reference)"),
        ([FaceRegion.FOREHEAD, FaceRegion.CHIN], [FaceRegion.CHIN], "Chin cannot be both treated and the"),
        (None, [FaceRegion.LEFT_CHEEK], "Left cheek cannot be both treated"),  # the default treats cheeks
    ],
)
def test_refusals_say_why_and_change_nothing(
    app: App,
    operator: Actor,
    treated: list[FaceRegion | str] | None,
    reference: list[FaceRegion | str] | None,
    words: str,
) -> None:
    client_id = courses.create_client(Context(app, operator), "Noor", concern=Concern.ACNE_SCARS)
    with pytest.raises(Rejected, match=re.escape(words)):
        set_course_regions(Context(app, operator), client_id, treated, reference)
    assert _stored(app, client_id) == (None, None)
    assert _audit_rows(app) == []


def test_clients_read_their_own_regions_but_cannot_set_them(
    app: App, operator: Actor, client_id: int
) -> None:
    the_client = Actor(label="c@x", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=client_id)
    regions = course_regions(Context(app, the_client), client_id)
    assert regions is not None and regions.treated_is_default
    with pytest.raises(PermissionDenied):
        set_course_regions(Context(app, the_client), client_id, [FaceRegion.NOSE], None)
    someone_else = courses.create_client(Context(app, operator), "Someone Else")
    with pytest.raises(PermissionDenied):
        course_regions(Context(app, the_client), someone_else)
    assert _stored(app, client_id) == (None, None)


def test_another_clinics_practitioner_can_neither_read_nor_set(
    app: App, operator: Actor, client_id: int
) -> None:
    other = Actor(
        label="p@other", role=Role.PRACTITIONER, clinic_id=courses.ensure_clinic(app, "Other Clinic")
    )
    with pytest.raises(PermissionDenied):
        course_regions(Context(app, other), client_id)
    with pytest.raises(PermissionDenied):
        set_course_regions(Context(app, other), client_id, [FaceRegion.NOSE], None)
    assert _stored(app, client_id) == (None, None)


def _upload_unmeasured(app: App, operator: Actor, client_id: int) -> int:
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 6, 1, 10, 0))
    data = images.encode(images.noisy(), "JPEG")
    return photos.import_photo(
        Context(app, operator), client_id, data, "a.jpg", session_number=1, analyse=False
    ).photo_id


def _status(app: App, photo_id: int) -> PhotoStatus:
    with app.uow() as uow:
        photo = uow.session.get(Photo, photo_id)
        assert photo is not None
        return photo.status


def test_a_change_measures_the_courses_photos_again(app: App, operator: Actor, client_id: int) -> None:
    photo_id = _upload_unmeasured(app, operator, client_id)
    set_course_regions(Context(app, operator), client_id, None, None)  # nothing changes: nothing measured
    assert _status(app, photo_id) is PhotoStatus.STORED
    set_course_regions(Context(app, operator), client_id, [FaceRegion.FOREHEAD], None)
    assert _status(app, photo_id) is not PhotoStatus.STORED  # measured (or its failure recorded)


def test_the_clients_data_export_holds_the_regions_as_stored(
    app: App, operator: Actor, client_id: int
) -> None:
    set_course_regions(Context(app, operator), client_id, None, [FaceRegion.FOREHEAD])
    _, data = export_client(Context(app, operator), client_id)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        course = json.loads(zf.read("client.json"))["courses"][0]
    assert (course["treated_regions"], course["reference_regions"]) == (None, ["forehead"])
