"""Every page, every role, through Streamlit's AppTest against a real data folder.

The demo is loaded once per run (tests/conftest.py); these tests only read it, except the
ones that work on their own copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, download_links, fetch, signed_in
from tracker.app import courses, jobs, people, photos
from tracker.app.context import Context
from tracker.app.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_CLIENT_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
)
from tracker.bootstrap import open_app
from tracker.domain import Contraindication
from tracker.permissions import Actor
from tracker.store.models import RemeasureJob
from tracker.ui.compare_slider import SLIDER_LABEL

ROOT = Path(__file__).resolve().parents[2]


def test_signed_out_only_the_sign_in_page_and_demo_accounts(demo_dir: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Recovery-photo tracker"
    accounts = at.dataframe[0].value
    assert DEMO_PRACTITIONER_EMAIL in set(accounts["email"])
    with pytest.raises(Exception):  # noqa: B017 — any page but sign-in is unknown
        at.switch_page("pages/dashboard.py").run()


def test_no_demo_accounts_outside_demo_mode(demo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DEMO_MODE", "false")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and len(at.dataframe) == 0


def test_wrong_password_is_refused(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, "not the password")
    assert "do not match" in at.error[0].value
    assert at.title[0].value == "Recovery-photo tracker"


def test_client_sees_only_client_pages(demo_dir: Path) -> None:
    at = signed_in("linh@demo.test", DEMO_CLIENT_PASSWORD)
    assert at.title[0].value == "My course"
    assert any("Sessions" in m.label for m in at.metric)
    with pytest.raises(Exception):  # noqa: B017 — practitioner pages are not registered for clients
        at.switch_page("pages/dashboard.py").run()
    at.switch_page("pages/my_progress.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "My progress"
    sliders = [e for e in at.get("html") if SLIDER_LABEL in e.proto.body]
    assert len(sliders) == 1 and sliders[0].proto.body.count("data:image/jpeg;base64,") == 2
    at.switch_page("pages/upload.py").run()
    assert not at.exception and at.title[0].value == "Upload photos"


def test_client_uploads_a_valid_and_an_invalid_file(demo_dir: Path) -> None:
    at = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    at.switch_page("pages/upload.py").run()
    photo = (ROOT / "sample_photos" / "linh" / "s1_before_a.jpg").read_bytes()  # a new photo for Ava
    uploader = at.file_uploader(key="upload_files")
    uploader.upload("cheek.jpg", photo, "image/jpeg").upload("notes.jpg", b"hello, not a photo", "image/jpeg")
    at.run()
    at.button(key="upload_go").click().run()
    assert not at.exception, at.exception
    texts = " ".join(e.value for e in [*at.success, *at.warning, *at.error]).replace("\\", "")  # escapes
    assert "cheek.jpg" in texts and ("saved and measured" in texts or "quality" in texts)
    assert "notes.jpg** was not uploaded: This is a text file" in texts
    at.run()  # the next run: the files still in the picker were sent, so nothing is offered again
    assert at.button(key="upload_go").disabled and at.button(key="upload_go").label == "Send photos"


def test_practitioner_dashboard_review_and_report(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    assert at.title[0].value == "Dashboard"
    assert len(at.dataframe[0].value) == 4 and len(at.button_group(key="dash_tile").options) >= 3
    at.switch_page("pages/client_review.py").run()
    assert not at.exception, at.exception
    niamh = next(
        c.id for c in courses.overview(Context(open_app(), Actor.operator(1))) if c.name.startswith("Niamh")
    )
    at.selectbox(key="review_client").set_value(niamh).run()
    assert not at.exception, at.exception
    assert any("Redness slow to settle" in e.value for e in at.error)
    at.text_area(key="note_text").input("Called Niamh: redness settling, photo on day 7 agreed.")
    next(b for b in at.button if b.label == "Add note").click().run()
    assert not at.exception, at.exception
    assert any("Note added" in s.value for s in at.success)
    assert any("photo on day 7 agreed" in t.value for t in at.text)
    next(b for b in at.button if b.label == "Add note").click().run()  # empty: refused, nothing added
    assert any("needs some text" in e.value for e in at.error)
    assert sum("photo on day 7 agreed" in t.value for t in at.text) == 1
    at.session_state["review_tab"] = "Report"  # a click on the tab: only the open tab is built
    at.run()
    assert not any(b.label == "Add note" for b in at.button)  # the Flags tab is not built now
    # The files are links to the app's own route, built when followed, for this sign-in only:
    # nothing is handed to Streamlit's download button (whose /media URLs answered anyone).
    assert at.get("download_button") == []
    links = download_links(at)
    assert links == {
        "Download report (PDF)": f"/download/report?client={niamh}",
        "Download chart (PNG)": f"/download/chart?client={niamh}&metric=delta_ei",
        "Download data (zip)": f"/download/export?client={niamh}",
    }
    pdf = fetch(at, "Download report (PDF)")
    assert pdf.status == 200 and pdf.body[:5] == b"%PDF-" and len(pdf.body) > 20_000
    assert fetch(at, "Download chart (PNG)").body[:8] == b"\x89PNG\r\n\x1a\n"
    assert fetch(at, "Download data (zip)").body[:2] == b"PK"  # a zip
    assert not any(b.key == "delete_client" for b in at.button)  # only admins may delete
    # Another client: nothing prepared for Niamh is offered under their name.
    ava = next(
        c.id for c in courses.overview(Context(open_app(), Actor.operator(1))) if c.name.startswith("Ava")
    )
    at.selectbox(key="review_client").set_value(ava).run()
    assert not at.exception, at.exception
    assert set(download_links(at).values()) == {  # the links name the client shown
        f"/download/report?client={ava}",
        f"/download/chart?client={ava}&metric=delta_ei",
        f"/download/export?client={ava}",
    }


def _by_label(widgets: object, label: str) -> object:
    return next(w for w in widgets if w.label == label)  # type: ignore[attr-defined]


def _client_id(name: str) -> int:
    return next(
        c.id for c in courses.overview(Context(open_app(), Actor.operator(1))) if c.name.startswith(name)
    )


def test_record_page_shows_each_clients_own_intake_and_asks_before_removing(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/record.py").run()
    assert not at.exception, at.exception
    niamh, ava = _client_id("Niamh"), _client_id("Ava")
    intake = courses.client_intake(Context(open_app(), Actor.operator(1)), niamh)
    assert Contraindication.ROSACEA in intake.contraindications
    at.selectbox(key="record_client").set_value(ava).run()
    _by_label(at.checkbox, "Taking blood thinners").check()  # ticked for Ava, not saved
    at.selectbox(key="record_client").set_value(niamh).run()
    assert not at.exception, at.exception
    assert _by_label(at.checkbox, "Rosacea").value is True  # Niamh's own answers, not Ava's ticks
    assert _by_label(at.checkbox, "Taking blood thinners").value is False
    assert intake.notes and _by_label(at.text_area, "Notes").value in ("", intake.notes)
    notes = [t for t in at.text_area if t.value == intake.notes]
    assert notes, "Niamh's intake notes are not in the form"

    _by_label(at.checkbox, "Rosacea").uncheck()
    next(b for b in at.button if b.label == "Save intake").click().run()
    assert any("would remove from the file: Rosacea" in w.value.replace("\\", "") for w in at.warning)
    assert (
        courses.client_intake(Context(open_app(), Actor.operator(1)), niamh) == intake
    )  # nothing changed yet
    next(b for b in at.button if b.label == "Yes, remove it and save").click().run()
    assert not at.exception, at.exception
    after = courses.client_intake(Context(open_app(), Actor.operator(1)), niamh)
    assert Contraindication.ROSACEA not in after.contraindications and after.notes == intake.notes
    assert any("Intake saved" in m.value for m in [*at.success, *at.warning])


def test_record_page_adds_a_client_once_and_proposes_their_next_session(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/record.py").run()
    at.text_input(key="new_client_name").input("Tom Berg")
    next(b for b in at.button if b.label == "Add client").click().run()
    assert not at.exception, at.exception
    assert any("Added Tom Berg" in s.value for s in at.success)  # seen after the rerun
    tom = _client_id("Tom Berg")
    assert at.selectbox(key="record_client").value == tom
    assert _by_label(at.selectbox, "Session").value == 1  # a new client's first session

    at.text_input(key="new_client_name").input("tom  berg")  # the same name again: a double entry
    next(b for b in at.button if b.label == "Add client").click().run()
    assert any("A client called Tom Berg is already in the clinic" in w.value for w in at.warning)
    assert (
        sum(c.name.lower() == "tom berg" for c in courses.overview(Context(open_app(), Actor.operator(1))))
        == 1
    )

    save = next(b for b in at.button if b.label == "Save session")
    save.click().run()
    assert not at.exception, at.exception
    assert any("Session 1 saved for Tom Berg" in s.value for s in at.success)
    assert _by_label(at.selectbox, "Session").value == 2  # the next one is proposed

    _by_label(at.selectbox, "Session").set_value(1).run()  # change the recorded session
    depth = next(n for n in at.number_input if n.label == "Needle depth (mm)")
    depth.set_value(1.0)
    next(b for b in at.button if b.label == "Save changes to session 1").click().run()
    assert any("already recorded for Tom Berg" in w.value for w in at.warning)
    table = at.table[0].value
    assert list(table["setting"]) == ["needle depth (mm)"] and list(table["after saving"]) == ["1.0"]
    row = next(c for c in courses.overview(Context(open_app(), Actor.operator(1))) if c.id == tom)
    assert row.sessions[0].needle_depth_mm == 0.5  # not changed before the confirmation
    next(b for b in at.button if b.label == "Yes, change session 1").click().run()
    row = next(c for c in courses.overview(Context(open_app(), Actor.operator(1))) if c.id == tom)
    assert row.sessions[0].needle_depth_mm == 1.0 and len(row.sessions) == 1


def test_admin_adds_staff_and_practitioner_gives_a_client_a_login(demo_dir: Path) -> None:
    at = signed_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    at.switch_page("pages/accounts.py").run()
    assert not at.exception, at.exception
    emails = set(at.dataframe[0].value["email"])
    assert {DEMO_ADMIN_EMAIL, DEMO_PRACTITIONER_EMAIL, "ava@demo.test"} <= emails
    at.text_input(key="staff_email").input("new.pat@demo.test")
    at.text_input(key="staff_name").input("New Pat")
    next(b for b in at.button if b.label == "Create account").click().run()
    assert any(
        "Created the practitioner account new.pat@demo.test" in s.value.replace("\\", "") for s in at.success
    )
    at.text_input(key="staff_email").input("not an email")
    next(b for b in at.button if b.label == "Create account").click().run()
    assert any("is not an email address" in e.value for e in at.error)

    practitioner = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    practitioner.switch_page("pages/accounts.py").run()
    assert not practitioner.exception, practitioner.exception
    roles = set(practitioner.dataframe[0].value["role"])
    assert roles == {"client"}  # staff accounts are the admin's
    assert not any(b.label == "Create account" for b in practitioner.button)
    assert "Every client has a login." in [c.value for c in practitioner.caption]

    client = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    with pytest.raises(Exception):  # noqa: B017 — not registered for clients
        client.switch_page("pages/accounts.py").run()


def test_anyone_changes_their_own_password(demo_dir: Path) -> None:
    at = signed_in("linh@demo.test", DEMO_CLIENT_PASSWORD)
    at.switch_page("pages/my_account.py").run()
    assert not at.exception, at.exception
    at.text_input(key="pw_current").input(DEMO_CLIENT_PASSWORD)
    at.text_input(key="pw_new").input("linh's own secret")
    at.text_input(key="pw_again").input("linh's own secret")
    at.button[0].click().run()
    assert any("Password changed" in s.value for s in at.success), [e.value for e in at.error]
    again = AppTest.from_file(APP, default_timeout=60).run()
    again.text_input(key="email").input("linh@demo.test")
    again.text_input(key="password").input(DEMO_CLIENT_PASSWORD)
    again.button[0].click().run()
    assert "do not match" in again.error[0].value  # the old password no longer works
    mine = signed_in("linh@demo.test", "linh's own secret")
    assert mine.title[0].value == "My course"
    mine.switch_page("pages/my_account.py").run()
    assert not mine.exception, mine.exception
    export = fetch(mine, "Download my data (zip)")
    assert export.status == 200 and export.body[:2] == b"PK"
    assert 'filename="linh-nguy' in (export.header("content-disposition") or "")


def test_only_admins_see_the_audit_log(demo_dir: Path) -> None:
    at = signed_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    at.switch_page("pages/audit_log.py").run()
    assert not at.exception, at.exception
    log = at.dataframe[0].value
    assert "sign_in" in set(log["action"]) and DEMO_ADMIN_EMAIL in set(log["who"])
    practitioner = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    with pytest.raises(Exception):  # noqa: B017 — not registered for practitioners
        practitioner.switch_page("pages/audit_log.py").run()


def test_admin_deletes_a_client_after_typing_the_name(demo_dir: Path) -> None:
    at = signed_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    at.switch_page("pages/client_review.py").run()
    linh = next(
        c.id for c in courses.overview(Context(open_app(), Actor.operator(1))) if c.name.startswith("Linh")
    )
    at.selectbox(key="review_client").set_value(linh).run()
    at.session_state["review_tab"] = "Report"
    at.run()
    at.text_input(key="delete_confirm").input("Linh").run()
    at.button(key="delete_client").click().run()
    assert any("Type the client's name exactly" in e.value for e in at.error)
    at.text_input(key="delete_confirm").input("Linh Nguyễn").run()
    at.button(key="delete_client").click().run()
    assert not at.exception, at.exception
    assert any("Deleted Linh Nguyễn" in s.value for s in at.success)
    names = [c.name for c in courses.overview(Context(open_app(), Actor.operator(1)))]
    assert len(names) == 3 and not any(n.startswith("Linh") for n in names)


def test_an_open_tab_is_signed_out_when_its_account_is_switched_off(demo_dir: Path) -> None:
    at = signed_in("niamh@demo.test", DEMO_CLIENT_PASSWORD)
    assert at.title[0].value == "My course"
    app = open_app()
    niamh = next(
        a for a in people.list_accounts(Context(app, Actor.operator(1))) if a.email == "niamh@demo.test"
    )
    people.set_active(Context(app, Actor.operator(1)), niamh.id, False)
    at.run()  # the next click in the open tab
    assert not at.exception, at.exception
    assert "actor" not in at.session_state and len(at.metric) == 0  # nothing of Niamh's is shown
    shown = [e.value for e in at.error] + [t.value for t in at.title]
    assert any(text.startswith(("Please sign in", "Recovery-photo tracker")) for text in shown)


def test_a_client_with_one_photo_sees_not_enough_photos_yet(demo_dir: Path) -> None:
    from datetime import datetime

    from tracker.domain import PhotoKind, Role

    app = open_app()
    operator = Actor.operator(1)
    client_id = courses.create_client(Context(app, operator), "Una Single")
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 11, 2, 10, 0))
    photo = (ROOT / "sample_photos" / "linh" / "s1_before_a.jpg").read_bytes()
    photos.import_photo(
        Context(app, operator), client_id, photo, "first.jpg", session_number=1, kind=PhotoKind.BEFORE
    )
    people.create_account(
        Context(app, operator), "una@demo.test", Role.CLIENT, "una's password", client_id=client_id
    )
    app.close()

    at = signed_in("una@demo.test", "una's password")
    at.switch_page("pages/my_progress.py").run()
    assert not at.exception, at.exception
    notices = [i.value for i in at.info]
    assert any("Not enough photos yet" in n for n in notices), notices
    assert len(at.get("vega_lite_chart")) == 0  # no empty axes
    ava = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    ava.switch_page("pages/my_progress.py").run()
    assert len(ava.get("vega_lite_chart")) == 3  # the same page with photos: the charts

    staff = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    staff.switch_page("pages/client_review.py").run()
    staff.selectbox(key="review_client").set_value(client_id).run()
    staff.session_state["review_tab"] = "Charts"
    staff.run()
    assert not staff.exception, staff.exception
    assert sum("Not enough photos yet" in i.value for i in staff.info) == 2  # the redness group
    assert len(staff.get("vega_lite_chart")) == 0


def test_production_serves_nothing_while_demo_accounts_are_on(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_ENVIRONMENT", "production")
    monkeypatch.setenv("TRACKER_DEMO_MODE", "false")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "demo's accounts are switched on" in at.error[0].value
    assert len(at.text_input) == 0  # no sign-in form


def _diagrams(at: AppTest) -> list[str]:
    """The data URIs of the face diagrams on the page (inlined: nothing to fetch later)."""
    urls = [img.url for element in at.get("image") for img in element.proto.imgs]
    return [u for u in urls if u.startswith("data:image/png;base64,")]


def _tick_regions(at: AppTest, wanted: object) -> None:
    from tracker.domain import FaceRegion

    for region in FaceRegion:
        box: Any = _by_label(at.checkbox, region.label)
        if region in wanted:  # type: ignore[operator]
            box.check()
        else:
            box.uncheck()
    at.run()


def _ticked(at: AppTest) -> list[str]:
    from tracker.domain import FaceRegion

    return [r.value for r in FaceRegion if _by_label(at.checkbox, r.label).value]  # type: ignore[attr-defined]


def test_record_page_treated_areas_per_client(demo_dir: Path) -> None:
    from tracker.app.courses import course_regions
    from tracker.domain import Concern, FaceRegion

    app = open_app()
    rae = courses.create_client(
        Context(app, Actor.operator(1)), "Rae Regions", concern=Concern.FINE_LINES_WRINKLES
    )
    app.close()
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/record.py").run()
    at.selectbox(key="record_client").set_value(rae).run()
    assert not at.exception, at.exception
    assert any(s.value == "Treated areas" for s in at.subheader)
    assert _ticked(at) == ["forehead", "perioral"]  # the concern's default
    assert _by_label(at.selectbox, "Reference (untreated) skin").value == ()
    assert any("usual regions for fine lines" in c.value for c in at.caption)
    assert len(_diagrams(at)) == 1

    # Everything ticked: said plainly before saving.
    _tick_regions(at, set(FaceRegion))
    assert any("redness cannot be compared with untreated skin" in w.value for w in at.warning)
    assert any(c.value == "Not saved yet." for c in at.caption)
    # A reference that is also treated cannot be saved.
    _by_label(at.selectbox, "Reference (untreated) skin").set_value((FaceRegion.FOREHEAD,)).run()
    assert any("Forehead is marked as treated, so cannot be the reference" in e.value for e in at.error)
    assert at.button(key=f"regions_save_{rae}").disabled

    _tick_regions(at, {FaceRegion.NOSE, FaceRegion.CHIN})
    assert not at.error
    at.button(key=f"regions_save_{rae}").click().run()
    assert not at.exception, at.exception
    assert any(
        "Treated areas saved for Rae Regions: Nose, Chin; reference: Forehead" in s.value for s in at.success
    )
    stored = course_regions(Context(open_app(), Actor.operator(1)), rae)
    assert stored is not None and stored.treated == (FaceRegion.NOSE, FaceRegion.CHIN)
    assert stored.reference == (FaceRegion.FOREHEAD,)
    assert _ticked(at) == ["nose", "chin"]
    assert at.button(key=f"regions_save_{rae}").disabled  # nothing left to save

    # Another client shows their own course's regions, not Rae's.
    ava = _client_id("Ava")
    at.selectbox(key="record_client").set_value(ava).run()
    assert not at.exception, at.exception
    assert _ticked(at) == ["left_cheek", "right_cheek"]
    assert _by_label(at.selectbox, "Reference (untreated) skin").value == ()
    assert not any("Treated areas saved" in s.value for s in at.success)  # Rae's confirmation stays Rae's
    assert any("Zones drawn on the photo" in i.value for i in at.info)  # the demo's zones are drawn by hand
    assert any("measures the course's" in c.value for c in at.caption)

    at.selectbox(key="record_client").set_value(rae).run()
    at.button(key=f"regions_reset_{rae}").click().run()
    assert not at.exception, at.exception
    assert any("Forehead, Around the mouth; reference chosen automatically" in s.value for s in at.success)
    assert _ticked(at) == ["forehead", "perioral"]

    _tick_regions(at, set(FaceRegion))
    at.button(key=f"regions_save_{rae}").click().run()
    saved = [w.value for w in at.warning if w.value.startswith("Treated areas saved for Rae Regions")]
    assert saved and "redness cannot be compared with untreated skin" in saved[0]


def test_review_shows_that_a_series_is_being_measured_again(demo_dir: Path) -> None:
    app = open_app()
    niamh = _client_id("Niamh")
    with app.uow() as uow:
        course = uow.repo.current_course(niamh)
        assert course is not None
        # A runner is at work on it (a fresh lease: this process's own runner leaves it).
        uow.session.add(
            RemeasureJob(course_id=course.id, clinic_id=1, skip=[], started_at=jobs._now(), total=5, done=2)
        )
        uow.commit()
    app.close()
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/client_review.py").run()
    at.selectbox(key="review_client").set_value(niamh).run()
    assert not at.exception, at.exception
    assert any("being measured again" in i.value and "2 of 5 done" in i.value for i in at.info)
    ava = _client_id("Ava")
    at.selectbox(key="review_client").set_value(ava).run()
    assert not any("being measured again" in i.value for i in at.info)
