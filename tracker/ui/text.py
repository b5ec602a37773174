"""Untrusted text (names people typed, file names) inside Streamlit markdown.

Streamlit renders alerts, captions, titles, expander and tab titles, button and widget
labels, radio and pill options as Markdown: a file called `[open me](https://…).jpg`
would become a link, `![x](http://…)` would make the browser fetch from that host, and
`**` or `<` would change the page. Every character Markdown gives a meaning to is escaped,
so the text shows exactly as typed.

Escaping is not enough for bare addresses: GitHub-flavoured Markdown turns `http://…` and
`www.…` into links whatever is escaped around them (checked in Chromium with Streamlit
1.67). An invisible WORD JOINER (U+2060) after the `:` of `://` and before the `.` of
`www.` keeps them text. An email address may still become a `mailto:` link: that loads
nothing and opens no page, and a joiner in every address would break finding and copying
it.

Select boxes, multiselects, text inputs, `st.text` and table cells show plain text: give
them the text as it is (escaped, it would show backslashes)."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:&])")
_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(://|www\.)")


def _unlinked(match: re.Match[str]) -> str:
    found = match.group(1)
    cut = 1 if found == "://" else 3  # after the ":", before the "." of "www."
    return f"{found[:cut]}{_JOINER}{found[cut:]}"


def md_escape(text: str) -> str:
    """`text` escaped for Markdown, on one line (a newline would start a new block)."""
    flat = " ".join(str(text).split())
    return _SPECIAL.sub(r"\\\1", _AUTOLINK.sub(_unlinked, flat))


__all__ = ["md_escape"]
