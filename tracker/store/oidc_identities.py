"""Which staff account an identity-provider account (issuer, subject) signs in as."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.store.models import OidcIdentity, User


def linked_user(session: Session, issuer: str, subject: str) -> User | None:
    """The account this provider account is linked to, if any."""
    return session.scalar(
        select(User)
        .join(OidcIdentity, OidcIdentity.user_id == User.id)
        .where(OidcIdentity.issuer == issuer, OidcIdentity.subject == subject)
    )


def link_of(session: Session, user_id: int) -> OidcIdentity | None:
    """The provider account an account is linked to, if any (at most one)."""
    return session.scalar(select(OidcIdentity).where(OidcIdentity.user_id == user_id))


def linked_user_ids(session: Session, clinic_id: int) -> set[int]:
    """The clinic's accounts that sign in through the provider."""
    return set(
        session.scalars(
            select(OidcIdentity.user_id)
            .join(User, User.id == OidcIdentity.user_id)
            .where(User.clinic_id == clinic_id)
        )
    )


def link(session: Session, user_id: int, issuer: str, subject: str, at: datetime) -> bool:
    """Link them; False when a parallel first sign-in linked either side first (the
    primary key and the unique account column decide, on both databases)."""
    try:
        with session.begin_nested():
            session.add(OidcIdentity(issuer=issuer, subject=subject, user_id=user_id, linked_at=at))
        return True
    except IntegrityError:
        return False


__all__ = ["link", "link_of", "linked_user", "linked_user_ids"]
