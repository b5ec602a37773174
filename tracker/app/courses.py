"""Clients, their treatment courses, sessions, intake and treated regions: the
records a course of micro-needling is followed on.

The `import x as x` lines name the values the edges use with these use cases (regions,
plans, the progress result), so that pages import only tracker.app.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tracker.app import audit, client_view
from tracker.app.clinic import clinic_today
from tracker.app.consent import store_consents
from tracker.app.context import Context, one_publication
from tracker.app.measurements import reanalyze_series
from tracker.application import App
from tracker.domain import (
    Concern,
    ConsentFlag,
    Contraindication,
    FaceRegion,
    Intake,
    JsonObject,
    PhotoKind,
    Role,
)
from tracker.errors import Refused
from tracker.imaging.colour import ita_group as ita_group
from tracker.permissions import PermissionDenied, require_client_access, require_staff
from tracker.progress.assessment import SUMMARY_METRICS as SUMMARY_METRICS
from tracker.progress.assessment import CourseProgress as CourseProgress
from tracker.progress.assessment import assess
from tracker.progress.flags import contraindication_key
from tracker.progress.plans import CoursePlan, validate_plan
from tracker.progress.plans import default_plan as default_plan
from tracker.progress.series import METRICS as METRICS
from tracker.regions import Regions as Regions
from tracker.regions import default_treated as default_treated
from tracker.regions import in_order as in_order
from tracker.regions import no_reference_reason as no_reference_reason
from tracker.regions import parse, regions_for, unknown_names
from tracker.store import flag_reviews, queries
from tracker.store.models import Client, Clinic, TreatmentCourse, TreatmentSession, utcnow
from tracker.store.queries import course_facts
from tracker.store.uow import NameTaken, UnitOfWork
from tracker.text_rules import checked_text


class SameName(Refused):
    """A client of this name is already in the clinic: most often the same person added
    twice. The practitioner confirms before a second record is made. `client_id` is the
    client who has the name (a command importing "for this name" goes on with them)."""

    def __init__(self, message: str = "", client_id: int | None = None) -> None:
        super().__init__(message)
        self.client_id = client_id


class SessionExists(Refused):
    """That session number is recorded already; changing it must be asked for."""


class IntakeRemoval(Refused):
    """Saving would take a recorded contraindication off the file; it must be asked for."""


class ContraindicationOnFile(Refused):
    """A new session for a client whose intake has a contraindication: treating anyway is
    the practitioner's decision, given with a reason (audited)."""

    def __init__(self, message: str, contraindications: Sequence[Contraindication]) -> None:
        super().__init__(message)
        self.contraindications = tuple(contraindications)


def ensure_clinic(app: App, name: str, *, demo: bool = False) -> int:
    """The clinic of this name, created when missing (`demo` marks the demo's clinic)."""
    name = checked_text(name, "The clinic's name")
    for _attempt in range(2):  # a second process may create it between the look and the add
        with contextlib.suppress(NameTaken), app.uow() as uow:
            clinic = uow.repo.clinic_by_name(name)
            if clinic is not None and demo and not clinic.is_demo:
                clinic.is_demo = True
                uow.commit()
            if clinic is None:
                clinic = Clinic(name=name, is_demo=demo)
                uow.repo.add_clinic(clinic)
                uow.repo.audit(
                    actor="system",
                    action="create",
                    entity="clinic",
                    entity_id=clinic.id,
                    clinic_id=clinic.id,
                )
                uow.commit()
            return clinic.id
    raise Refused(f"The clinic {name} could not be added: it was being added by another process at once.")


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


def find_client(ctx: Context, name: str) -> Client | None:
    """The client of this name in the actor's clinic (letter case, white space and Unicode
    form aside: tracker.domain.client_name_key); refuses when it is ambiguous."""
    actor = ctx.actor
    require_staff(actor)
    with ctx.uow() as uow:
        matches = uow.repo.clients_same_name(actor.clinic_id, name)
        if len(matches) > 1:
            ids = ", ".join(f"#{c.id}" for c in matches)
            raise Refused(f"More than one client is called {name!r} ({ids}); use the client id.")
        return matches[0] if matches else None


def create_client(
    ctx: Context,
    name: str,
    *,
    date_of_birth: date | None = None,
    intake: Intake | None = None,
    consent: Mapping[str, object] | None = None,
    consents: Mapping[ConsentFlag, bool] | None = None,
    concern: Concern = Concern.OTHER,
    planned_sessions: int | None = None,
    interval_weeks: int | None = None,
    body_area: str = "",
    allow_same_name: bool = False,
) -> int:
    """A client and their first treatment course, with the concern's default plan unless
    the practitioner gives one. A name already in the clinic is refused (`SameName`) unless
    `allow_same_name`: a double click or a second visit must not make a second record.

    `consents` are the answers given at intake, recorded as given now by the actor and
    audited one by one; `consent` is a stored consent record taken as it is (the demo's)."""
    actor = ctx.actor
    plan = default_plan(concern)
    require_staff(actor)
    name = " ".join(checked_text(name.strip(), "The client's name").split())
    body_area = checked_text(body_area, "The treated area")
    checked_text(intake.notes if intake else "", "The intake notes", multiline=True)
    if not name:
        raise Refused("A client needs a name.")

    def _add_client() -> int:
        with ctx.uow() as uow:
            same = uow.repo.clients_same_name(actor.clinic_id, name)
            if same and not allow_same_name:
                raise SameName(
                    f"A client called {same[0].name} is already in the clinic "
                    f"(#{same[0].id}, added {same[0].created_at:%d %b %Y}). "
                    "Open that client instead, or confirm that this is a different person.",
                    same[0].id,
                )
            client = Client(
                clinic_id=actor.clinic_id,
                name=name,
                name_number=max((c.name_number for c in same), default=-1) + 1,
                date_of_birth=date_of_birth,
                intake=(intake or Intake()).to_json(),
                consent=dict(consent or {}),
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
            uow.repo.add_client(client)
            audit.record(uow, actor, "create", "client", client.id)
            if consents:
                store_consents(uow, actor, client, consents)
            uow.commit()
            return client.id

    # The check in _add_client can race another process creating the same name: the
    # database's unique name key decides, and the loser looks again (and finds the name
    # taken, or, for a confirmed namesake, takes the next number).
    for _attempt in range(5):
        with contextlib.suppress(NameTaken):
            return _add_client()
    raise Refused(
        f"A client called {name} could not be added: others of that name were added at the same time."
    )


def record_session(
    ctx: Context,
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
    override_reason: str = "",
) -> int:
    """Create session `number` of the client's current course, or, with `replace`, change
    the settings of that recorded session (without it a recorded session is refused with
    `SessionExists`, so a stale form can never overwrite one).

    A new session for a client with a contraindication on the intake is refused
    (`ContraindicationOnFile`) unless `override_reason` says why treating anyway; the
    override is audited with the reason and the contraindications. Changing a session
    already recorded needs none: the decision to treat was taken when it was recorded. The
    practitioner clears a contraindication by updating the intake."""
    actor = ctx.actor
    require_staff(actor)
    if number < 1:
        raise Refused("Session numbers start at 1.")
    device = checked_text(device, "The device")
    serum = checked_text(serum, "The serum")
    notes = checked_text(notes, "The session notes", multiline=True)
    override_reason = checked_text(override_reason, "The reason for treating anyway", multiline=True)
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        if practitioner_id is not None:
            _require_clinic_staff(uow, client, practitioner_id)
        course = current_course(uow, client)
        session = uow.repo.session_by_number(course.id, number)
        action = "update"
        if session is not None and not replace:
            raise SessionExists(
                f"Session {number} is already recorded for {client.name} ({session.at:%d %b %Y}); "
                "confirm to change it, or pick the next session number."
            )
        override: list[Contraindication] = []
        if session is None:
            override = _needs_override(uow, client, override_reason)
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
        if override:
            audit.record(
                uow,
                actor,
                "contraindication_override",
                "treatment_session",
                session.id,
                detail={
                    "client_id": client.id,
                    "session": number,
                    "reason": override_reason.strip(),  # typed: dropped if the client is deleted
                    "contraindications": len(override),  # how many, not which (audit.py)
                },
            )
        uow.commit()
        return session.id


def _require_clinic_staff(uow: UnitOfWork, client: Client, user_id: int) -> None:
    """The practitioner named on a session must be staff of the client's clinic: another
    clinic's practitioner (or a client's account) would put a stranger on the record."""
    user = uow.repo.user(user_id)
    if user is None or user.clinic_id != client.clinic_id or user.role not in (Role.PRACTITIONER, Role.ADMIN):
        raise PermissionDenied("That practitioner is not on your clinic's staff.")


def unresolved_contraindications(uow: UnitOfWork, client: Client) -> list[Contraindication]:
    """The contraindications on the client's intake, unless a practitioner has resolved the
    intake's flag for exactly these answers (tracker/app/flags.py): resolving it, with a note,
    is how they are cleared for treatment; a changed answer is a new flag, unresolved."""
    on_file = list(Intake.from_json(client.intake).contraindications)
    if not on_file:
        return []
    key = contraindication_key((client.intake or {}).get("contraindications") or [])
    if flag_reviews.latest_state(uow.session, client.id, key) == "resolved":
        return []
    return on_file


def _needs_override(uow: UnitOfWork, client: Client, reason: str) -> list[Contraindication]:
    """The unresolved contraindications that this new session overrides; refuses when there
    are some and no reason is given."""
    on_file = unresolved_contraindications(uow, client)
    if on_file and not reason.strip():
        raise ContraindicationOnFile(
            f"{client.name} has a contraindication on the intake: "
            + "; ".join(c.question for c in on_file)
            + ". To treat anyway, give the reason for overriding it; or resolve the intake's flag "
            "on the client review (with a note), or update the intake if it no longer applies.",
            on_file,
        )
    return on_file


def record_intake(
    ctx: Context,
    client_id: int,
    answers: list[Contraindication],
    notes: str = "",
    *,
    allow_removal: bool = False,
) -> list[Contraindication]:
    """Store the contraindication screening (design §1). Returns the answers that need a
    practitioner's review before treatment: every 'yes'. Taking a recorded contraindication
    off the file is refused (`IntakeRemoval`, naming it) unless `allow_removal`."""
    actor = ctx.actor
    require_staff(actor)
    notes = checked_text(notes, "The intake notes", multiline=True)
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        before = Intake.from_json(client.intake)
        removed = removed_contraindications(before, answers)
        if removed and not allow_removal:
            raise IntakeRemoval(
                "This would remove from the file: " + "; ".join(c.question for c in removed) + ". "
                "Confirm only if it no longer applies."
            )
        client.intake = Intake(
            contraindications=tuple(answers),
            notes=notes.strip(),
            answered_at=utcnow().isoformat(timespec="seconds"),
            recorded_by=actor.label,
        ).to_json()
        # Which answers changed, not what they are (audit.py): the answers are health data.
        changed = sorted({c.value for c in before.contraindications} ^ {a.value for a in answers})
        detail: JsonObject = {"changed": changed, "notes_changed": notes.strip() != before.notes}
        audit.record(uow, actor, "record_intake", "client", client.id, detail=detail)
        uow.commit()
    return list(answers)


def removed_contraindications(intake: Intake, answers: list[Contraindication]) -> list[Contraindication]:
    """The recorded contraindications that `answers` would take off the file."""
    return [c for c in intake.contraindications if c not in answers]


def contraindications_to_override(ctx: Context, client_id: int) -> list[Contraindication]:
    """What a new session for the client would need an override for (record page)."""
    actor = ctx.actor
    require_staff(actor)
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        return unresolved_contraindications(uow, client)


def client_intake(ctx: Context, client_id: int) -> Intake:
    actor = ctx.actor
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        found = Intake.from_json(client.intake)
    # The client sees her answers; the practitioner's notes and email are the clinic's.
    return client_view.intake(found) if actor.role is Role.CLIENT else found


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


def overview(ctx: Context) -> list[ClientRow]:
    """Every client the actor may see, with their sessions and photos (a client sees only
    themselves, and only their own record is loaded)."""
    actor = ctx.actor
    with ctx.uow() as uow:
        if actor.role is Role.CLIENT:
            if actor.client_id is None:
                return []
            clients = uow.repo.client_tree(actor.clinic_id, actor.client_id)
        else:
            clients = uow.repo.client_tree(actor.clinic_id)
        return [_client_row(c, staff=actor.role is not Role.CLIENT) for c in clients]


def client_overview(ctx: Context, client_id: int) -> ClientRow:
    """One client's row of `overview`, for a page that shows one client at a time."""
    actor = ctx.actor
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        (tree,) = uow.repo.client_tree(actor.clinic_id, client.id)
        return _client_row(tree, staff=actor.role is not Role.CLIENT)


@dataclass(frozen=True)
class ClientName:
    id: int
    name: str


def client_names(ctx: Context) -> list[ClientName]:
    """The clients the actor may see, by name: for a pick list, which needs neither their
    sessions nor their photos (one small query whatever the clinic's size)."""
    actor = ctx.actor
    if actor.role is Role.CLIENT and actor.client_id is None:
        return []
    only = actor.client_id if actor.role is Role.CLIENT else None
    with ctx.uow() as uow:
        rows = queries.client_names(uow.session, actor.clinic_id, only)
    return [ClientName(cid, name) for cid, name in rows]


def _client_row(client: Client, *, staff: bool) -> ClientRow:
    """`staff` False: the client's own row, without the session notes (staff only)."""
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
            notes=(s.notes or "") if staff else "",
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


def current_course(uow: UnitOfWork, client: Client) -> TreatmentCourse:
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


@dataclass(frozen=True)
class CourseRegions:
    """The current course's regions as the analysis will use them."""

    treated: Regions
    reference: Regions | None  # None: chosen automatically from untreated skin in each photo
    treated_is_default: bool  # nothing chosen yet: the treated regions follow the concern


def course_regions(ctx: Context, client_id: int) -> CourseRegions | None:
    """The regions of the client's current course; None when there is no course. Staff of
    the clinic and the client themselves may read them."""
    actor = ctx.actor
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        if course is None:
            return None
        treated, reference = regions_for(course)
        return CourseRegions(treated, reference, treated_is_default=not parse(course.treated_regions))


@one_publication
def set_course_regions(
    ctx: Context,
    client_id: int,
    treated: Sequence[FaceRegion | str] | None,
    reference: Sequence[FaceRegion | str] | None,
) -> None:
    """Record which regions the current course treats (`treated`; None goes back to the
    concern's default) and which untreated regions are its reference (`reference`; None or
    empty: chosen automatically). Staff only. Refused (`Refused`, saying why) when no region
    is treated, a name is unknown or a region would be both treated and reference.

    Saving what is already stored changes nothing (no audit row, no re-measuring); otherwise
    every photo of the course is measured again with the new regions."""
    actor = ctx.actor
    require_staff(actor)
    wanted_treated = None if treated is None else _checked(treated, "treated")
    wanted_reference = _checked(reference or (), "reference") or None
    if wanted_treated is not None and not wanted_treated:
        raise Refused("Choose at least one treated region: a course treats some part of the face.")
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        if course is None:
            raise Refused("This client has no treatment course yet.")
        effective = wanted_treated or default_treated(course.concern)
        both = [r for r in wanted_reference or () if r in effective]
        if both:
            names = " and ".join(r.label for r in both)
            them = "it" if len(both) == 1 else "them"
            raise Refused(
                f"{names} cannot be both treated and the untreated reference: "
                f"take {them} out of one of the two."
            )
        new_treated = [r.value for r in wanted_treated] if wanted_treated is not None else None
        new_reference = [r.value for r in wanted_reference] if wanted_reference else None
        if (course.treated_regions, course.reference_regions) == (new_treated, new_reference):
            return
        course.treated_regions = new_treated
        course.reference_regions = new_reference
        audit.record(
            uow,
            actor,
            "set_regions",
            "treatment_course",
            course.id,
            detail={"client_id": client.id, "treated": new_treated, "reference": new_reference},
        )
        course_id = course.id
        photos = uow.repo.course_photo_count(actor.clinic_id, course_id)
        uow.commit()
    if photos:
        reanalyze_series(ctx, course_id)


def _checked(values: Sequence[FaceRegion | str], which: str) -> Regions:
    unknown = unknown_names(values)
    if unknown:
        known = ", ".join(r.value for r in FaceRegion)
        raise Refused(
            f"Not a face region: {', '.join(repr(u) for u in unknown)} ({which}). Known regions: {known}."
        )
    return in_order(FaceRegion(v) for v in values)


# Progress -----------------------------------------------------------------------------------


def course_progress(ctx: Context, client_id: int, today: date | None = None) -> CourseProgress:
    app, actor = ctx.app, ctx.actor
    today = today or clinic_today(ctx.settings)
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        found, _ = course_facts(uow.session, client.clinic_id, [client.id], today)
    if client_id not in found:
        raise Refused("This client has no treatment course yet.")
    progress = assess(found[client_id], app.settings.noise_relative_error)
    if actor.role is Role.CLIENT:  # her own view: only the flags about her photos
        return dataclasses.replace(progress, flags=client_view.flags(progress.flags))
    return progress


def rate_session(ctx: Context, client_id: int, number: int, rating: int) -> None:
    """The client's own 1–10 rating of a session's result (clients rate their own; staff may
    record a rating given on paper)."""
    actor = ctx.actor
    if not 1 <= rating <= 10:
        raise Refused("A rating is a whole number from 1 to 10.")
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        session = uow.repo.session_by_number(course.id, number) if course else None
        if session is None:
            raise Refused(f"There is no session {number} to rate.")
        session.client_rating = rating
        session.client_rating_at = utcnow()
        audit.record(uow, actor, "rate", "treatment_session", session.id, detail={"rating": rating})
        uow.commit()


def set_course_plan(ctx: Context, client_id: int, plan: CoursePlan) -> None:
    actor = ctx.actor
    require_staff(actor)
    problems = validate_plan(plan)
    if problems:
        raise Refused("; ".join(problems).capitalize() + ".")
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        if course is None:
            raise Refused("This client has no treatment course yet.")
        course.planned_sessions = plan.planned_sessions
        course.interval_weeks = plan.interval_weeks
        course.upkeep_interval_weeks = plan.upkeep_interval_weeks
        audit.record(uow, actor, "set_plan", "treatment_course", course.id)
        uow.commit()
