"""What typed text may hold (tracker/text_rules.py) and how untrusted text is escaped for
Markdown (tracker/ui/text.py)."""

from __future__ import annotations

import json

import pytest

from tracker.errors import Refused
from tracker.text_rules import checked_text, printable, refused_char
from tracker.ui.text import md_escape

REFUSED = {
    "ESC": "\x1b",
    "BEL": "\x07",
    "NUL": "\x00",
    "DEL": "\x7f",
    "C1 CSI": "\x9b",
    "NEL": "\x85",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "LRM": "\u200e",
    "RLM": "\u200f",
    "ALM": "\u061c",
    "zero-width space": "\u200b",
    "word joiner": "\u2060",
    "BOM": "\ufeff",
    "soft hyphen": "\u00ad",
    "tag letter": "\U000e0041",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
}
ALLOWED = [
    "王芳",
    "Nguyễn Thị Lan",
    "Zoë O'Brien-Smith",
    "محمد",
    "می‌خواهم",  # Persian with ZWNJ
    "👩‍⚕️ 🌸",  # ZWJ sequence and variation selector
    "Ana María (Ani) #2 [VIP]",
]


@pytest.mark.parametrize("name", list(REFUSED))
def test_control_and_direction_characters_are_refused(name: str) -> None:
    char = REFUSED[name]
    with pytest.raises(Refused) as refused:
        checked_text(f"Ava{char}Lee", "The client's name")
    message = str(refused.value)
    assert message.startswith("The client's name holds") and f"U+{ord(char):04X}" in message
    assert "character 4" in message
    with pytest.raises(Refused):
        checked_text(f"line one\n{char}", "The note", multiline=True)


@pytest.mark.parametrize("text", ALLOWED)
def test_every_script_and_emoji_is_taken(text: str) -> None:
    assert checked_text(text, "The name") == text
    assert refused_char(text) is None


def test_line_breaks_and_tabs_only_in_multi_line_text() -> None:
    for char in "\n\t\r":
        with pytest.raises(Refused, match="The device holds"):
            checked_text(f"Derma{char}pen", "The device")
    assert checked_text("a\r\nb\rc\n\td", "The note", multiline=True) == "a\nb\nc\n\td"


def test_printable_escapes_controls_and_reads_back_as_json() -> None:
    hostile = "Eve\x1b]8;;http://x\x07link\x1b]8;;\x07\nclient 9: forged\u202e\x9b\U000e0041"
    shown = printable(hostile)
    assert "\n" not in shown and "\x1b" not in shown and "\u202e" not in shown and "\x9b" not in shown
    assert "\\u001b]8;;http://x\\u0007" in shown and "\\nclient 9" in shown
    assert json.loads(f'"{shown}"') == hostile
    assert printable("王芳 🌸 👩‍⚕️ Nguyễn") == "王芳 🌸 👩‍⚕️ Nguyễn"
    assert printable("a\nb\tc", keep="\n\t") == "a\nb\tc"


def test_md_escape_leaves_no_markup_and_no_autolink() -> None:
    escaped = md_escape("![x](http://203.0.113.9/p.png) **b** <img src=x> $x^2$ :red[r] www.ev.test a@b.test")
    for live in ("](", "**", "<img", "$x", ":red["):
        assert live not in escaped.replace("\\" + live[0], "")
    assert "http://" not in escaped.replace("\\", "")  # GFM would link a bare address
    assert "www." not in escaped.replace("\\", "")
    assert "a@b\\.test" in escaped  # an address stays findable (at most a mailto: link)
    assert md_escape("two\nlines") == "two lines"
