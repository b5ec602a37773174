"""Glare and clipping masks under colour casts: a cast is a gain per channel, and it must
neither turn bright skin into glare nor hide real glare."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.imaging.colour import linear_to_uint8, srgb_to_linear
from tracker.imaging.masks import channel_max, clipped_mask, glare_mask, polygon_mask
from tracker_dev.synth import Framing, Glare, PhotoSpec, SkinScene, render_photo
from tracker_dev.synth.scene import apply_affine
from tracker_dev.validation.redness import CASTS, TONES, apply_cast

WARM = (1.45, 1.0, 0.55)  # linear gains of a warm cast (about 4000 K left at daylight balance)
COOL = (0.80, 1.0, 1.40)


def _shaded_skin(gains: tuple[float, float, float]) -> np.ndarray:
    """Light skin (white-balanced linear RGB) lit 0.6× on the left to 1.5× on the right, with
    2 % texture, under `gains`, as an 8-bit photo."""
    rng = np.random.default_rng(3)
    shading = np.linspace(0.6, 1.5, 300, dtype=np.float32)[None, :, None]
    texture = 1.0 + 0.02 * rng.standard_normal((200, 300, 1)).astype(np.float32)
    skin = np.array([0.45, 0.25, 0.19], np.float32) * shading * texture
    return linear_to_uint8(skin * np.array(gains, np.float32))


@pytest.mark.parametrize("gains", [WARM, COOL], ids=["warm", "cool"])
def test_a_cast_that_lifts_bright_skin_near_the_top_does_not_make_it_glare(gains: tuple[float, ...]) -> None:
    rgb = _shaded_skin(gains)  # type: ignore[arg-type]
    clipped = clipped_mask(rgb)
    linear = srgb_to_linear(rgb)
    zone = np.ones(rgb.shape[:2], bool)
    near_top = (channel_max(linear) > 0.92) & ~clipped
    if gains == WARM:  # the bright side's R sits just below the top: where the old test fired
        assert near_top.mean() > 0.05
    assert glare_mask(linear, zone & ~clipped, clipped).mean() < 0.005


def test_glare_is_decided_in_the_zone_own_white_balance() -> None:
    """A gain per channel in linear light leaves the glare mask as it was."""
    linear = srgb_to_linear(_shaded_skin((1.0, 1.0, 1.0)))
    yy, xx = np.mgrid[:200, :300]
    highlight = np.exp(-((yy - 100) ** 2 + (xx - 150) ** 2) / (2 * 8.0**2)).astype(np.float32)
    linear = linear + 0.35 * highlight[..., None]  # white light reflected by the surface
    zone = np.ones(linear.shape[:2], bool)
    plain = glare_mask(linear, zone)
    assert plain[100, 150] and plain.mean() < 0.1
    for gains in (WARM, COOL, (2.0, 1.0, 0.4)):
        cast = glare_mask(linear * np.array(gains, np.float32), zone)
        assert (cast == plain).mean() > 0.999, gains


@pytest.mark.parametrize("tone", ["light", "dark"])
def test_real_glare_is_still_excluded_under_every_cast(tone: str) -> None:
    px_per_mm = 6.0
    melanin = TONES[tone]
    scene = SkinScene(seed=7, melanin_reference=melanin, melanin_treated=melanin, blood_treated=0.025)
    framing = Framing(px_per_mm=px_per_mm, width=336, height=252)
    centre = apply_affine(framing.scene_to_px(), [np.mean(scene.treated_zone_mm, axis=0)])[0]
    # An unclipped highlight (strength 0.3) in the middle of the treated zone.
    glare = Glare(centre_px=(float(centre[0]), float(centre[1])), radius_mm=1.5, strength=0.3)
    rendered = render_photo(PhotoSpec(scene=scene, framing=framing, seed=7, glare=glare))
    zone = polygon_mask(rendered.truth["zones"]["treated"], rendered.rgb.shape[:2])
    yy, xx = np.mgrid[: rendered.rgb.shape[0], : rendered.rgb.shape[1]]
    distance_mm = np.hypot(xx - centre[0], yy - centre[1]) / px_per_mm
    core, far = distance_mm <= 1.0, zone & (distance_mm > 3.0)
    for name, (domain, gains) in {"none": ("srgb", (1.0, 1.0, 1.0)), **CASTS}.items():
        rgb = apply_cast(rendered.rgb, domain, gains)
        clipped = clipped_mask(rgb)
        # No white balance at all: the worst case (the pipeline's falls back to none too).
        found = glare_mask(srgb_to_linear(rgb), zone & ~clipped, clipped)
        assert (found | clipped)[core].mean() > 0.95, name
        assert found[far].mean() < 0.005, name
