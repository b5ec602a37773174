"""Wire the adapters chosen by configuration: one place that knows which database and
which blob store are in use, so services and pages never do."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tracker.config import Settings
from tracker.ingest import Limits
from tracker.store.blobs import BlobStore, LocalBlobStore
from tracker.store.db import make_engine, make_session_factory, upgrade
from tracker.store.uow import UnitOfWork


def install_change_hook() -> None:
    """Every process that writes data must bump the dashboard's per-client cache versions
    (tracker.dashboard); imported here late because the dashboard itself uses App."""
    from tracker.dashboard import install_change_hook as install

    install()


@dataclass
class App:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    blobs: BlobStore

    @property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def close(self) -> None:
        self.engine.dispose()


def open_app(settings: Settings | None = None, *, migrate: bool = True) -> App:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    install_change_hook()  # keeps the dashboard's per-client cache honest
    return App(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        blobs=LocalBlobStore(settings.blob_dir),
    )
