"""A before/after slider that runs in the browser.

Why not st.slider + a server-drawn split image: every move then costs a round trip and a
new image, the view lags behind the finger on a phone, and the browser asks for images
the server has already replaced (404s in the console). Here both aligned photos are sent
once, inlined as data URIs, and a few lines of script move the divider locally. The
range input is a real, keyboard-reachable control with an accessible name; dragging or
tapping on the photo moves it too.
"""

from __future__ import annotations

import hashlib
import html

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from tracker.ui.inline import jpeg_data_uri

SLIDER_LABEL = "Slide to compare"
MAX_SIDE = 1600  # px: sharp on a desktop monitor, about 0.5 MB per photo inlined


def slider_html(left: NDArray[np.uint8], right: NDArray[np.uint8], left_label: str, right_label: str) -> str:
    """The whole widget as one HTML fragment; ids differ between pairs, so several can
    share a page."""
    h, w = left.shape[:2]
    left_text, right_text = html.escape(left_label), html.escape(right_label)
    left_uri, right_uri = (jpeg_data_uri(img, MAX_SIDE, 88) for img in (left, right))
    # Named after its content: a rerun that draws the same pair sends the same HTML, so the
    # browser keeps the widget (and where the divider was) instead of drawing it anew.
    uid = "cmp-" + hashlib.sha1((left_uri + right_uri + left_text + right_text).encode()).hexdigest()[:12]
    return f"""
<div id="{uid}" class="cmp-wrap">
  <style>
    #{uid} .cmp-frame {{ position: relative; width: 100%; aspect-ratio: {w} / {h}; overflow: hidden;
      border-radius: 6px; touch-action: pan-y; cursor: ew-resize; user-select: none; background: #eee; }}
    #{uid} .cmp-frame img {{ position: absolute; inset: 0; width: 100%; height: 100%;
      object-fit: contain; pointer-events: none; }}
    #{uid} .cmp-left {{ clip-path: inset(0 50% 0 0); }}
    #{uid} .cmp-line {{ position: absolute; top: 0; bottom: 0; left: 50%; width: 2px;
      margin-left: -1px; background: #fff; box-shadow: 0 0 3px rgba(0,0,0,.6); pointer-events: none; }}
    #{uid} .cmp-tag {{ position: absolute; top: 6px; padding: 2px 6px; font: 12px sans-serif;
      color: #fff; background: rgba(0,0,0,.55); border-radius: 3px; pointer-events: none;
      max-width: calc(50% - 18px); box-sizing: border-box; }}
    #{uid} input[type=range] {{ width: 100%; margin: 10px 0 2px; accent-color: #ff4b4b; }}
    #{uid} .cmp-caption {{ font: 13px sans-serif; opacity: .7; }}
  </style>
  <div class="cmp-frame">
    <img class="cmp-right" alt="{right_text}" src="{right_uri}">
    <img class="cmp-left" alt="{left_text}" src="{left_uri}">
    <div class="cmp-line"></div>
    <span class="cmp-tag" style="left:6px">{left_text}</span>
    <span class="cmp-tag" style="right:6px">{right_text}</span>
  </div>
  <input type="range" min="0" max="100" value="50" step="1" aria-label="{SLIDER_LABEL}"
    aria-valuetext="50 % first photo">
  <div class="cmp-caption">{SLIDER_LABEL}: left {left_text}, right {right_text}.
    Drag on the photo or use the arrow keys.</div>
</div>
<script>
(() => {{
  const root = document.getElementById("{uid}");
  if (!root) return;
  const frame = root.querySelector(".cmp-frame"), top = root.querySelector(".cmp-left");
  const line = root.querySelector(".cmp-line"), range = root.querySelector("input[type=range]");
  const show = (v) => {{
    top.style.clipPath = "inset(0 " + (100 - v) + "% 0 0)";
    line.style.left = v + "%";
    range.setAttribute("aria-valuetext", v + " % first photo");
  }};
  range.addEventListener("input", () => show(Number(range.value)));
  const follow = (e) => {{
    const box = frame.getBoundingClientRect();
    const v = Math.round(Math.min(1, Math.max(0, (e.clientX - box.left) / box.width)) * 100);
    range.value = v; show(v);
  }};
  frame.addEventListener("pointerdown", (e) => {{ frame.setPointerCapture(e.pointerId); follow(e); }});
  frame.addEventListener("pointermove", (e) => {{ if (frame.hasPointerCapture(e.pointerId)) follow(e); }});
  show(Number(range.value));
}})();
</script>
"""


def comparison_slider(
    left: NDArray[np.uint8], right: NDArray[np.uint8], left_label: str, right_label: str
) -> None:
    """Show two aligned photos of the same size with a draggable divider."""
    st.html(slider_html(left, right, left_label, right_label), unsafe_allow_javascript=True)
