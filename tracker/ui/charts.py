"""Showing the report's charts in the app, at any width, without squashing them.

Why not `st.altair_chart(chart, width="stretch")` as it comes: Streamlit then sizes the
element to the spec's `height` (the *plot* height, 240 px) and asks Vega to fit the whole
chart — title, subtitle, legend, axes — into it, which left a 10–30 px plot area where every
series looked flat. Here the chart keeps its plot height and only its width follows the
column (`fit-x`), the element grows to the chart's real height, and the title and the
explanation are page text above it, which wraps on a phone where a Vega title is clipped.

Building and validating nine Altair charts took about 0.8 s per click, so each chart's
finished spec is kept per client and input signature (see tracker.app.dashboard): a chart is
built once per change of the client's data, by whoever looks first. The caller checks the
viewer's access before asking (the signature itself is read under a permission check).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import altair as alt
import streamlit as st

from tracker.app.charts import chart_titles
from tracker.ui.text import md_escape

NOT_ENOUGH = "Not enough photos yet: this chart needs at least two measured photos."
_KEPT_SPECS = 256  # about 20 clients' charts; a spec is a few tens of kB
_specs: OrderedDict[Hashable, tuple[str, str, dict[str, Any]]] = OrderedDict()
_lock = threading.Lock()


def show_chart(
    build: Callable[[], alt.LayerChart],
    *,
    key: str,
    kept_as: Hashable,
    enough: bool = True,
    empty: str = NOT_ENOUGH,
) -> None:
    """The chart under its title and explanation, or a plain notice when it would be empty
    axes (a client with one photo). `kept_as` names this chart for this client's current
    data (client id, input signature, which chart)."""
    title, subtitle, spec = _spec(kept_as, build)
    st.markdown(f"**{md_escape(title)}**")
    if not enough:
        st.info(empty)
        return
    if subtitle:
        st.caption(md_escape(subtitle))
    st.vega_lite_chart(spec, width="stretch", key=key)


def screen_chart(chart: alt.LayerChart) -> alt.LayerChart:
    """A copy without the Vega title (shown as page text), whose width fits the column and
    whose height is the plot height plus what the axes and legend need."""
    shown = chart.copy(deep=False)
    shown.title = alt.Undefined
    autosize: Any = alt.AutoSizeParams(type="fit-x", contains="padding")
    shown.autosize = autosize
    padding: Any = {"left": 8, "right": 8, "top": 6, "bottom": 4}  # the rotated y title's glyphs overhang
    shown.padding = padding
    return shown


def _spec(kept_as: Hashable, build: Callable[[], alt.LayerChart]) -> tuple[str, str, dict[str, Any]]:
    with _lock:
        found = _specs.get(kept_as)
        if found is not None:
            _specs.move_to_end(kept_as)
            return found
    chart = build()
    title, subtitle = chart_titles(chart)
    # Our own specs, from code under test: Altair's schema validation adds ~30 ms a chart.
    made = (title, subtitle, screen_chart(chart).to_dict(validate=False))
    with _lock:
        _specs[kept_as] = made
        while len(_specs) > _KEPT_SPECS:
            _specs.popitem(last=False)
    return made
