"""The pages' error boundary, through Streamlit's AppTest against a real data folder: a
refusal is said in its own words, a fault of ours is said without a traceback, and what
people typed is shown as text, never as markup."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, signed_in
from tracker.app.demo import DEMO_CLIENT_PASSWORD, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD

HOSTILE = "**bold** <b>x</b> [link](http://x)"
# Markdown's backslash escapes, as CommonMark defines them: a backslash before ASCII punctuation.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _shown(markdown: str) -> str:
    """What a reader sees of a Markdown source, if it holds only escapes and no markup (the
    word joiner that keeps a bare address from becoming a link is invisible)."""
    return _ESCAPE.sub(r"\1", markdown).replace("\u2060", "")


def _unescaped_markup(markdown: str) -> list[str]:
    """Characters that would make markup (bold, HTML, a link) left unescaped."""
    return re.findall(r"(?<!\\)[*<>\[\]()]", _ESCAPE.sub("", markdown))


def _texts(at: AppTest) -> list[str]:
    kinds = ("error", "warning", "info", "success", "markdown", "caption", "text", "code", "exception")
    return [str(getattr(e, "value", "")) for kind in kinds for e in at.get(kind)]


def test_a_refused_action_says_why_and_the_page_goes_on(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/client_review.py").run()
    next(b for b in at.button if b.label == "Add note").click().run()  # an empty note
    assert not at.exception, at.exception
    assert [_shown(e.value) for e in at.error if "note" in e.value] == ["A note needs some text."]
    assert any(b.label == "Add note" for b in at.button)  # the rest of the page is still there


def test_a_fault_of_ours_shows_a_reference_and_no_traceback(
    demo_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="email").input("ava@demo.test")
    at.text_input(key="password").input(DEMO_CLIENT_PASSWORD)
    with sqlite3.connect(demo_dir / "tracker.db") as db:  # the measurements' table is lost
        db.execute("DROP TABLE analysis_result")
    at.button[0].click().run()  # signed in, app.py's navigation runs My course inside its boundary
    assert not at.exception, at.exception
    assert at.title[0].value == "My course"  # what ran before the fault is still shown
    said = [_shown(e.value) for e in at.error]
    assert len(said) == 1 and said[0].startswith("Something went wrong on our side.")
    reference = re.search(r"reference: ([0-9a-f]{8})\.$", said[0])
    assert reference is not None, said
    page = "\n".join(_texts(at))
    assert "Traceback" not in page and "analysis_result" not in page and "SELECT" not in page
    logged = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None  # the details are in the server's log


def test_a_page_run_outside_the_navigation_still_shows_no_traceback(demo_dir: Path) -> None:
    """Streamlit runs a file of pages/ by itself, not through app.py, in a server's very
    first run when it asks for a page (a folder called pages/ makes it start in its old
    multipage mode until app.py's `st.navigation` runs), and under AppTest after the first
    navigation: then `client.showErrorDetails = "none"` (.streamlit/config.toml) is what
    keeps the details off the page."""
    at = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    shutil.rmtree(demo_dir / "blobs")  # every photo file is gone: the comparison cannot be drawn
    at.switch_page("pages/my_progress.py").run()
    assert len(at.exception) == 1
    shown = at.exception[0]
    assert "redacted" in shown.message and "BlobNotFound" not in shown.message and not shown.stack_trace


def test_names_people_typed_are_shown_as_text(demo_dir: Path) -> None:
    at = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    at.switch_page("pages/record.py").run()
    at.text_input(key="new_client_name").input(HOSTILE)
    next(b for b in at.button if b.label == "Add client").click().run()
    assert not at.exception, at.exception
    added = [s.value for s in at.success if _shown(s.value).startswith("Added ")]
    assert added and _shown(added[0]).startswith(f"Added {HOSTILE}: ")
    assert _unescaped_markup(added[0]) == []

    next(b for b in at.button if b.label == "Save session").click().run()
    assert not at.exception, at.exception
    saved = [s.value for s in at.success if "saved for" in s.value]
    assert [_shown(s) for s in saved] == [f"Session 1 saved for {HOSTILE}."]
    assert _unescaped_markup(saved[0]) == []

    at.text_input(key="new_client_name").input(HOSTILE)  # the same name again: refused, with the name
    next(b for b in at.button if b.label == "Add client").click().run()
    assert not at.exception, at.exception
    same = [w.value for w in at.warning if "already in the clinic" in w.value]
    assert same and HOSTILE in _shown(same[0]) and _unescaped_markup(same[0]) == []
    at.run()  # the form asks on its next run
    confirm = next(c for c in at.checkbox if c.key == "new_client_same")
    assert _shown(confirm.label).startswith(HOSTILE) and _unescaped_markup(confirm.label) == []

    at.switch_page("pages/client_review.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value and _shown(at.title[0].value) == HOSTILE
    assert _unescaped_markup(at.title[0].value) == []
