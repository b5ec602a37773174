"""The client pick lists: names only (no client's sessions or photos are loaded for a
selectbox), within the clinic, and only their own record for a client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event

from tests import images
from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.permissions import Actor, PermissionDenied


@contextmanager
def _statements(app: App) -> Iterator[list[str]]:
    """The SQL the app sends while the block runs."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(app.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(app.engine, "before_cursor_execute", note)


@pytest.fixture
def clinic(app: App) -> tuple[Actor, int, int]:
    """A clinic with two clients (Zoe with a photo, Ada) and another clinic's client."""
    staff = Actor.operator(courses.ensure_clinic(app, "Pick Clinic"))
    zoe = courses.create_client(Context(app, staff), "Zoe Pick")
    ada = courses.create_client(Context(app, staff), "Ada Pick")
    courses.record_session(Context(app, staff), zoe, 1, datetime(2026, 5, 4, 10))
    jpeg = images.encode(images.quadrants(), "JPEG")
    photos.import_photo(Context(app, staff), zoe, jpeg, "zoe.jpg", session_number=1, analyse=False)
    other = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    courses.create_client(Context(app, other), "Bob Elsewhere")
    return staff, zoe, ada


def test_staff_pick_from_their_clinics_names_without_loading_photos(
    app: App, clinic: tuple[Actor, int, int]
) -> None:
    staff, zoe, ada = clinic
    with _statements(app) as sent:
        names = courses.client_names(Context(app, staff))
    assert names == [courses.ClientName(ada, "Ada Pick"), courses.ClientName(zoe, "Zoe Pick")]
    assert sent and not [s for s in sent if "photo" in s.lower() or "treatment" in s.lower()]
    assert [(c.id, c.name) for c in courses.overview(Context(app, staff))] == [(n.id, n.name) for n in names]


def test_a_client_picks_only_themselves(app: App, clinic: tuple[Actor, int, int]) -> None:
    staff, zoe, _ = clinic
    me = Actor(label="zoe@example.test", role=Role.CLIENT, clinic_id=staff.clinic_id, client_id=zoe)
    assert courses.client_names(Context(app, me)) == [courses.ClientName(zoe, "Zoe Pick")]
    (row,) = courses.overview(Context(app, me))
    assert row.id == zoe and row.photo_count == 1


def test_one_clients_row_is_the_overviews_row_within_the_clinic(
    app: App, clinic: tuple[Actor, int, int]
) -> None:
    staff, zoe, ada = clinic
    rows = {r.id: r for r in courses.overview(Context(app, staff))}
    assert courses.client_overview(Context(app, staff), zoe) == rows[zoe]
    assert courses.client_overview(Context(app, staff), ada) == rows[ada]
    assert rows[zoe].photo_count == 1 and rows[ada].photo_count == 0
    other = Actor.operator(courses.ensure_clinic(app, "Other Clinic"))
    with pytest.raises(PermissionDenied):
        courses.client_overview(Context(app, other), zoe)
    me = Actor(label="ada@example.test", role=Role.CLIENT, clinic_id=staff.clinic_id, client_id=ada)
    with pytest.raises(PermissionDenied):
        courses.client_overview(Context(app, me), zoe)
