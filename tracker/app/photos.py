"""Photos in and out: import (validate, store, record), the app's upload in a limited
child process, the stored bytes and aligned before/after pairs.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field, replace
from datetime import datetime

import cv2
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from PIL import Image

from tracker.app import audit, measurements, photo_admin
from tracker.app.clinic import clinic_now
from tracker.app.consent import refuse_photos_without_care_consent
from tracker.app.context import Context, one_publication
from tracker.app.courses import ContraindicationOnFile, current_course, unresolved_contraindications
from tracker.app.kept_pairs import KEPT as KEPT_PAIRS
from tracker.app.measurements import Outcome, analyze_photo
from tracker.application import App
from tracker.bootstrap import open_app
from tracker.config import Settings
from tracker.domain import PhotoKind, infer_kind, pick_session_number
from tracker.errors import Refused
from tracker.events import ClientInputsChanged
from tracker.imaging.maps import MapImage, difference_map, redness_map
from tracker.imaging.registration import compose_affine, invert_affine, register
from tracker.ingest import Ingested, ingest
from tracker.permissions import Actor, require_client_access, require_staff
from tracker.store import locks
from tracker.store.models import Client, Photo, TreatmentCourse, TreatmentSession
from tracker.store.uow import DuplicatePhoto, NameTaken, UnitOfWork
from tracker.worker import OverLimit, Report, WorkLimits, import_cost, memory_budget, run_limited


@dataclass(frozen=True)
class Imported:
    photo_id: int
    client_id: int
    session_number: int
    kind: PhotoKind
    taken_at: datetime
    taken_at_source: str
    width: int
    height: int
    ingested: Ingested | None  # the decode, so analysis can reuse it (None once sent between processes)
    analysis: Outcome | None = None


@one_publication
def import_photo(
    ctx: Context,
    client_id: int,
    data: bytes,
    filename: str,
    *,
    session_number: int | None = None,
    kind: PhotoKind | None = None,
    taken_at: datetime | None = None,
    create_session: bool = False,
    analyse: bool = True,
) -> Imported:
    """Validate, store and record one photo, or raise Refused and store nothing.

    Blobs are written before the row and the row is committed last, so a crash at any
    point leaves at worst unreferenced blobs (which fsck quarantines), never a row that
    points at a missing file. The same pixels uploaded twice for a client are refused, and
    so is any photo of a client who withdrew consent to photos for their care.
    """
    app, actor = ctx.app, ctx.actor
    image = ingest(data, filename, app.limits)
    source = "given" if taken_at else ("exif" if image.taken_at else "upload")
    when = taken_at or image.taken_at or clinic_now(app.settings)  # the clinic's wall clock
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        refuse_photos_without_care_consent(client)
        original_key = app.blobs.address(image.original)
        duplicate = uow.repo.photo_with_hash(client.id, original_key)
        if duplicate is not None:
            raise Refused(
                f"This photo was already uploaded (photo #{duplicate.id}, "
                f"taken {duplicate.taken_at:%Y-%m-%d %H:%M})."
            )
        course = current_course(uow, client)
        session, created = _session_for(uow, actor, client, course, session_number, when, create_session)
        # A photo that opens a new session is its starting point: a before-photo.
        photo_kind = kind or (PhotoKind.BEFORE if created else infer_kind(session.at, when))

        display_key = app.blobs.address(image.display_jpeg)
        thumbnail_key = app.blobs.address(image.thumbnail_jpeg)
        # Held until the row is committed: fsck or a deletion cannot remove a file this
        # photo is about to refer to, even one already stored (tracker/store/locks.py).
        locks.lock(uow.session, {original_key, display_key, thumbnail_key})
        for blob in (image.original, image.display_jpeg, image.thumbnail_jpeg):
            app.blobs.put(blob)

        photo = Photo(
            client_id=client.id,
            session_id=session.id,
            kind=photo_kind,
            taken_at=when,
            taken_at_source=source,
            body_area=course.body_area,
            uploader_id=actor.user_id,
            original_filename=image.filename,
            original_format=image.format.value,
            original_size=len(image.original),
            original_sha256=original_key,
            display_sha256=display_key,
            thumbnail_sha256=thumbnail_key,
            width=image.width,
            height=image.height,
            icc_profile=image.icc_profile[:200],
        )
        try:
            uow.repo.add_photo(photo)
        except DuplicatePhoto:  # the same photo sent twice at the same moment: one wins
            raise Refused("This photo was already uploaded (a moment ago, from another upload).") from None
        audit.record(
            uow,
            actor,
            "upload",
            "photo",
            photo.id,
            detail={"client_id": client.id, "session": session.number},  # no file name or hash (audit.py)
        )
        uow.commit()
        imported = Imported(
            photo_id=photo.id,
            client_id=client.id,
            session_number=session.number,
            kind=photo_kind,
            taken_at=when,
            taken_at_source=source,
            width=image.width,
            height=image.height,
            ingested=image,
        )
    if not analyse:
        return imported
    # Measured straight away, reusing this decode. A failed analysis is recorded on the
    # photo and never undoes the upload.
    outcome = analyze_photo(ctx, imported.photo_id, image=image)
    return replace(imported, analysis=outcome)


def photo_bytes(ctx: Context, photo_id: int, variant: str = "display") -> bytes:
    """The stored bytes of one photo variant (original, display or thumbnail)."""
    app, actor = ctx.app, ctx.actor
    with ctx.uow() as uow:
        photo = uow.repo.photo(actor.clinic_id, photo_id)
        client = uow.repo.client(actor.clinic_id, photo.client_id) if photo else None
        require_client_access(actor, client)
        assert photo is not None
        key = photo.blob_keys[variant]
        if variant == "original":
            audit.record(uow, actor, "view_original", "photo", photo.id)
            uow.commit()
    return app.blobs.get(key)


def photo_size(ctx: Context, photo_id: int) -> tuple[int, int]:
    """(width, height) of the upright full-resolution photo."""
    actor = ctx.actor
    with ctx.uow() as uow:
        photo = uow.repo.photo(actor.clinic_id, photo_id)
        require_client_access(actor, uow.repo.client(actor.clinic_id, photo.client_id) if photo else None)
        assert photo is not None
        return photo.width, photo.height


class SessionTaken(Refused):
    """Two imports created the same new session at once; the loser stored nothing and may
    simply try again (the session exists now)."""


def _session_for(
    uow: UnitOfWork,
    actor: Actor,
    client: Client,
    course: TreatmentCourse,
    number: int | None,
    taken_at: datetime,
    create: bool,
) -> tuple[TreatmentSession, bool]:
    """The session a photo goes to, and whether it was created for it. A session is not
    created for a client with a contraindication on the intake: treating them is decided,
    with a reason, when the session is recorded (courses.record_session)."""
    if number is None:
        number = pick_session_number({s.number: s.at for s in course.sessions}, taken_at) or 1
    session = uow.repo.session_by_number(course.id, number)
    if session is not None:
        return session, False
    if not create:
        raise Refused(f"Session {number} has not been recorded yet for this client.")
    require_staff(actor)
    if number < 1:
        raise Refused("Session numbers start at 1.")
    on_file = unresolved_contraindications(uow, client)
    if on_file:
        raise ContraindicationOnFile(
            f"Session {number} is not recorded yet, and {client.name} has a contraindication on the "
            f"intake ({'; '.join(c.question for c in on_file)}): record the session first, with the "
            "reason for treating anyway.",
            on_file,
        )
    session = TreatmentSession(course_id=course.id, number=number, at=taken_at)
    try:
        uow.repo.add_session(session)
    except NameTaken:
        raise SessionTaken(
            f"Session {number} was being added by another upload at the same moment: nothing was "
            "stored; send the photo again."
        ) from None
    audit.record(uow, actor, "create", "treatment_session", session.id)
    return session, True


def upload_photo(
    ctx: Context,
    client_id: int,
    data: bytes,
    filename: str,
    *,
    session_number: int | None = None,
    kind: PhotoKind | None = None,
) -> Imported:
    """Import one uploaded file under the configured CPU, memory and time limits, or raise
    Rejected (OverLimit when a limit was met) having stored nothing."""
    app, actor = ctx.app, ctx.actor
    with ctx.uow() as uow:  # said at once, before a child process decodes the file
        refuse_photos_without_care_consent(
            require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        )
    stored: list[int] = []
    settings = app.settings
    try:
        # Its share of the process's import memory first (tracker.worker.MemoryBudget).
        with memory_budget(settings).reserve(
            import_cost(data, settings.max_pixels), settings.import_budget_wait_seconds
        ):
            imported: Imported = run_limited(
                _import_in_child,
                (settings.to_json(), actor, client_id, data, filename, session_number, kind),
                WorkLimits.from_settings(settings),
                on_report=stored.append,
            )
    except OverLimit:
        for photo_id in stored:  # stored, then ended while being measured: take it out again
            photo_admin.delete_photo(ctx, photo_id, "over the upload limits", undo_upload=True)
        raise
    # The child ran no handlers (their time must not count against its limits): run them here.
    app.publish([ClientInputsChanged(actor.clinic_id, imported.client_id)])
    return imported


def _import_in_child(
    settings_json: str,
    actor: Actor,
    client_id: int,
    data: bytes,
    filename: str,
    session_number: int | None,
    kind: PhotoKind | None,
    report: Report,
) -> Imported:
    app = open_app(Settings.model_validate_json(settings_json), migrate=False)
    app.handlers = {}  # upload_photo runs them in the parent
    try:
        imported = import_photo(
            Context(app, actor),
            client_id,
            data,
            filename,
            session_number=session_number,
            kind=kind,
            analyse=False,
        )
        report(imported.photo_id)
        outcome = analyze_photo(Context(app, actor), imported.photo_id, image=imported.ingested)
        return replace(imported, ingested=None, analysis=outcome)  # the pixels stay in the child
    finally:
        app.close()


U8 = NDArray[np.uint8]
_SAME_PLACE = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class AlignedPair:
    """Two photos' display copies, the second warped onto the first, so that every view of
    them (slider, side by side, maps) compares the same skin pixel by pixel. `ok` says
    whether the alignment is trustworthy (both registrations succeeded); `covered` is where
    the warped second photo has pixels of its own (elsewhere it is a flat fill)."""

    first: U8
    second: U8
    ok: bool
    covered: NDArray[np.bool_] | None = None
    # The maps, made once when first asked for: a kept pair is shown again and again.
    _maps: dict[str, MapImage] = field(default_factory=dict, compare=False, repr=False)

    def redness_map(self) -> MapImage:
        if "redness" not in self._maps:
            self._maps["redness"] = redness_map(self.second, None, valid=self.covered)
        return self._maps["redness"]

    def difference_map(self) -> MapImage:
        # The second photo is aligned already, so the two share one frame.
        if "difference" not in self._maps:
            self._maps["difference"] = difference_map(
                self.first, self.second, _SAME_PLACE, None, valid=self.covered
            )
        return self._maps["difference"]

    @property
    def size_bytes(self) -> int:
        """Its memory with both maps made (each about the size of one photo)."""
        covered = self.covered.nbytes if self.covered is not None else 0
        return self.first.nbytes + 3 * self.second.nbytes + covered

    def cropped(self) -> tuple[U8, U8]:
        """Both photos cut to the same rectangle, one the second photo covers whole: the
        pair framed alike, with no fill at the edges (for the report)."""
        if self.covered is None or not self.covered.any():
            return self.first, self.second
        top, bottom, left, right = _inner_box(self.covered)
        return self.first[top:bottom, left:right], self.second[top:bottom, left:right]


def _inner_box(covered: NDArray[np.bool_]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a rectangle inside `covered`: rows and columns are
    trimmed from whichever side has the most uncovered pixels until none is left. A warp
    is a rotated, scaled rectangle, so a few steps are enough."""
    top, bottom, left, right = 0, covered.shape[0], 0, covered.shape[1]
    while bottom - top > 8 and right - left > 8:
        box = covered[top:bottom, left:right]
        missing = {
            "top": int((~box[0]).sum()) / box.shape[1],
            "bottom": int((~box[-1]).sum()) / box.shape[1],
            "left": int((~box[:, 0]).sum()) / box.shape[0],
            "right": int((~box[:, -1]).sum()) / box.shape[0],
        }
        side = max(missing, key=lambda k: missing[k])
        if missing[side] == 0:
            break
        step = max(1, round(0.01 * max(box.shape)))
        if side == "top":
            top += step
        elif side == "bottom":
            bottom -= step
        elif side == "left":
            left += step
        else:
            right -= step
    return top, bottom, left, right


def default_comparison(table: pd.DataFrame) -> tuple[int, int] | None:
    """(first, second) photo ids a comparison opens with: the baseline session's
    before-photo against the latest usable before-photo (quality good enough for trends),
    not the latest photo of any kind (often a day-7 check-in, or an unusable upload). None
    when there is no usable before-photo other than the first one."""
    if table.empty:
        return None
    befores = table[table["kind"] == PhotoKind.BEFORE.value]
    if befores.empty:
        return None
    first_session = befores[befores["session"] == befores["session"].min()]
    usable_first = first_session[first_session["usable"]]
    first = int((usable_first if not usable_first.empty else first_session)["photo_id"].iloc[0])
    later = befores[befores["usable"] & (befores["photo_id"] != first)]
    if later.empty:
        return None
    return first, int(later["photo_id"].iloc[-1])


# How many pairs were aligned rather than found kept (tracker/app/kept_pairs.py says why
# they are kept): what the tests and the benchmark count.
pairs_aligned = 0


def aligned_pair(ctx: Context, first_id: int, second_id: int) -> AlignedPair:
    """Display copies of both photos, the second warped onto the first. Kept per photo pair
    and result (settings.compare_cache_mb): the same pair asked for again, by anyone who may
    see both photos, is not aligned again until a photo or its result changes."""
    global pairs_aligned
    first_facts = _pair_facts(ctx, first_id)  # the permission check, before anything is kept
    second_facts = _pair_facts(ctx, second_id)
    key = (str(ctx.settings.data_dir), first_facts, second_facts)
    kept = KEPT_PAIRS.get(key)
    if isinstance(kept, AlignedPair):
        return kept
    pair = _align(ctx, first_id, second_id)
    pairs_aligned += 1
    for array in (pair.first, pair.second, pair.covered):
        if array is not None:
            array.setflags(write=False)  # shared between sessions: nobody may change it
    limit = ctx.settings.compare_cache_mb * 2**20
    KEPT_PAIRS.put(key, pair, pair.size_bytes, frozenset((first_facts[1], second_facts[1])), limit)
    return pair


def _pair_facts(ctx: Context, photo_id: int) -> tuple[int, str, int, int, str]:
    """What a pair made with this photo depends on: its display file and full size, and a
    digest of its latest result's registration (refused unless the actor may see it)."""
    actor = ctx.actor
    with ctx.uow() as uow:
        photo = uow.repo.photo(actor.clinic_id, photo_id)
        require_client_access(actor, uow.repo.client(actor.clinic_id, photo.client_id) if photo else None)
        assert photo is not None
        row = uow.repo.latest_result(actor.clinic_id, photo.id)
        made_of = [row.metric_version, row.registration, (row.zones or {}).get("source")] if row else None
        digest = hashlib.sha256(json.dumps(made_of, sort_keys=True, default=str).encode()).hexdigest()
        return photo.id, photo.display_sha256, photo.width, photo.height, digest


def _align(ctx: Context, first_id: int, second_id: int) -> AlignedPair:
    app, actor = ctx.app, ctx.actor
    first = _display(app, actor, first_id)
    second = _display(app, actor, second_id)
    m_first, ok_first, full_first = _to_baseline(app, actor, first_id)
    m_second, ok_second, full_second = _to_baseline(app, actor, second_id)
    ok = ok_first and ok_second
    if ok:
        # second px → baseline px → first px at full resolution, then in display pixels
        full = compose_affine(invert_affine(m_first), m_second)
        display_matrix = np.asarray(full, dtype=np.float64).copy()
        display_matrix[:, :2] *= full_second[0] / second.shape[1]
        display_matrix *= first.shape[1] / full_first[0]
    else:
        reg = register(first, second)  # display copies directly
        ok, display_matrix = reg.ok, np.asarray(reg.matrix, dtype=np.float64)
    size = (first.shape[1], first.shape[0])
    warped = cv2.warpAffine(second, display_matrix, size, flags=cv2.INTER_LINEAR, borderValue=(240, 240, 240))
    inside = np.full(second.shape[:2], 255, np.uint8)
    covered = cv2.warpAffine(inside, display_matrix, size, flags=cv2.INTER_LINEAR) >= 255
    return AlignedPair(first, np.asarray(warped), ok, np.asarray(covered))


def _display(app: App, actor: Actor, photo_id: int) -> U8:
    with Image.open(io.BytesIO(photo_bytes(Context(app, actor), photo_id, "display"))) as img:
        return np.asarray(img.convert("RGB"))


def _to_baseline(app: App, actor: Actor, photo_id: int) -> tuple[NDArray[np.float64], bool, tuple[int, int]]:
    result = measurements.latest_result(Context(app, actor), photo_id)
    size = photo_size(Context(app, actor), photo_id)
    reg = result.registration if result is not None else None
    if reg is None:  # the baseline itself (or a photo analysed without a series)
        identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        return identity, result is None or result.zones.source != "series", size
    return np.asarray(reg.matrix, dtype=np.float64), reg.ok, size
