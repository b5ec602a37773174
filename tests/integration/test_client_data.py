"""Export of one client's data, and complete deletion (rows and files), on real SQLite
and real files."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests import images
from tests.conftest import blob_files
from tracker.app import consistency, courses, photos
from tracker.app.context import Context
from tracker.app.notes import add_note
from tracker.app.people import authenticate, create_account
from tracker.app.records import delete_client, export_client
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AnalysisResult, AuditEvent, ClientNote, Photo, User

PASSWORD = "a long enough secret"
SAMPLES = Path(__file__).resolve().parents[2] / "sample_photos"
PHOTO_A = (SAMPLES / "ava" / "s1_before_a.jpg").read_bytes()  # rendered skin: it is measured
PHOTO_B = images.encode(Image.open(SAMPLES / "linh" / "s1_before_a.jpg").convert("RGB"), "PNG")


def _client_with_photos(app: App, operator: Actor, name: str, *files: bytes) -> int:
    client_id = courses.create_client(Context(app, operator), name)
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 9, 1, 10, 0))
    for i, data in enumerate(files):
        photos.import_photo(Context(app, operator), client_id, data, f"p{i}.img", session_number=1)
    return client_id


def test_export_holds_the_record_measurements_notes_and_exact_originals(app: App, operator: Actor) -> None:
    client_id = _client_with_photos(app, operator, "Zoë Ångström", PHOTO_A, PHOTO_B)
    add_note(Context(app, operator), client_id, "Prefers morning sessions.")
    name, data = export_client(Context(app, operator), client_id)
    assert name.endswith(".zip") and str(client_id) in name
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        record = json.loads(zf.read("client.json"))
        assert record["client"]["name"] == "Zoë Ångström"
        assert record["courses"][0]["sessions"][0]["number"] == 1
        assert [n["text"] for n in record["notes"]] == ["Prefers morning sessions."]
        assert len(record["photos"]) == 2
        for photo in record["photos"]:
            original = zf.read(photo["file"])
            assert hashlib.sha256(original).hexdigest() == photo["sha256"]  # the stored original
            assert photo["results"], "every photo carries its measurements"
        assert {p["file"].rsplit(".", 1)[1] for p in record["photos"]} == {"jpg", "png"}
    with app.uow() as uow:
        events = uow.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "export_client"))
        assert list(events) == ["export_client"]


def test_a_client_exports_their_own_data_without_the_clinics_notes(app: App, operator: Actor) -> None:
    ann = _client_with_photos(app, operator, "Ann", PHOTO_A)
    bob = _client_with_photos(app, operator, "Bob", PHOTO_B)
    add_note(Context(app, operator), ann, "Internal remark.")
    create_account(Context(app, operator), "ann@home.test", Role.CLIENT, PASSWORD, client_id=ann)
    me = authenticate(app, "ann@home.test", PASSWORD)
    assert me is not None
    _, data = export_client(Context(app, me), ann)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert json.loads(zf.read("client.json"))["notes"] == []
    with pytest.raises(PermissionDenied):
        export_client(Context(app, me), bob)
    other_clinic = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    with pytest.raises(PermissionDenied):
        export_client(Context(app, other_clinic), ann)


def test_deletion_removes_every_row_and_file_of_the_client_and_nothing_else(
    app: App, operator: Actor
) -> None:
    gone = _client_with_photos(app, operator, "Gone Client", PHOTO_A, PHOTO_B)
    stays = _client_with_photos(app, operator, "Stays Client", PHOTO_B)  # shares one file
    add_note(Context(app, operator), gone, "To be deleted.")
    create_account(Context(app, operator), "gone@home.test", Role.CLIENT, PASSWORD, client_id=gone)
    files_before = set(blob_files(app))
    with app.uow() as uow:
        stays_keys = {
            k
            for p in uow.session.scalars(select(Photo).where(Photo.client_id == stays))
            for k in p.blob_keys.values()
        }

    report = delete_client(Context(app, operator), gone, " Gone Client ")
    assert report.photos == 2 and report.files_kept == 3  # PHOTO_B's original and copies stay
    assert report.files_deleted == 3
    with app.uow() as uow:
        for model, column in (
            (Photo, Photo.client_id),
            (ClientNote, ClientNote.client_id),
            (User, User.client_id),
        ):
            assert uow.session.scalar(select(func.count()).select_from(model).where(column == gone)) == 0
        assert uow.session.scalar(select(func.count(AnalysisResult.id))) == 1  # Stays' one photo
        assert (
            uow.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "delete_client"))
            == 1
        )
    assert set(blob_files(app)) == stays_keys and stays_keys < files_before
    assert consistency.check(app).consistent
    assert authenticate(app, "gone@home.test", PASSWORD) is None
    assert [c.name for c in courses.overview(Context(app, operator))] == ["Stays Client"]


def test_deletion_needs_an_admin_and_the_exact_name(app: App, operator: Actor) -> None:
    client_id = _client_with_photos(app, operator, "Careful Client", PHOTO_A)
    create_account(Context(app, operator), "pat@clinic.test", Role.PRACTITIONER, PASSWORD)
    pat = authenticate(app, "pat@clinic.test", PASSWORD)
    assert pat is not None
    files = set(blob_files(app))
    with pytest.raises(PermissionDenied):
        delete_client(Context(app, pat), client_id, "Careful Client")
    with pytest.raises(Rejected, match="Type the client's name exactly"):
        delete_client(Context(app, operator), client_id, "careful client")
    other_clinic = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    with pytest.raises(PermissionDenied):
        delete_client(Context(app, other_clinic), client_id, "Careful Client")
    assert set(blob_files(app)) == files
    assert [c.name for c in courses.overview(Context(app, operator))] == ["Careful Client"]
