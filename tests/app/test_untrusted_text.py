"""Untrusted text is text (issue 12 item 4): a client name, notes, session fields, file
names and the clinic's name that hold Markdown links, images, HTML, formulas and colour
directives show exactly as typed on every page, staff and client, and never as markup.

Every string Streamlit sends for an element is looked at, except the fields the browser
shows as plain text (select options, text inputs, `st.text`, table cells): those must
hold the text unescaped, or a person would see backslashes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from tests.app.conftest import download_links, fetch, signed_in
from tests.hostile_text import CLIENT_NAME, HOST, live_markup, plant
from tracker.app.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_CLIENT_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
)
from tracker.bootstrap import open_app

# Fields the browser shows as plain text (checked in Chromium with Streamlit 1.67): select
# and multiselect options, what is typed in an input, st.text and st.code. Html bodies are
# HTML, looked at on their own; ids and keys are not shown.
PLAIN = {
    "Selectbox.options", "Selectbox.raw_value", "MultiSelect.options", "MultiSelect.raw_values",
    "TextInput.value", "TextInput.default", "TextInput.placeholder", "TextArea.value",
    "TextArea.default", "TextArea.placeholder", "Text.body", "Code.code_text",
}  # fmt: skip
HTML = {"Html.body", "BidiComponent.html_content"}
NOT_SHOWN = {"id", "form_id", "key", "script_hash", "page_script_hash", "url_path", "data"}
REVIEW_TABS = ["Flags & notes", "Timeline", "Compare", "Charts", "Recovery", "Zones", "Report"]


def _strings(message: Message) -> Iterator[tuple[str, str]]:
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in values:
                yield from _strings(item)
        elif field.type == FieldDescriptor.TYPE_STRING and field.name not in NOT_SHOWN:
            for item in values:
                yield f"{type(message).__name__}.{field.name}", item


def _nodes(node: object) -> Iterator[object]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def markup_found(at: AppTest, where: str) -> list[str]:
    """Every string on the page that would render the hostile text as markup."""
    assert not at.exception, (where, at.exception)
    found = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if not isinstance(proto, Message):
            continue
        for name, text in _strings(proto):
            if HOST not in text and "onerror" not in text:
                continue
            if name in HTML:
                if "<img src=x" in text or f'"http://{HOST}' in text:
                    found.append(f"{where}: {name}: {text[:160]!r}")
            elif name not in PLAIN and live_markup(text):
                found.append(f"{where}: {name} {live_markup(text)}: {text[:160]!r}")
    return found


def _review(at: AppTest, client_id: int, where: str) -> list[str]:
    at.switch_page("pages/client_review.py").run()
    at.selectbox(key="review_client").set_value(client_id).run()
    assert CLIENT_NAME in at.selectbox(key="review_client").options  # as typed, no backslashes
    found = []
    for tab in REVIEW_TABS:
        at.session_state["review_tab"] = tab
        at.run()
        found += markup_found(at, f"{where} review/{tab}")
    return found


def test_hostile_text_never_renders_as_markup(demo_dir: Path) -> None:
    ava = plant(open_app())
    found: list[str] = []

    staff = signed_in(DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    found += markup_found(staff, "dashboard")
    # The table's own download is off; the page's CSV link, followed as the browser would,
    # gives the name as typed, made text where a spreadsheet would run it.
    assert download_links(staff) == {"Download table for a spreadsheet (CSV)": "/download/dashboard"}
    answer = fetch(staff, "Download table for a spreadsheet (CSV)")
    assert answer.status == 200 and (answer.header("content-type") or "").startswith("text/csv")
    assert CLIENT_NAME in answer.body.decode("utf-8-sig")
    assert staff.get("download_button") == []
    found += _review(staff, ava, "practitioner")
    staff.switch_page("pages/record.py").run()
    staff.selectbox(key="record_client").set_value(ava).run()
    found += markup_found(staff, "record")
    for page in ("accounts", "my_account"):
        staff.switch_page(f"pages/{page}.py").run()
        found += markup_found(staff, page)

    admin = signed_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    admin.switch_page("pages/audit_log.py").run()
    found += markup_found(admin, "audit log")
    found += _review(admin, ava, "admin")

    client = signed_in("ava@demo.test", DEMO_CLIENT_PASSWORD)
    found += markup_found(client, "my course")
    for page in ("upload", "my_progress", "my_account"):
        client.switch_page(f"pages/{page}.py").run()
        found += markup_found(client, page)

    assert not found, "\n".join(found)
