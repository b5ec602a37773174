"""A client's whole record: export it (the right of access) and delete it completely
(rows and blobs), plus removing blobs no row uses any more.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from tracker.app import audit, client_view
from tracker.app.context import Context
from tracker.application import App
from tracker.domain import Consents, JsonObject, Role
from tracker.errors import Refused
from tracker.events import PhotoFilesDropped
from tracker.imaging.version import METRIC_VERSION
from tracker.permissions import PermissionDenied, require_client_access
from tracker.store import locks
from tracker.store.blobs import sha256_hex, temp_files
from tracker.store.db import forget_deleted
from tracker.store.models import Photo, TreatmentCourse, TreatmentSession, utcnow

EXPORT_FORMAT = "tracker-client-export/1"


_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "heif": "heic", "heic": "heic", "mpo": "jpg"}


@dataclass(frozen=True)
class Deletion:
    photos: int
    files_deleted: int
    files_kept: int  # still used by another client's photo (the same file uploaded twice)


def export_client(ctx: Context, client_id: int) -> tuple[str, bytes]:
    """(file name, zip bytes) of everything stored about one client."""
    out = io.BytesIO()
    filename = write_client_export(ctx, client_id, out)
    return filename, out.getvalue()


def write_client_export(ctx: Context, client_id: int, out: BinaryIO) -> str:
    """Write the zip into `out` one photo at a time (a client with hundreds of 12 MP photos
    never has to fit in memory); returns a suggested file name.

    Every photo is included whatever the consents say: this is the client's right of
    access to their own data, not a use of the photos for a purpose (the README says so).
    The client's own export leaves out what is the clinic's alone (tracker/app/client_view.py:
    practitioners' notes, session and intake notes, staff emails); the clinic's holds all."""
    app, actor = ctx.app, ctx.actor
    staff = actor.role is not Role.CLIENT
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        courses = uow.repo.courses_of(actor.clinic_id, client.id)
        photos = uow.repo.photos_of(actor.clinic_id, client.id)
        results = uow.repo.results_of(actor.clinic_id, client.id)
        notes = uow.repo.notes(actor.clinic_id, client.id) if staff else []
        consent = Consents.from_json(client.consent)
        record: JsonObject = {
            "format": EXPORT_FORMAT,
            "exported_at": utcnow().isoformat(timespec="seconds") + "Z",
            "exported_by": actor.label,
            "metric_version": METRIC_VERSION,
            "client": {
                "id": client.id,
                "name": client.name,
                "date_of_birth": client.date_of_birth.isoformat() if client.date_of_birth else None,
                "ita_deg": client.ita_deg,
                "skin_tone": client.skin_tone,
                "intake": client.intake if staff else client_view.intake_json(client.intake),
                "consent": (consent if staff else client_view.consents(consent, actor.label)).to_json(),
                "created_at": client.created_at.isoformat(timespec="seconds"),
            },
            "courses": [_course(c, staff=staff) for c in courses],
            "photos": [],
            "notes": [  # the practitioners' notes: staff only, so none in the client's own
                {"at": n.created_at.isoformat(timespec="seconds"), "author": n.author, "text": n.text}
                for n in notes
            ],
        }
        by_photo: dict[int, list[JsonObject]] = {}
        for r in results:
            by_photo.setdefault(r.photo_id, []).append(r.to_json())
        files: list[tuple[str, str]] = []
        for p in photos:
            name = f"photos/{p.id:06d}_{p.taken_at:%Y-%m-%d_%H%M}_{p.kind.value}.{_extension(p)}"
            files.append((name, p.original_sha256))
            record["photos"].append(
                {
                    "id": p.id,
                    "file": name,
                    "kind": p.kind.value,
                    "taken_at": p.taken_at.isoformat(timespec="seconds"),
                    "taken_at_source": p.taken_at_source,
                    "uploaded_as": p.original_filename,
                    "sha256": p.original_sha256,
                    "width": p.width,
                    "height": p.height,
                    "status": p.status.value,
                    "results": by_photo.get(p.id, []),
                }
            )
        audit.record(uow, actor, "export_client", "client", client.id, detail={"photos": len(photos)})
        uow.commit()
        safe = re.sub(r"[^A-Za-z0-9]+", "-", client.name).strip("-").lower() or "client"
        filename = f"{safe}-{client.id}-data-{utcnow():%Y%m%d}.zip"

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", _README_STAFF if staff else _README_CLIENT)
        for (name, key), entry in zip(files, record["photos"], strict=True):  # compressed already
            data = app.blobs.get(key)  # the photo itself, decrypted when the store is encrypted
            # The SHA-256 of the file she gets: an encrypted store's key is a keyed hash instead.
            entry["sha256"] = sha256_hex(data)
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_STORED)
            del data
        zf.writestr("client.json", json.dumps(record, ensure_ascii=False, indent=2, default=str))
    return filename


def delete_unused_blobs(app: App, keys: set[str] | None = None) -> tuple[int, int]:
    """Delete each queued file (`keys`: those of them; None: every one) that no photo row
    refers to any more, with its quarantined copies and what a crashed write left of it in
    the temp folder; (deleted, kept). The rows that stopped using the files queued them
    (`UnitOfWork.repo.queue_blob_purge`) in their own transaction, so a deletion cut short
    here is finished by the next call, or by fsck --repair."""
    deleted = kept = 0
    with app.uow() as uow:
        queued = set(uow.repo.blob_purges())
        todo = queued if keys is None else queued & keys
        locks.lock(uow.session, todo)  # no upload can start using one meanwhile
        for key in sorted(todo):
            if uow.repo.blob_in_use(key):
                kept += 1
                continue
            app.blobs.delete(key)
            deleted += 1
        app.quarantine.remove_keys(todo)
        for leftover in temp_files(app.settings.blob_dir):
            if leftover.key in todo:
                leftover.path.unlink(missing_ok=True)
        uow.repo.drop_blob_purges(todo)
        uow.commit()
    return deleted, kept


def delete_client(ctx: Context, client_id: int, typed_name: str) -> Deletion:
    """Delete one client completely: her rows, her photo files (with quarantined copies and
    temp files), and from the audit trail anything typed about her; the rows about her
    stay, by id ("deleted client 7"). Admins only; `typed_name` must be the client's name,
    as a guard against deleting the wrong person."""
    app, actor = ctx.app, ctx.actor
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can delete a client's data.")
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        # A name copied from the page may carry the invisible word joiner that keeps a
        # typed "www." from showing as a link (tracker/ui/text.py): not part of the name.
        if (typed_name or "").replace("\u2060", "").strip() != client.name.strip():
            raise Refused(f"Type the client's name exactly ({client.name}) to confirm the deletion.")
        photos = uow.repo.photo_blob_keys(actor.clinic_id, client.id)
        keys = {key for row in photos for key in row}
        accounts = uow.repo.client_accounts(actor.clinic_id, client.id)
        audit.forget_client(
            uow, actor.clinic_id, client.id, [email for _, email in accounts], [uid for uid, _ in accounts]
        )
        uow.repo.queue_blob_purge(keys)  # committed with the rows: fsck finishes a cut-short deletion
        uow.repo.delete_client_rows(actor.clinic_id, client.id)  # the database cascades
        audit.record(uow, actor, "delete_client", "client", client_id, detail={"photos": len(photos)})
        uow.emit(PhotoFilesDropped(frozenset(keys)))  # no copy of the pixels stays in memory
        uow.commit()

    deleted, kept = delete_unused_blobs(app, keys)
    forget_deleted(app.engine)
    return Deletion(photos=len(photos), files_deleted=deleted, files_kept=kept)


def _course(course: TreatmentCourse, *, staff: bool) -> JsonObject:
    return {
        "concern": course.concern.value,
        "planned_sessions": course.planned_sessions,
        "interval_weeks": course.interval_weeks,
        "upkeep_interval_weeks": course.upkeep_interval_weeks,
        "body_area": course.body_area,
        # as stored: None means the concern's default regions / a reference chosen automatically
        "treated_regions": course.treated_regions,
        "reference_regions": course.reference_regions,
        "sessions": [_session(s, staff=staff) for s in course.sessions],
    }


def _session(s: TreatmentSession, *, staff: bool) -> JsonObject:
    out: JsonObject = {
        "number": s.number,
        "at": s.at.isoformat(timespec="minutes"),
        "device": s.device,
        "needle_depth_mm": s.needle_depth_mm,
        "passes": s.passes,
        "serum": s.serum,
        "price": str(s.price) if s.price is not None else None,
        "client_rating": s.client_rating,
    }
    if staff:
        out["notes"] = s.notes  # the practitioner's, staff only
    return out


def _extension(photo: Photo) -> str:
    return _EXTENSIONS.get(photo.original_format.lower(), "bin")


_README_END = """photos/       every photo as stored: the uploaded file, with location data removed at upload

The photos are in this archive whatever was agreed about photos in reports or marketing:
it is the client's own copy of their data (the right of access), not a use of the photos.

Times are the clinic's local times as recorded, except exported_at (UTC).
"""

# The client's own export: what she told the clinic, her photos and measurements and her
# treatment; not the practitioners' working record (tracker/app/client_view.py).
_README_CLIENT = (
    """This archive holds your data as the clinic's recovery-photo tracker stores it.

client.json   your details, intake answers and consents, course and sessions, every
              photo's details and measurements (with the metric version that produced them)
"""
    + _README_END
    + """
Not included: the practitioners' own working notes (notes about you, session notes,
intake notes) and staff email addresses; an answer someone at the clinic recorded for
you says "by the clinic". Ask the clinic if you would like a copy of those as well.
"""
)
# The clinic's export (admin page, command line) holds everything, staff-only text included.
_README_STAFF = (
    """This archive holds everything the recovery-photo tracker stored about one client.

client.json   the client record, intake and consent, course and sessions, every photo's
              details and measurements (with the metric version that produced them), and
              the staff-only text: the practitioners' notes ("notes"), session notes and
              intake notes, with staff email addresses. The client's own export (My
              account) leaves those out: check them before handing this copy over.
"""
    + _README_END
)
