"""Photo management: delete a photo, re-tag its kind, move it to another session.

Staff may do all three for any client of their clinic (a deletion needs a reason, for the
audit log). A client may delete a photo they uploaded themselves, but only for
`client_photo_delete_hours` after uploading it: long enough to take back a mistake (someone
else's skin, the wrong body area), short enough that the clinical record then stays as
the clinic saw it. The same rule takes back an upload the server refused after storing it
(over the upload limits), so there is one way a photo leaves the record.

A change that touches the photo the series counts from (its baseline) chooses the baseline
again (the earliest before-photo of the earliest session) and measures the whole series
again through the re-measure queue: the zones, scale and texture limits were facts of the
old baseline's pixels, so they are found again on the new one, and no result is left
registered to a photo that is gone or no longer a starting point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.app import audit
from tracker.app.context import Context, one_publication
from tracker.app.records import delete_unused_blobs
from tracker.domain import PhotoKind, Role
from tracker.errors import Refused
from tracker.events import ClientInputsChanged, PhotoFilesDropped
from tracker.permissions import Actor, PermissionDenied, require_client_access, require_staff
from tracker.store import photo_admin as sql
from tracker.store.models import Photo, utcnow
from tracker.store.uow import UnitOfWork
from tracker.text_rules import checked_text

MAX_REASON_CHARS = 500
KIND_LABELS = {PhotoKind.BEFORE: "before", PhotoKind.AFTER: "after", PhotoKind.CHECKIN: "check-in"}


@dataclass(frozen=True)
class PhotoChanged:
    """What a change did, for the page to say."""

    photo_id: int
    message: str
    new_baseline: bool  # the series counts from another photo now and is being re-measured
    files_deleted: int = 0


@dataclass(frozen=True)
class RecentUpload:
    """A client's own upload, still inside the window in which they may delete it."""

    photo_id: int
    session_number: int
    kind: PhotoKind
    taken_at: datetime
    filename: str
    deletable_until: datetime  # UTC


@one_publication
def delete_photo(ctx: Context, photo_id: int, reason: str = "", *, undo_upload: bool = False) -> PhotoChanged:
    """Delete one photo: its row, its results and (when no other photo uses them) its files.

    Staff must give a reason. A client may delete their own upload inside the window, with
    or without a reason; `undo_upload` is the server taking back an upload it refused after
    storing it (the uploader's own photo, whatever the window)."""
    app, actor = ctx.app, ctx.actor
    reason = " ".join(checked_text((reason or "").strip(), "The reason", multiline=True).split())
    if len(reason) > MAX_REASON_CHARS:
        raise Refused(f"Please keep the reason under {MAX_REASON_CHARS} characters.")
    with ctx.uow() as uow:
        photo, client_id = _photo(uow, actor, photo_id)
        if actor.role is Role.CLIENT:
            _check_client_may_delete(ctx, photo, undo_upload)
        else:
            require_staff(actor)
            if not reason:
                raise Refused("Give a reason for deleting this photo: it is kept in the audit log.")
        course_id = uow.repo.course_id_of_session(photo.session_id)
        keys = set(photo.blob_keys.values())
        detail = {**_facts(photo), "reason": reason, "client_id": client_id}
        uow.repo.delete_photo(actor.clinic_id, photo.id)  # results cascade; the series may lose its baseline
        action = "discard_upload" if undo_upload else "delete_photo"
        audit.record(uow, actor, action, "photo", photo_id, detail=detail)
        rebased = course_id is not None and _settle_baseline(uow, actor, course_id, photo_id)
        # Bulk SQL, which the unit of work does not see: say what changed.
        uow.emit(ClientInputsChanged(actor.clinic_id, client_id))
        uow.emit(PhotoFilesDropped(frozenset(keys)))
        uow.repo.queue_blob_purge(keys)  # committed with the row: fsck finishes a cut-short deletion
        uow.commit()
    deleted, _kept = delete_unused_blobs(app, keys)
    return PhotoChanged(photo_id, "Photo deleted." + _rebased_note(rebased), rebased, deleted)


@one_publication
def retag_photo(ctx: Context, photo_id: int, kind: PhotoKind) -> PhotoChanged:
    """Staff: say when a photo was taken relative to its session (before, after, check-in)."""
    actor = ctx.actor
    require_staff(actor)
    kind = PhotoKind(kind)
    with ctx.uow() as uow:
        photo, _client_id = _photo(uow, actor, photo_id)
        if photo.kind is kind:
            raise Refused(f"This photo is already tagged “{KIND_LABELS[kind]}”.")
        detail = {**_facts(photo), "new_kind": kind.value}
        photo.kind = kind
        uow.repo.flush()
        audit.record(uow, actor, "retag_photo", "photo", photo.id, detail=detail)
        course_id = uow.repo.course_id_of_session(photo.session_id)
        rebased = course_id is not None and _settle_baseline(uow, actor, course_id, photo.id)
        uow.commit()
    return PhotoChanged(photo_id, f"Photo re-tagged “{KIND_LABELS[kind]}”." + _rebased_note(rebased), rebased)


@one_publication
def move_photo(ctx: Context, photo_id: int, session_number: int) -> PhotoChanged:
    """Staff: put a photo under another session of the same course (it was filed under
    the wrong one). Its kind and capture time stay as they are."""
    actor = ctx.actor
    require_staff(actor)
    with ctx.uow() as uow:
        photo, _client_id = _photo(uow, actor, photo_id)
        course_id = uow.repo.course_id_of_session(photo.session_id)
        assert course_id is not None
        target = uow.repo.session_by_number(course_id, int(session_number))
        if target is None:
            raise Refused(f"Session {session_number} has not been recorded for this client's course.")
        if target.id == photo.session_id:
            raise Refused(f"This photo is already under session {session_number}.")
        detail = {**_facts(photo), "new_session": target.number}
        photo.session_id = target.id
        uow.repo.flush()
        audit.record(uow, actor, "move_photo", "photo", photo.id, detail=detail)
        rebased = _settle_baseline(uow, actor, course_id, photo.id)
        uow.commit()
    return PhotoChanged(
        photo_id, f"Photo moved to session {session_number}." + _rebased_note(rebased), rebased
    )


def recent_uploads(ctx: Context) -> list[RecentUpload]:
    """A client's own uploads that they may still delete, newest first (none for staff)."""
    app, actor = ctx.app, ctx.actor
    hours = app.settings.client_photo_delete_hours
    ctx.require_account()  # a switched-off account learns nothing, not even "none"
    if actor.role is not Role.CLIENT or actor.client_id is None or actor.user_id is None or hours <= 0:
        return []
    window = timedelta(hours=hours)
    with ctx.uow() as uow:
        require_client_access(actor, uow.repo.client(actor.clinic_id, actor.client_id))
        rows = sql.uploads_since(
            uow.session, actor.clinic_id, actor.client_id, actor.user_id, utcnow() - window
        )
        return [
            RecentUpload(
                photo_id=p.id,
                session_number=number,
                kind=p.kind,
                taken_at=p.taken_at,
                filename=p.original_filename,
                deletable_until=p.created_at + window,
            )
            for p, number in rows
        ]


# Helpers ------------------------------------------------------------------------------------


def _photo(uow: UnitOfWork, actor: Actor, photo_id: int) -> tuple[Photo, int]:
    photo = uow.repo.photo(actor.clinic_id, photo_id)
    client = require_client_access(
        actor, uow.repo.client(actor.clinic_id, photo.client_id) if photo else None
    )
    assert photo is not None
    return photo, client.id


def _check_client_may_delete(ctx: Context, photo: Photo, undo_upload: bool) -> None:
    actor = ctx.actor
    ask = "Please ask the clinic to delete it" + _clinic_contact(ctx) + "."
    if actor.user_id is None or photo.uploader_id != actor.user_id:
        raise PermissionDenied(f"You can delete only photos you uploaded yourself. {ask}")
    if undo_upload:
        return
    hours = ctx.settings.client_photo_delete_hours
    if utcnow() - photo.created_at > timedelta(hours=hours):
        window = f"within {hours:g} hours of uploading them" if hours > 0 else "by the clinic"
        raise PermissionDenied(f"Photos can be deleted only {window}. {ask}")


def _clinic_contact(ctx: Context) -> str:
    settings = ctx.settings
    ways = [w for w in (settings.clinic_phone, settings.clinic_email) if w]
    return f" ({' or '.join(ways)})" if ways else ""


def _facts(photo: Photo) -> dict[str, str | int]:
    """What the audit log keeps of a photo that changes or goes: enough to know which one
    (with the row's photo id), never the file's name or hash (audit.py)."""
    treatment = photo.session  # the photo's treatment session (a row, not the database session)
    return {
        "session": treatment.number,
        "kind": photo.kind.value,
        "taken_at": photo.taken_at.isoformat(timespec="minutes"),
    }


def _settle_baseline(uow: UnitOfWork, actor: Actor, course_id: int, changed_id: int) -> bool:
    """After `changed_id` was deleted, re-tagged or moved: if it was (or is now) the photo the
    series counts from, choose the baseline again; when it changes, forget the facts found
    on the old one and queue the series to be measured again. Returns whether it changed."""
    series = uow.repo.series_of_course(actor.clinic_id, course_id)
    if series is None:
        return False
    uow.repo.flush()
    if series.baseline_photo_id not in (None, changed_id):
        return False  # the baseline was not touched: every result still counts from it
    best = sql.first_photo(uow.session, actor.clinic_id, course_id)
    if best is not None and best == series.baseline_photo_id:
        return False
    old = series.baseline_photo_id
    series.baseline_photo_id = best
    # Facts of the old baseline's pixels: found again on the new one by the re-measure.
    series.zones = None
    series.px_per_mm = None
    series.px_per_mm_source = ""
    series.glcm_limits = None
    audit.record(
        uow, actor, "set_baseline", "photo_series", series.id, detail={"from_photo": old, "to_photo": best}
    )
    if best is None:
        return False  # no photo left: the next upload starts the series afresh
    uow.repo.queue_remeasure(actor.clinic_id, course_id, skip=set())
    return True


def _rebased_note(rebased: bool) -> str:
    if not rebased:
        return ""
    return (
        " The course now counts from another starting photo: its photos are being measured again, "
        "with zones found automatically (redraw them in the Zones tab if you had drawn them)."
    )
