"""Client: upload photos — from files or the camera, several at once, with framing guidance
and immediate quality feedback."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import streamlit as st
from PIL import Image

from tracker.app import courses, photos
from tracker.app.guidance import CAPTURE_TIPS
from tracker.app.photos import upload_photo
from tracker.domain import PhotoKind, Role, infer_kind, pick_session_number
from tracker.ui.context import require_context
from tracker.ui.errors import error_boundary, notice_logged
from tracker.ui.ghost_camera import CameraPhoto, decode_shot, ghost_camera
from tracker.ui.photo_actions import my_recent_uploads, show_photo_notice
from tracker.ui.text import md_escape

CAMERA_KEY = "camera_photo"

ctx = require_context(Role.CLIENT)
actor = ctx.actor
assert actor.client_id is not None
st.title("Upload photos")

rows = courses.overview(ctx)
sessions = rows[0].sessions if rows else []
if not sessions:
    st.info("Your practitioner has not recorded a session yet. You can upload once it is booked.")
    st.stop()

now = datetime.now()
starts = {s.number: s.at for s in sessions}
default_number = pick_session_number(starts, now) or sessions[0].number
default_kind = infer_kind(starts[default_number], now)
numbers = [s.number for s in sessions]
left, right = st.columns(2)
number = left.selectbox(
    "Session",
    numbers,
    index=numbers.index(default_number),
    format_func=lambda n: f"Session {n} · {starts[n]:%d %b %Y}",
    key="upload_session",
)
kinds = list(PhotoKind)
labels = {
    PhotoKind.BEFORE: "Before the session",
    PhotoKind.AFTER: "Right after",
    PhotoKind.CHECKIN: "Recovery check-in",
}
kind = right.radio(
    "When",
    kinds,
    index=kinds.index(default_kind),
    format_func=lambda k: labels[k],
    horizontal=True,
    key="upload_kind",
)

with st.expander("How to take a photo that can be measured", expanded=True):
    for tip in CAPTURE_TIPS:
        st.markdown(f"- {tip}")

limit_mb = ctx.settings.max_upload_mb
files = st.file_uploader(
    "Photos (JPEG, PNG, WebP or HEIC)",
    type=["jpg", "jpeg", "png", "webp", "heic", "heif"],
    accept_multiple_files=True,
    max_upload_size=limit_mb,
    key="upload_files",
)

st.markdown("**Or take one now**, lined up with the faint outline of your first photo:")
first = next((p for s in sessions for p in s.photos), None)
ghost = None
if first is not None:
    with Image.open(io.BytesIO(photos.photo_bytes(ctx, first.id, "display"))) as base:
        ghost = np.asarray(base.convert("RGB"))
shot = ghost_camera(ghost, key="ghost_camera")
if shot is not None:
    with error_boundary():
        data = decode_shot(shot, ctx.settings.max_upload_bytes)
        st.session_state[CAMERA_KEY] = CameraPhoto(f"camera-{datetime.now():%Y%m%d-%H%M%S}.jpg", data)
pending = st.session_state.get(CAMERA_KEY)
waiting = st.empty()  # emptied once the picture is sent
if isinstance(pending, CameraPhoto):
    with waiting.container():
        st.image(pending.data, caption=f"{pending.name}: ready to upload", width=240)
        if st.button("Discard", key="camera_discard"):
            st.session_state.pop(CAMERA_KEY, None)
            st.rerun()
chosen = list(files or []) + ([pending] if isinstance(pending, CameraPhoto) else [])

if st.button("Upload", type="primary", disabled=not chosen, key="upload_go"):
    if len(chosen) > ctx.settings.max_files_per_upload:
        st.error(f"Please upload at most {ctx.settings.max_files_per_upload} photos at a time.")
        st.stop()
    bar = st.progress(0.0, text="Uploading…")
    for i, item in enumerate(chosen):
        name = item.name or "camera.jpg"
        shown = md_escape(name)
        bar.progress(i / len(chosen), text=f"Checking and measuring {shown} ({i + 1} of {len(chosen)})…")
        try:
            done = upload_photo(ctx, actor.client_id, item.getvalue(), name, session_number=number, kind=kind)
        except Exception as exc:  # one file never loses the batch, and no traceback reaches the page
            said = notice_logged(exc)
            st.error(f"**{shown}** was not uploaded: {md_escape(said.text)}")
            continue
        outcome = done.analysis
        if outcome is None or not outcome.ok or outcome.analysis is None:
            reason = outcome.message if outcome else "not analysed"
            st.warning(
                f"**{shown}** is saved, but could not be measured: {md_escape(reason)}. Please retake it."
            )
            continue
        quality = outcome.analysis.quality
        if quality.usable_for_trends:
            st.success(f"**{shown}** saved and measured — photo quality {quality.score:.0%}.")
        else:
            tips = "; ".join(quality.reasons) or "the photo is hard to measure"
            st.warning(
                f"**{shown}** saved, but its quality is low ({quality.score:.0%}): {md_escape(tips)}. "
                "A retake would help."
            )
    st.session_state.pop(CAMERA_KEY, None)  # sent (or refused with its reason shown)
    waiting.empty()
    bar.progress(1.0, text="Done")

show_photo_notice()
my_recent_uploads(ctx)  # a mistaken upload can be taken back here, right after the results
