"""Showing the report's charts in the app, at any width, without squashing them.

Why not `st.altair_chart(chart, width="stretch")` as it comes: Streamlit then sizes the
element to the spec's `height` (the *plot* height, 240 px) and asks Vega to fit the whole
chart — title, subtitle, legend, axes — into it, which left a 10–30 px plot area where every
series looked flat. Here the chart keeps its plot height and only its width follows the
column (`fit-x`), the element grows to the chart's real height, and the title and the
explanation are page text above it, which wraps on a phone where a Vega title is clipped.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import streamlit as st

from tracker.charts import chart_titles
from tracker.ui.text import md_escape

NOT_ENOUGH = "Not enough photos yet: this chart needs at least two measured photos."


def show_chart(chart: alt.LayerChart, *, key: str, enough: bool = True, empty: str = NOT_ENOUGH) -> None:
    """The chart under its title and explanation, or a plain notice when it would be empty
    axes (a client with one photo)."""
    title, subtitle = chart_titles(chart)
    st.markdown(f"**{md_escape(title)}**")
    if not enough:
        st.info(empty)
        return
    if subtitle:
        st.caption(md_escape(subtitle))
    st.altair_chart(screen_chart(chart), width="stretch", key=key)


def screen_chart(chart: alt.LayerChart) -> alt.LayerChart:
    """A copy without the Vega title (shown as page text), whose width fits the column and
    whose height is the plot height plus what the axes and legend need."""
    shown = chart.copy(deep=True)
    shown.title = alt.Undefined
    autosize: Any = alt.AutoSizeParams(type="fit-x", contains="padding")
    shown.autosize = autosize
    padding: Any = {"left": 8, "right": 8, "top": 6, "bottom": 4}  # the rotated y title's glyphs overhang
    shown.padding = padding
    return shown
