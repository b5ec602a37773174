"""Wire the adapters chosen by configuration: one place that knows which database and
which blob store are in use, and which handlers follow a committed change, so services
and pages never do."""

from __future__ import annotations

import contextlib
import os

from tracker.application import App, Handler
from tracker.config import Settings
from tracker.errors import SchemaNotCurrent
from tracker.events import ClientInputsChanged, PhotoFilesDropped
from tracker.store.blobs import KeyedBlobStore, LocalBlobStore
from tracker.store.db import make_engine, make_session_factory, require_current_schema, upgrade
from tracker.store.encryption_keys import MasterKey
from tracker.store.keyring import configured_keys, protect
from tracker.store.quarantine import FolderQuarantine, Quarantine


def refresh_dashboard_row(app: App, event: ClientInputsChanged) -> None:
    """Recompute the client's cached dashboard row, so the practitioners' next view stays
    warm. Imported here, not at the top: the dashboard brings pandas and the progress
    rules, which most commands never need."""
    from tracker.app.dashboard import refresh_changed_client

    refresh_changed_client(app, event.clinic_id, event.client_id)


def forget_kept_baselines(app: App, event: PhotoFilesDropped) -> None:
    """No copy of deleted photos' pixels stays in this process's memory."""
    from tracker.app.measurements import forget_baselines

    forget_baselines(set(event.blob_keys))


def forget_kept_pairs(app: App, event: PhotoFilesDropped) -> None:
    """Nor in the aligned pairs kept for comparisons."""
    from tracker.app.kept_pairs import forget

    forget(set(event.blob_keys))


def handlers() -> dict[type, list[Handler]]:
    return {
        ClientInputsChanged: [refresh_dashboard_row],
        PhotoFilesDropped: [forget_kept_baselines, forget_kept_pairs],
    }


def private_files() -> None:
    """Files and folders this process creates from now on are its user's only (umask 077):
    face photos and health records, whatever the service account's default. Called by the
    command line first thing, and by open_app for a server started some other way."""
    os.umask(0o077)


def encryption_keys(settings: Settings) -> list[MasterKey]:
    """The configured master keys, current first (checked: file mode, length)."""
    return configured_keys(
        settings.encryption_key_file,
        settings.encryption_key.get_secret_value(),
        settings.encryption_old_key_file,
    )


def open_app(
    settings: Settings | None = None, *, migrate: bool = True, begin_encryption: bool = False
) -> App:
    """The app on the configured database and blob store. With `migrate` the schema is
    brought up to date (under a lock: several processes may start at once) when the
    settings allow it (migrate_on_start), else checked: an app on an old schema would fail
    later, on some query, with an error naming no cause. `migrate=False`: the caller has
    made sure of the schema (the `migrate` command, a worker of a started server)."""
    private_files()
    settings = settings or Settings()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # health data: this user only
    # A data folder made by an older version (0755) is closed too: its photos and records
    # below are then out of other users' reach whatever their own modes.
    with contextlib.suppress(OSError):  # not ours to change: leave it as the owner set it
        settings.data_dir.chmod(0o700)
    masters = encryption_keys(settings)  # a key file open to others stops here, before any write
    engine = make_engine(settings.resolved_database_url)
    if migrate and settings.migrate_on_start:
        upgrade(engine)
    elif migrate:
        try:
            require_current_schema(engine)
        except SchemaNotCurrent:
            engine.dispose()
            raise
    plain, quarantine = blob_store(settings)
    # Encrypting when a key is configured; a wrong or missing key stops here, nothing written.
    store = protect(engine, plain, masters, begin=begin_encryption)
    return App(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        blobs=store,
        handlers=handlers(),
        quarantine_store=quarantine,
    )


def blob_store(settings: Settings) -> tuple[KeyedBlobStore, Quarantine]:
    """The store the blob-store URL names, and its quarantine beside it: the data folder
    (empty URL) or an S3-compatible bucket (s3://bucket/prefix). Opening makes no request:
    a bucket that is missing or refuses the credentials is reported on first use, plainly
    (BlobStoreUnavailable)."""
    if not settings.blob_store_url:
        return LocalBlobStore(settings.blob_dir), FolderQuarantine(settings.quarantine_dir)
    from tracker.store.s3_blobs import S3BlobStore, S3Location, S3Quarantine, make_client

    client = make_client(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
    )
    store = S3BlobStore(client, S3Location.parse(settings.blob_store_url))
    return store, S3Quarantine(store)


__all__ = ["App", "open_app"]
