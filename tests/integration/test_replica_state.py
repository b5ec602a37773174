"""State that must survive a browser's request reaching another app replica: two Apps
opened on the same database (each its own engine and connection pool, as two server
processes have) stand for two replicas."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tracker.app.context import Context
from tracker.app.cookie_handoff import issue, redeem
from tracker.app.people import authenticate, create_account, open_session, resume_session
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Role
from tracker.permissions import Actor
from tracker.store.models import CookieCode, utcnow


@pytest.fixture
def replica(app: App) -> Iterator[App]:
    """A second App on the first one's database and blob folder."""
    url = app.settings.resolved_database_url
    other = open_app(Settings(data_dir=app.settings.data_dir, database_url=url))
    yield other
    other.close()


def _staff(app: App, operator: Actor) -> Actor:
    password = "replica-password-" + "x" * 8
    create_account(Context(app, operator), "staff@replica.test", Role.ADMIN, password)
    actor = authenticate(app, "staff@replica.test", password)
    assert actor is not None
    return actor


def test_a_code_issued_by_one_replica_is_redeemed_once_by_another(app: App, replica: App) -> None:
    token = "t" * 43
    code = issue(app, token)
    assert redeem(replica, code) == token
    assert redeem(replica, code) is None  # once, wherever
    assert redeem(app, code) is None
    assert redeem(replica, "guess") is None


def test_the_table_holds_neither_the_code_nor_the_token(app: App) -> None:
    token = "secret-session-token-" + "s" * 22
    code = issue(app, token)
    with app.uow() as uow:
        (row,) = uow.session.scalars(select(CookieCode)).all()
        stored = f"{row.code_sha256} {row.sealed_token}"
    assert code not in stored and token not in stored
    assert redeem(app, code) == token


def test_an_expired_code_gives_nothing_and_expired_codes_are_cleared(app: App, replica: App) -> None:
    code = issue(app, "a" * 43)
    with app.uow() as uow:
        uow.session.execute(update(CookieCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert redeem(replica, code) is None
    old = issue(app, "b" * 43)
    with app.uow() as uow:
        uow.session.execute(update(CookieCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    fresh = issue(replica, "c" * 43)  # issuing removes the expired ones
    with app.uow() as uow:
        assert len(uow.session.scalars(select(CookieCode)).all()) == 1
    assert redeem(app, old) is None and redeem(app, fresh) == "c" * 43


def test_parallel_redeems_on_two_replicas_give_the_token_exactly_once(app: App, replica: App) -> None:
    for round_ in range(5):
        token = f"{round_}" * 43
        code = issue(app, token)
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda i, c=code: redeem(app if i % 2 else replica, c), range(8)))
        assert got.count(token) == 1 and got.count(None) == 7


def test_a_session_opened_on_one_replica_is_resumed_on_the_other(
    app: App, replica: App, operator: Actor
) -> None:
    actor = _staff(app, operator)
    token = open_session(app, actor)
    code = issue(app, token)
    resumed = resume_session(replica, redeem(replica, code))
    assert resumed is not None and resumed.user_id == actor.user_id
