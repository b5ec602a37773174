"""One settings object for the whole app, read from the environment (prefix TRACKER_),
an optional `.env` file and an optional TOML file named by TRACKER_CONFIG.

Every limit that decides whether an upload is refused lives here, so a clinic can change
it without touching code and the refusal message can quote the exact number.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    FieldSerializationInfo,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRACKER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    # Shows the demo accounts on the sign-in page. Never in production.
    demo_mode: bool = False
    data_dir: Path = Path("data")
    # Empty means the embedded default: a SQLite file inside data_dir. PostgreSQL:
    # postgresql+psycopg://user:password@host:5432/tracker (docs/deploy.md, "PostgreSQL").
    database_url: str = ""
    # Where photos are kept. Empty: the data folder (data_dir/blobs). `s3://bucket/prefix`:
    # a private S3-compatible bucket, reached at s3_endpoint_url (empty: AWS itself) with
    # these credentials (empty: boto3's own chain, e.g. AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
    blob_store_url: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = Field(default="", repr=False)  # never in a log line
    # Whether a starting process (app server, command) brings the database schema up to date
    # itself. Off: it only checks the schema is current and refuses to start otherwise; run
    # `python -m tracker migrate` once before starting (or upgrading) several app replicas.
    migrate_on_start: bool = True

    # Ingest limits (design §4, issue 2). A 48 MP phone photo is 48.8 MP, hence 64 MP.
    max_upload_bytes: int = Field(default=30 * MB, gt=0)
    max_pixels: int = Field(default=64_000_000, gt=0)
    min_short_side: int = Field(default=256, gt=0)
    max_files_per_upload: int = Field(default=20, gt=0)
    # How long a browser stays signed in (across reloads) without signing in again.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Failed sign-ins allowed per email within the window before further tries are refused.
    sign_in_max_failures: int = Field(default=5, gt=0)
    sign_in_lockout_minutes: float = Field(default=15.0, gt=0)
    # The same from one source address (any emails), when the server knows it; 0: not
    # counted (a proxy on another machine that does not pass the client's address on).
    sign_in_max_failures_per_source: int = Field(default=20, ge=0)
    # Reverse proxies (addresses or networks, comma-separated: "10.0.0.5, 10.1.0.0/24")
    # whose X-Forwarded-For / X-Real-IP name the browser's address for the sign-in throttle.
    # A proxy on this machine is always believed; any other sender's headers are ignored.
    trusted_proxies: str = ""
    # Streamlit's cookie secret (server.cookieSecret, and st.login's cookie_secret with OIDC
    # sign-in: it signs the cookie that brings the provider's answer back, so whoever knows it
    # could forge that answer): every app replica of one site needs the same one. Empty: each
    # server makes its own (one process, no OIDC). At least 32 random characters when set.
    cookie_secret: SecretStr = SecretStr("")
    # Password checks (~64 MB each) running at once in one server process; beyond this a
    # sign-in waits up to password_check_wait_seconds, then is refused as busy.
    max_concurrent_password_checks: int = Field(default=2, gt=0, le=64)
    password_check_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    # A signed-in browser left unused this long is signed out (besides session_hours).
    session_idle_minutes: float = Field(default=30.0, gt=0)
    # `python -m tracker purge` deletes audit events older than this (0: keep for ever) and
    # ended or expired sign-in sessions older than login_session_retention_days.
    audit_retention_days: int = Field(default=400, ge=0)
    login_session_retention_days: int = Field(default=30, ge=0)
    # Each upload from the app is checked and measured in a child process with these limits
    # (tracker.worker): computing time, memory it may add to the ~1 GB the imaging libraries
    # take, time on the clock, and how many run at once per server process. A 48 MP photo
    # needs about 1.3 GB and 10 s.
    upload_cpu_seconds: int = Field(default=60, gt=0)
    upload_memory_mb: int = Field(default=3072, gt=0)
    upload_wall_seconds: float = Field(default=180.0, gt=0)
    upload_workers: int = Field(default=2, gt=0, le=16)
    # Memory the uploads being imported at once in one process may take together, each
    # estimated from its pixel count before decoding (a 64 MP photo ~1.3 GB, tracker.worker):
    # an upload waits for its share up to `import_budget_wait_seconds`, then is refused.
    import_memory_budget_mb: int = Field(default=4096, gt=0)
    import_budget_wait_seconds: float = Field(default=60.0, ge=0)
    # The worker pool (tracker.app.job_queue): `python -m tracker worker` starts this many
    # processes; a job whose worker is not heard from for `job_lease_seconds` is taken again,
    # and a failing job is tried `job_max_attempts` times before it stays failed.
    worker_processes: int = Field(default=2, gt=0, le=64)
    worker_poll_seconds: float = Field(default=2.0, gt=0)
    job_lease_seconds: int = Field(default=300, gt=0)
    job_max_attempts: int = Field(default=3, gt=0, le=20)
    display_long_edge: int = Field(default=2048, gt=0)
    thumbnail_long_edge: int = Field(default=384, gt=0)
    derivative_jpeg_quality: int = Field(default=88, ge=50, le=95)
    # Aligned before/after pairs (and their maps) kept in memory per server process, so a
    # reload of My progress does not register the same two photos again (issue 12 item 11).
    # A pair of 2048 px display copies with its maps takes about 40 MB; 0 keeps none.
    compare_cache_mb: int = Field(default=256, ge=0)

    # fsck leaves blobs younger than this alone: an upload may be between its blob
    # write and its commit.
    orphan_min_age_seconds: int = Field(default=600, ge=0)
    # fsck --repair removes files in blobs/.tmp older than this (a write that never
    # finished: no upload takes that long), and quarantined files older than this.
    temp_file_max_age_minutes: float = Field(default=60.0, gt=0)
    quarantine_days: float = Field(default=30.0, ge=0)

    # Encryption at rest (docs/deploy.md): the master key, 32 bytes in base64, from a file
    # readable by the service account only (mode 0600, checked) or from the environment.
    # Empty: photos and records are stored unencrypted. During a key rotation the old key
    # goes in encryption_old_key_file, read only, until `rotate-key` has finished.
    encryption_key_file: Path | None = None
    encryption_key: SecretStr = SecretStr("")
    encryption_old_key_file: Path | None = None

    clinic_name: str = "My Clinic"

    # The clinic as its clients see it (issue 11): on the pages, in the PDF, in reminders.
    # Contact details are quoted wherever the app says "contact the clinic".
    clinic_phone: str = ""
    clinic_email: str = ""
    clinic_address: str = ""
    # A PNG or JPEG shown in the sidebar and the PDF's header; empty for none.
    clinic_logo: Path | None = None
    accent_colour: str = Field(default="#b5476b", pattern=r"^#[0-9a-fA-F]{6}$")
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    # The clinic's time zone (IANA name): clinical times are its wall-clock time.
    time_zone: str = "Europe/London"

    # The address clients reach the app at (https://photos.clinic.example), for links in
    # invites, password resets and reminders; empty gives links relative to the app.
    public_url: str = ""
    # How long a one-time invite or password-reset link works.
    invite_link_hours: float = Field(default=72.0, gt=0, le=24 * 30)
    reset_link_hours: float = Field(default=24.0, gt=0, le=24 * 7)
    # A client may delete a photo they uploaded themselves for this long after uploading it
    # (0: never; staff can always delete, with a reason).
    client_photo_delete_hours: float = Field(default=48.0, ge=0)

    # Staff sign-in through the clinic chain's identity provider (OpenID Connect, Streamlit's
    # st.login; docs/deploy.md "OIDC sign-in"). An empty metadata URL keeps local accounts for
    # everyone. The provider redirects back to <public_url>/oauth2callback, so public_url is
    # needed too. The secret is never logged or shown; the server gets it in a private file.
    oidc_server_metadata_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    # The sign-in button says "Sign in with <this>".
    oidc_provider_name: str = Field(default="your clinic's sign-in", min_length=1, max_length=60)
    # False: staff sign in only through the provider; clients keep their passwords.
    oidc_staff_password_sign_in: bool = True
    # The provider's answer (its ID token) opens a session only this long after it was issued.
    oidc_answer_max_age_minutes: float = Field(default=10.0, gt=0, le=60)

    # Email reminders (python -m tracker send-reminders); empty smtp_host sends nothing.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_username: str = ""
    smtp_password: str = ""
    # "starttls" (port 587), "tls" (port 465) or "none" (a relay on the same machine).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    mail_from: str = ""
    # Repeat error assumed for a metric when a client has a single baseline photo (used for
    # the noise band until repeat photos exist).
    noise_relative_error: float = Field(default=0.08, gt=0, lt=1)
    # Centre-to-centre distance of the colour chart's patches; the chart's known size gives
    # the photo's scale. 5 mm is the pocket chart of the demo set.
    chart_patch_pitch_mm: float = Field(default=5.0, gt=0)

    def to_json(self) -> str:
        """The settings for a child process or a cache key, secrets included: a plain JSON
        dump shows them as "**********", and settings read back from it would hold the stars
        instead of the encryption key or the cookie secret. Never log this."""
        return self.model_dump_json(context={"reveal_secrets": True})

    @field_serializer("cookie_secret", "encryption_key", when_used="json")
    def _secret_json(self, value: SecretStr, info: FieldSerializationInfo) -> str:
        revealed = isinstance(info.context, dict) and info.context.get("reveal_secrets") is True
        return value.get_secret_value() if revealed else str(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        toml_path = os.environ.get("TRACKER_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @field_validator("encryption_key_file", "encryption_old_key_file", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        """`TRACKER_ENCRYPTION_KEY_FILE=` (empty) means no key file, not the current folder."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.environment == "production" and self.demo_mode:
            raise ValueError("demo_mode shows passwords on the sign-in page: not allowed in production")
        if self.thumbnail_long_edge > self.display_long_edge:
            raise ValueError("thumbnail_long_edge must not exceed display_long_edge")
        if self.blob_store_url:
            from tracker.store.s3_blobs import S3Location  # boto3 only when S3 is used

            S3Location.parse(self.blob_store_url)
        self.trusted_proxy_networks  # noqa: B018 (a bad entry is refused now, not at a sign-in)
        if 0 < len(self.cookie_secret.get_secret_value()) < 32:
            raise ValueError("cookie_secret must be at least 32 random characters")
        self._check_oidc()
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time_zone {self.time_zone!r} is not a known IANA time zone") from exc
        return self

    def _check_oidc(self) -> None:
        if not self.oidc_server_metadata_url:
            if not self.oidc_staff_password_sign_in:
                raise ValueError("oidc_staff_password_sign_in=false needs OIDC sign-in configured")
            return
        missing = [
            name
            for name, value in [
                ("oidc_client_id", self.oidc_client_id),
                ("oidc_client_secret", self.oidc_client_secret),
                ("cookie_secret", self.cookie_secret.get_secret_value()),
                ("public_url", self.public_url),
            ]
            if not value
        ]
        if missing:
            raise ValueError(f"OIDC sign-in needs {', '.join(missing)} set as well")
        urls = [("oidc_server_metadata_url", self.oidc_server_metadata_url), ("public_url", self.public_url)]
        for name, url in urls:
            parts = urlsplit(url)
            local = parts.hostname in {"localhost", "127.0.0.1", "::1"}
            if parts.scheme != "https" and not (parts.scheme == "http" and local):
                raise ValueError(f"{name} must be an https:// address (plain http only on this machine)")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_server_metadata_url)

    @property
    def oidc_redirect_uri(self) -> str:
        """Where the identity provider sends the browser back (registered at the provider)."""
        return self.public_url.rstrip("/") + "/oauth2callback"

    @property
    def max_upload_mb(self) -> int:
        """The upload limit as people read it (at least 1)."""
        return max(1, self.max_upload_bytes // MB)

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        networks = []
        for entry in (e.strip() for e in self.trusted_proxies.split(",")):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry, strict=False))
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or network") from exc
        return tuple(networks)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tracker.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"
