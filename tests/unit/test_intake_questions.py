"""The intake questions and consent purposes are stored by value: these pin the values
(add, never rename) and check every one has words for people."""

from __future__ import annotations

from tracker.domain import ConsentEntry, ConsentFlag, Contraindication
from tracker.ui.consent_panel import consent_state


def test_the_standard_micro_needling_questions_are_asked_in_plain_words() -> None:
    values = {c.value for c in Contraindication}
    assert {
        "pregnancy_or_breastfeeding",
        "isotretinoin",
        "keloid_tendency",
        "cold_sores",
        "recent_tan_or_sunburn",
        "diabetes",
        "eczema",
        "rosacea",
    } <= values
    for c in Contraindication:
        assert c.question and c.question[0].isupper() and "_" not in c.question
    assert "Accutane" in Contraindication.ISOTRETINOIN.question
    assert "herpes" in Contraindication.COLD_SORES.question


def test_the_consent_state_says_given_or_not_when_and_by_whom() -> None:
    assert consent_state(None) == "Not asked yet"
    given = ConsentEntry(True, "2026-12-01T10:04:00", "practitioner@demo.test")
    assert consent_state(given) == r"Given on 01 Dec 2026 by practitioner@demo\.test"
    assert consent_state(given, you="practitioner@demo.test") == "Given on 01 Dec 2026 by you"
    assert consent_state(ConsentEntry(False, "not a time", "")) == "Not given"
    assert all(f.label for f in ConsentFlag)
