"""The App the use cases receive: the adapters chosen by configuration (database, blob
store), the settings, and the message bus that runs handlers after a commit.

bootstrap.py builds it and chooses the handlers. It lives apart from bootstrap so that
the modules the handlers call (the dashboard, the progress code) can name App without
importing bootstrap back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker.config import Settings
from tracker.events import Event
from tracker.ingest import Limits
from tracker.store.blobs import BlobStore
from tracker.store.quarantine import FolderQuarantine, Quarantine
from tracker.store.uow import UnitOfWork

if TYPE_CHECKING:  # only the store uses SQLAlchemy; the App merely holds its engine
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

Handler = Callable[["App", Any], None]

# The App whose events `grouped_events` holds back in this thread (or task), and those
# events; None: publish at once.
_held: ContextVar[tuple[App, list[Event]] | None] = ContextVar("held_events", default=None)


@dataclass
class App:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    blobs: BlobStore
    # Event type -> what runs after a commit that raised it, in order.
    handlers: dict[type, list[Handler]] = field(default_factory=dict)
    # Where fsck puts unused blobs: beside the store (bootstrap chooses it with the store);
    # None: the data folder's quarantine/.
    quarantine_store: Quarantine | None = None

    @property
    def quarantine(self) -> Quarantine:
        return self.quarantine_store or FolderQuarantine(self.settings.quarantine_dir)

    @property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.publish)

    @contextmanager
    def grouped_events(self) -> Iterator[None]:
        """Hold back the events of every commit inside the block and publish them once, without
        repeats, when it ends (also when it fails: what was committed stays committed). A use
        case that commits several times (a photo, then its measurement; a series measured
        again photo by photo) then refreshes the client's dashboard row once, not per commit.
        Per thread: other sessions' commits meanwhile are published as usual."""
        if _held.get() is not None:  # nested: the outer block publishes
            yield
            return
        held: list[Event] = []
        token = _held.set((self, held))
        try:
            yield
        finally:
            _held.reset(token)
            if held:
                self.publish(list(dict.fromkeys(held)))

    def publish(self, events: list[Event]) -> None:
        """Run the handlers of each event. The change is committed already: a handler only
        keeps derived state in step, so its failure is logged and must not make the write
        look failed (nor stop the other handlers). What it leaves stale heals by itself:
        the dashboard recomputes a row whose inputs changed."""
        holding = _held.get()
        if holding is not None and holding[0] is self:
            holding[1].extend(events)
            return
        for message in events:
            for handler in self.handlers.get(type(message), []):
                try:
                    handler(self, message)
                except Exception:
                    log.exception("handler %s failed on %s", getattr(handler, "__name__", handler), message)

    def close(self) -> None:
        self.engine.dispose()
