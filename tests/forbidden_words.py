"""Words a client must never read, and how to collect what a page shows.

Kept apart from any test so the AppTest (tests/app/test_client_words.py) and the browser
walk check the same list: metric keys from the glossary, the engine's abbreviations, raw
kinds, and what a careless format leaves behind ("None", "nan", "Q 0.90", 4-decimal
floats)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tracker.glossary import ENGINE_WORDS, METRIC_TERMS, OTHER_TERMS

# Metric keys and the glossary's technical words, as they would leak from code.
KEYS = (*METRIC_TERMS, "needle_depth_mm", "photo_id", "hours_since_session", "days_since_start")
FORBIDDEN = (
    *KEYS,
    *ENGINE_WORDS,
    "Q 0.",
    "None",
    "nan",
    "NaN",
    "noise band",
    "erythema",
    "melanin index",
    "CIELAB",
    "act flag",
    "contraindication",
)


def _pattern(word: str) -> re.Pattern[str]:
    """Matched as a word: not inside a longer one ("EI" in "EIGHT", "nan" in "nanny",
    "a*" in "**Ava**"), but a word ending in "_" or "." may go on ("delta_ei", "Q 0.90")."""
    left = r"(?<![A-Za-z0-9_])"
    right = r"(?![A-Za-z0-9_])" if word[-1].isalnum() else ""
    return re.compile(left + re.escape(word) + right)


_PATTERNS = {w: _pattern(w) for w in FORBIDDEN}
# A float with four or more decimals ("0.4172"): never supported by a photo measurement.
LONG_FLOAT = re.compile(r"\d\.\d{4,}")
assert {t.key for t in OTHER_TERMS.values()}  # the glossary is importable and filled


def offending(texts: Iterable[str]) -> list[tuple[str, str]]:
    """(forbidden word, the text it was found in) for every hit."""
    hits = []
    for text in texts:
        for word, pattern in _PATTERNS.items():
            if pattern.search(text):
                hits.append((word, text))
        if LONG_FLOAT.search(text):
            hits.append(("4-decimal number", text))
    return hits


def rendered_text(at: Any) -> list[str]:
    """Everything an AppTest page shows as words: titles, markdown, captions, alerts,
    metrics, widget labels and options, expander labels, tables' headers and cells, toasts
    and the charts' titles, axis titles, legends and tooltip titles."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "code", "latex"):
        out += [str(e.value) for e in getattr(at, kind)]
    for kind in ("success", "info", "warning", "error", "exception", "toast"):
        out += [str(e.value) for e in getattr(at, kind)]
    for m in at.metric:
        out += [str(m.label), str(m.value)]
    for kind in ("button", "checkbox", "toggle", "slider", "select_slider", "text_input", "text_area"):
        out += [str(w.label) for w in getattr(at, kind)]
    for kind in ("selectbox", "multiselect", "radio"):
        for w in getattr(at, kind):
            out += [str(w.label), *(str(o) for o in w.options)]
    out += [str(e.label) for e in at.expander]
    out += [str(e.proto.label) for e in at.get("file_uploader")]
    for kind in ("dataframe", "table"):
        for e in getattr(at, kind):
            frame = e.value
            out += [str(c) for c in frame.columns]
            out += [str(v) for v in frame.astype(str).to_numpy().ravel()]
    for e in at.get("vega_lite_chart"):
        out += list(_chart_words(json.loads(e.proto.spec)))
    return out


def _chart_words(spec: Any) -> Iterator[str]:
    """Titles, axis, legend and tooltip titles, text marks' values and series names."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("title", "subtitle", "text", "series", "session_label") and isinstance(value, str):
                yield value
            else:
                yield from _chart_words(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _chart_words(item)
