"""Engine, sessions and migrations.

SQLite is the embedded default. Its connections are set up for a web app with a few
concurrent readers and one writer: WAL so readers don't block the writer, enforced
foreign keys (off by default in SQLite!) and a busy timeout instead of instant
"database is locked" errors. `secure_delete` overwrites deleted rows with zeros, so a
deleted client's name cannot be read back from the file's free pages.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


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
    """Bring the schema to the newest migration; a no-op when it is already there."""
    command.upgrade(alembic_config(engine), "head")


def schema_is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
