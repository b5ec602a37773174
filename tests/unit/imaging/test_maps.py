from __future__ import annotations

import cv2
import numpy as np

from tracker.imaging.maps import MAP_SIDE, difference_map, redness_map, texture_overlay
from tracker.imaging.zones import Zones
from tracker_dev.synth import Framing, PhotoSpec, SkinScene, render_photo

BASE = Framing(px_per_mm=20.0, width=1200, height=900)


def _render(extra_blood: float, framing: Framing = BASE, seed: int = 1):  # type: ignore[no-untyped-def]
    scene = SkinScene(seed=4, blood_reference=0.015, blood_treated=0.015 + extra_blood)
    return render_photo(PhotoSpec(scene=scene, framing=framing, baseline=BASE, seed=seed))


def _zones(rendered) -> Zones:  # type: ignore[no-untyped-def]
    z = rendered.truth["zones"]
    return Zones(z["treated"], z["reference"], "manual")


def test_redness_map_marks_the_red_zone_and_not_the_reference() -> None:
    def strength(rendered, zone: str) -> float:  # type: ignore[no-untyped-def]
        image = redness_map(rendered.rgb, _zones(rendered))
        assert image.rgb.dtype == np.uint8 and max(image.rgb.shape[:2]) <= MAP_SIDE
        photo = cv2.resize(rendered.rgb, image.rgb.shape[1::-1], interpolation=cv2.INTER_AREA)
        box = np.array(rendered.truth["zones"][zone]) * image.scale
        x0, y0 = box.min(axis=0).astype(int) + 4
        x1, y1 = box.max(axis=0).astype(int) - 4
        return float(np.abs(image.rgb.astype(float) - photo)[y0:y1, x0:x1].mean())

    after, before = _render(0.03), _render(0.0)
    assert strength(after, "treated") > 1.5 * strength(after, "reference")
    assert strength(before, "treated") < 1.3 * strength(before, "reference")


def test_difference_map_is_neutral_for_no_change_and_red_for_more_redness() -> None:
    before = _render(0.0)
    moved = BASE.follow_up(rotation_deg=3.0, scale=1.02, shift_mm=(1.0, 0.5))
    same = _render(0.0, moved, seed=2)
    after = _render(0.03, moved, seed=3)
    matrix = np.array(same.truth["pose_to_baseline"])
    zones = _zones(before)
    calm = difference_map(before.rgb, same.rgb, matrix, zones).rgb.astype(int)
    red = difference_map(before.rgb, after.rgb, matrix, zones).rgb.astype(int)
    scale = MAP_SIDE / 1200
    treated = np.array(zones.treated) * scale
    x0, y0 = treated.min(axis=0).astype(int) + 8
    x1, y1 = treated.max(axis=0).astype(int) - 8
    calm_zone, red_zone = calm[y0:y1, x0:x1], red[y0:y1, x0:x1]
    # red = R high, G and B pulled down; no change = no tint
    assert (red_zone[..., 0] - red_zone[..., 2]).mean() > 60
    assert (
        abs(
            (calm_zone[..., 0] - calm_zone[..., 2]).mean()
            - (before.rgb[..., 0].astype(int) - before.rgb[..., 2]).mean()
        )
        < 40
    )


def test_texture_map_needs_a_scale() -> None:
    before = _render(0.0)
    assert texture_overlay(before.rgb, None, None) is None
    image = texture_overlay(before.rgb, 20.0, _zones(before))
    assert image is not None and image.rgb.shape[2] == 3
