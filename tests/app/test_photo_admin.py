"""Photo management through the pages: staff delete (with a reason), re-tag and move a photo
on the review timeline; a client deletes their own upload inside the clinic's window and
cannot after it. Each test works on its own copy of the demo."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.app.conftest import signed_in
from tracker.app import audit, courses, jobs, photo_admin
from tracker.app.context import Context
from tracker.app.dashboard import clinic_dashboard, input_signature
from tracker.app.demo import DEMO_CLIENT_PASSWORD, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD
from tracker.application import App
from tracker.bootstrap import open_app
from tracker.domain import PhotoKind
from tracker.errors import NotAllowed
from tracker.permissions import Actor
from tracker.store.models import AnalysisResult, Photo, PhotoSeries, TreatmentSession, User, utcnow

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = Actor.operator(1)


def _client_id(name: str) -> int:
    return next(c.id for c in courses.overview(Context(open_app(), OPERATOR)) if c.name.startswith(name))


def _photos(app: App, client_id: int) -> list[tuple[int, int, str, str]]:
    """(photo id, session number, kind, original's key) of the client's photos, in time order."""
    with app.uow() as uow:
        rows = uow.session.query(Photo, TreatmentSession.number).join(TreatmentSession)
        rows = rows.filter(Photo.client_id == client_id).order_by(Photo.taken_at, Photo.id)
        return [(p.id, int(n), p.kind.value, p.original_sha256) for p, n in rows]


def _baseline(app: App, client_id: int) -> PhotoSeries:
    with app.uow() as uow:
        course = uow.repo.current_course(client_id)
        assert course is not None
        series = uow.repo.series_of_course(1, course.id)
        assert series is not None
        return series


def _review(client_id: int):  # type: ignore[no-untyped-def]
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/client_review.py").run()
    at.selectbox(key="review_client").set_value(client_id).run()
    at.session_state["review_tab"] = "Timeline"
    at.run()
    assert not at.exception, at.exception
    return at


def _measured_again(app: App, client_id: int) -> None:
    """Run the re-measure queue until it is empty (a runner of the page's process may hold a
    job: wait for it rather than race it)."""
    deadline = time.monotonic() + 600
    while True:
        jobs.run_pending(app)
        if jobs.progress(Context(app, OPERATOR), client_id) is None:
            return
        assert time.monotonic() < deadline, "the re-measure queue never emptied"
        time.sleep(0.5)


def test_staff_delete_needs_a_reason_is_audited_and_removes_the_files(demo_dir: Path) -> None:
    app = open_app()
    ava = _client_id("Ava")
    baseline = _baseline(app, ava).baseline_photo_id
    victim, session, kind, key = next(p for p in _photos(app, ava) if p[0] != baseline and p[2] == "checkin")
    dashboard_before = clinic_dashboard(Context(app, OPERATOR), date.today()).set_index("client_id")
    signature = input_signature(Context(app, OPERATOR), ava)

    at = _review(ava)
    at.checkbox(key=f"delete_sure_{victim}").check().run()
    at.button(key=f"delete_{victim}").click().run()  # no reason: refused, nothing changed
    assert not at.exception, at.exception
    assert any("Give a reason" in e.value for e in at.error)
    assert victim in [p[0] for p in _photos(app, ava)] and app.blobs.exists(key)

    at.text_input(key=f"delete_reason_{victim}").input("Another client's photo, uploaded by mistake")
    at.checkbox(key=f"delete_sure_{victim}").check().run()
    at.button(key=f"delete_{victim}").click().run()
    assert not at.exception, at.exception
    assert any("Photo deleted" in s.value for s in at.success)
    assert victim not in [p[0] for p in _photos(app, ava)]
    assert not app.blobs.exists(key)  # no other photo used the file
    assert not any(b.key == f"delete_{victim}" for b in at.button)  # gone from the timeline

    (event,) = audit.clinic_events(
        Context(app, OPERATOR),
        since=date.today(),
        until=date.today(),
        action="delete_photo",
    )
    assert event.entity_id == victim and event.actor == DEMO_PRACTITIONER_EMAIL
    assert event.detail["reason"] == "Another client's photo, uploaded by mistake"
    assert event.detail["session"] == session and event.detail["kind"] == kind
    assert key not in str(event.detail) and "file" not in event.detail  # no hash, no file name
    assert "taken_at" in event.detail
    # The dashboard's row is computed again: one photo fewer.
    assert input_signature(Context(app, OPERATOR), ava) != signature
    dashboard_after = clinic_dashboard(Context(app, OPERATOR), date.today()).set_index("client_id")
    assert dashboard_after.loc[ava, "photos"] == dashboard_before.loc[ava, "photos"] - 1


def test_retag_and_move_show_on_the_timeline(demo_dir: Path) -> None:
    app = open_app()
    ava = _client_id("Ava")
    baseline = _baseline(app, ava).baseline_photo_id
    photo, session, _kind, _key = next(p for p in _photos(app, ava) if p[0] != baseline and p[2] == "checkin")
    signature = input_signature(Context(app, OPERATOR), ava)

    at = _review(ava)
    at.radio(key=f"retag_kind_{photo}").set_value(PhotoKind.AFTER).run()
    at.button(key=f"retag_{photo}").click().run()
    assert not at.exception, at.exception
    assert any("re-tagged “after”" in s.value for s in at.success)
    assert next(p for p in _photos(app, ava) if p[0] == photo)[2] == "after"
    assert at.radio(key=f"retag_kind_{photo}").value == PhotoKind.AFTER  # the timeline shows it
    assert input_signature(Context(app, OPERATOR), ava) != signature  # progress is recomputed

    target = next(n for n in sorted({p[1] for p in _photos(app, ava)}) if n != session)
    at.selectbox(key=f"move_to_{photo}").set_value(target).run()
    at.button(key=f"move_{photo}").click().run()
    assert not at.exception, at.exception
    assert any(f"moved to session {target}" in s.value for s in at.success)
    assert next(p for p in _photos(app, ava) if p[0] == photo)[1] == target
    # Under its new session now: the move list offers every session but the new one.
    assert target not in at.selectbox(key=f"move_to_{photo}").options
    assert _baseline(app, ava).baseline_photo_id == baseline  # not the baseline: nothing re-measured
    actions = {
        e.action for e in audit.clinic_events(Context(app, OPERATOR), since=date.today(), until=date.today())
    }
    assert {"retag_photo", "move_photo"} <= actions and "set_baseline" not in actions


def test_deleting_the_baseline_counts_from_the_next_before_photo_measured_again(demo_dir: Path) -> None:
    app = open_app()
    ava = _client_id("Ava")
    old = _baseline(app, ava).baseline_photo_id
    assert old is not None
    registered_before = _registrations(app)
    changed = photo_admin.delete_photo(Context(app, OPERATOR), old, "blurred; retaken the same day")
    assert changed.new_baseline and "measured again" in changed.message
    series = _baseline(app, ava)
    remaining = _photos(app, ava)
    first_session = min(p[1] for p in remaining if p[2] == "before")
    expected = next(p[0] for p in remaining if p[2] == "before" and p[1] == first_session)
    assert series.baseline_photo_id == expected
    assert series.zones is None  # drawn on a photo that is gone: found again on the new one
    assert registered_before[expected] is not None  # it was registered to the old baseline

    _measured_again(app, ava)
    series = _baseline(app, ava)
    assert series.baseline_photo_id == expected and series.zones  # found on the new baseline
    registered = _registrations(app)
    assert registered[expected] is None  # the baseline itself: registered to nothing
    for photo_id, *_ in remaining:  # every other photo registered to the new baseline now
        if photo_id != expected:
            assert registered[photo_id] is not None and registered[photo_id] != registered_before[photo_id]


def _registrations(app: App) -> dict[int, object]:
    with app.uow() as uow:
        return {r.photo_id: r.registration for r in uow.session.query(AnalysisResult)}


def _ava_uploads_one(at) -> int:  # type: ignore[no-untyped-def]
    at.switch_page("pages/upload.py").run()
    photo = (ROOT / "sample_photos" / "linh" / "s1_before_a.jpg").read_bytes()  # a new photo for Ava
    at.file_uploader(key="upload_files").upload("cheek.jpg", photo, "image/jpeg")
    at.run()
    at.button(key="upload_go").click().run()
    assert not at.exception, at.exception
    with open_app().uow() as uow:
        return int(uow.session.query(Photo.id).filter(Photo.original_filename == "cheek.jpg").one()[0])


def test_a_client_deletes_their_own_upload_inside_the_window(demo_dir: Path) -> None:
    at = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    mine = _ava_uploads_one(at)
    assert any(s.value == "Your recent uploads" for s in at.subheader)  # offered right under the results
    at.button(key=f"my_delete_{mine}").click().run()
    at.button(key=f"my_delete_yes_{mine}").click().run()
    assert not at.exception, at.exception
    assert any("Photo deleted" in s.value for s in at.success)
    app = open_app()
    assert mine not in [p[0] for p in _photos(app, _client_id("Ava"))]
    (event,) = audit.clinic_events(
        Context(app, OPERATOR), since=date.today(), until=date.today(), action="delete_photo"
    )
    assert event.actor == "ava@demo.test" and event.detail["reason"] == ""


def test_after_the_window_the_button_is_gone_and_the_service_refuses(demo_dir: Path) -> None:
    at = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    mine = _ava_uploads_one(at)
    app = open_app()
    with app.uow() as uow:  # uploaded three days ago
        photo = uow.session.get(Photo, mine)
        assert photo is not None
        photo.created_at = utcnow() - timedelta(hours=app.settings.client_photo_delete_hours + 1)
        user = uow.session.query(User).filter(User.email == "ava@demo.test").one()
        me = Actor(label=user.email, role=user.role, clinic_id=1, user_id=user.id, client_id=user.client_id)
        uow.commit()
    at.switch_page("pages/my_progress.py").run()
    assert not at.exception, at.exception
    assert not any(b.key == f"my_delete_{mine}" for b in at.button)
    assert not any(s.value == "Your recent uploads" for s in at.subheader)
    with pytest.raises(NotAllowed, match="ask the clinic"):
        photo_admin.delete_photo(Context(app, me), mine)
    assert mine in [p[0] for p in _photos(app, _client_id("Ava"))]
    # Nor may a client delete a photo someone else uploaded, however recent.
    other = next(p[0] for p in _photos(app, _client_id("Ava")) if p[0] != mine)
    with pytest.raises(NotAllowed, match="uploaded yourself"):
        photo_admin.delete_photo(Context(app, me), other)
