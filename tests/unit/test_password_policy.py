"""The password policy and the passwords the clinic hands out (issue 12, item 8)."""

from __future__ import annotations

import math
import re

import pytest

from tracker.app.demo import DEMO_ADMIN_PASSWORD, DEMO_CLIENT_PASSWORD, DEMO_PRACTITIONER_PASSWORD
from tracker.app.password_policy import GENERATED_BITS, check_password, generate_password
from tracker.errors import Refused

EMAIL = "ann.smith@home.test"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "at least 10 characters"),
        ("aaaaaaaaaa", "fewer than 4 different characters"),
        ("abababababab", "fewer than 4 different characters"),
        ("password12", "most common"),
        ("Password12", "most common"),
        ("PASSWORD2024!", "most common"),
        ("iloveyou123", "most common"),
        ("1234567890", "most common"),
        ("abcdefghijk", "simple run"),
        ("zyxwvutsrqp", "simple run"),
        ("abcdabcdabcd", "repeated pattern"),
        ("ann.smith@home.test", "your email"),
        ("Ann.Smith2024", "your email"),
        ("x" * 300, "at most 256 bytes"),
    ],
)
def test_weak_passwords_are_refused_saying_why(password: str, why: str) -> None:
    with pytest.raises(Refused, match=why):
        check_password(password, EMAIL)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Tulips in the rain 7",
        "mein Passwort ist lang",
        "ann.smith is me, not my password",  # contains the name part but is more
        DEMO_CLIENT_PASSWORD,  # the demo's published passwords pass the policy too
        DEMO_PRACTITIONER_PASSWORD,
        DEMO_ADMIN_PASSWORD,
    ],
)
def test_a_good_passphrase_is_accepted(password: str) -> None:
    check_password(password, EMAIL)


def test_generated_passwords_have_at_least_80_random_bits_and_pass_the_policy() -> None:
    made = {generate_password() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        assert re.fullmatch(r"[0-9a-f]{6}(-[0-9a-f]{6}){3}", password), password
        check_password(password, EMAIL)
    # 24 hex digits, each drawn uniformly: 24 * log2(16) bits.
    assert GENERATED_BITS == 24 * math.log2(16) >= 80
    digits = "".join(p.replace("-", "") for p in made)  # every hex digit turns up
    assert set(digits) == set("0123456789abcdef")
