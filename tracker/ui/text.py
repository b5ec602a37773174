"""Untrusted text (names people typed, file names) inside Streamlit markdown.

Streamlit renders alerts, captions and markdown as Markdown: a file called
`[open me](https://…).jpg` would become a link, and `**` or `<` would change the page. Every
character Markdown gives a meaning to is escaped, so the text shows exactly as typed."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:&])")


def md_escape(text: str) -> str:
    """`text` escaped for Markdown, on one line (a newline would start a new block)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


__all__ = ["md_escape"]
