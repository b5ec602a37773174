"""Local accounts and signed-in browsers, on a real SQLite database."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from tracker.app.context import Context
from tracker.app.people import (
    TooManyAttempts,
    authenticate,
    end_session,
    hash_password,
    resume_session,
    start_session,
)
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.permissions import Actor
from tracker.store.models import LoginSession, SignInThrottle, User, utcnow

EMAIL, PASSWORD = "ann@clinic.test", "correct horse battery"


@pytest.fixture
def signed_in(app: App, operator: Actor, client_id: int) -> Actor:
    with app.uow() as uow:
        uow.repo.add(
            User(
                clinic_id=operator.clinic_id,
                email=EMAIL,
                display_name="Ann",
                role=Role.CLIENT,
                client_id=client_id,
                password_hash=hash_password(PASSWORD),
            )
        )
        uow.commit()
    actor = authenticate(app, EMAIL, PASSWORD)
    assert actor is not None
    return actor


def test_a_session_token_resumes_the_same_actor(app: App, signed_in: Actor) -> None:
    token = start_session(Context(app, signed_in))
    assert resume_session(app, token) == signed_in
    assert resume_session(app, token) == signed_in  # a second tab, another reload


def test_only_the_tokens_digest_is_stored(app: App, signed_in: Actor) -> None:
    token = start_session(Context(app, signed_in))
    with app.engine.connect() as connection:
        dump = repr(connection.exec_driver_sql("select * from login_session").fetchall())
        stored = connection.execute(text("select token_sha256 from login_session")).scalar_one()
    assert token not in dump
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_sign_out_ends_the_token_everywhere(app: App, signed_in: Actor) -> None:
    token = start_session(Context(app, signed_in))
    other = start_session(Context(app, signed_in))  # another device stays signed in
    end_session(app, token)
    assert resume_session(app, token) is None
    assert resume_session(app, other) == signed_in
    end_session(app, token)  # twice is harmless
    end_session(app, None)


def test_expired_unknown_and_garbage_tokens_do_not_resume(app: App, signed_in: Actor) -> None:
    token = start_session(Context(app, signed_in))
    with app.uow() as uow:
        uow.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert resume_session(app, token) is None
    for bad in (None, "", "not-a-token", "x" * 5000, token + "x"):
        assert resume_session(app, bad) is None


def test_a_session_lasts_the_configured_hours(app: App, signed_in: Actor) -> None:
    start_session(Context(app, signed_in))
    with app.uow() as uow:
        row = uow.session.scalars(select(LoginSession)).one()
        lasts = row.expires_at - row.created_at
    assert lasts == timedelta(hours=app.settings.session_hours)


def test_a_deactivated_account_cannot_resume(app: App, signed_in: Actor) -> None:
    token = start_session(Context(app, signed_in))
    with app.uow() as uow:
        uow.session.execute(update(User).where(User.email == EMAIL).values(active=False))
        uow.commit()
    assert resume_session(app, token) is None
    assert authenticate(app, EMAIL, PASSWORD) is None


def test_an_actor_without_an_account_gets_no_session(app: App, operator: Actor) -> None:
    with pytest.raises(ValueError, match="user account"):
        start_session(Context(app, operator))


def test_repeated_failures_lock_the_email_for_a_while(app: App, signed_in: Actor) -> None:
    limit = app.settings.sign_in_max_failures
    for _ in range(limit):
        assert authenticate(app, EMAIL, "wrong") is None
    with pytest.raises(TooManyAttempts, match="Please wait 15 minutes"):
        authenticate(app, EMAIL, PASSWORD)  # even the right password waits
    for _ in range(limit):  # an unknown email is treated alike: nothing reveals which exist
        assert authenticate(app, "nobody@clinic.test", "wrong") is None
    with pytest.raises(TooManyAttempts):
        authenticate(app, "nobody@clinic.test", "wrong")
    with app.uow() as uow:  # the window passes
        uow.session.execute(update(SignInThrottle).values(window_start=utcnow() - timedelta(minutes=16)))
        uow.commit()
    assert authenticate(app, EMAIL, PASSWORD) == signed_in


def test_a_success_starts_the_count_again(app: App, signed_in: Actor) -> None:
    limit = app.settings.sign_in_max_failures
    for _ in range(limit - 1):
        assert authenticate(app, EMAIL, "wrong") is None
    assert authenticate(app, EMAIL, PASSWORD) == signed_in
    for _ in range(limit - 1):
        assert authenticate(app, EMAIL, "wrong") is None
    assert authenticate(app, EMAIL, PASSWORD) == signed_in
