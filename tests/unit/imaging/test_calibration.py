"""Colour calibration: chart detection and fit, px/mm, fallbacks, rejection and orientation.

Renders come from tracker_dev.validation.calibration.render_scene (cached), so the validation
experiment (tests/validation/test_calibration.py) reuses most of them when both run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from tracker.imaging import calibration as cal
from tracker.imaging.colour import (
    COLORCHECKER24_LINEAR_SRGB,
    delta_e_2000,
    linear_rgb_to_lab,
    srgb_to_linear,
)
from tracker_dev.validation import calibration as vcal

REF = COLORCHECKER24_LINEAR_SRGB.astype(np.float64)
SAMPLE_DIR = Path(__file__).resolve().parents[3] / "sample_photos"


def _de(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.float64]:
    return delta_e_2000(linear_rgb_to_lab(a), linear_rgb_to_lab(b))


def _tungsten() -> Any:
    """Incandescent light (A) with a cool auto-WB error: a strong, realistic cast."""
    return vcal.render_scene("A", 3.0, 0.85, vcal.WB_ERROR_COOL)


def test_chart_corrects_colours_under_incandescent_light() -> None:
    r = _tungsten()
    chart = cal.find_chart(r.rgb)
    assert chart is not None
    assert chart.usable.sum() >= 18
    matrix, loo, fit = cal.fit_colour_correction(chart.patch_linear, REF, chart.usable)
    before = _de(chart.patch_linear, REF).mean()
    after = _de(np.maximum(chart.patch_linear @ matrix.T, 0.0), REF).mean()
    assert before > 5.0  # the cast is real
    assert after <= 3.0
    assert fit <= loo <= 3.0


def test_px_per_mm_from_chart_within_2_percent() -> None:
    r = _tungsten()
    chart = cal.find_chart(r.rgb)
    assert chart is not None and chart.geometry_refined
    assert chart.px_per_mm(5.0) == pytest.approx(r.truth["px_per_mm"], rel=0.02)
    # Patch centres and grid corners follow the truth to well under a pixel.
    assert np.abs(chart.patch_centres - np.asarray(r.truth["chart"]["patch_centres"])).max() < 1.0
    assert np.abs(chart.corners - np.asarray(r.truth["chart"]["grid_corners"])).max() < 1.0
    c = cal.calibrate(r.rgb, srgb_to_linear(r.rgb), skin_mask=vcal.skin_mask(r.truth), patch_pitch_mm=5.0)
    assert c.method == "chart" and not c.uncalibrated
    assert c.px_per_mm_source == "chart"
    assert c.px_per_mm == pytest.approx(r.truth["px_per_mm"], rel=0.02)
    assert c.residual_de00 is not None and c.residual_de00 <= 3.0
    # A clinic's chart with another pitch scales px/mm accordingly.
    c10 = cal.calibrate(r.rgb, srgb_to_linear(r.rgb), skin_mask=None, patch_pitch_mm=10.0)
    assert c.px_per_mm is not None
    assert c10.px_per_mm == pytest.approx(c.px_per_mm / 2, rel=1e-9)


def test_demo_chart_frame_px_per_mm() -> None:
    manifest = json.loads((SAMPLE_DIR / "manifest.json").read_text())
    photo = next(p for c in manifest["clients"] for p in c["photos"] if p["truth"].get("chart"))
    rgb = vcal.load_rgb(SAMPLE_DIR / photo["file"])
    chart = cal.find_chart(rgb)
    assert chart is not None
    assert chart.px_per_mm() == pytest.approx(photo["truth"]["px_per_mm"], rel=0.02)
    _m, loo, _f = cal.fit_colour_correction(chart.patch_linear, REF, chart.usable)
    assert loo <= 3.0


def test_no_chart_is_searched_on_a_small_copy_and_falls_back_to_shades_of_grey() -> None:
    r = vcal.render_scene("A", None)
    big = cv2.resize(r.rgb, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    assert cal.find_chart(big) is None
    # What keeps the search cheap on a 12 MP photo without a chart: the detector sees a copy
    # shrunk by a whole factor to DETECT_LONG_SIDE, never the full frame. Its cost is timed
    # against a decode of the same photo by scripts/benchmark_calibration.py.
    small, sx, sy = cal._downscale(big, cal.DETECT_LONG_SIDE)
    assert small.shape[:2] == (600, 800) and sx == sy == 1 / 5
    linear = srgb_to_linear(r.rgb)
    c = cal.calibrate(r.rgb, linear, skin_mask=vcal.skin_mask(r.truth))
    assert c.method == "shades_of_grey"
    assert c.uncalibrated
    assert c.px_per_mm is None and c.residual_de00 is None
    # The neutral backdrop becomes grey again (the WB error left a ~14 % cast).
    bg = cal.apply(c, linear)[~vcal.skin_mask(r.truth)].mean(axis=0)
    assert np.abs(bg / bg[1] - 1).max() < 0.02
    # Without a skin mask shades of grey would eat the redness: nothing is applied.
    none = cal.calibrate(r.rgb, linear, skin_mask=None)
    assert none.method == "none" and none.uncalibrated
    np.testing.assert_array_equal(none.matrix, np.eye(3))


def test_white_reference_neutralises_a_grey_card_under_a_cast() -> None:
    rng = np.random.default_rng(0)
    h, w = 300, 400
    cast = np.array([1.25, 1.0, 0.7], dtype=np.float32)
    scene = rng.uniform(0.05, 0.6, (h, w, 3)).astype(np.float32)  # colourful clutter
    card = np.zeros((h, w), bool)
    card[40:120, 50:170] = True
    scene[card] = 0.18 + rng.normal(0, 0.004, (int(card.sum()), 3)).astype(np.float32)
    linear = np.clip(scene * cast * 1.3, 0, 1).astype(np.float32)  # cast + exposure
    rgb = np.round(linear ** (1 / 2.2) * 255).astype(np.uint8)
    c = cal.calibrate(rgb, linear, skin_mask=None, white_region=card, white_reference_level=0.18)
    assert c.method == "white_reference" and not c.uncalibrated
    grey = cal.apply(c, linear)[card].mean(axis=0)
    np.testing.assert_allclose(grey, 0.18, rtol=0.01)
    # Without a level: balance only, the card's luminance is kept.
    gains = cal.white_reference_gains(linear, card)
    balanced = linear[card].mean(axis=0) * gains
    assert np.ptp(balanced) / balanced.mean() < 0.01


def test_white_reference_on_a_rendered_grey_patch() -> None:
    """Gains from one grey patch of a rendered chart make the whole neutral row grey."""
    r = _tungsten()
    linear = srgb_to_linear(r.rgb)
    centres = np.asarray(r.truth["chart"]["patch_centres"])
    pitch = r.truth["px_per_mm"] * 5.0
    half = 0.3 * pitch
    x, y = centres[20]  # 'neutral 5'
    region = np.zeros(linear.shape[:2], bool)
    region[round(y - half) : round(y + half), round(x - half) : round(x + half)] = True
    gains = cal.white_reference_gains(linear, region)
    chart = cal.find_chart(r.rgb)
    assert chart is not None
    lab = linear_rgb_to_lab(chart.patch_linear[19:23] * gains)
    before = linear_rgb_to_lab(chart.patch_linear[19:23])
    assert np.hypot(before[:, 1], before[:, 2]).max() > 4.0
    assert np.hypot(lab[:, 1], lab[:, 2]).max() < 1.5


def _scramble(rgb: NDArray[np.uint8], truth: dict[str, Any], perm: NDArray[np.int64]) -> NDArray[np.uint8]:
    """Move the patch squares of a (nearly axis-aligned) rendered chart to other cells."""
    centres = np.round(np.asarray(truth["chart"]["patch_centres"])).astype(int)
    half = int(0.33 * truth["px_per_mm"] * 5.0)
    out = rgb.copy()
    for i, j in enumerate(perm):
        (x, y), (xs, ys) = centres[i], centres[j]
        out[y - half : y + half, x - half : x + half] = rgb[ys - half : ys + half, xs - half : xs + half]
    return out


def test_scrambled_chart_is_rejected_and_the_fallback_used() -> None:
    r = _tungsten()
    perm = np.random.default_rng(3).permutation(24)
    rgb = _scramble(r.rgb, r.truth, perm)
    chart = cal.find_chart(rgb)
    if chart is not None:  # cv2.mcc does find it; the fit must not trust it
        _m, loo, _f = cal.fit_colour_correction(chart.patch_linear, REF, chart.usable)
        assert loo > 3.0
    c = cal.calibrate(rgb, srgb_to_linear(rgb), skin_mask=vcal.skin_mask(r.truth))
    assert c.method == "shades_of_grey" and c.uncalibrated
    assert c.residual_de00 is None
    assert any("rejected" in n for n in c.notes) or chart is None


def test_mild_mixup_rejected_but_geometry_kept() -> None:
    """Two neutral patches swapped: still clearly a chart (px/mm kept), colours not trusted."""
    r = _tungsten()
    perm = np.arange(24)
    perm[[18, 21]] = perm[[21, 18]]
    rgb = _scramble(r.rgb, r.truth, perm)
    c = cal.calibrate(rgb, srgb_to_linear(rgb), skin_mask=vcal.skin_mask(r.truth))
    assert c.method != "chart"
    assert c.px_per_mm == pytest.approx(r.truth["px_per_mm"], rel=0.02)


def test_chart_upside_down_keeps_patch_order() -> None:
    r = vcal.render_scene("D65", 183.0)
    chart = cal.find_chart(r.rgb)
    assert chart is not None
    truth_centres = np.asarray(r.truth["chart"]["patch_centres"])
    assert np.abs(chart.patch_centres - truth_centres).max() < 1.0
    assert np.abs(chart.corners - np.asarray(r.truth["chart"]["grid_corners"])).max() < 1.0
    _m, loo, _f = cal.fit_colour_correction(chart.patch_linear, REF, chart.usable)
    assert loo <= 3.0


@pytest.mark.parametrize("relabel", ["rotated_180", "mirrored", "portrait_start"])
def test_orientation_chosen_by_colour_whatever_the_box_order(
    relabel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cv2.mcc usually orders its box itself; our own check must not depend on that."""
    r = vcal.render_scene("D65", 183.0)
    box = np.asarray(r.truth["chart"]["grid_corners"], dtype=np.float64)
    relabelled = {
        "rotated_180": np.roll(box, 2, axis=0),
        "mirrored": box[[1, 0, 3, 2]],
        "portrait_start": np.roll(box, 1, axis=0),  # first side is a short one
    }[relabel]
    monkeypatch.setattr(cal, "_detect_box", lambda rgb, side: relabelled.copy())
    chart = cal.find_chart(r.rgb)
    assert chart is not None
    assert np.abs(chart.patch_centres - np.asarray(r.truth["chart"]["patch_centres"])).max() < 1.0


def test_fit_is_exposure_invariant_and_recovers_a_known_matrix() -> None:
    m0 = np.array([[1.3, -0.2, -0.1], [-0.15, 1.2, -0.05], [0.02, -0.3, 1.28]])
    measured = REF @ np.linalg.inv(m0).T
    m1, loo1, fit1 = cal.fit_colour_correction(measured, REF, measured.min(axis=1) > 0)
    np.testing.assert_allclose(m1, m0, atol=1e-6)
    assert loo1 < 1e-3 and fit1 < 1e-3
    m2, loo2, _ = cal.fit_colour_correction(measured * 0.4, REF, measured.min(axis=1) > 0)
    np.testing.assert_allclose(m2, m0 / 0.4, rtol=1e-6)
    assert loo2 == pytest.approx(loo1, abs=1e-6)


def test_calibration_json_and_apply() -> None:
    r = _tungsten()
    linear = srgb_to_linear(r.rgb)
    c = cal.calibrate(r.rgb, linear, skin_mask=vcal.skin_mask(r.truth))
    doc = c.to_json()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["method"] == "chart" and doc["white_point"] == "D65"
    assert len(doc["chart_corners"]) == 4
    out = cal.apply(c, linear)
    assert out.dtype == np.float32 and out.shape == linear.shape and out.min() >= 0.0
