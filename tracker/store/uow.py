"""Unit of work and repository: the only code that writes SQL for the services.

Every method that returns a client's data takes the clinic id and filters on it, so a
service cannot forget the clinic boundary by calling the wrong query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Select, delete, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, UOWTransaction, selectinload, sessionmaker
from sqlalchemy.orm.attributes import instance_state

from tracker.domain import Role, client_name_key
from tracker.events import ClientInputsChanged, Event
from tracker.store import remeasure
from tracker.store.models import (
    AccountLink,
    AnalysisResult,
    AuditEvent,
    BlobPurge,
    Client,
    ClientNote,
    ClientStatus,
    Clinic,
    LoginSession,
    Photo,
    PhotoSeries,
    TreatmentCourse,
    TreatmentSession,
    User,
)

# The rows a client's progress is computed from (tracker.progress.assessment reads them all).
INPUT_ROWS = (Client, TreatmentCourse, TreatmentSession, Photo, AnalysisResult, PhotoSeries)


class DuplicatePhoto(Exception):
    """The client has a photo with these pixels already (a concurrent upload won the race).
    The unit of work cannot go on: leave it, and it rolls back."""


class NameTaken(Exception):
    """Another clinic, or client of the clinic, got this name (and number) first: a
    concurrent creation won the race. The unit of work cannot go on: leave it, and it rolls back."""


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    # clinics ---------------------------------------------------------------------------
    def clinics(self) -> Sequence[Clinic]:
        return self.session.scalars(select(Clinic).order_by(Clinic.id)).all()

    def active_demo_emails(self) -> list[str]:
        rows = self.session.scalars(
            select(User.email).join(Clinic, Clinic.id == User.clinic_id).where(Clinic.is_demo, User.active)
        )
        return sorted(rows)

    def switch_off_demo_accounts(self) -> int:
        ids = list(
            self.session.scalars(
                select(User.id).join(Clinic, Clinic.id == User.clinic_id).where(Clinic.is_demo, User.active)
            )
        )
        if ids:
            self.session.execute(update(User).where(User.id.in_(ids)).values(active=False))
            self.session.execute(delete(LoginSession).where(LoginSession.user_id.in_(ids)))
        return len(ids)

    def clinic_by_name(self, name: str) -> Clinic | None:
        return self.session.scalar(select(Clinic).where(Clinic.name == name))

    def add_clinic(self, clinic: Clinic) -> None:
        """Add and flush; raises NameTaken when another process added the name first."""
        self.session.add(clinic)
        try:
            self.session.flush()
        except IntegrityError:
            raise NameTaken(clinic.name) from None

    def clinic(self, clinic_id: int) -> Clinic | None:
        return self.session.get(Clinic, clinic_id)

    # clients ---------------------------------------------------------------------------
    def clients(self, clinic_id: int) -> Sequence[Client]:
        return self.session.scalars(
            select(Client).where(Client.clinic_id == clinic_id).order_by(Client.name, Client.id)
        ).all()

    def clients_named(self, clinic_id: int, name: str) -> Sequence[Client]:
        return self.session.scalars(
            select(Client).where(Client.clinic_id == clinic_id, Client.name == name).order_by(Client.id)
        ).all()

    def clients_same_name(self, clinic_id: int, name: str) -> Sequence[Client]:
        """Clients whose name differs from `name` at most in letter case, white space or
        Unicode form (tracker.domain.client_name_key), the first one made first."""
        return self.session.scalars(
            select(Client)
            .where(Client.clinic_id == clinic_id, Client.name_key == client_name_key(name))
            .order_by(Client.name_number, Client.id)
        ).all()

    def add_session(self, session: TreatmentSession) -> None:
        """Add and flush; raises NameTaken when the course has a session of this number
        already (another import created it at the same moment)."""
        self.session.add(session)
        try:
            self.session.flush()
        except IntegrityError:
            raise NameTaken(f"session {session.number}") from None

    def add_client(self, client: Client) -> None:
        """Add and flush; raises NameTaken when the clinic has a client of this name and
        number already (the check before it can lose a race against another process)."""
        self.session.add(client)
        try:
            self.session.flush()
        except IntegrityError:
            raise NameTaken(client.name) from None

    def client(self, clinic_id: int, client_id: int) -> Client | None:
        return self.session.scalar(
            select(Client).where(Client.clinic_id == clinic_id, Client.id == client_id)
        )

    def client_tree(self, clinic_id: int, client_id: int | None = None) -> Sequence[Client]:
        """Clients (or the one client) with courses, sessions and photos loaded in a
        handful of queries."""
        query = (
            select(Client)
            .where(Client.clinic_id == clinic_id)
            .order_by(Client.name, Client.id)
            .options(
                selectinload(Client.courses)
                .selectinload(TreatmentCourse.sessions)
                .selectinload(TreatmentSession.photos)
            )
        )
        if client_id is not None:
            query = query.where(Client.id == client_id)
        return self.session.scalars(query).all()

    def courses_of(self, clinic_id: int, client_id: int) -> Sequence[TreatmentCourse]:
        return self.session.scalars(
            select(TreatmentCourse)
            .join(Client, Client.id == TreatmentCourse.client_id)
            .where(Client.clinic_id == clinic_id, TreatmentCourse.client_id == client_id)
            .order_by(TreatmentCourse.id)
        ).all()

    def course_photo_count(self, clinic_id: int, course_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count(Photo.id))
                .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
                .join(Client, Client.id == Photo.client_id)
                .where(Client.clinic_id == clinic_id, TreatmentSession.course_id == course_id)
            )
            or 0
        )

    def delete_client_rows(self, clinic_id: int, client_id: int) -> None:
        """The client and, by the database's cascades, everything that hangs off it. Bulk
        SQL: the unit of work does not see it, so the caller says what changed."""
        self.session.execute(delete(Client).where(Client.clinic_id == clinic_id, Client.id == client_id))

    def notes(self, clinic_id: int, client_id: int, *, newest_first: bool = False) -> Sequence[ClientNote]:
        """The client's notes in the order written, or newest first."""
        order = (ClientNote.created_at.desc(), ClientNote.id.desc()) if newest_first else (ClientNote.id,)
        return self.session.scalars(
            select(ClientNote)
            .join(Client, Client.id == ClientNote.client_id)
            .where(Client.clinic_id == clinic_id, ClientNote.client_id == client_id)
            .order_by(*order)
        ).all()

    def current_course(self, client_id: int) -> TreatmentCourse | None:
        return self.session.scalar(
            select(TreatmentCourse)
            .where(TreatmentCourse.client_id == client_id)
            .order_by(TreatmentCourse.id.desc())
            .limit(1)
        )

    # sessions and photos ---------------------------------------------------------------
    def session_by_number(self, course_id: int, number: int) -> TreatmentSession | None:
        return self.session.scalar(
            select(TreatmentSession).where(
                TreatmentSession.course_id == course_id, TreatmentSession.number == number
            )
        )

    def photo_with_hash(self, client_id: int, sha256: str) -> Photo | None:
        return self.session.scalar(
            select(Photo).where(Photo.client_id == client_id, Photo.original_sha256 == sha256)
        )

    def photo(self, clinic_id: int, photo_id: int) -> Photo | None:
        return self.session.scalar(
            select(Photo)
            .join(Client, Client.id == Photo.client_id)
            .where(Client.clinic_id == clinic_id, Photo.id == photo_id)
        )

    def photos_of(self, clinic_id: int, client_id: int) -> Sequence[Photo]:
        """In the order taken."""
        return self.session.scalars(
            select(Photo)
            .join(Client, Client.id == Photo.client_id)
            .where(Client.clinic_id == clinic_id, Photo.client_id == client_id)
            .order_by(Photo.taken_at, Photo.id)
        ).all()

    def results_of(self, clinic_id: int, client_id: int) -> Sequence[AnalysisResult]:
        """Every analysis result of the client's photos, by photo."""
        return self.session.scalars(
            select(AnalysisResult)
            .join(Photo, Photo.id == AnalysisResult.photo_id)
            .join(Client, Client.id == Photo.client_id)
            .where(Client.clinic_id == clinic_id, Photo.client_id == client_id)
            .order_by(AnalysisResult.photo_id, AnalysisResult.id)
        ).all()

    def photo_blob_keys(self, clinic_id: int, client_id: int) -> list[tuple[str, str, str]]:
        """(original, display, thumbnail) key of each of the client's photos."""
        rows = self.session.execute(
            select(Photo.original_sha256, Photo.display_sha256, Photo.thumbnail_sha256)
            .join(Client, Client.id == Photo.client_id)
            .where(Client.clinic_id == clinic_id, Photo.client_id == client_id)
        )
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def add_photo(self, photo: Photo) -> None:
        """Add and flush; raises DuplicatePhoto when the client has these pixels already
        (the check before it can lose a race against a concurrent upload)."""
        self.session.add(photo)
        try:
            self.session.flush()
        except IntegrityError:
            raise DuplicatePhoto(photo.original_sha256) from None

    def delete_photo(self, clinic_id: int, photo_id: int) -> None:
        """The photo row and its results (the database cascades); a series that counted
        from it loses its baseline. Bulk SQL: the caller says what changed."""
        in_clinic = select(Photo.id).join(Client, Client.id == Photo.client_id)
        in_clinic = in_clinic.where(Client.clinic_id == clinic_id, Photo.id == photo_id)
        self.session.execute(
            update(PhotoSeries)
            .where(PhotoSeries.baseline_photo_id.in_(in_clinic))
            .values(baseline_photo_id=None)
        )
        self.session.execute(delete(Photo).where(Photo.id.in_(in_clinic)))

    def blob_in_use(self, key: str) -> bool:
        """Whether any photo row refers to the file. Across clinics on purpose: files are
        stored by content, so two clinics' uploads of the same bytes share one file."""
        used = self.session.scalar(
            select(func.count(Photo.id)).where(
                or_(Photo.original_sha256 == key, Photo.display_sha256 == key, Photo.thumbnail_sha256 == key)
            )
        )
        return bool(used)

    def all_photos(self) -> Sequence[Photo]:
        """Across clinics: for the store's own consistency check only, never for a view."""
        return self.session.scalars(select(Photo).order_by(Photo.id)).all()

    def photo_count(self, clinic_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count(Photo.id))
                .join(Client, Client.id == Photo.client_id)
                .where(Client.clinic_id == clinic_id)
            )
            or 0
        )

    # users and sign-in -----------------------------------------------------------------
    def user_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(func.lower(User.email) == email.lower()))

    def user(self, user_id: int) -> User | None:
        """By id, in any clinic: the caller compares `clinic_id` (or holds a sign-in)."""
        return self.session.get(User, user_id)

    def client_has_login(self, clinic_id: int, client_id: int) -> bool:
        found = self.session.scalar(
            select(User.id).where(User.clinic_id == clinic_id, User.client_id == client_id)
        )
        return found is not None

    def accounts(self, clinic_id: int, *, clients_only: bool) -> list[tuple[User, str | None]]:
        """The clinic's accounts with the name of the client each belongs to (staff: None)."""
        query = (
            select(User, Client.name)
            .outerjoin(Client, Client.id == User.client_id)
            .where(User.clinic_id == clinic_id)
            .order_by(User.role, User.email)
        )
        if clients_only:
            query = query.where(User.role == Role.CLIENT)
        return [(user, name) for user, name in self.session.execute(query)]

    def login_session(self, token_sha256: str) -> LoginSession | None:
        return self.session.get(LoginSession, token_sha256)

    def end_login_sessions(self, user_id: int, now: datetime, keep: str | None = None) -> None:
        """End the user's open sign-in sessions, all but `keep` (a token digest) if given."""
        query = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        if keep is not None:
            query = query.where(LoginSession.token_sha256 != keep)
        self.session.execute(query.values(ended_at=now))

    def account_link(self, token_sha256: str) -> AccountLink | None:
        return self.session.get(AccountLink, token_sha256)

    def close_account_links(self, user_id: int, now: datetime) -> None:
        """Mark the user's unused links used, so only a link made after now works."""
        self.session.execute(
            update(AccountLink)
            .where(AccountLink.user_id == user_id, AccountLink.used_at.is_(None))
            .values(used_at=now)
        )

    # audit -----------------------------------------------------------------------------
    def last_audit_at(self, actor: str, action: str, since: datetime) -> datetime | None:
        """When `actor` last did `action`, if at or after `since`."""
        return self.session.scalar(
            select(func.max(AuditEvent.at)).where(
                AuditEvent.actor == actor, AuditEvent.action == action, AuditEvent.at >= since
            )
        )

    def audit_count(self, actor: str, action: str, since: datetime) -> int:
        """How often `actor` did `action` at or after `since`."""
        found = self.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.actor == actor, AuditEvent.action == action, AuditEvent.at >= since
            )
        )
        return int(found or 0)

    def audit_events(
        self,
        clinic_id: int,
        start: datetime,
        end: datetime,
        *,
        user_ids: list[int] | None,
        action: str,
        limit: int,
    ) -> Sequence[AuditEvent]:
        """The clinic's own events in [start, end), newest first: rows written for this
        clinic only, never matched by an email (another clinic may reuse one).
        `user_ids`: only these accounts' events (None: anyone's); `action`: exactly that
        action (empty: any)."""
        query = (
            select(AuditEvent)
            .where(AuditEvent.at >= start, AuditEvent.at < end, AuditEvent.clinic_id == clinic_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        if user_ids is not None:
            query = query.where(AuditEvent.actor_user_id.in_(user_ids))
        if action:
            query = query.where(AuditEvent.action == action)
        return self.session.scalars(query).all()

    def audit_events_about_client(self, clinic_id: int, client_id: int) -> Sequence[AuditEvent]:
        """The clinic's rows whose record is the client or whose detail names her id."""
        return self.session.scalars(
            select(AuditEvent).where(
                AuditEvent.clinic_id == clinic_id,
                or_(
                    (AuditEvent.entity == "client") & (AuditEvent.entity_id == client_id),
                    AuditEvent.detail["client_id"].as_integer() == client_id,
                ),
            )
        ).all()

    def relabel_audit_actor(self, email: str, label: str) -> None:
        """Rows that name an account by its email (older rows, sign-in attempts) name it by
        `label` instead. Any clinic: the email is the person's, wherever it was typed."""
        self.session.execute(
            update(AuditEvent).where(func.lower(AuditEvent.actor) == email.lower()).values(actor=label)
        )

    def account_emails(self, clinic_id: int) -> dict[int, str]:
        """Id -> email of the clinic's accounts (to show the audit log's actors)."""
        rows = self.session.execute(select(User.id, User.email).where(User.clinic_id == clinic_id))
        return {int(i): str(e) for i, e in rows}

    def client_names(self, clinic_id: int, client_ids: set[int]) -> dict[int, str]:
        """Id -> name of those of the clients that still exist in the clinic."""
        if not client_ids:
            return {}
        rows = self.session.execute(
            select(Client.id, Client.name).where(Client.clinic_id == clinic_id, Client.id.in_(client_ids))
        )
        return {int(i): str(n) for i, n in rows}

    def client_accounts(self, clinic_id: int, client_id: int) -> list[tuple[int, str]]:
        """(id, email) of the client's own sign-in accounts."""
        rows = self.session.execute(
            select(User.id, User.email).where(User.clinic_id == clinic_id, User.client_id == client_id)
        )
        return [(int(i), str(e)) for i, e in rows]

    # files to delete (tracker.app.records, tracker.app.consistency) ---------------------
    def queue_blob_purge(self, keys: set[str]) -> None:
        """Say, in the caller's transaction, that these files go once no photo uses them."""
        known = set(self.session.scalars(select(BlobPurge.key).where(BlobPurge.key.in_(keys))))
        for key in sorted(keys - known):
            self.session.add(BlobPurge(key=key))

    def blob_purges(self) -> list[str]:
        return list(self.session.scalars(select(BlobPurge.key).order_by(BlobPurge.key)))

    def drop_blob_purges(self, keys: set[str]) -> None:
        if keys:
            self.session.execute(delete(BlobPurge).where(BlobPurge.key.in_(keys)))

    def audit(
        self,
        *,
        actor: str,
        action: str,
        entity: str,
        entity_id: int | None,
        clinic_id: int | None,
        actor_user_id: int | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        event = AuditEvent(
            actor=actor,
            actor_user_id=actor_user_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            clinic_id=clinic_id,
            detail=detail or {},
        )
        if at is not None:
            event.at = at
        self.session.add(event)

    # measurements (tracker.app.measurements) -------------------------------------------
    def course(self, clinic_id: int, course_id: int) -> TreatmentCourse | None:
        return self.session.scalar(
            select(TreatmentCourse)
            .join(Client, Client.id == TreatmentCourse.client_id)
            .where(Client.clinic_id == clinic_id, TreatmentCourse.id == course_id)
        )

    def course_id_of_session(self, session_id: int) -> int | None:
        """Only an id: the caller reads the course through its clinic."""
        return self.session.scalar(
            select(TreatmentSession.course_id).where(TreatmentSession.id == session_id)
        )

    def series_of_course(self, clinic_id: int, course_id: int) -> PhotoSeries | None:
        return self.session.scalar(
            select(PhotoSeries)
            .join(TreatmentCourse, TreatmentCourse.id == PhotoSeries.course_id)
            .join(Client, Client.id == TreatmentCourse.client_id)
            .where(Client.clinic_id == clinic_id, PhotoSeries.course_id == course_id)
        )

    def series_made_for(self, clinic_id: int, course_id: int) -> PhotoSeries:
        """The course's series, made when it has none. Two imports for a new course can
        both find none: the second one's insert fails on the unique course id, and it reads
        the first one's row instead."""
        for _ in range(3):
            found = self.series_of_course(clinic_id, course_id)
            if found is not None:
                return found
            try:
                with self.session.begin_nested():
                    series = PhotoSeries(course_id=course_id)
                    self.session.add(series)
                return series
            except IntegrityError:
                continue
        raise RuntimeError(f"the series of course {course_id} could be neither made nor read")

    def claim_baseline(self, series: PhotoSeries, photo_id: int) -> bool:
        """Make the photo the series' baseline unless it has one; True when the photo is
        the baseline now. One statement that checks and sets: two photos of a new series
        measured at once must not both think they are its baseline."""
        if series.baseline_photo_id is None:
            self.session.execute(
                update(PhotoSeries)
                .where(PhotoSeries.id == series.id, PhotoSeries.baseline_photo_id.is_(None))
                .values(baseline_photo_id=photo_id)
                .execution_options(synchronize_session=False)
            )
            self.session.refresh(series)
        return series.baseline_photo_id == photo_id

    def course_photo_ids(self, clinic_id: int, course_id: int) -> list[int]:
        """The course's photos in the order they were taken."""
        return list(
            self.session.scalars(
                select(Photo.id)
                .join(Client, Client.id == Photo.client_id)
                .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
                .where(Client.clinic_id == clinic_id, TreatmentSession.course_id == course_id)
                .order_by(Photo.taken_at, Photo.id)
            )
        )

    def photos_for_measuring(self) -> list[tuple[int, int, int, int | None, datetime]]:
        """Across clinics, for re-measuring only (never for a view): (clinic id, photo id,
        client id, the series' baseline photo id, taken at) of every photo."""
        rows = self.session.execute(
            select(Client.clinic_id, Photo.id, Photo.client_id, PhotoSeries.baseline_photo_id, Photo.taken_at)
            .join(Client, Client.id == Photo.client_id)
            .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
            .outerjoin(PhotoSeries, PhotoSeries.course_id == TreatmentSession.course_id)
            .order_by(Photo.client_id, Photo.taken_at, Photo.id)
        )
        return [(int(c), int(p), int(cl), b, t) for c, p, cl, b, t in rows]

    def photo_ids_measured(self, metric_version: str) -> set[int]:
        """Across clinics, with photos_for_measuring: photos with a result of this version."""
        query = select(AnalysisResult.photo_id).where(AnalysisResult.metric_version == metric_version)
        return set(self.session.scalars(query))

    def latest_result(self, clinic_id: int, photo_id: int) -> AnalysisResult | None:
        """The photo's most recent result, whatever its metric version."""
        return self.session.scalar(
            self._results(clinic_id)
            .where(AnalysisResult.photo_id == photo_id)
            .order_by(AnalysisResult.created_at.desc(), AnalysisResult.id.desc())
            .limit(1)
        )

    def result(self, clinic_id: int, photo_id: int, metric_version: str) -> AnalysisResult | None:
        return self.session.scalar(
            self._results(clinic_id).where(
                AnalysisResult.photo_id == photo_id, AnalysisResult.metric_version == metric_version
            )
        )

    def _results(self, clinic_id: int) -> Select[AnalysisResult]:
        return (
            select(AnalysisResult)
            .join(Photo, Photo.id == AnalysisResult.photo_id)
            .join(Client, Client.id == Photo.client_id)
            .where(Client.clinic_id == clinic_id)
        )

    def save_result(self, clinic_id: int, photo_id: int, data: Mapping[str, Any]) -> None:
        """Store a measurement's JSON (tracker.imaging.analyze.Measurement.to_json) as the
        photo's result of its metric version, replacing one stored before."""
        row = self.result(clinic_id, photo_id, data["metric_version"])
        if row is None:
            photo = self.photo(clinic_id, photo_id)
            if photo is None:
                raise LookupError(f"no photo {photo_id} in clinic {clinic_id}")
            row = AnalysisResult(
                photo_id=photo_id, client_id=photo.client_id, metric_version=data["metric_version"]
            )
            self.session.add(row)
        row.metrics = data["metrics"]
        row.quality = data["quality"]
        row.zones = data["zones"]
        row.calibration = data["calibration"]
        row.registration = data["registration"]
        row.white_point = data["white_point"]

    def client_results(
        self, clinic_id: int, client_id: int, metric_version: str
    ) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """(metrics, quality, calibration) of this metric version's results of all the
        client's photos: the rest of a result (its zones) is not read."""
        rows = self.session.execute(
            select(AnalysisResult.metrics, AnalysisResult.quality, AnalysisResult.calibration)
            .join(Photo, Photo.id == AnalysisResult.photo_id)
            .join(Client, Client.id == Photo.client_id)
            .where(
                Client.clinic_id == clinic_id,
                Photo.client_id == client_id,
                AnalysisResult.metric_version == metric_version,
            )
        )
        return [(metrics, quality, calibration) for metrics, quality, calibration in rows]

    def queue_remeasure(self, clinic_id: int, course_id: int, skip: set[int]) -> None:
        remeasure.queue(self.session, clinic_id, course_id, skip)


class UnitOfWork:
    """One transaction. Leaving the block without `commit()` rolls everything back.

    It also notes which clients' progress inputs (INPUT_ROWS) the ORM writes, so that after
    a successful commit `publish` receives one ClientInputsChanged per client, and any
    event a use case added with `emit` (for what the session cannot see: bulk SQL). In the
    same transaction the commit bumps those clients' `client_status.input_version`, so the
    dashboard's cached rows are stale from the moment the change is visible, whatever
    happens to the handlers afterwards (tracker/app/dashboard.py explains the cache)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        publish: Callable[[list[Event]], None] | None = None,
    ) -> None:
        self._factory = session_factory
        self._publish = publish

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.repo = Repository(self.session)
        self._written: dict[str, set[int]] = {"client": set(), "course": set(), "photo": set()}
        self._events: list[Event] = []
        # Listeners on this session only: nothing global, nothing installed by an import.
        event.listen(self.session, "after_flush", self._note_flush)
        event.listen(self.session, "after_rollback", self._forget)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() without rollback() keeps loaded attributes readable on returned rows;
        # an uncommitted transaction is rolled back by close() either way.
        if exc_type is not None:
            self.session.rollback()
        self.session.close()

    def emit(self, message: Event) -> None:
        """Publish `message` after the next successful commit."""
        self._events.append(message)

    def commit(self) -> None:
        self.session.flush()  # so that every write has passed _note_flush
        changed = self._changed_clients()
        if changed:
            self.session.execute(
                update(ClientStatus)
                .where(ClientStatus.client_id.in_(sorted(changed)))
                .values(input_version=ClientStatus.input_version + 1)
            )
        self.session.commit()
        events: list[Event] = [ClientInputsChanged(clinic, cid) for cid, clinic in sorted(changed.items())]
        events = list(dict.fromkeys([*events, *self._events]))  # a use case may say it too
        self._forget(self.session)
        if events and self._publish is not None:
            self._publish(events)

    def _note_flush(self, session: Session, _flush: UOWTransaction) -> None:
        """Which clients a flush wrote for. Reads only what is already loaded on the objects
        (loading inside a flush is unsafe); commit() resolves courses and photos."""
        modified = [o for o in session.dirty if session.is_modified(o)]
        for obj in (*session.new, *modified, *session.deleted):
            if not isinstance(obj, INPUT_ROWS):
                continue
            loaded = instance_state(obj).dict
            if isinstance(obj, Client):
                kind, value = "client", loaded.get("id")
            elif isinstance(obj, TreatmentCourse | Photo):
                kind, value = "client", loaded.get("client_id")
            elif isinstance(obj, TreatmentSession | PhotoSeries):
                kind, value = "course", loaded.get("course_id")
            else:
                kind, value = "photo", loaded.get("photo_id")
            if value is not None:
                self._written[kind].add(int(value))

    def _forget(self, _session: Session) -> None:
        self._written = {"client": set(), "course": set(), "photo": set()}
        self._events = []

    def _changed_clients(self) -> dict[int, int]:
        """{client id: clinic id} of the clients written for (deleted clients drop out)."""
        written = self._written
        clients = set(written["client"])
        if written["course"]:
            query = select(TreatmentCourse.client_id).where(TreatmentCourse.id.in_(written["course"]))
            clients.update(self.session.scalars(query))
        if written["photo"]:
            clients.update(
                self.session.scalars(select(Photo.client_id).where(Photo.id.in_(written["photo"])))
            )
        if not clients:
            return {}
        rows = self.session.execute(select(Client.id, Client.clinic_id).where(Client.id.in_(clients)))
        return {int(client_id): int(clinic_id) for client_id, clinic_id in rows}
