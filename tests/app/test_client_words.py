"""The client's phone in plain words (issue 11 items 5 and 8): no page a client can reach
shows a metric key or an engine term; the landing page's first action is today's photo;
the clinic's contact details are given where the app says to contact it; intake answers
are the practitioner's matter and never reach the client's pages."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.app.conftest import signed_in
from tests.forbidden_words import offending, rendered_text
from tracker.app import courses, people
from tracker.app.context import Context
from tracker.app.demo import DEMO_CLIENT_PASSWORD
from tracker.bootstrap import open_app
from tracker.domain import Contraindication, Intake, PhotoKind, Role
from tracker.permissions import Actor

CLIENT_PAGES = ("pages/my_course.py", "pages/upload.py", "pages/my_progress.py", "pages/my_account.py")
DEMO_CLIENTS = ("ava", "linh", "adaeze", "niamh")


@pytest.mark.parametrize("name", DEMO_CLIENTS)
def test_no_client_page_shows_a_metric_key_or_engine_term(demo_dir: Path, name: str) -> None:
    at = signed_in(f"{name}@demo.test", DEMO_CLIENT_PASSWORD)
    seen: dict[str, list[str]] = {}
    for page in CLIENT_PAGES:
        at.switch_page(page).run()
        assert not at.exception, at.exception
        seen[page] = rendered_text(at)
        assert len(seen[page]) > 5, (page, seen[page])  # the page rendered: the check is not empty
        assert offending(seen[page]) == [], (page, offending(seen[page]))
        if page == "pages/my_progress.py":  # the charts' words are checked too
            assert at.get("vega_lite_chart") and "Redness, points" in seen[page]


def test_landing_page_first_action_is_todays_photo_and_leads_to_the_upload_prefilled(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TIME_ZONE", "UTC")
    app = open_app()
    operator = Context(app, Actor.operator(1))
    client_id = courses.create_client(operator, "Tia Today")
    # Noon three calendar days ago in the clinic zone (UTC here): "day 3" counts calendar
    # days, so a time of day near midnight must not push the session into day 4 (a CI
    # run at 00:06 did).
    three_days_ago = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time(12, 0))
    courses.record_session(operator, client_id, 1, three_days_ago)
    people.create_account(operator, "tia@demo.test", Role.CLIENT, "tia's password", client_id=client_id)
    app.close()

    at = signed_in("tia@demo.test", "tia's password")
    assert at.title[0].value == "My course"
    first = at.button[0]
    assert first.label == "Add today's day-3 check-in photo" and first.key == "add_today"
    first.click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Upload photos"
    assert at.selectbox(key="upload_session").value == 1
    assert at.radio(key="upload_kind").value == PhotoKind.CHECKIN
    assert any("Today's day-3 check-in photo" in m.value for m in at.markdown)
    sends = [b for b in at.button if "Upload" in b.label or "Send" in b.label]
    assert [b.key for b in sends] == ["upload_go"]  # one button sends; the uploader sits in an expander


def test_a_new_clients_intake_answer_stays_with_the_practitioner(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_CLINIC_PHONE", "020 7946 0000")
    monkeypatch.setenv("TRACKER_CLINIC_EMAIL", "care@clinic.example")
    app = open_app()
    operator = Context(app, Actor.operator(1))
    intake = Intake(contraindications=(Contraindication.ROSACEA,))
    client_id = courses.create_client(operator, "Nell New", intake=intake)
    courses.record_session(
        operator,
        client_id,
        1,
        datetime.now().replace(microsecond=0),
        override_reason="Rosacea calm; GP agrees.",
    )
    people.create_account(operator, "nell@demo.test", Role.CLIENT, "nell's password", client_id=client_id)
    progress = courses.course_progress(operator, client_id)
    assert any(f.code == "contraindication" and f.severity == "act" for f in progress.flags)  # staff see it
    app.close()

    at = signed_in("nell@demo.test", "nell's password")
    course_text = " ".join(rendered_text(at)).replace("\\", "")
    assert "Call your clinic on 020 7946 0000 or email care@clinic.example." in course_text
    at.switch_page("pages/my_progress.py").run()
    assert not at.exception, at.exception
    text = " ".join(rendered_text(at))
    assert "may want to look at your latest photos" not in text
    assert offending(rendered_text(at)) == []
