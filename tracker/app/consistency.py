"""fsck: prove that every photo row has its blobs, intact, and that every blob is used.

Repairs never delete a valid photo: an orphan blob of unknown origin is moved to the
quarantine folder (restorable by hand), a missing or corrupt derivative is rebuilt from
an intact original, and a row whose original is gone is only reported, because nothing
can bring the original back and the row still carries the record of the visit.

Bytes nobody should keep are deleted, not quarantined: the files of a deletion that was
cut short (its rows queued them, tracker.app.records), files left in the store's temp
folder by a write that never finished (older than `temp_file_max_age_minutes`: no write
takes that long), and quarantined files older than `quarantine_days`. Each is a photo
of someone's face that no record holds any more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from tracker.app.records import delete_unused_blobs
from tracker.application import App
from tracker.errors import Refused
from tracker.ingest import ingest
from tracker.store import locks
from tracker.store.blobs import BlobCorrupt, BlobNotFound, get_verified, temp_files
from tracker.store.models import Photo


@dataclass
class Problem:
    # missing_blob | corrupt_blob | orphan_blob | recent_orphan_blob | deleted_blob |
    # stale_temp_file | expired_quarantine
    kind: str
    key: str
    photo_id: int | None = None
    variant: str | None = None
    repaired: str | None = None  # what --repair did, if anything

    def describe(self) -> str:
        where = f"photo {self.photo_id} {self.variant}" if self.photo_id else "no photo"
        if self.kind == "deleted_blob":
            where = "its rows were deleted"
        text = f"{self.kind}: {self.key[:12]}… ({where})"
        return f"{text} -> {self.repaired}" if self.repaired else text


@dataclass
class Report:
    photos: int = 0
    blobs: int = 0
    problems: list[Problem] = field(default_factory=list)
    quarantine_dir: str | None = None

    @property
    def consistent(self) -> bool:
        return all(p.repaired for p in self.problems)

    def to_json(self) -> dict[str, object]:
        return {
            "consistent": self.consistent,
            "photos": self.photos,
            "blobs": self.blobs,
            "problems": [asdict(p) for p in self.problems],
            "quarantine_dir": self.quarantine_dir,
        }


def check(app: App, *, repair: bool = False, min_age_seconds: int | None = None) -> Report:
    min_age = timedelta(
        seconds=app.settings.orphan_min_age_seconds if min_age_seconds is None else min_age_seconds
    )
    report = Report()
    referenced: set[str] = set()
    with app.uow() as uow:
        photos = uow.repo.all_photos()
        report.photos = len(photos)
        for photo in photos:
            for variant, key in photo.blob_keys.items():
                referenced.add(key)
                problem = _check_blob(app, photo.id, variant, key)
                if problem:
                    report.problems.append(problem)
        if repair:
            referenced |= _rebuild_derivatives(app, {p.id: p for p in photos}, report.problems)
            uow.commit()

    with app.uow() as uow:
        purge = set(uow.repo.blob_purges()) - referenced
    run = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    now = datetime.now(UTC)
    for info in list(app.blobs.iterate()):
        report.blobs += 1
        if info.key in referenced:
            continue
        if info.key in purge:  # a deletion cut short: finish it
            problem = Problem(kind="deleted_blob", key=info.key)
            report.problems.append(problem)
            continue
        problem = Problem(kind="orphan_blob", key=info.key)
        report.problems.append(problem)
        if not repair:
            continue
        if now - info.modified_at < min_age:
            problem.kind = "recent_orphan_blob"  # maybe an upload between blob write and commit
            continue
        where = _quarantine(app, run, info.key)
        if where is None:  # an upload began using it meanwhile: not an orphan after all
            report.problems.remove(problem)
            continue
        problem.repaired = f"moved to {where}"
        report.quarantine_dir = where
    if repair:
        delete_unused_blobs(app)  # every queued file: also copies and temp files
        for problem in report.problems:
            if problem.kind == "deleted_blob":
                problem.repaired = "deleted"
    _leftovers(app, report, repair, now)
    return report


def _quarantine(app: App, run: str, key: str) -> str | None:
    """Move one unused file to the quarantine, unless a photo refers to it by now; where it went.
    Decided under the key's lock, which an upload holds from before it writes the file
    until its row is committed (tracker/store/locks.py)."""
    with app.uow() as uow:
        locks.lock(uow.session, [key])
        if uow.repo.blob_in_use(key):
            return None
        where = app.quarantine.keep(run, key, app.blobs)
        uow.commit()
        return where


def _leftovers(app: App, report: Report, repair: bool, now: datetime) -> None:
    """Temp files no write is still making, and quarantined files kept long enough."""
    settings = app.settings
    stale_before = now - timedelta(minutes=settings.temp_file_max_age_minutes)
    for temp in temp_files(settings.blob_dir):
        if temp.modified_at >= stale_before:
            continue  # maybe a write in progress
        problem = Problem(kind="stale_temp_file", key=temp.key or temp.path.name)
        report.problems.append(problem)
        if repair:
            temp.path.unlink(missing_ok=True)
            problem.repaired = "removed"
    expired_before = now - timedelta(days=settings.quarantine_days)
    for entry in app.quarantine.entries():
        if entry.quarantined_at >= expired_before:
            continue
        problem = Problem(kind="expired_quarantine", key=entry.key)
        report.problems.append(problem)
        if repair:
            app.quarantine.remove(entry)
            problem.repaired = "removed"


def _check_blob(app: App, photo_id: int, variant: str, key: str) -> Problem | None:
    try:
        get_verified(app.blobs, key)
    except BlobNotFound:
        return Problem(kind="missing_blob", key=key, photo_id=photo_id, variant=variant)
    except BlobCorrupt:
        return Problem(kind="corrupt_blob", key=key, photo_id=photo_id, variant=variant)
    return None


def _rebuild_derivatives(app: App, by_id: dict[int, Photo], problems: list[Problem]) -> set[str]:
    """A display or thumbnail is a pure function of the original: make it again.
    Returns the keys written, which are referenced from now on."""
    written: set[str] = set()
    for problem in problems:
        if problem.variant not in ("display", "thumbnail") or problem.photo_id is None:
            continue
        photo = by_id[problem.photo_id]
        try:
            original = get_verified(app.blobs, photo.original_sha256)
            image = ingest(original, photo.original_filename, app.limits)
        except (BlobNotFound, BlobCorrupt, Refused):
            continue  # the original is gone too: nothing to rebuild from, report only
        data = image.display_jpeg if problem.variant == "display" else image.thumbnail_jpeg
        if problem.kind == "corrupt_blob":
            app.blobs.delete(problem.key)
        new_key = app.blobs.put(data)
        written.add(new_key)
        if new_key != problem.key:
            # Encoder output can differ between library versions: point the row at the
            # rebuilt file (same pixels, possibly different bytes).
            if problem.variant == "display":
                photo.display_sha256 = new_key
            else:
                photo.thumbnail_sha256 = new_key
        problem.repaired = f"rebuilt from the original as {new_key[:12]}…"
    return written
