"""Issue 11 item 2 through the pages: a flag resolved on the client review leaves the
dashboard's counts at once, the count tiles filter the table, and the review keeps the
resolved flag in its history. Each test works on its own copy of the demo."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app.conftest import signed_in
from tracker.app import courses
from tracker.app.context import Context
from tracker.app.dashboard import COUNT_LABELS
from tracker.app.demo import DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD
from tracker.bootstrap import open_app
from tracker.permissions import Actor


def _client_id(name: str) -> int:
    return next(
        c.id for c in courses.overview(Context(open_app(), Actor.operator(1))) if c.name.startswith(name)
    )


def _count(at: AppTest, key: str) -> int:
    """The number on a count tile, read from its label ("With act flags · 2")."""
    options = at.button_group(key="dash_tile").options
    label = next(o for o in options if o.startswith(COUNT_LABELS[key] + " ·"))
    return int(label.rsplit("·", 1)[1])


def _open_review(at: AppTest, client_id: int) -> None:
    at.switch_page("pages/client_review.py").run()
    at.selectbox(key="review_client").set_value(client_id).run()
    assert not at.exception, at.exception


def test_resolving_a_flag_drops_the_dashboard_count_at_once_and_keeps_it_in_history(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    act, pih = _count(at, "act"), _count(at, "pih_watch")
    assert act >= 1 and pih == 1
    adaeze = _client_id("Adaeze")
    _open_review(at, adaeze)
    # The evidence names photos by session, kind and date, never by internal id.
    shown = next(e.value.replace("\\", "") for e in at.error if "Darkening watch" in e.value)
    evidence = shown  # (the page escapes markdown: "check\-in")
    assert "Darkening watch (PIH) after session 4" in evidence
    assert "before-photo" in evidence or "check-in" in evidence
    assert re.search(r"photo \d", evidence) is None
    # Numbers with the glossary's units and plain words, not the engine's
    assert "points darker" in evidence and "margin of error" in evidence
    assert "noise band" not in evidence and "L* darker" not in evidence
    resolve = next(b for b in at.button if (b.key or "").startswith("flag_resolve_pih_watch"))
    resolve.click().run()
    assert not at.exception, at.exception
    assert any("Darkening watch (PIH) after session 4" in s.value.replace("\\", "") for s in at.success)
    assert not any("Darkening watch" in e.value for e in at.error)  # no longer open
    history = next(x for x in at.expander if x.label.startswith("Flag history"))
    assert any("Resolved" in m.value and "Darkening watch" in m.value for m in history.markdown)
    assert any("Darkening watch" in m.value and "· resolved" in m.value for m in at.markdown)

    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    assert _count(at, "pih_watch") == 0 and _count(at, "act") == act - 1
    row = at.dataframe[0].value.set_index("name").loc[lambda df: df.index.str.startswith("Adaeze")].iloc[0]
    assert row["act"] == 0 and "PIH" not in row["flags"]


def test_acknowledging_needs_a_note_and_a_flag_photo_opens_in_compare(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    niamh = _client_id("Niamh")
    _open_review(at, niamh)
    key = "contraindication:rosacea"
    at.button(key=f"flag_ack_{key}").click().run()  # no note: refused, still open
    assert any("needs a note" in e.value for e in at.error)
    assert any(b.key == f"flag_ack_{key}" for b in at.button)
    at.text_input(key=f"flag_note_{key}").input("GP letter on file; rosacea calm.")
    at.button(key=f"flag_ack_{key}").click().run()
    assert not at.exception, at.exception
    assert not any(b.key == f"flag_ack_{key}" for b in at.button)  # moved out of the open list
    assert any(t.value == "GP letter on file; rosacea calm." for t in at.text)
    assert any(b.key == f"flag_reopen_{key}" for b in at.button)

    link = next(b for b in at.button if (b.key or "").startswith("flag_photo_slow_recovery:s2_"))
    photo_id = int(link.key.rsplit("_", 1)[1])
    # Named by session, kind and date: "Compare Session 2 · day-3 check-in · 24 Aug"
    assert re.fullmatch(r"Compare Session 2 · day-\d+ check-in · \d+ \w{3}", link.label), link.label
    link.click().run()
    assert not at.exception, at.exception
    assert at.session_state["review_tab"] == "Compare"
    assert at.selectbox(key=f"cmp_b_{niamh}").value == photo_id
    first = at.selectbox(key=f"cmp_a_{niamh}")
    assert first.format_func(first.value).startswith("Session 2 · before-photo · ")  # same session


def test_count_tiles_filter_the_table(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    everyone = at.dataframe[0].value
    assert len(everyone) == 4
    at.button_group(key="dash_tile").set_value("slow_recovery").run()
    shown = at.dataframe[0].value
    assert len(shown) == _count(at, "slow_recovery") == 1
    assert shown["name"].iloc[0].startswith("Niamh") and "redness slow to settle" in shown["flags"].iloc[0]
    at.button_group(key="dash_tile").set_value("act").run()
    shown = at.dataframe[0].value
    assert len(shown) == _count(at, "act") and (shown["act"] > 0).all()
    at.button_group(key="dash_tile").set_value("clients").run()
    assert len(at.dataframe[0].value) == 4
    at.button_group(key="dash_tile").set_value(None).run()
    assert len(at.dataframe[0].value) == 4
