"""The Record page's "Treated areas" section: which face regions the client's course
treats and, if the practitioner wants, which untreated regions are the reference, with a
face diagram that follows the choice before it is saved.

The widgets are keyed by client and by what is stored, so after a save (or on another
client) they show the stored regions, never the last client's ticks. Every message here is
computed from the choice on screen, so a practitioner sees "no untreated skin left" before
saving rather than in empty charts weeks later.
"""

from __future__ import annotations

import streamlit as st

from tracker.app import courses, measurements
from tracker.app.context import Context
from tracker.app.courses import Regions, default_treated, in_order, no_reference_reason
from tracker.domain import Concern, FaceRegion
from tracker.errors import Refused
from tracker.ui.face_diagram import describe, draw_face_diagram
from tracker.ui.inline import png_data_uri
from tracker.ui.text import md_escape

TREATED_LABEL = "Treated regions"
REFERENCE_LABEL = "Reference (untreated) skin"
AUTOMATIC = "Chosen automatically"
DIAGRAM_PX = 640  # drawn at twice the shown size: sharp on a phone's screen
SHOWN_PX = 320


def _names(regions: Regions) -> str:
    return ", ".join(r.label for r in regions)


def _reference_text(reference: Regions) -> str:
    return _names(reference) if reference else AUTOMATIC


def region_picker(
    ctx: Context,
    client_id: int,
    client_name: str,
    concern: Concern | None,
    photo_count: int,
) -> None:
    """The section for one client."""
    stored = courses.course_regions(ctx, client_id)
    if stored is None or concern is None:
        st.info("This client has no treatment course yet.")
        return
    stored_reference: Regions = stored.reference or ()
    revision = "-".join([*stored.treated, "ref", *stored_reference, str(stored.treated_is_default)])
    key = f"{client_id}_{revision}"
    default = default_treated(concern)

    diagram, controls = st.columns([2, 3], gap="medium")
    with controls:
        # Tick boxes rather than a multiselect: every region and its state stay in view on a
        # phone (a multiselect's chosen tags scroll out of sight there), one tap each.
        st.markdown(f"**{TREATED_LABEL}**")
        halves = st.columns(2)
        ticked = [
            region
            for i, region in enumerate(FaceRegion)
            if halves[i * 2 // len(FaceRegion)].checkbox(
                region.label, value=region in stored.treated, key=f"regions_{region.value}_{key}"
            )
        ]
        chosen = in_order(ticked)
        options: list[Regions] = [(), *((r,) for r in FaceRegion)]
        if len(stored_reference) > 1:
            options.append(stored_reference)  # several regions, set elsewhere: kept as one choice
        reference: Regions = st.selectbox(
            REFERENCE_LABEL,
            options,
            index=options.index(stored_reference),
            format_func=_reference_text,
            key=f"regions_reference_{key}",
            help="Untreated skin the treated regions' redness is compared with. Left to "
            "itself, the tracker uses untreated skin that each photo shows (forehead first).",
        )
        if stored.treated_is_default and chosen == stored.treated:
            st.caption(f"The usual regions for {concern.label.lower()}.")
        problem = _problem(chosen, reference)
        changed = (chosen, reference) != (stored.treated, stored_reference)
        if problem:
            st.error(problem)
        elif changed:
            st.caption("Not saved yet.")
        if not problem and (reason := no_reference_reason(chosen, reference or None)):
            st.warning(reason)
        if _manual_zones(ctx, client_id):
            st.info(
                "Zones drawn on the photo (Client review → Zones) are in use for this client and "
                "win over these regions in the measurements; the regions stay on record."
            )
        save, reset = st.columns(2)
        clicked = save.button(
            "Save treated areas",
            type="primary",
            key=f"regions_save_{client_id}",
            disabled=bool(problem) or not changed,
            width="stretch",
        )
        back = reset.button(
            "Back to the usual regions",
            key=f"regions_reset_{client_id}",
            disabled=stored.treated_is_default and not stored_reference,
            help=f"For {concern.label.lower()}: {_names(default)}; reference chosen automatically.",
            width="stretch",
        )
        if photo_count:
            st.caption(f"Saving measures the course's {photo_count} photos again.")
        # The confirmation of the last save, here rather than at the top of the page: the
        # page keeps its scroll position after the save, so a message up there goes unseen.
        kind, message = st.session_state.pop(f"regions_notice_{client_id}", (None, ""))
        if message:
            (st.warning if kind == "warning" else st.success)(message)

    with diagram:
        shown_reference = tuple(r for r in reference if r not in chosen)
        picture = draw_face_diagram(chosen, shown_reference or None, width=DIAGRAM_PX)
        st.image(png_data_uri(picture), caption=describe(chosen, shown_reference), width=SHOWN_PX)

    if clicked:
        _save(ctx, client_id, client_name, chosen, reference, photo_count)
    elif back:
        _save(ctx, client_id, client_name, None, (), photo_count)


def _problem(treated: Regions, reference: Regions) -> str | None:
    """What stops this choice being saved, in the words the use case would refuse it with."""
    if not treated:
        return "Choose at least one treated region."
    both = [r for r in reference if r in treated]
    if both:
        verb = "is" if len(both) == 1 else "are"
        return (
            f"{_names(tuple(both))} {verb} marked as treated, so cannot be the reference: "
            f"choose other skin, or “{AUTOMATIC}”."
        )
    return None


def _manual_zones(ctx: Context, client_id: int) -> bool:
    series = measurements.series_info(ctx, client_id)
    return series is not None and series.zones is not None and series.zones.source == "manual"


def _save(
    ctx: Context,
    client_id: int,
    client_name: str,
    treated: Regions | None,
    reference: Regions,
    photo_count: int,
) -> None:
    try:
        with st.spinner("Saving, and measuring the course's photos again…" if photo_count else "Saving…"):
            courses.set_course_regions(ctx, client_id, treated, reference)
    except Refused as exc:
        st.error(md_escape(str(exc)))
        return
    now = courses.course_regions(ctx, client_id)
    assert now is not None
    said = f"reference: {_names(now.reference)}" if now.reference else "reference chosen automatically"
    message = f"Treated areas saved for {md_escape(client_name)}: {_names(now.treated)}; {said}."
    if photo_count:
        message += f" {photo_count} photos measured again."
    reason = no_reference_reason(now.treated, now.reference)
    notice = ("warning", f"{message} {reason}") if reason else ("success", message)
    st.session_state[f"regions_notice_{client_id}"] = notice
    st.rerun()
