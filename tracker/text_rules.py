"""What typed text may hold, and how the command line shows text it did not check.

Names, notes and session fields are shown on pages, in PDFs, in exports and in an
operator's terminal. Characters that are invisible there but change what is around them
have no place in them: control characters (an ESC starts a terminal escape sequence, a
newline in a name forges an extra output line) and the direction controls that reorder
text (U+202E shows "gpj.exe" as "exe.jpg"). So the use cases refuse them, saying which
character and where, and nothing is stored.

The rule is the Unicode categories: Cc (controls) and Cf (format: direction marks,
overrides and isolates, zero-width spaces, soft hyphens, invisible tags) and the line and
paragraph separators (Zl, Zp). Allowed of these: ZWNJ and ZWJ, which Persian, the Indic
scripts and emoji sequences (👩‍⚕️) need, and in multi-line text the newline and tab.

Text stored before this rule (or written by other means) may still hold such characters:
`printable` shows it safely on a terminal."""

from __future__ import annotations

import unicodedata

from tracker.errors import Refused

JOINERS = frozenset("\u200c\u200d")  # ZERO WIDTH NON-JOINER, ZERO WIDTH JOINER
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _char_name(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def refused_char(text: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """The first character `text` may not hold, with its position (from 1); None if none."""
    allowed = JOINERS | (frozenset("\n\t") if multiline else frozenset())
    for position, char in enumerate(text, start=1):
        if char not in allowed and unicodedata.category(char) in _REFUSED_CATEGORIES:
            return position, char
    return None


def checked_text(text: str, what: str, *, multiline: bool = False) -> str:
    """`text` as it may be stored: a line ending typed as CR LF (or CR) becomes LF in
    multi-line text; refuses a control or direction character with a message that names
    the field (`what`, e.g. "The client's name"), the character and its position."""
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = refused_char(text, multiline=multiline)
    if found is not None:
        position, char = found
        kind = "a line break" if char in "\r\n\u2028\u2029" else "an invisible control character"
        raise Refused(
            f"{what} holds {kind} ({_char_name(char)}) at character {position}. "
            "Remove it (it may have come with copied text) and try again; nothing was saved."
        )
    return text


def printable(text: str, *, keep: str = "") -> str:
    """`text` safe to print on a terminal: a control, format or separator character (but
    those in `keep`) is shown as its escape, `\\n`, `\\t`, `\\r` or `\\u001b`, which
    also reads back as the same character in JSON and Python. Letters of every script and
    emoji (with their joiners) stay as they are."""
    out = []
    for char in str(text):
        if char in keep or char in JOINERS or unicodedata.category(char) not in _REFUSED_CATEGORIES:
            out.append(char)
        elif char in _SHORT:
            out.append(_SHORT[char])
        elif ord(char) > 0xFFFF:  # JSON escapes these as a surrogate pair
            high, low = divmod(ord(char) - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)


__all__ = ["JOINERS", "checked_text", "printable", "refused_char"]
