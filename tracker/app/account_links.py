"""One-time links that let a person set their own password: an invite for a new account
(no password is ever typed or read out by staff) and a reset staff generate for someone
who forgot theirs.

The link holds a random token; only its SHA-256 is stored (as for sign-in sessions), so a
copy of the database opens no account. A link works once and for a limited time
(settings.invite_link_hours / reset_link_hours). Opening and using it happens signed out,
so these take the App and the token, not a Context; making one is staff's use case.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from tracker.app import audit
from tracker.app.context import Context
from tracker.app.people import (
    _actor_for,
    _end_sessions,
    _managed_user,
    check_password,
    hash_password,
    session_digest,
)
from tracker.application import App
from tracker.config import Settings
from tracker.errors import Refused
from tracker.permissions import Actor
from tracker.store.models import AccountLink, User, utcnow
from tracker.store.uow import UnitOfWork

Purpose = Literal["invite", "reset"]
PURPOSES: tuple[Purpose, ...] = ("invite", "reset")
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True)
class Link:
    """A link just made: the only copy of its token, in the URL to send."""

    url: str
    purpose: Purpose
    email: str
    expires_at: datetime  # UTC


@dataclass(frozen=True)
class OpenLink:
    """What the "set your password" form shows for a link that still works."""

    email: str
    purpose: Purpose
    clinic: str  # who sent it: a new client must see whose link this is


class LinkRefused(Refused):
    """The link is unknown, used or expired; the message says what to do instead."""


def link_url(settings: Settings, purpose: Purpose, token: str) -> str:
    """The address to send: absolute under settings.public_url, else relative to the app."""
    base = settings.public_url.rstrip("/")
    return f"{base}/?{urlencode([(str(purpose), token)])}"


def invite_link(ctx: Context, user_id: int) -> Link:
    """A link for a new account to choose its first password (settings.invite_link_hours)."""
    return _make(ctx, user_id, "invite", ctx.settings.invite_link_hours)


def reset_link(ctx: Context, user_id: int) -> Link:
    """A link for someone who forgot their password (settings.reset_link_hours). Their
    password keeps working until the link is used."""
    return _make(ctx, user_id, "reset", ctx.settings.reset_link_hours)


def _make(ctx: Context, user_id: int, purpose: Purpose, hours: float) -> Link:
    app, actor = ctx.app, ctx.actor
    token = secrets.token_urlsafe(32)
    with ctx.uow() as uow:
        user = _managed_user(uow, actor, user_id)
        if not user.active:
            raise Refused(f"{user.email} is switched off; switch it on first.")
        _close_links(uow, user.id)  # only the newest link works
        now = utcnow()
        expires = now + timedelta(hours=hours)
        uow.repo.add(
            AccountLink(
                token_sha256=session_digest(token),
                purpose=purpose,
                user_id=user.id,
                created_by=actor.label,
                created_at=now,
                expires_at=expires,
            )
        )
        audit.record(uow, actor, f"{purpose}_link_created", "user", user.id, detail={"hours": hours})
        uow.commit()
        return Link(link_url(app.settings, purpose, token), purpose, user.email, expires)


def open_link(app: App, token: str | None) -> OpenLink:
    """The account a link is for, if it still works; else LinkRefused (audited)."""
    with app.uow() as uow:
        link, user = _live(uow, token)
        clinic = uow.repo.clinic(user.clinic_id)
        return OpenLink(user.email, _purpose(link.purpose), clinic.name if clinic else "")


def use_link(app: App, token: str | None, password: str) -> Actor:
    """Set the password through a link, which then stops working; every other sign-in of
    the account ends. Returns the person, to be signed in."""
    with app.uow() as uow:
        link, user = _live(uow, token)
        check_password(password, user.email)
        now = utcnow()
        user.password_hash = hash_password(password)
        user.must_change_password = False
        _close_links(uow, user.id)
        _end_sessions(uow, user.id)
        actor = _actor_for(user)
        audit.record(uow, actor, f"{link.purpose}_link_used", "user", user.id)
        link.used_at = now
        uow.commit()
        return actor


def _live(uow: UnitOfWork, token: str | None) -> tuple[AccountLink, User]:
    link = None
    if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS:
        link = uow.repo.account_link(session_digest(token))
    user = uow.repo.user(link.user_id) if link is not None else None
    if link is None or user is None:
        _refuse(uow, None, "unknown", "This link is not known. Please ask the clinic for a new one.")
    assert link is not None and user is not None
    if link.used_at is not None:
        _refuse(
            uow, user, "used", "This link has been used already. Sign in, or ask the clinic for a new link."
        )
    if link.expires_at <= utcnow():
        _refuse(uow, user, "expired", "This link has expired. Please ask the clinic for a new one.")
    if not user.active:
        _refuse(uow, user, "switched off", "This account is switched off. Please contact the clinic.")
    return link, user


def _refuse(uow: UnitOfWork, user: User | None, why: str, message: str) -> None:
    uow.repo.audit(
        actor=audit.user_label(user.id) if user else "(link)",
        actor_user_id=user.id if user else None,
        action="account_link_refused",
        entity="user",
        entity_id=user.id if user else None,
        clinic_id=user.clinic_id if user else None,
        detail={"why": why},
    )
    uow.commit()
    raise LinkRefused(message)


def _close_links(uow: UnitOfWork, user_id: int) -> None:
    uow.repo.close_account_links(user_id, utcnow())


def _purpose(value: str) -> Purpose:
    return "reset" if value == "reset" else "invite"
