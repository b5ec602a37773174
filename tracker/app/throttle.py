"""Limits on password guessing: attempts counted before the password is checked, and a cap
on the checks running at once.

Each check costs ~64 MB and a tenth of a second (argon2), so both limits matter: the count
stops guessing at speed (an attempt beyond the limit is refused with one UPDATE and no
check at all), and the cap keeps a burst of parallel sign-ins from taking the server's
memory. The count is raised atomically before the check (tracker/store/sign_in.py), so the
16th of 16 parallel attempts sees 16, not the 0 the first one saw.

Keys are SHA-256 digests of the normalised email ("email:ann@x.test") or of the source
address ("ip:203.0.113.9"): the throttle table holds no email or address."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from ipaddress import ip_address

from tracker.config import Settings
from tracker.errors import Refused
from tracker.store import sign_in as store
from tracker.store.models import utcnow
from tracker.store.uow import UnitOfWork

UNKNOWN_ACCOUNT = "unknown account"


class TooManyAttempts(Refused):
    """Refused without looking at the password: too many recent attempts."""


class Busy(Refused):
    """Refused without looking at the password: too many checks running at once."""


BUSY_MESSAGE = "The service is busy, please try again in a moment."


@dataclass(frozen=True)
class Key:
    digest: str
    kind: str  # "email" | "source"
    limit: int


def email_key(settings: Settings, email: str) -> Key:
    return Key(_digest(f"email:{email.strip().lower()}"), "email", settings.sign_in_max_failures)


def source_key(settings: Settings, source: str | None) -> Key | None:
    """The key of a known source address, or None (unknown, unparsable, or not counted)."""
    if not source or settings.sign_in_max_failures_per_source == 0:
        return None
    try:
        address = ip_address(source.strip())
    except ValueError:
        return None
    if address.is_loopback:  # a proxy on this machine: every client would share it
        return None
    return Key(_digest(f"ip:{address.compressed}"), "source", settings.sign_in_max_failures_per_source)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def window_over(settings: Settings, now: datetime) -> datetime:
    """A window that started at or before this is over."""
    return now - timedelta(minutes=settings.sign_in_lockout_minutes)


def count_attempt(uow: UnitOfWork, settings: Settings, key: Key) -> tuple[int, int | None]:
    """(this attempt's number in the key's window, the window's lockout event if any)."""
    now = utcnow()
    return store.count_attempt(uow.session, key.digest, now, window_over(settings, now))


def refusal(settings: Settings, key: Key) -> TooManyAttempts:
    minutes = f"{settings.sign_in_lockout_minutes:g}"
    if key.kind == "source":
        return TooManyAttempts(
            f"Too many sign-in attempts from this network. Please wait {minutes} minutes and try again."
        )
    return TooManyAttempts(
        f"Too many failed sign-ins for this email. Please wait {minutes} minutes, "
        "or ask the clinic to reset the password."
    )


@dataclass
class CheckStats:
    """Password checks made by this process: how many, and the most at once. Tests read it
    to show that refused attempts cost no check and that the cap holds."""

    checks: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def reset(self) -> None:
        with _stats_lock:
            self.checks = self.in_flight = self.max_in_flight = 0


STATS = CheckStats()
_stats_lock = threading.Lock()


@cache
def _gate(size: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(size)


@contextmanager
def password_check(settings: Settings) -> Iterator[None]:
    """Hold one of the process's `max_concurrent_password_checks` slots for a check, or
    raise Busy after `password_check_wait_seconds`."""
    gate = _gate(settings.max_concurrent_password_checks)
    if not gate.acquire(timeout=settings.password_check_wait_seconds):
        raise Busy(BUSY_MESSAGE)
    try:
        with _stats_lock:
            STATS.checks += 1
            STATS.in_flight += 1
            STATS.max_in_flight = max(STATS.max_in_flight, STATS.in_flight)
        yield
    finally:
        with _stats_lock:
            STATS.in_flight -= 1
        gate.release()
