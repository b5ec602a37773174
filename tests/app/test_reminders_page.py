"""Reminders on the pages: the client's "Coming up" list and calendar download on My course,
and the same for staff on the client review's timeline."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from tests.app.conftest import download_links, fetch, signed_in
from tracker.app import courses, people
from tracker.app.context import Context
from tracker.app.demo import DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD
from tracker.bootstrap import open_app
from tracker.domain import Role
from tracker.permissions import Actor

PASSWORD = "zoe's own password"


def _zoe_treated_yesterday() -> int:
    app = open_app()
    ctx = Context(app, Actor.operator(1))
    zoe = courses.create_client(ctx, "Zoe Reminded", interval_weeks=5)
    courses.record_session(ctx, zoe, 1, datetime.combine(date.today() - timedelta(days=1), time(10)))
    people.create_account(ctx, "zoe@home.test", Role.CLIENT, PASSWORD, client_id=zoe)
    app.close()
    return zoe


def test_client_and_staff_see_the_coming_check_ins_and_session(demo_dir: Path) -> None:
    zoe = _zoe_treated_yesterday()
    today = date.today()
    due = today - timedelta(days=1) + timedelta(weeks=5)
    expected = [
        "**Today**: Day\\-1 check\\-in photo after session 1",
        f"**{today + timedelta(days=2):%a %d %b %Y}**: Day\\-3 check\\-in photo after session 1",
        f"**{today + timedelta(days=6):%a %d %b %Y}**: Day\\-7 check\\-in photo after session 1",
        f"**{due:%a %d %b %Y}**: Session 2 due\\: book it with the clinic",
    ]

    client = signed_in("zoe@home.test", PASSWORD)
    assert client.title[0].value == "My course" and not client.exception
    shown = [m.value.removeprefix("- ") for m in client.markdown if m.value.startswith("- **")]
    assert shown == expected
    assert download_links(client) == {"Add these to my calendar (.ics)": f"/download/calendar?client={zoe}"}
    assert fetch(client, "Add these to my calendar (.ics)").body.startswith(b"BEGIN:VCALENDAR")

    staff = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    staff.switch_page("pages/client_review.py").run()
    staff.selectbox(key="review_client").set_value(zoe).run()
    staff.session_state["review_tab"] = "Timeline"
    staff.run()
    assert not staff.exception, staff.exception
    assert [m.value.removeprefix("- ") for m in staff.markdown if m.value.startswith("- **")] == expected
    assert download_links(staff)["Download calendar (.ics)"] == f"/download/calendar?client={zoe}"
