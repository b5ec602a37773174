"""Sign-in throttling under parallel attempts, on a real SQLite database (issue 12, item 1).

Threads start together at a barrier, as parallel browser tabs or scripted requests would.
throttle.STATS counts the password checks this process really made (not a mock), so a
test can tell a refusal without a check from a failed check."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from tracker.app import throttle
from tracker.app.context import Context
from tracker.app.people import (
    Busy,
    TooManyAttempts,
    authenticate,
    change_own_password,
    create_account,
)
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Role
from tracker.errors import Refused
from tracker.permissions import Actor
from tracker.store.models import AuditEvent, SignInThrottle, utcnow

EMAIL, PASSWORD = "ann@clinic.test", "correct horse battery"
THREADS = 16


@contextlib.contextmanager
def _app(tmp_path: Path, **overrides: object) -> Iterator[App]:
    """A test's own app. A check waits long for its turn: this machine may be slow."""
    overrides.setdefault("password_check_wait_seconds", 60)
    application = open_app(Settings(data_dir=tmp_path / "data", _env_file=None, **overrides))  # type: ignore[call-arg]
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with _app(tmp_path) as application:
        yield application


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[App]:
    """An app that allows 5 attempts per source address (20 by default)."""
    with _app(tmp_path, sign_in_max_failures_per_source=5) as application:
        yield application


def _account(app: App) -> Actor:
    from tracker.app import courses

    operator = Actor.operator(courses.ensure_clinic(app, "Test Clinic"))
    create_account(Context(app, operator), EMAIL, Role.ADMIN, PASSWORD)
    return operator


def _together(count: int, attempt: Callable[[int], object]) -> list[object]:
    """Run attempt(i) in `count` threads released at once; each result or the exception."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = attempt(i)
        except Exception as error:  # the outcome is what is tested
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def _locked_events(app: App) -> list[AuditEvent]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_locked")))


def _pass_the_window(app: App) -> None:
    with app.uow() as uow:
        uow.session.execute(update(SignInThrottle).values(window_start=utcnow() - timedelta(minutes=16)))
        uow.commit()


def test_parallel_guesses_for_one_email_are_checked_at_most_the_limit(app: App) -> None:
    _account(app)
    limit = app.settings.sign_in_max_failures
    throttle.STATS.reset()
    results = _together(THREADS, lambda i: authenticate(app, EMAIL, f"wrong guess {i}"))
    assert throttle.STATS.checks == limit  # the 16 were counted before any was checked
    assert results.count(None) == limit
    refused = [r for r in results if isinstance(r, TooManyAttempts)]
    assert len(refused) == THREADS - limit, results
    assert "Too many failed sign-ins for this email" in str(refused[0])
    with pytest.raises(TooManyAttempts):
        authenticate(app, EMAIL, PASSWORD)  # even the right password waits for the window
    assert throttle.STATS.checks == limit
    (locked,) = _locked_events(app)  # one row for the window, however many were refused
    assert locked.detail["refused"] == THREADS - limit + 1
    assert locked.clinic_id is not None and locked.actor_user_id is not None
    _pass_the_window(app)
    assert authenticate(app, EMAIL, PASSWORD) is not None
    with app.uow() as uow:  # a success starts the email's count again
        assert uow.session.scalars(select(SignInThrottle)).all() == []


def test_parallel_guesses_from_one_address_are_limited_across_emails(strict: App) -> None:
    app = strict
    _account(app)
    limit = app.settings.sign_in_max_failures_per_source
    throttle.STATS.reset()
    emails = [f"guess{i}@nowhere.test" for i in range(THREADS)]
    results = _together(THREADS, lambda i: authenticate(app, emails[i], "wrong guess", source="203.0.113.7"))
    assert throttle.STATS.checks == limit
    assert results.count(None) == limit
    refused = [r for r in results if isinstance(r, TooManyAttempts)]
    assert len(refused) == THREADS - limit, results
    assert "from this network" in str(refused[0])
    with pytest.raises(TooManyAttempts):  # a real account from that address waits too
        authenticate(app, EMAIL, PASSWORD, source="203.0.113.7")
    assert authenticate(app, EMAIL, PASSWORD, source="198.51.100.1") is not None  # another address
    (locked,) = _locked_events(app)
    assert locked.detail["by"] == "source" and locked.detail["refused"] == THREADS - limit + 1
    with app.engine.connect() as connection:  # neither the emails typed nor the address are kept
        dump = repr(connection.execute(text("select * from audit_event")).fetchall())
        dump += repr(connection.execute(text("select * from sign_in_throttle")).fetchall())
    assert "nowhere.test" not in dump and "203.0.113" not in dump
    assert "unknown account" in dump


def test_a_local_or_garbled_source_is_not_counted(strict: App) -> None:
    _account(strict)
    for source in ("127.0.0.1", "::1", "not an address", ""):
        assert authenticate(strict, "x@nowhere.test", "wrong guess", source=source) is None
    with strict.uow() as uow:  # only the email was counted
        assert [r.attempts for r in uow.session.scalars(select(SignInThrottle))] == [4]


def test_no_more_checks_run_at_once_than_the_cap(app: App) -> None:
    _account(app)
    throttle.STATS.reset()
    emails = [f"someone{i}@nowhere.test" for i in range(12)]  # each within its own limit
    results = _together(12, lambda i: authenticate(app, emails[i], "wrong guess"))
    assert results == [None] * 12
    assert throttle.STATS.checks == 12
    assert 1 <= throttle.STATS.max_in_flight <= app.settings.max_concurrent_password_checks


def test_beyond_the_cap_a_sign_in_is_refused_as_busy_and_not_counted(tmp_path: Path) -> None:
    with _app(tmp_path, max_concurrent_password_checks=1, password_check_wait_seconds=0.2) as app:
        _account(app)
        with throttle.password_check(app.settings), pytest.raises(Busy, match="busy, please try again"):
            authenticate(app, EMAIL, PASSWORD)  # the only slot is taken
        with app.uow() as uow:
            assert [r.attempts for r in uow.session.scalars(select(SignInThrottle))] == [0]
        assert authenticate(app, EMAIL, PASSWORD) is not None


def test_a_wrong_current_password_counts_like_a_failed_sign_in(app: App) -> None:
    _account(app)
    ann = authenticate(app, EMAIL, PASSWORD)
    assert ann is not None
    limit = app.settings.sign_in_max_failures
    throttle.STATS.reset()
    for _ in range(limit):
        with pytest.raises(Refused, match="current password is not right"):
            change_own_password(Context(app, ann), "wrong guess!", "my own new secret")
    with pytest.raises(TooManyAttempts):
        change_own_password(Context(app, ann), PASSWORD, "my own new secret")
    with pytest.raises(TooManyAttempts):  # the same lockout as signing in
        authenticate(app, EMAIL, PASSWORD)
    assert throttle.STATS.checks == limit
    with app.uow() as uow:
        actions = list(uow.session.scalars(select(AuditEvent.action)))
    assert actions.count("change_password_failed") == limit and actions.count("sign_in_locked") == 1
    _pass_the_window(app)
    change_own_password(Context(app, ann), PASSWORD, "my own new secret")
    assert authenticate(app, EMAIL, "my own new secret") is not None
