"""Client: upload photos — from the camera or from files, several at once, with framing
guidance and immediate quality feedback.

The page is laid out for a phone: what the photo is for, then the camera, then one button
that sends everything chosen, with each photo's outcome right under that button (a toast
as well, wherever the client has scrolled to). The session and kind are pre-filled by the
same rule as the landing page's "Add today's … photo" (tracker/app/today.py)."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from tracker.app import courses, photos
from tracker.app.clinic import clinic_now
from tracker.app.guidance import CAPTURE_TIPS, retake_advice
from tracker.app.photos import upload_photo
from tracker.app.today import expected_photo
from tracker.domain import PhotoKind, Role
from tracker.glossary import fmt_quality
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

now = clinic_now(ctx.settings)
starts = {s.number: s.at for s in sessions}
expected = expected_photo(starts, now)
default_number = expected.session if expected else sessions[0].number
default_kind = expected.kind if expected else PhotoKind.BEFORE
numbers = [s.number for s in sessions]
labels = {
    PhotoKind.BEFORE: "Before the session",
    PhotoKind.AFTER: "Right after",
    PhotoKind.CHECKIN: "Recovery check-in",
}
target = st.container()
with st.expander("Not today's photo? Choose the session"):
    left, right = st.columns(2)
    number = left.selectbox(
        "Session",
        numbers,
        index=numbers.index(default_number),
        format_func=lambda n: f"Session {n} · {starts[n]:%d %b %Y}",
        key="upload_session",
    )
    kinds = list(PhotoKind)
    kind = right.radio(
        "When",
        kinds,
        index=kinds.index(default_kind),
        format_func=lambda k: labels[k],
        key="upload_kind",
    )
if expected is not None and (number, kind) == (expected.session, expected.kind):
    target.markdown(f"**Today's {expected.what}**")
else:
    target.markdown(f"**{labels[kind]} · session {number}**")

st.markdown("Line your face up with the faint outline of your first photo:")
first = next((p for s in sessions for p in s.photos), None)
ghost = None
if first is not None:
    with Image.open(io.BytesIO(photos.photo_bytes(ctx, first.id, "display"))) as base:
        ghost = np.asarray(base.convert("RGB"))
shot = ghost_camera(ghost, key="ghost_camera")
if shot is not None:
    with error_boundary():
        data = decode_shot(shot, ctx.settings.max_upload_bytes)
        stamp = clinic_now(ctx.settings)
        st.session_state[CAMERA_KEY] = CameraPhoto(f"camera-{stamp:%Y%m%d-%H%M%S}.jpg", data)
pending = st.session_state.get(CAMERA_KEY)
waiting = st.empty()  # emptied once the picture is sent
if isinstance(pending, CameraPhoto):
    with waiting.container():
        st.image(pending.data, caption=f"{pending.name}: ready to upload", width=240)
        if st.button("Discard", key="camera_discard"):
            st.session_state.pop(CAMERA_KEY, None)
            st.rerun()

limit_mb = ctx.settings.max_upload_mb
with st.expander("Or choose photos saved on your phone", expanded=False):
    files = st.file_uploader(
        "Photos (JPEG, PNG, WebP or HEIC)",
        type=["jpg", "jpeg", "png", "webp", "heic", "heif"],
        accept_multiple_files=True,
        max_upload_size=limit_mb,
        key="upload_files",
    )
# Files stay in the picker after they are sent: only those not sent yet count, so a second
# tap on the button sends nothing twice (the service would refuse the duplicate anyway).
already_sent: set[str] = st.session_state.setdefault("upload_sent_ids", set())
fresh = [f for f in files or [] if f.file_id not in already_sent]
chosen = fresh + ([pending] if isinstance(pending, CameraPhoto) else [])
count = f"{len(chosen)} photo{'s' if len(chosen) != 1 else ''}" if chosen else "photos"
send = st.button(f"Send {count}", type="primary", disabled=not chosen, width="stretch", key="upload_go")
results = st.container()  # right under the button: where the client is looking

with st.expander("How to take a photo that can be measured"):
    for tip in CAPTURE_TIPS:
        st.markdown(f"- {tip}")

if send:
    if len(chosen) > ctx.settings.max_files_per_upload:
        results.error(f"Please upload at most {ctx.settings.max_files_per_upload} photos at a time.")
        st.stop()
    bar = results.progress(0.0, text="Uploading…")
    for i, item in enumerate(chosen):
        name = item.name or "camera.jpg"
        shown = md_escape(name)
        bar.progress(i / len(chosen), text=f"Checking and measuring {shown} ({i + 1} of {len(chosen)})…")
        try:
            done = upload_photo(ctx, actor.client_id, item.getvalue(), name, session_number=number, kind=kind)
        except Exception as exc:  # one file never loses the batch, and no traceback reaches the page
            said = notice_logged(exc)
            results.error(f"**{shown}** was not uploaded: {md_escape(said.text)}")
            continue
        outcome = done.analysis
        if outcome is None or not outcome.ok or outcome.analysis is None:
            results.warning(
                f"**{shown}** is saved, but could not be measured. Please retake it: "
                f"{md_escape(retake_advice([outcome.message] if outcome else []))}"
            )
            continue
        quality = outcome.analysis.quality
        if quality.usable_for_trends:
            results.success(f"**{shown}** saved and measured — photo quality {fmt_quality(quality.score)}.")
            st.toast(f"{shown} saved and measured.", icon=":material/check_circle:")
        else:
            results.warning(
                f"**{shown}** saved, but it is hard to measure (photo quality {fmt_quality(quality.score)}). "
                f"For a retake: {md_escape(retake_advice(quality.reasons))}"
            )
            st.toast(f"{shown} saved; a retake would help.", icon=":material/info:")
    already_sent.update(f.file_id for f in fresh)
    st.session_state.pop(CAMERA_KEY, None)  # sent (or refused with its reason shown)
    waiting.empty()
    bar.progress(1.0, text="Done")

show_photo_notice()
my_recent_uploads(ctx)  # a mistaken upload can be taken back here, right after the results
