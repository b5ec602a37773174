"""One client per name in a clinic, kept by the database (issue 13 item 6): two imports
racing for a new client name made two clients, which the command line then could not
address. Runs on the run's database (SQLite, or PostgreSQL with --database=postgresql)."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from tests.conftest import on_postgres
from tracker.app import courses
from tracker.app.context import Context
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import client_name_key
from tracker.permissions import Actor
from tracker.store.db import alembic_config, make_engine
from tracker.store.models import Client

RACERS = 6


def _create(ctx: Context, name: str) -> tuple[str, int]:
    try:
        return "created", courses.create_client(ctx, name)
    except courses.SameName as exc:
        return "same", exc.client_id


def _names(app: App) -> list[tuple[str, str, int]]:
    with app.uow() as uow:
        rows = uow.session.execute(
            select(Client.name, Client.name_key, Client.name_number).order_by(Client.id)
        )
        return [(a, b, c) for a, b, c in rows]


def test_the_name_key_ignores_case_spacing_and_unicode_form() -> None:
    assert client_name_key("  Nia \t OKAFOR ") == "nia okafor"
    assert client_name_key("Jose\u0301 Strauß") == client_name_key("José STRAUSS")
    assert client_name_key("Ann Lee") != client_name_key("Ann Leigh")


def test_threads_racing_to_create_a_name_make_one_client(app: App, operator: Actor) -> None:
    start = threading.Barrier(RACERS)
    results: list[tuple[str, int]] = []
    spellings = ["Nia Okafor", "nia okafor", "Nia  Okafor", "NIA OKAFOR", " Nia Okafor ", "Nia Okafor"]

    def race(name: str) -> None:
        start.wait()
        results.append(_create(Context(app, operator), name))

    threads = [threading.Thread(target=race, args=(name,)) for name in spellings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(kind for kind, _ in results) == ["created"] + ["same"] * (RACERS - 1)
    assert len({client_id for _, client_id in results}) == 1
    assert [(key, number) for _, key, number in _names(app)] == [("nia okafor", 0)]


def _create_in_process(data_dir: str, database_url: str, clinic_id: int, start: Any, out: Any) -> None:
    app = open_app(Settings(data_dir=Path(data_dir), database_url=database_url, _env_file=None))  # type: ignore[call-arg]
    start.wait()
    out.put(_create(Context(app, Actor.operator(clinic_id)), "Tomás Berg"))
    app.close()


def test_processes_racing_to_create_a_name_make_one_client(app: App, operator: Actor) -> None:
    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Barrier(RACERS), spawn.Queue()
    url = app.settings.database_url or app.settings.resolved_database_url
    args = (str(app.settings.data_dir), url, operator.clinic_id, start, out)
    racers = [spawn.Process(target=_create_in_process, args=args) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    results = [out.get(timeout=180) for _ in racers]
    for racer in racers:
        racer.join(timeout=60)
        assert racer.exitcode == 0
    assert sorted(kind for kind, _ in results) == ["created"] + ["same"] * (RACERS - 1)
    assert len({client_id for _, client_id in results}) == 1
    assert [name for name, _, _ in _names(app)] == ["Tomás Berg"]


def test_staff_adding_a_taken_name_are_told_whose_it_is(app: App, operator: Actor) -> None:
    ctx = Context(app, operator)
    first = courses.create_client(ctx, "Ana Silva")
    with pytest.raises(
        courses.SameName, match=rf"A client called Ana Silva is already in the clinic \(#{first},"
    ):
        courses.create_client(ctx, "ana  SILVA")
    assert len(_names(app)) == 1  # nothing changed
    second = courses.create_client(ctx, "ana silva", allow_same_name=True)  # confirmed: another person
    third = courses.create_client(ctx, "Ana Silva", allow_same_name=True)
    assert [number for _, _, number in _names(app)] == [0, 1, 2]
    assert len({first, second, third}) == 3
    with pytest.raises(courses.Refused, match="More than one client is called"):
        courses.find_client(ctx, "ANA SILVA")


def test_the_command_line_finds_a_client_whatever_the_spacing_and_case(app: App, operator: Actor) -> None:
    client_id = courses.create_client(Context(app, operator), "Nia Okafor")
    found = courses.find_client(Context(app, operator), "nia   okafor")
    assert found is not None and found.id == client_id


def _empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if on_postgres(request.config):
        return str(request.getfixturevalue("postgres").create_database(template="template0"))
    return f"sqlite:///{tmp_path / 'old.db'}"


def test_the_upgrade_keeps_same_name_clients_that_older_versions_made(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    engine = make_engine(_empty_database(request, tmp_path))
    try:
        command.upgrade(alembic_config(engine), "0014_auth")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO clinic (id, name, created_at, is_demo) VALUES (1, 'A', '2026-01-01', false)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO clinic (id, name, created_at, is_demo) VALUES (2, 'B', '2026-01-01', false)"
                )
            )
            for clinic_id, name in [
                (1, "Ann Lee"),
                (1, "Bo Chen"),
                (1, "ann  LEE"),
                (2, "Ann Lee"),
                (1, "Ann Lee"),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO client (clinic_id, name, intake, consent, created_at, "
                        "ita_calibrated) VALUES (:clinic, :name, '{}', '{}', '2026-01-01', false)"
                    ),
                    {"clinic": clinic_id, "name": name},
                )
            conn.execute(
                text(
                    "INSERT INTO client (clinic_id, name, intake, consent, created_at, ita_calibrated) "
                    "VALUES (1, 'Gone', '{}', '{}', '2026-01-01', false)"
                )
            )
            conn.execute(text("DELETE FROM client WHERE name = 'Gone'"))  # id 6: never given again
        command.upgrade(alembic_config(engine), "head")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO client (clinic_id, name, name_key, intake, consent, created_at, "
                    "ita_calibrated) VALUES (2, 'New', 'new', '{}', '{}', '2026-01-01', false)"
                )
            )
            rows = conn.execute(text("SELECT id, name, name_key, name_number FROM client ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "Ann Lee", "ann lee", 0),
        (2, "Bo Chen", "bo chen", 0),
        (3, "ann  LEE", "ann lee", 1),
        (4, "Ann Lee", "ann lee", 0),
        (5, "Ann Lee", "ann lee", 2),
        (7, "New", "new", 0),
    ]
