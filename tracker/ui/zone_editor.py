"""The client review's Zones tab: pick the treated and reference zones, and optionally a
known length for the scale, by clicking on the baseline photo.

Every interaction goes through a callback and a request that `apply_pending` carries out
at the top of the next run, before the page computes progress. So the charts of that run
already show the new measurements, and no `st.rerun()` cuts a run short after it has sent
images: a cut run leaves the browser asking for images the server has dropped (404s).
Points are kept in full-resolution pixels of the baseline, per client, so points picked
on one client's photo can never reach another client's zones.
"""

from __future__ import annotations

import io
from typing import Any

import streamlit as st
from PIL import Image
from streamlit_image_coordinates import streamlit_image_coordinates

from tracker.app import measurements, photos
from tracker.app.context import Context
from tracker.app.measurements import LANDMARKS, Zones, from_points
from tracker.domain import FaceRegion
from tracker.errors import Refused
from tracker.ui.text import md_escape
from tracker.ui.zone_drawing import describe, draw_zones

SHOWN_SIDE = 900  # px: the photo as shown for picking
LENGTH_LABEL = "Length between the two ends (mm)"


def _keys(client_id: int) -> dict[str, str]:
    return {
        name: f"zone_{name}:{client_id}"
        for name in ("draft", "which", "picker", "request", "notice", "length")
    }


def zone_source_words(zones: Zones | None) -> str:
    """Where the zones in use came from, in words a practitioner uses."""
    if zones is None:
        return "none yet"
    if zones.source == "manual":
        return "drawn by a practitioner"
    if zones.source == LANDMARKS:
        treated = ", ".join(_region_words(zones.treated_regions)) or "the treated regions"
        reference = ", ".join(_region_words(zones.reference_regions)) or "no untreated region"
        return f"found on the face (treated: {treated}; reference: {reference})"
    if zones.source == "series":
        return "carried over from the first photo"
    return "all visible skin, found automatically"


def _region_words(names: tuple[str, ...]) -> list[str]:
    known = {r.value: r.label.lower() for r in FaceRegion}
    return [known.get(n, n.replace("_", " ")) for n in names]


def _draft(client_id: int) -> dict[str, Any]:
    empty: dict[str, Any] = {"treated": [], "reference": [], "scale": [], "last_click": None}
    draft: dict[str, Any] = st.session_state.setdefault(_keys(client_id)["draft"], empty)
    return draft


def apply_pending(ctx: Context, client_id: int) -> None:
    """Carry out a save asked for in the last run (zones or scale), with a spinner."""
    keys = _keys(client_id)
    request = st.session_state.pop(keys["request"], None)
    if request is None:
        return
    draft = _draft(client_id)
    try:
        with st.spinner("Measuring every photo of the course again…"):
            if request == "zones":
                zones = Zones(from_points(draft["treated"]), from_points(draft["reference"]), "manual")
                count = measurements.set_series_zones(ctx, client_id, zones)
                draft["treated"], draft["reference"] = [], []
                done = f"Zones saved; {count} photos measured again."
            elif len(draft["scale"]) != 2:
                raise Refused("Click both ends of the known length on the photo first.")
            else:
                length = float(st.session_state.get(keys["length"], 0.0))
                ends = (draft["scale"][0], draft["scale"][1])
                count = measurements.set_series_scale(ctx, client_id, ends, length)
                draft["scale"] = []
                done = f"Scale set; {count} photos measured again."
        st.session_state[keys["notice"]] = ("success", done)
    except Refused as exc:  # the points stay, so the person can correct them
        st.session_state[keys["notice"]] = ("error", str(exc))


def zone_editor(ctx: Context, client_id: int) -> None:
    keys = _keys(client_id)
    series = measurements.series_info(ctx, client_id)
    if not series or not series.baseline_photo_id:
        st.info("Zones are drawn on the first photo of the course; none uploaded yet.")
        return
    base_id = series.baseline_photo_id
    width, _height = photos.photo_size(ctx, base_id)
    shown = Image.open(io.BytesIO(photos.photo_bytes(ctx, base_id, "display"))).convert("RGB")
    shown.thumbnail((SHOWN_SIDE, SHOWN_SIDE))
    saved = series.zones
    draft = _draft(client_id)

    kind, message = st.session_state.pop(keys["notice"], (None, ""))
    if kind == "success":
        st.success(message)
    elif kind == "error":  # a refusal's message: text, never markup
        st.error(md_escape(message))
    st.caption(
        "Pick the **treated** area, then **untreated reference** skin away from it: click two "
        "opposite corners for a rectangle, or three or more points around the area for an "
        "outline. The thin lines are the zones in use, treated in magenta and reference in blue: "
        f"{zone_source_words(saved)}."
    )
    if series.px_per_mm:
        st.caption(f"Scale: {series.px_per_mm:.1f} px/mm ({series.px_per_mm_source}).")
    else:
        st.warning(
            "No colour chart or measured length gives this series a scale. On a face photo the "
            "iris gives each photo its own scale when the face looks at the camera from close "
            "enough; otherwise texture cannot be measured. Put a colour chart in a photo, or pick "
            "**Known length** and click both ends of a ruler or a sticker of known size on this photo."
        )
    # Fixed option labels: a label that changed with every click would make a new widget and
    # drop the choice back to the first option.
    which = st.radio(
        "Picking",
        ["treated", "reference", "scale"],
        horizontal=True,
        key=keys["which"],
        format_func=lambda z: "Known length" if z == "scale" else f"{z.capitalize()} zone",
    )
    st.caption(
        f"Treated zone: {describe(draft['treated'])}  \nReference zone: {describe(draft['reference'])}"
        + (f"  \nKnown length: {len(draft['scale'])} of 2 ends" if draft["scale"] else "")
    )

    def take_click() -> None:
        point = st.session_state.get(keys["picker"])
        # The component reports its last click again on later runs: a click is new by its time.
        if not point or point.get("unix_time") == draft["last_click"]:
            return
        draft["last_click"] = point.get("unix_time")
        k = width / max(1, int(point["width"]))  # displayed px → full-resolution px
        target = st.session_state.get(keys["which"], "treated")
        if target == "scale" and len(draft["scale"]) == 2:
            draft["scale"] = []  # a third click starts a new measurement
        draft[target].append((point["x"] * k, point["y"] * k))

    streamlit_image_coordinates(
        draw_zones(shown, shown.width / width, saved, draft),
        key=keys["picker"],
        width="content",
        image_format="JPEG",
        jpeg_quality=90,
        cursor="crosshair",
        on_click=take_click,
    )

    def undo() -> None:
        if draft[which]:
            draft[which].pop()

    def clear() -> None:
        draft["treated"], draft["reference"], draft["scale"] = [], [], []

    def ask(request: str) -> None:
        st.session_state[keys["request"]] = request

    left, middle, right = st.columns(3)
    left.button("Undo last point", key="zone_undo", disabled=not draft[which], on_click=undo, width="stretch")
    picked = any(draft[z] for z in ("treated", "reference", "scale"))
    middle.button("Clear points", key="zone_clear", disabled=not picked, on_click=clear, width="stretch")
    right.button(
        "Save zones and measure again",
        type="primary",
        key="zone_save",
        disabled=not (len(draft["treated"]) >= 2 and len(draft["reference"]) >= 2),
        on_click=ask,
        args=("zones",),
        width="stretch",
    )
    if len(draft["scale"]) == 2:
        with st.form(f"scale_form:{client_id}", border=False):
            st.number_input(
                LENGTH_LABEL, min_value=0.0, max_value=1000.0, value=10.0, step=1.0, key=keys["length"]
            )
            st.form_submit_button("Set scale and measure again", on_click=ask, args=("scale",))
