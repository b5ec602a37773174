"""Photo management on the pages: staff re-tag, move or delete a photo from the review
timeline; a client deletes their own recent uploads while the clinic's window allows.

After a change the page reruns with a notice kept in the session (a notice shown in the
same run would vanish with the rerun that shows the new state)."""

from __future__ import annotations

import streamlit as st

from tracker.app import photo_admin, photos
from tracker.app.context import Context
from tracker.app.photo_admin import KIND_LABELS, MAX_REASON_CHARS, PhotoChanged
from tracker.domain import PhotoKind
from tracker.ui.errors import error_boundary
from tracker.ui.inline import jpeg_bytes_uri
from tracker.ui.text import md_escape

NOTICE_KEY = "photo_notice"


def show_photo_notice() -> None:
    """The outcome of the last photo change, once."""
    said = st.session_state.pop(NOTICE_KEY, None)
    if said:
        st.success(said)


def _done(changed: PhotoChanged) -> None:
    st.session_state[NOTICE_KEY] = changed.message
    st.rerun()


def staff_photo_actions(ctx: Context, photo_id: int, kind: str, session: int, sessions: list[int]) -> None:
    """Re-tag, move and delete for one photo of the timeline, in a popover under it."""
    with st.popover("Manage photo", key=f"manage_{photo_id}", width="stretch"):
        kinds = list(PhotoKind)
        new_kind = st.radio(
            "Taken",
            kinds,
            index=kinds.index(PhotoKind(kind)),
            format_func=lambda k: KIND_LABELS[k],
            horizontal=True,
            key=f"retag_kind_{photo_id}",
        )
        if st.button("Save kind", key=f"retag_{photo_id}", disabled=new_kind == PhotoKind(kind)):
            with error_boundary():
                _done(photo_admin.retag_photo(ctx, photo_id, new_kind))
        others = [n for n in sessions if n != session]
        if others:
            target = st.selectbox(
                "Move to session", others, format_func=lambda n: f"Session {n}", key=f"move_to_{photo_id}"
            )
            if st.button("Move", key=f"move_{photo_id}"):
                with error_boundary():
                    _done(photo_admin.move_photo(ctx, photo_id, int(target)))
        st.divider()
        reason = st.text_input(
            "Reason for deleting (kept in the audit log)",
            max_chars=MAX_REASON_CHARS,
            key=f"delete_reason_{photo_id}",
        )
        sure = st.checkbox("Delete this photo and its measurements for good", key=f"delete_sure_{photo_id}")
        if st.button("Delete photo", type="primary", key=f"delete_{photo_id}", disabled=not sure):
            with error_boundary():
                _done(photo_admin.delete_photo(ctx, photo_id, reason))


def my_recent_uploads(ctx: Context) -> None:
    """A client's own uploads they may still delete (the window is the clinic's setting)."""
    mine = photo_admin.recent_uploads(ctx)
    if not mine:
        return
    hours = ctx.settings.client_photo_delete_hours
    st.subheader("Your recent uploads")
    st.caption(f"Uploaded the wrong photo? You can delete it yourself for {hours:g} hours after uploading.")
    for upload in mine:
        with st.container(border=True):
            left, right = st.columns([1, 3], vertical_alignment="center")
            left.image(jpeg_bytes_uri(photos.photo_bytes(ctx, upload.photo_id, "thumbnail")), width=96)
            right.markdown(
                f"Session {upload.session_number} · {KIND_LABELS[upload.kind]} · "
                f"{upload.taken_at:%d %b %H:%M}  \n{md_escape(upload.filename)}"
            )
            asking = st.session_state.get("delete_asking") == upload.photo_id
            if not asking:
                if right.button("Delete", key=f"my_delete_{upload.photo_id}"):
                    st.session_state["delete_asking"] = upload.photo_id
                    st.rerun()
                continue
            right.warning("Delete this photo for good?")
            yes, no = right.columns(2)
            if yes.button("Yes, delete it", type="primary", key=f"my_delete_yes_{upload.photo_id}"):
                st.session_state.pop("delete_asking", None)
                with error_boundary():
                    _done(photo_admin.delete_photo(ctx, upload.photo_id))
            if no.button("Keep it", key=f"my_delete_no_{upload.photo_id}"):
                st.session_state.pop("delete_asking", None)
                st.rerun()
