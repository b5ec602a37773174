"""Issue 3 acceptance: skin masks and automatic zones cover the skin of every tone."""

from __future__ import annotations

from tracker_dev.validation.fairness import run


def test_masks_and_automatic_zones_cover_skin_of_every_tone() -> None:
    section = run(quick=True)
    for tone in ("light", "medium", "dark"):
        for kind in ("mask", "zone"):
            assert section.numbers[f"{tone}_{kind}_coverage_min"] >= 0.90, (tone, kind)
            assert section.numbers[f"{tone}_{kind}_precision_min"] >= 0.95, (tone, kind)
