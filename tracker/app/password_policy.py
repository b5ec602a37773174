"""Which passwords are accepted, and the ones the clinic hands out.

A guesser tries the most common passwords first, with a few digits added, and the
person's own email; length alone does not stop that ("password12" has ten characters). The
common ones come from zxcvbn's list of 30,000 passwords seen most often in breaches,
shipped inside the package, so nothing is downloaded."""

from __future__ import annotations

import re
import secrets
from functools import cache
from itertools import pairwise

from tracker.errors import Refused

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_BYTES = 256
MIN_DISTINCT_CHARS = 4
# The generated password: 4 groups of 6 hex digits, 24 random bits each.
GENERATED_GROUPS, GROUP_BYTES = 4, 3
GENERATED_BITS = GENERATED_GROUPS * GROUP_BYTES * 8

# What the password fields say, so a refusal is rarely needed.
PASSWORD_ADVICE = (
    f"At least {MIN_PASSWORD_CHARS} characters, and not a common password, a simple pattern or "
    "your email. A few unrelated words work well."
)

_TRAILING_DIGITS = re.compile(r"[\d\W_]+$")


@cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def check_password(password: str, email: str | None = None) -> None:
    """Refuse a password that is short, common, trivially repetitive or the person's own
    email, saying which; accept anything else."""
    password = password or ""
    if len(password) < MIN_PASSWORD_CHARS:
        raise Refused(f"A password needs at least {MIN_PASSWORD_CHARS} characters.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise Refused(f"A password can have at most {MAX_PASSWORD_BYTES} bytes.")
    lowered = password.lower()
    stem = _TRAILING_DIGITS.sub("", lowered)
    if lowered in _common() or stem in _common():
        raise Refused(
            "That password is one of the most common ones, which are guessed first (also with "
            "digits added). Please choose another: a few unrelated words work well."
        )
    if len(set(lowered)) < MIN_DISTINCT_CHARS:
        raise Refused(
            f"That password uses fewer than {MIN_DISTINCT_CHARS} different characters. Please choose another."
        )
    if _is_sequence(lowered) or _is_repeated_block(lowered):
        raise Refused(
            "That password is a simple run or a repeated pattern (like abcdefghij or abcabcabca). "
            "Please choose another."
        )
    if email:
        address = email.strip().lower()
        own = {address, address.split("@", 1)[0]}
        if lowered in own or stem in own:
            raise Refused(
                "A password must not be your email address or its name part. Please choose another."
            )


def _is_sequence(text: str) -> bool:
    """Each character one after the last (abcdefghij, 0123456789) or one before it."""
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    return steps in ({1}, {-1})


def _is_repeated_block(text: str) -> bool:
    """One short piece over and over (abcabcabcabc), the last repeat possibly cut short."""
    for size in range(1, len(text) // 2 + 1):
        block = text[:size]
        if (block * (len(text) // size + 1))[: len(text)] == text:
            return True
    return False


def generate_password() -> str:
    """A first password staff read out or send (the person replaces it at the first
    sign-in): 24 hex digits in 4 groups, easy to read over the phone, 96 random bits."""
    return "-".join(secrets.token_hex(GROUP_BYTES) for _ in range(GENERATED_GROUPS))
