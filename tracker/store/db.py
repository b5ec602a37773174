"""Engine, sessions and migrations.

SQLite is the embedded default. Its connections are set up for a web app with a few
concurrent readers and one writer: WAL so readers don't block the writer, enforced
foreign keys (off by default in SQLite!) and a busy timeout instead of instant
"database is locked" errors. `secure_delete` overwrites deleted rows with zeros, so a
deleted client's name cannot be read back from the file's free pages.

PostgreSQL (TRACKER_DATABASE_URL=postgresql+psycopg://...) runs the same migrations.
Migrations run under a lock, so several processes starting at once on a new database
migrate it once: the others wait, then find it current. On PostgreSQL that is an advisory
lock held by one connection; on SQLite an exclusive lock on a file next to the database
(`flock`, which does not touch the POSIX locks SQLite keeps on the database file itself).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from tracker.errors import SchemaNotCurrent

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The advisory lock's key on PostgreSQL: any fixed 64-bit number no other program uses.
MIGRATION_LOCK_KEY = 0x7472_6163_6B65_72  # "tracker"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _private_file(url)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _private_file(url: str) -> None:
    """Create the SQLite file readable by this user only, whatever the umask; SQLite gives
    its -wal and -shm files the database file's mode."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return
    if not path.exists():
        # Never open (and close) a database file that exists: closing any descriptor of a
        # file drops every POSIX lock this process holds on it, so another engine's open
        # connections would lose their locks and writers could corrupt the database
        # (SQLite's "How To Corrupt", 2.2). A new file can hold no lock yet.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with contextlib.suppress(OSError):  # not ours to change: leave it as the owner set it
        path.chmod(0o600)


def printable_url(url: str) -> str:
    """The database's address for a message: the password, if any, as ***."""
    return make_url(url).render_as_string(hide_password=True)


def advance_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """After rows were inserted with their ids given: PostgreSQL's id sequences do not see
    those, and would hand out the same ids next. (SQLite takes the next id from the rows.)"""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name})) WHERE EXISTS (SELECT 1 FROM {table.name})"
            )
        )


def forget_deleted(engine: Engine) -> None:
    """After a deletion: move the changed pages from the write-ahead log into the database
    file and empty the log, which still holds the rows as they were before. Best effort: a
    reader holding an old snapshot keeps the log, and the next checkpoint clears it."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there. Several
    processes may call this at once: one migrates, the others wait for it."""
    with migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Held while migrating: by one process (and one thread) of all that share the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        return
    path = _sqlite_file(engine)
    if path is None:  # in memory: no other process can share it
        yield
        return
    descriptor = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _sqlite_file(engine: Engine) -> Path | None:
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def schema_revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the database's revision, this version's newest): None for a database never migrated."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision(), head


def schema_is_current(engine: Engine) -> bool:
    current, head = schema_revisions(engine)
    return current == head


def require_current_schema(engine: Engine) -> None:
    """Refuse to go on with a database another version's migrations left (or none made)."""
    current, head = schema_revisions(engine)
    if current == head:
        return
    state = f"is at schema revision {current}" if current else "has no schema yet"
    raise SchemaNotCurrent(
        f"The database {state}; this version needs {head}. Run `python -m tracker migrate` "
        "once (before starting the app processes), or set TRACKER_MIGRATE_ON_START=true "
        "for a single process that may migrate it itself."
    )
