"""A flag's key names what it is about, so a practitioner's review stays with it across
recomputation and a new concern (a new session, due date or intake answer) starts open."""

from __future__ import annotations

from datetime import date

from tracker.progress.flags import Flag, contraindications, overdue_key


def test_keys_name_the_code_and_what_the_flag_is_about() -> None:
    assert Flag("slow_recovery", "t", "act", [], session=2).key == "slow_recovery:s2"
    assert Flag("slow_recovery", "t", "act", [], session=3).key == "slow_recovery:s3"
    due = Flag("overdue_session", "t", "watch", [], data={"due": "2026-02-02"})
    assert due.key == overdue_key(date(2026, 2, 2).isoformat()) == "overdue_session:2026-02-02"
    worse = Flag("worsening_texture_dog", "t", "watch", [], data={"latest_session": 4, "photo_ids": [9]})
    assert worse.key == "worsening_texture_dog:latest s4"
    assert Flag("something_new", "t", "info", []).key == "something_new"
    assert worse.to_json()["key"] == worse.key


def test_a_contraindication_key_follows_the_answers_not_their_order_or_the_notes() -> None:
    one = contraindications({"contraindications": ["rosacea", "eczema"], "notes": "GP letter"})
    two = contraindications({"contraindications": ["eczema", "rosacea"]})
    three = contraindications({"contraindications": ["eczema"]})
    assert one is not None and two is not None and three is not None
    assert one.key == two.key == "contraindication:eczema,rosacea"
    assert three.key == "contraindication:eczema"
