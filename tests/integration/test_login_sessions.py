"""Signed-in browsers end after an idle time besides their lifetime, and what is kept
only for a while is purged (issue 12, items 1 and 9), on a real SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tracker.app import courses, throttle
from tracker.app.context import Context
from tracker.app.people import (
    authenticate,
    create_account,
    finish_password_change,
    resume_session,
    start_session,
)
from tracker.app.retention import purge
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor
from tracker.store.models import AuditEvent, LoginSession, SignInThrottle, utcnow

EMAIL, PASSWORD = "pat@clinic.test", "correct horse battery"


@pytest.fixture
def pat(app: App, operator: Actor) -> Actor:
    create_account(Context(app, operator), EMAIL, Role.PRACTITIONER, PASSWORD)
    actor = authenticate(app, EMAIL, PASSWORD)
    assert actor is not None
    return actor


def _set(app: App, **values: object) -> None:
    with app.uow() as uow:
        uow.session.execute(update(LoginSession).values(**values))
        uow.commit()


def _last_used(app: App) -> object:
    with app.uow() as uow:
        return uow.session.scalar(select(LoginSession.last_used_at))


def test_a_session_left_unused_for_the_idle_time_ends(app: App, pat: Actor) -> None:
    token = start_session(Context(app, pat))
    idle = timedelta(minutes=app.settings.session_idle_minutes)
    _set(app, created_at=utcnow() - idle - timedelta(minutes=1))  # never used since
    assert resume_session(app, token) is None  # although its 12 hours are far from up


def test_a_session_in_use_outlives_the_idle_time(app: App, pat: Actor) -> None:
    token = start_session(Context(app, pat))
    idle = timedelta(minutes=app.settings.session_idle_minutes)
    _set(app, created_at=utcnow() - 2 * idle, last_used_at=utcnow() - idle / 2)
    assert resume_session(app, token) == pat
    used = _last_used(app)  # the use was recorded...
    assert isinstance(used, type(utcnow())) and used > utcnow() - timedelta(seconds=30)
    assert resume_session(app, token) == pat
    assert _last_used(app) == used  # ...at most once a minute
    _set(app, last_used_at=utcnow() - idle - timedelta(seconds=1))
    assert resume_session(app, token) is None


def test_the_forced_password_change_needs_a_session_that_is_not_idle(app: App, operator: Actor) -> None:
    create_account(Context(app, operator), "ann@home.test", Role.ADMIN, "typed by the operator")
    ann = authenticate(app, "ann@home.test", "typed by the operator")
    assert ann is not None
    token = start_session(Context(app, ann))
    _set(app, created_at=utcnow() - timedelta(hours=1))
    with pytest.raises(Refused, match="sign-in has ended"):
        finish_password_change(app, token, "my very own secret")


def _count(app: App, table: type) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


def _old_and_new_rows(app: App, pat: Actor) -> None:
    """Per table: one row past its retention and one recent row."""
    now = utcnow()
    old_session = start_session(Context(app, pat))
    start_session(Context(app, pat))  # live: kept
    ended_recently = start_session(Context(app, pat))
    with app.uow() as uow:
        digests = {s.token_sha256 for s in uow.session.scalars(select(LoginSession))}
        uow.session.execute(
            update(LoginSession)
            .where(LoginSession.token_sha256 == _digest(old_session))
            .values(created_at=now - timedelta(days=40), expires_at=now - timedelta(days=39))
        )
        uow.session.execute(
            update(LoginSession)
            .where(LoginSession.token_sha256 == _digest(ended_recently))
            .values(ended_at=now - timedelta(days=1))
        )
        assert len(digests) == 3
        uow.commit()
    assert authenticate(app, "a@nowhere.test", "wrong guess") is None  # counted now: kept
    assert authenticate(app, "b@nowhere.test", "wrong guess") is None
    with app.uow() as uow:
        uow.session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key == throttle.email_key(app.settings, "a@nowhere.test").digest)
            .values(window_start=now - timedelta(minutes=16))
        )
        uow.session.execute(
            update(AuditEvent)
            .where(AuditEvent.action == "create_account")
            .values(at=now - timedelta(days=401))
        )
        uow.commit()


def _digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def test_purge_deletes_what_is_past_its_retention_and_keeps_the_rest(app: App, pat: Actor) -> None:
    _old_and_new_rows(app, pat)
    events_before = _count(app, AuditEvent)
    purged = purge(app)
    assert (purged.login_sessions, purged.throttle_rows, purged.audit_events) == (1, 1, 1)
    assert _count(app, LoginSession) == 2  # the live one and the one ended yesterday
    assert _count(app, SignInThrottle) == 1
    assert _count(app, AuditEvent) == events_before - 1 + 1  # the purge is audited
    with app.uow() as uow:
        actions = set(uow.session.scalars(select(AuditEvent.action)))
    assert "create_account" not in actions and {"sign_in", "sign_in_failed", "purge"} <= actions
    assert purge(app) == type(purged)(0, 0, 0)  # nothing more to do


def test_an_audit_retention_of_0_keeps_events_for_ever(app: App, pat: Actor) -> None:
    _old_and_new_rows(app, pat)
    app.settings.audit_retention_days = 0
    assert purge(app).audit_events == 0
    with app.uow() as uow:
        assert "create_account" in set(uow.session.scalars(select(AuditEvent.action)))


def test_the_purge_command_prints_what_it_removed(app: App, pat: Actor) -> None:
    _old_and_new_rows(app, pat)
    app.engine.dispose()
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "--data-dir", str(app.settings.data_dir), "purge"],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "TRACKER_AUDIT_RETENTION_DAYS": "400",
            "TRACKER_DATABASE_URL": os.environ.get("TRACKER_DATABASE_URL", ""),  # a PostgreSQL run's
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "removed 1 sign-in session(s) over for more than 30 days",
        "removed 1 sign-in throttle count(s) whose window has passed",
        "removed 1 audit event(s) older than 400 days",
    ]
    assert _count(app, LoginSession) == 2
    assert courses.ensure_clinic(app, "Test Clinic") == pat.clinic_id  # the database still works
