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


def _with_glare(rgb: np.ndarray, centre: tuple[int, int], radius: int) -> np.ndarray:
    """A specular highlight: the light's own colour, bright, a soft rim around a white core."""
    out = rgb.copy()
    cv2.circle(out, centre, radius + 6, (236, 226, 222), -1, cv2.LINE_AA)
    cv2.circle(out, centre, radius, (252, 250, 248), -1, cv2.LINE_AA)
    return out


def _patch(image_rgb: np.ndarray, centre: tuple[int, int], radius: int, scale: float) -> np.ndarray:
    """The map pixels well inside the patch."""
    cx, cy, r = round(centre[0] * scale), round(centre[1] * scale), max(1, round(radius * scale * 0.7))
    return image_rgb[cy - r : cy + r, cx - r : cx + r].astype(int)


def _is_grey(pixels: np.ndarray) -> bool:
    return bool((pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all())


def test_glare_is_grey_not_coloured_in_both_maps() -> None:
    before = _render(0.0)
    treated = np.array(before.truth["zones"]["treated"])
    centre = tuple(int(v) for v in treated.mean(axis=0))
    glared = _with_glare(_render(0.03, seed=2).rgb, centre, 30)  # type: ignore[arg-type]

    redness = redness_map(glared, _zones(before))
    assert _is_grey(_patch(redness.rgb, centre, 30, redness.scale))  # type: ignore[arg-type]
    assert "grey: not measured" in redness.legend
    # The skin around the patch is still measured (coloured), so the grey is the patch's own.
    assert not _is_grey(_patch(redness.rgb, (centre[0] + 90, centre[1]), 10, redness.scale))

    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    for base, follow in (
        (before.rgb, glared),
        (_with_glare(before.rgb, centre, 30), _render(0.03, seed=2).rgb),
    ):  # type: ignore[arg-type]
        change = difference_map(base, follow, identity, None)
        assert _is_grey(_patch(change.rgb, centre, 30, change.scale))  # type: ignore[arg-type]
        assert "grey: not measured" in change.legend


def test_pixels_outside_the_covered_frame_are_grey() -> None:
    before = _render(0.0)
    valid = np.ones(before.rgb.shape[:2], bool)
    valid[:, :400] = False  # e.g. the border a warp leaves where the follow-up has no pixels
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    for shown in (
        redness_map(before.rgb, None, valid=valid),
        difference_map(before.rgb, _render(0.03, seed=2).rgb, identity, None, valid=valid),
    ):
        left = shown.rgb[:, : round(390 * shown.scale)]
        assert _is_grey(left)
