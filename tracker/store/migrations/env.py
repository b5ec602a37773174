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
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
