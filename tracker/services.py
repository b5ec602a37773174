"""Use cases. Pages and the CLI call these; each one checks permissions, runs in one
transaction and writes an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from tracker import audit
from tracker.analysis import Outcome, analyze_photo
from tracker.bootstrap import App
from tracker.domain import Concern, Contraindication, PhotoKind, Role, infer_kind, pick_session_number
from tracker.errors import Refused
from tracker.ingest import Ingested, ingest
from tracker.permissions import Actor, require_client_access, require_staff
from tracker.progress.plans import default_plan
from tracker.store.blobs import sha256_hex
from tracker.store.models import Client, Clinic, Photo, TreatmentCourse, TreatmentSession, utcnow
from tracker.store.uow import UnitOfWork


class SameName(Refused):
    """A client of this name is already in the clinic: most often the same person added
    twice. The practitioner confirms before a second record is made."""


class SessionExists(Refused):
    """That session number is recorded already; changing it must be asked for."""


class IntakeRemoval(Refused):
    """Saving would take a recorded contraindication off the file; it must be asked for."""


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


# Clinics and clients ------------------------------------------------------------------------


def ensure_clinic(app: App, name: str, *, demo: bool = False) -> int:
    """The clinic of this name, created when missing (`demo` marks the demo's clinic)."""
    with app.uow() as uow:
        clinic = uow.repo.clinic_by_name(name)
        if clinic is not None and demo and not clinic.is_demo:
            clinic.is_demo = True
            uow.commit()
        if clinic is None:
            clinic = Clinic(name=name, is_demo=demo)
            uow.repo.add(clinic)
            uow.repo.flush()
            uow.repo.audit(
                actor="system",
                action="create",
                entity="clinic",
                entity_id=clinic.id,
                clinic_id=clinic.id,
            )
            uow.commit()
        return clinic.id


def demo_accounts_active(app: App) -> list[str]:
    """Emails of accounts that are switched on in a demo clinic. Their passwords are
    published, so a production server must not run while any exists."""
    with app.uow() as uow:
        return uow.repo.active_demo_emails()


def switch_off_demo_accounts(app: App) -> int:
    """Switch off every account of the demo clinics (and end their signed-in browsers)."""
    with app.uow() as uow:
        count = uow.repo.switch_off_demo_accounts()
        uow.repo.audit(
            actor="system",
            action="switch_off_demo_accounts",
            entity="user_account",
            entity_id=None,
            clinic_id=None,
        )
        uow.commit()
        return count


def find_client(app: App, actor: Actor, name: str) -> Client | None:
    """The client with this exact name in the actor's clinic; refuses when it is ambiguous."""
    require_staff(actor)
    with app.uow() as uow:
        matches = uow.repo.clients_named(actor.clinic_id, name)
        if len(matches) > 1:
            ids = ", ".join(f"#{c.id}" for c in matches)
            raise Refused(f"More than one client is called {name!r} ({ids}); use the client id.")
        return matches[0] if matches else None


def create_client(
    app: App,
    actor: Actor,
    name: str,
    *,
    date_of_birth: date | None = None,
    intake: dict[str, Any] | None = None,
    consent: dict[str, Any] | None = None,
    concern: Concern = Concern.OTHER,
    planned_sessions: int | None = None,
    interval_weeks: int | None = None,
    body_area: str = "",
    allow_same_name: bool = False,
) -> int:
    """A client and their first treatment course, with the concern's default plan unless
    the practitioner gives one. A name already in the clinic is refused (`SameName`) unless
    `allow_same_name`: a double click or a second visit must not make a second record."""
    plan = default_plan(concern)
    require_staff(actor)
    name = " ".join(name.split())
    if not name:
        raise Refused("A client needs a name.")
    with app.uow() as uow:
        same = uow.repo.clients_same_name(actor.clinic_id, name)
        if same and not allow_same_name:
            raise SameName(
                f"A client called {same[0].name} is already in the clinic "
                f"(added {same[0].created_at:%d %b %Y}). "
                "Open that client instead, or confirm that this is a different person."
            )
        client = Client(
            clinic_id=actor.clinic_id,
            name=name,
            date_of_birth=date_of_birth,
            intake=intake or {},
            consent=consent or {},
        )
        client.courses.append(
            TreatmentCourse(
                concern=concern,
                planned_sessions=planned_sessions or plan.planned_sessions,
                interval_weeks=interval_weeks or plan.interval_weeks,
                upkeep_interval_weeks=plan.upkeep_interval_weeks,
                body_area=body_area,
            )
        )
        uow.repo.add(client)
        uow.repo.flush()
        audit.record(uow, actor, "create", "client", client.id)
        uow.commit()
        return client.id


def record_session(
    app: App,
    actor: Actor,
    client_id: int,
    number: int,
    at: datetime,
    *,
    device: str = "",
    needle_depth_mm: float | None = None,
    passes: int | None = None,
    serum: str = "",
    price: Decimal | float | None = None,
    notes: str = "",
    practitioner_id: int | None = None,
    replace: bool = False,
) -> int:
    """Create session `number` of the client's current course, or, with `replace`, change
    the settings of that recorded session (without it a recorded session is refused with
    `SessionExists`, so a stale form can never overwrite one)."""
    require_staff(actor)
    if number < 1:
        raise Refused("Session numbers start at 1.")
    with app.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = _current_course(uow, client)
        session = uow.repo.session_by_number(course.id, number)
        action = "update"
        if session is not None and not replace:
            raise SessionExists(
                f"Session {number} is already recorded for {client.name} ({session.at:%d %b %Y}); "
                "confirm to change it, or pick the next session number."
            )
        if session is None:
            session = TreatmentSession(course_id=course.id, number=number, at=at)
            uow.repo.add(session)
            action = "create"
        session.at = at
        session.device = device
        session.needle_depth_mm = needle_depth_mm
        session.passes = passes
        session.serum = serum
        session.price = Decimal(str(price)) if price is not None else None
        session.notes = notes
        session.practitioner_id = practitioner_id
        uow.repo.flush()
        audit.record(uow, actor, action, "treatment_session", session.id)
        uow.commit()
        return session.id


def record_intake(
    app: App,
    actor: Actor,
    client_id: int,
    answers: list[Contraindication],
    notes: str = "",
    *,
    allow_removal: bool = False,
) -> list[Contraindication]:
    """Store the contraindication screening (design §1). Returns the answers that need a
    practitioner's review before treatment: every 'yes'. Taking a recorded contraindication
    off the file is refused (`IntakeRemoval`, naming it) unless `allow_removal`."""
    require_staff(actor)
    with app.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        removed = removed_contraindications(client.intake or {}, answers)
        if removed and not allow_removal:
            raise IntakeRemoval(
                "This would remove from the file: " + "; ".join(c.question for c in removed) + ". "
                "Confirm only if it no longer applies."
            )
        client.intake = {
            "contraindications": [a.value for a in answers],
            "notes": notes.strip(),
            "answered_at": utcnow().isoformat(timespec="seconds"),
            "recorded_by": actor.label,
        }
        audit.record(
            uow, actor, "record_intake", "client", client.id, detail={"yes": [a.value for a in answers]}
        )
        uow.commit()
    return list(answers)


def removed_contraindications(
    intake: dict[str, Any], answers: list[Contraindication]
) -> list[Contraindication]:
    """The recorded contraindications that `answers` would take off the file."""
    recorded = [Contraindication(v) for v in intake.get("contraindications", []) if v in _CONTRAINDICATIONS]
    return [c for c in recorded if c not in answers]


_CONTRAINDICATIONS = {c.value for c in Contraindication}


def client_intake(app: App, actor: Actor, client_id: int) -> dict[str, Any]:
    with app.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        return dict(client.intake or {})


# Photos -----------------------------------------------------------------------------------


def import_photo(
    app: App,
    actor: Actor,
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
    points at a missing file. The same pixels uploaded twice for a client are refused.
    """
    image = ingest(data, filename, app.limits)
    source = "given" if taken_at else ("exif" if image.taken_at else "upload")
    when = taken_at or image.taken_at or datetime.now().replace(microsecond=0)
    with app.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        original_key = sha256_hex(image.original)
        duplicate = uow.repo.photo_with_hash(client.id, original_key)
        if duplicate is not None:
            raise Refused(
                f"This photo was already uploaded (photo #{duplicate.id}, "
                f"taken {duplicate.taken_at:%Y-%m-%d %H:%M})."
            )
        course = _current_course(uow, client)
        session, created = _session_for(uow, actor, course, session_number, when, create_session)
        # A photo that opens a new session is its starting point: a before-photo.
        photo_kind = kind or (PhotoKind.BEFORE if created else infer_kind(session.at, when))

        app.blobs.put(image.original)
        display_key = app.blobs.put(image.display_jpeg)
        thumbnail_key = app.blobs.put(image.thumbnail_jpeg)

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
        uow.repo.add(photo)
        try:
            uow.repo.flush()
        except IntegrityError:  # the same photo sent twice at the same moment: one wins
            raise Refused("This photo was already uploaded (a moment ago, from another upload).") from None
        audit.record(
            uow,
            actor,
            "upload",
            "photo",
            photo.id,
            detail={"client_id": client.id, "file": image.filename, "sha256": original_key},
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
    outcome = analyze_photo(app, actor, imported.photo_id, image=image)
    return replace(imported, analysis=outcome)


def photo_bytes(app: App, actor: Actor, photo_id: int, variant: str = "display") -> bytes:
    """The stored bytes of one photo variant (original, display or thumbnail)."""
    with app.uow() as uow:
        photo = uow.session.get(Photo, photo_id)
        client = uow.repo.client(actor.clinic_id, photo.client_id) if photo else None
        require_client_access(actor, client)
        assert photo is not None
        key = photo.blob_keys[variant]
        if variant == "original":
            audit.record(uow, actor, "view_original", "photo", photo.id)
            uow.commit()
    return app.blobs.get(key)


def photo_size(app: App, actor: Actor, photo_id: int) -> tuple[int, int]:
    """(width, height) of the upright full-resolution photo."""
    with app.uow() as uow:
        photo = uow.session.get(Photo, photo_id)
        require_client_access(actor, uow.repo.client(actor.clinic_id, photo.client_id) if photo else None)
        assert photo is not None
        return photo.width, photo.height


# Overview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoRow:
    id: int
    kind: PhotoKind
    taken_at: datetime
    width: int
    height: int
    format: str
    status: str
    filename: str


@dataclass(frozen=True)
class SessionRow:
    number: int
    at: datetime
    device: str
    needle_depth_mm: float | None
    passes: int | None
    serum: str
    price: Decimal | None
    notes: str
    photos: list[PhotoRow]


@dataclass(frozen=True)
class ClientRow:
    id: int
    name: str
    skin_tone: str | None
    concern: Concern | None
    planned_sessions: int | None
    interval_weeks: int | None
    sessions: list[SessionRow]

    @property
    def photo_count(self) -> int:
        return sum(len(s.photos) for s in self.sessions)


def overview(app: App, actor: Actor) -> list[ClientRow]:
    """Every client the actor may see, with their sessions and photos."""
    with app.uow() as uow:
        clients = uow.repo.client_tree(actor.clinic_id)
        if actor.role is Role.CLIENT:
            clients = [c for c in clients if c.id == actor.client_id]
        return [_client_row(c) for c in clients]


def _client_row(client: Client) -> ClientRow:
    course = client.courses[-1] if client.courses else None
    sessions = [
        SessionRow(
            number=s.number,
            at=s.at,
            device=s.device,
            needle_depth_mm=s.needle_depth_mm,
            passes=s.passes,
            serum=s.serum,
            price=s.price,
            notes=s.notes or "",
            photos=[
                PhotoRow(
                    id=p.id,
                    kind=p.kind,
                    taken_at=p.taken_at,
                    width=p.width,
                    height=p.height,
                    format=p.original_format,
                    status=p.status,
                    filename=p.original_filename,
                )
                for p in s.photos
            ],
        )
        for s in (course.sessions if course else [])
    ]
    return ClientRow(
        id=client.id,
        name=client.name,
        skin_tone=client.skin_tone,
        concern=course.concern if course else None,
        planned_sessions=course.planned_sessions if course else None,
        interval_weeks=course.interval_weeks if course else None,
        sessions=sessions,
    )


# Helpers ----------------------------------------------------------------------------------


def _current_course(uow: UnitOfWork, client: Client) -> TreatmentCourse:
    course = uow.repo.current_course(client.id)
    if course is None:
        plan = default_plan(Concern.OTHER)
        course = TreatmentCourse(
            client_id=client.id,
            concern=Concern.OTHER,
            planned_sessions=plan.planned_sessions,
            interval_weeks=plan.interval_weeks,
        )
        uow.repo.add(course)
        uow.repo.flush()
    return course


def _session_for(
    uow: UnitOfWork,
    actor: Actor,
    course: TreatmentCourse,
    number: int | None,
    taken_at: datetime,
    create: bool,
) -> tuple[TreatmentSession, bool]:
    """The session a photo goes to, and whether it was created for it."""
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
    session = TreatmentSession(course_id=course.id, number=number, at=taken_at)
    uow.repo.add(session)
    uow.repo.flush()
    audit.record(uow, actor, "create", "treatment_session", session.id)
    return session, True
