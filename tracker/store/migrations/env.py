"""Alembic environment: uses the engine handed over by tracker.store.db, or the
TRACKER_ settings when run from the `alembic` command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from tracker.store.models import Base


def _engine() -> Engine:
    engine = context.config.attributes.get("engine")
    if engine is None:
        from tracker.config import Settings
        from tracker.store.db import make_engine

        engine = make_engine(Settings().resolved_database_url)
    return engine


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration on SQLite copies a table and drops the old one; with foreign
            # keys on, that drop cascades (dropping `clinic` deleted every client). Off for
            # the migration (the pragma only works outside a transaction), checked after.
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"the migration left {len(broken)} rows whose references are broken")


run_migrations_online()
