"""Database tables (SQLAlchemy 2 typed ORM).

Schema changes go through Alembic migrations (tracker/store/migrations), never
`create_all`, so SQLite and PostgreSQL deployments evolve the same way.

Time conventions: `created_at` / audit times are UTC; clinical times (session start,
photo capture) are the clinic's local wall-clock time as cameras record it, stored naive.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from tracker.domain import Concern, PhotoKind, PhotoStatus, Role, client_name_key
from tracker.store.encrypted_columns import EncryptedDate, EncryptedJSON, EncryptedText

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[StrEnum]) -> Enum:
    """Stored as the enum's value in a plain string column, loaded back as the enum."""
    return Enum(
        cls,
        native_enum=False,
        length=40,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Clinic(Base):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The demo's clinic: never a default, and its accounts keep a production server down.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Client(Base):
    __tablename__ = "client"
    # Ids are never reused (SQLite would give a deleted row's id to the next one): the audit
    # log names clients, accounts and photos by id, long after they are deleted.
    __table_args__ = (
        # One client per name in a clinic, unless staff confirmed another person of the same
        # name (name_number 1, 2, ...): two processes creating "Nia Okafor" make one client.
        UniqueConstraint("clinic_id", "name_key", "name_number", name="uq_client_name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # tracker.domain.client_name_key(name), kept in step with the name by `_keep_name_key`.
    name_key: Mapped[str] = mapped_column(String())
    # 0 for the first client of a name in the clinic; 1, 2, ... for others confirmed to be
    # different people (and for duplicates that older versions made, numbered by id).
    name_number: Mapped[int] = mapped_column(default=0, server_default="0")
    # Encrypted when the store is (tracker/store/encrypted_columns.py), like the notes below.
    date_of_birth: Mapped[date | None] = mapped_column(EncryptedDate("client.date_of_birth"))
    # Filled by analysis from reference skin (design §3.2); used to stratify thresholds only.
    ita_deg: Mapped[float | None]
    skin_tone: Mapped[str | None] = mapped_column(String(20))
    # Whether ita_deg comes from chart-calibrated photos; if not, it is uncertain (issue 9).
    ita_calibrated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # {"contraindications": [...Contraindication values answered yes], "answered_at": iso, "notes": str}
    intake: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("client.intake"), default=dict)
    # {ConsentFlag value: {"given": bool, "at": iso, "by": who}} (tracker.domain.Consents)
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    clinic: Mapped[Clinic] = relationship()
    courses: Mapped[list[TreatmentCourse]] = relationship(
        back_populates="client", order_by="TreatmentCourse.id", cascade="all, delete-orphan"
    )

    @validates("name")
    def _keep_name_key(self, _attribute: str, name: str) -> str:
        self.name_key = client_name_key(name)
        return name


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"(role = '{Role.CLIENT.value}') = (client_id IS NOT NULL)", name="client_link"),
        {"sqlite_autoincrement": True},  # never reused: see Client
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when staff typed the password: the person chooses their own at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AccountLink(Base):
    """A one-time link that lets a person set their password: an invite (new account) or a
    reset. Like LoginSession only the SHA-256 of the random token is stored."""

    __tablename__ = "account_link"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))  # "invite" | "reset"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class SentReminder(Base):
    """A reminder emailed to a client, so the daily run never sends the same one twice: the
    unique key makes that a rule of the database, not of the code that checks first."""

    __tablename__ = "sent_reminder"
    __table_args__ = (UniqueConstraint("client_id", "what", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    what: Mapped[str] = mapped_column(String(40))  # e.g. "checkin-1-s3", "session-4"
    due_on: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginSession(Base):
    """A signed-in browser: only the SHA-256 of its random token is stored, so a copy of the
    database cannot be used to sign in. Ended on sign-out; expires on its own."""

    __tablename__ = "login_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    # For the idle timeout; written at most once a minute (None: not used since created_at).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class OidcIdentity(Base):
    """The identity-provider account (issuer and subject: stable, unlike an email) a staff
    account signs in with. Linked at its first sign-in through the provider by its verified
    email (tracker/app/oidc.py); one per account, so a reused email cannot take it over."""

    __tablename__ = "oidc_identity"

    issuer: Mapped[str] = mapped_column(String(500), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    linked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SignInThrottle(Base):
    """Sign-in attempts counted per key (the SHA-256 of an email, or of a source address)
    within a window that starts at the first attempt. The count is raised in one statement
    before the password is checked, so parallel attempts each see their own number; only
    those within the limit are checked. Holds no email or address, only their digests."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # The window's one "sign_in_locked" audit event, kept up to date with the refused count.
    locked_event_id: Mapped[int | None]


class CookieCode(Base):
    """A one-time code that trades for a login session's cookie (tracker/app/cookie_handoff.py).
    In the database so that any app replica can redeem a code another one issued. Only the
    code's SHA-256 is stored, and the session token sealed with a key derived from the code:
    a copy of the table alone signs nobody in."""

    __tablename__ = "cookie_code"

    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed_token: Mapped[str] = mapped_column(String(400))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ClientNote(Base):
    """A practitioner's note on a client (observations, advice given, calls made). Staff
    only; notes are added, never edited, so the record shows what was known when."""

    __tablename__ = "client_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    text: Mapped[str] = mapped_column(EncryptedText("client_note.text"))


class FlagReview(Base):
    """A practitioner's action on one of a client's flags (tracker/app/flags.py): rows are
    added, never changed, so the latest row of a flag is its state and the rows are its
    history. The flag is named by its key (tracker.progress.flags.Flag.key); its title is
    kept so the history reads well after the flag itself is no longer computed."""

    __tablename__ = "flag_review"
    __table_args__ = (
        CheckConstraint("state IN ('acknowledged', 'resolved', 'snoozed', 'reopened')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    flag_key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(EncryptedText("flag_review.note"), default="")
    snoozed_until: Mapped[date | None]
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TreatmentCourse(Base):
    __tablename__ = "treatment_course"
    __table_args__ = (
        CheckConstraint("planned_sessions BETWEEN 1 AND 20", name="planned_sessions_range"),
        CheckConstraint("interval_weeks BETWEEN 1 AND 52", name="interval_weeks_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    concern: Mapped[Concern] = mapped_column(_enum(Concern))
    planned_sessions: Mapped[int]
    interval_weeks: Mapped[int]
    body_area: Mapped[str] = mapped_column(String(100), default="")
    # After the course, upkeep sessions this often (anti-ageing: about twice a year); None = none.
    upkeep_interval_weeks: Mapped[int | None]
    # FaceRegion values (tracker/regions.py reads them). Treated: NULL = the concern's default.
    # Reference (untreated skin to compare with): NULL = chosen from what each photo shows.
    treated_regions: Mapped[list[Any] | None] = mapped_column(JSON)
    reference_regions: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="courses")
    sessions: Mapped[list[TreatmentSession]] = relationship(
        back_populates="course", order_by="TreatmentSession.number", cascade="all, delete-orphan"
    )


class TreatmentSession(Base):
    __tablename__ = "treatment_session"
    __table_args__ = (
        UniqueConstraint("course_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "needle_depth_mm IS NULL OR (needle_depth_mm > 0 AND needle_depth_mm <= 3.5)",
            name="needle_depth_range",
        ),
        CheckConstraint("client_rating IS NULL OR client_rating BETWEEN 1 AND 10", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_course.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    at: Mapped[datetime] = mapped_column(DateTime)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    device: Mapped[str] = mapped_column(String(100), default="")
    needle_depth_mm: Mapped[float | None]
    passes: Mapped[int | None]
    serum: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(EncryptedText("treatment_session.notes"), default="")
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    # The client's own rating of how the skin looks after this session, 1–10.
    client_rating: Mapped[int | None]
    client_rating_at: Mapped[datetime | None] = mapped_column(DateTime)

    course: Mapped[TreatmentCourse] = relationship(back_populates="sessions")
    photos: Mapped[list[Photo]] = relationship(
        back_populates="session", order_by="Photo.taken_at", cascade="all, delete-orphan"
    )


class Photo(Base):
    __tablename__ = "photo"
    __table_args__ = (
        # The same pixels uploaded twice for one client is a mistake, not a new photo.
        UniqueConstraint("client_id", "original_sha256"),
        Index("ix_photo_client_taken", "client_id", "taken_at"),
        # The dashboard's signatures read a clinic's photo ids from this index alone, never
        # the whole chain's photo table (tracker/store/client_status.py, input_traces).
        Index("ix_photo_client_id_id", "client_id", "id"),
        {"sqlite_autoincrement": True},  # never reused: see Client
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[PhotoKind] = mapped_column(_enum(PhotoKind))
    taken_at: Mapped[datetime] = mapped_column(DateTime)
    # "exif", "given" (typed in by a person) or "upload" (time of upload: no EXIF date)
    taken_at_source: Mapped[str] = mapped_column(String(10))
    body_area: Mapped[str] = mapped_column(String(100), default="")
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    original_filename: Mapped[str] = mapped_column(String(255))
    original_format: Mapped[str] = mapped_column(String(10))
    original_size: Mapped[int]
    original_sha256: Mapped[str] = mapped_column(String(64), index=True)
    display_sha256: Mapped[str] = mapped_column(String(64), index=True)
    thumbnail_sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Of the upright image (EXIF orientation applied).
    width: Mapped[int]
    height: Mapped[int]
    icc_profile: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[PhotoStatus] = mapped_column(_enum(PhotoStatus), default=PhotoStatus.STORED)
    # Why analysis failed, in words for the person who uploaded it.
    status_detail: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    session: Mapped[TreatmentSession] = relationship(back_populates="photos")
    results: Mapped[list[AnalysisResult]] = relationship(back_populates="photo", cascade="all, delete-orphan")

    @property
    def blob_keys(self) -> dict[str, str]:
        return {
            "original": self.original_sha256,
            "display": self.display_sha256,
            "thumbnail": self.thumbnail_sha256,
        }


class PhotoSeries(Base):
    """The photos of one course share a baseline: its zones are carried onto every later
    photo by registration, and facts fixed once (scale, texture quantisation limits) make the
    numbers of different weeks comparable."""

    __tablename__ = "photo_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_course.id", ondelete="CASCADE"), unique=True)
    baseline_photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="SET NULL"))
    # {"treated": [[x, y], ...], "reference": [[x, y], ...] | None, "source": str} in baseline px
    zones: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    px_per_mm: Mapped[float | None]
    px_per_mm_source: Mapped[str] = mapped_column(String(100), default="")
    glcm_limits: Mapped[list[Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class RemeasureJob(Base):
    """A series to measure again because one of its facts changed (a follow-up's chart
    taught it its scale). Queued in the same transaction as the change, run off the upload's
    request path by tracker.app.jobs, so an upload returns once its own photo is measured."""

    __tablename__ = "remeasure_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("treatment_course.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    skip: Mapped[list[Any]] = mapped_column(JSON, default=list)  # photos already measured with the facts
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(String(500), default="")


class Job(Base):
    """A piece of heavy work for the worker pool (tracker.app.job_queue): a chunk of a
    whole-store re-analysis, for example. Any worker process claims it (PostgreSQL: FOR
    UPDATE SKIP LOCKED), renews `lease_until` while it works, and records how it ended; a
    job whose worker died is claimed again once its lease has passed."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Two enqueuers of the same work (two `reanalyze` runs) share one unfinished job.
    dedupe: Mapped[str | None] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued|running|done|failed
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    error: Mapped[str] = mapped_column(String(1000), default="")
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class AnalysisResult(Base):
    __tablename__ = "analysis_result"
    __table_args__ = (
        UniqueConstraint("photo_id", "metric_version"),
        # A photo's result ids from the index alone.
        Index("ix_analysis_result_photo_id_id", "photo_id", "id"),
        # A clinic's result ids per client from the index alone (the dashboard's signatures),
        # without joining every clinic's photos.
        Index("ix_analysis_result_client_id_id", "client_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", ondelete="CASCADE"), index=True)
    # The photo's client, copied: a photo never changes client, and the row goes with the
    # photo (cascade). Only the dashboard's signatures read it.
    client_id: Mapped[int | None] = mapped_column()
    metric_version: Mapped[str] = mapped_column(String(40))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    zones: Mapped[dict[str, Any]] = mapped_column(default=dict)
    calibration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    white_point: Mapped[str] = mapped_column(String(10), default="D65")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    photo: Mapped[Photo] = relationship(back_populates="results")

    def to_json(self) -> dict[str, Any]:
        """The result as stored, key for key: what the export holds and what
        tracker.imaging.analyze.Measurement.from_json reads."""
        return {
            "metric_version": self.metric_version,
            "metrics": self.metrics,
            "quality": self.quality,
            "zones": self.zones,
            "calibration": self.calibration,
            "registration": self.registration,
            "white_point": self.white_point,
        }


class AuditEvent(Base):
    """Append-only: the services add rows; a client's deletion strips free text from the
    rows about her (tracker.app.audit.forget_client), and nothing else changes them.
    `actor` is an id-based label ("user 12", "cli", "system"), never an email: the audit
    log page shows the account's current email at display time."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BlobPurge(Base):
    """A file to delete once no photo uses it: written in the same transaction that drops
    the rows, removed when the file is gone. If the deletion stops between the two (a
    crash, a full disk), fsck --repair finds the key here and deletes the file instead of
    keeping it in quarantine: the rows said it goes."""

    __tablename__ = "blob_purge"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ClientStatus(Base):
    """The practitioners' dashboard row of one client, computed by the progress code and
    cached here because computing it takes ~0.1 s per client (recovery-curve fits).

    A cache, never a record: deleting every row loses nothing. tracker/app/dashboard.py decides
    when a row is stale (its `signature` no longer matches the client's inputs, or `today`
    falls outside [valid_from, valid_until)) and recomputes it.
    """

    __tablename__ = "client_status"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    # Bumped (in the writer's own transaction) whenever an ORM flush touches a row the
    # client's progress depends on; part of the signature, so such a change is never missed.
    input_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Digest of the inputs `data` was computed from; None until first computed.
    signature: Mapped[str | None] = mapped_column(String(64))
    # `data` holds for every `today` in [valid_from, valid_until); valid_until None = for ever.
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    computed_at: Mapped[datetime | None] = mapped_column(DateTime)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EncryptionKey(Base):
    """The store's secrets (address secret, column key) sealed by one master key: one row per
    master key allowed to open the store, normally one; two while a rotation runs. No row:
    the store is not encrypted. The seal's tag is the key-check value that tells a wrong
    key at start (tracker/store/keyring.py)."""

    __tablename__ = "encryption_key"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    sealed: Mapped[str] = mapped_column(String(200))  # base64
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
