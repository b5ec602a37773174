"""Local accounts: password hashing with argon2 (pwdlib); bcrypt hashes still verify."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher


@cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(), BcryptHasher()))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher().verify(password, password_hash)
    except ValueError:  # bcrypt 5 raises on passwords over 72 bytes
        return False


# Verifying against this when the email is unknown keeps the response time the same, so
# the sign-in form does not reveal which emails have accounts.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$fEnAmPr45wJhxqIAXhpOEg$aSnaLs2k83DK56sENFvxcZ1cqIdlW6694ibjfnVaXIs"
)

if TYPE_CHECKING:
    from tracker.bootstrap import App
    from tracker.permissions import Actor


def authenticate(app: App, email: str, password: str) -> Actor | None:
    """The actor for a correct email and password, else None. Every attempt is audited."""
    from tracker.permissions import Actor

    email = (email or "").strip().lower()
    with app.uow() as uow:
        user = uow.repo.user_by_email(email) if email else None
        ok = verify_password(password or "", user.password_hash if user else _DUMMY_HASH)
        ok = ok and user is not None and user.active
        uow.repo.audit(
            actor=email[:320] or "(empty)",
            actor_user_id=user.id if user else None,
            action="sign_in" if ok else "sign_in_failed",
            entity="user",
            entity_id=user.id if user else None,
            clinic_id=user.clinic_id if user else None,
        )
        uow.commit()
        if not ok or user is None:
            return None
        return Actor(
            label=user.email,
            role=user.role,
            clinic_id=user.clinic_id,
            user_id=user.id,
            client_id=user.client_id,
        )
