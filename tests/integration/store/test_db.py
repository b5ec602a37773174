from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tracker.bootstrap import App
from tracker.domain import Concern, PhotoKind, Role
from tracker.store.db import schema_is_current, upgrade
from tracker.store.models import Base, Client, Photo, TreatmentCourse, User


def test_migrations_match_the_models(app: App) -> None:
    with app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "models changed without a migration: alembic revision --autogenerate"


def test_upgrade_is_idempotent(app: App) -> None:
    assert schema_is_current(app.engine)
    upgrade(app.engine)
    assert schema_is_current(app.engine)


@pytest.mark.sqlite_only  # the SQLite file's own settings
def test_sqlite_runs_in_wal_with_foreign_keys(app: App) -> None:
    with app.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_foreign_keys_are_enforced(app: App) -> None:
    with app.uow() as uow:
        uow.repo.add(
            Photo(
                client_id=999,
                session_id=999,
                kind=PhotoKind.BEFORE,
                taken_at=datetime(2026, 1, 1),
                taken_at_source="exif",
                original_filename="x",
                original_format="jpeg",
                original_size=1,
                original_sha256="a" * 64,
                display_sha256="b" * 64,
                thumbnail_sha256="c" * 64,
                width=1,
                height=1,
            )
        )
        with pytest.raises(IntegrityError):
            uow.commit()


def test_client_users_must_be_linked_to_a_client(app: App) -> None:
    with app.uow() as uow:
        from tracker.store.models import Clinic

        clinic = Clinic(name="C")
        uow.repo.add(clinic)
        uow.repo.flush()
        uow.repo.add(User(clinic_id=clinic.id, email="a@b", display_name="A", role=Role.CLIENT))
        with pytest.raises(IntegrityError):
            uow.commit()


def test_enums_round_trip_as_enums(app: App) -> None:
    with app.uow() as uow:
        from tracker.store.models import Clinic

        clinic = Clinic(name="C")
        client = Client(clinic=clinic, name="N")
        client.courses.append(
            TreatmentCourse(concern=Concern.ACNE_SCARS, planned_sessions=4, interval_weeks=5)
        )
        uow.repo.add(client)
        uow.commit()
    with app.uow() as uow:
        stored = uow.session.execute(text("SELECT concern FROM treatment_course")).scalar()
        assert stored == "acne_scars"
        course = uow.repo.current_course(client.id)
        assert course is not None and course.concern is Concern.ACNE_SCARS


def test_each_migration_keeps_the_rows_it_finds(tmp_path: object) -> None:
    """A batch migration on SQLite copies a table and drops the old one; with foreign keys
    on, that drop once cascaded and deleted every client. Upgrading step by step from the
    first revision with a clinic, client and course in place must keep all three."""
    from pathlib import Path

    from alembic import command
    from alembic.script import ScriptDirectory

    from tracker.store.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'old.db'}")
    cfg = alembic_config(engine)
    revisions = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()][::-1]
    command.upgrade(cfg, revisions[0])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO clinic (id, name, created_at) VALUES (1, 'Old Clinic', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO client (id, clinic_id, name, created_at, intake, consent) "
                "VALUES (1, 1, 'Kept', '2026-01-01', '{}', '{}')"
            )
        )
        conn.execute(text(_OLD_COURSE))
    for revision in revisions[1:]:
        command.upgrade(cfg, revision)
        with engine.connect() as conn:
            for table in ("clinic", "client", "treatment_course"):
                count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                assert count == 1, f"{table} rows lost at {revision}"
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on after migrating
        # A course from before the regions: NULL, read as the concern's default regions.
        regions = conn.execute(text("SELECT treated_regions, reference_regions FROM treatment_course")).one()
        assert tuple(regions) == (None, None)
    engine.dispose()


_OLD_COURSE = (
    "INSERT INTO treatment_course (id, client_id, concern, planned_sessions, interval_weeks, body_area, "
    "created_at) VALUES (1, 1, 'acne_scars', 4, 5, 'face', '2026-01-01')"
)


def test_taking_the_course_regions_back_out_keeps_courses_and_their_sessions(tmp_path: object) -> None:
    """Downgrading 0008 copies treatment_course on SQLite (a batch drop); the sessions that
    cascade from it must survive the copy."""
    from pathlib import Path

    from alembic import command

    from tracker.store.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'regions.db'}")
    cfg = alembic_config(engine)
    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO clinic (id, name, created_at) VALUES (1, 'C', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO client (id, clinic_id, name, name_key, created_at, intake, consent) "
                "VALUES (1, 1, 'Kept', 'kept', '2026-01-01', '{}', '{}')"
            )
        )
        conn.execute(text(_OLD_COURSE))
        conn.execute(text("UPDATE treatment_course SET treated_regions = '[\"forehead\"]'"))
        conn.execute(
            text(
                "INSERT INTO treatment_session (id, course_id, number, at, device, serum, notes) "
                "VALUES (1, 1, 1, '2026-01-02 10:00', '', '', '')"
            )
        )
    command.downgrade(cfg, "0007_clinic_is_demo")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM treatment_course")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM treatment_session")).scalar() == 1
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info(treatment_course)"))}
        assert "treated_regions" not in columns and "concern" in columns
    command.upgrade(cfg, "head")
    engine.dispose()


@pytest.mark.sqlite_only  # SQLite's file locks and write-ahead log
def test_a_second_engine_in_the_process_leaves_the_first_ones_locks_alone(app: App) -> None:
    """The server opens a second engine on the same file (its download routes). Opening and
    closing the file's descriptor to set its mode dropped every POSIX lock this process held
    on it; an upload's child process, closing its own connection, then found no other
    connection, checkpointed and deleted the write-ahead log the server was still using, and
    the server read "database disk image is malformed" (CI, issue 12)."""
    import subprocess
    import sys

    from tracker.store.db import make_engine

    database = app.settings.data_dir / "tracker.db"
    with app.engine.connect() as held:  # a connection of the first engine stays open
        held.exec_driver_sql("SELECT count(*) FROM user_account").scalar()
        assert database.with_name("tracker.db-wal").exists()
        second = make_engine(app.settings.resolved_database_url)
        with second.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        second.dispose()
        child = (
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM user_account').fetchone()\n"
            "c.close()\n"
        )
        subprocess.run([sys.executable, "-c", child, str(database)], check=True, timeout=60)
        # the child was not the last connection: the log this process uses is still there
        assert database.with_name("tracker.db-wal").exists()
        assert held.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
