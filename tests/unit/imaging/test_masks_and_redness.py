from __future__ import annotations

import numpy as np

from tracker.imaging.colour import delta_e_2000, linear_rgb_to_lab, linear_to_uint8, srgb_to_linear
from tracker.imaging.masks import clipped_mask, glare_mask, polygon_mask, skin_mask
from tracker.imaging.redness import colour_metrics, erythema_index, unmix
from tracker.imaging.zones import Zones, parse_rect, rect_polygon


def _skin(shape: tuple[int, int], rgb: tuple[float, float, float]) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = np.ones((*shape, 3), np.float32) * np.array(rgb, np.float32)
    return np.clip(base * (1 + 0.02 * rng.standard_normal((*shape, 1))), 0, 1).astype(np.float32)


def test_srgb_round_trip_and_lab_of_white() -> None:
    values = np.arange(256, dtype=np.uint8)
    assert np.array_equal(linear_to_uint8(srgb_to_linear(values)), values)
    lab = linear_rgb_to_lab(np.array([1.0, 1.0, 1.0]))
    assert abs(lab[0] - 100) < 0.01 and abs(lab[1]) < 0.01 and abs(lab[2]) < 0.01


def test_delta_e_2000_reference_pair() -> None:
    # Sharma, Wu & Dalal (2005), test pair 1: ΔE00 = 2.0425
    assert (
        abs(float(delta_e_2000(np.array([50, 2.6772, -79.7751]), np.array([50, 0, -82.7485]))) - 2.0425)
        < 1e-3
    )


def test_erythema_index_ignores_exposure_and_unmixing_separates_blood() -> None:
    skin = np.array([[0.45, 0.25, 0.18]], np.float32)
    assert np.allclose(erythema_index(skin), erythema_index(0.3 * skin), atol=1e-4)
    hb, mel = unmix(skin)
    hb2, mel2 = unmix(0.3 * skin)  # exposure goes into the shading term
    assert np.allclose(hb, hb2, atol=1e-4) and np.allclose(mel, mel2, atol=1e-4)
    redder = skin * np.array([1.0, 0.85, 0.9], np.float32)
    assert unmix(redder)[0][0] > hb[0]


def test_paired_metrics_need_a_reference() -> None:
    linear = _skin((80, 160), (0.45, 0.25, 0.18))
    linear[:, :80] *= np.array([1.0, 0.8, 0.85], np.float32)  # treated half is redder
    treated = np.zeros((80, 160), bool)
    treated[:, :80] = True
    metrics, _, _ = colour_metrics(linear, treated, ~treated, px_per_mm=10.0)
    assert metrics["delta_ei"] is not None and metrics["delta_ei"] > 5
    assert metrics["red_area_pct"] is not None and metrics["red_area_pct"] > 90
    alone, _, _ = colour_metrics(linear, treated, None, px_per_mm=10.0)
    assert alone["delta_ei"] is None and alone["delta_a_star"] is None and alone["red_area_pct"] is None
    assert alone["ei"] == metrics["ei"]


def test_too_few_valid_pixels_give_null_not_a_guess() -> None:
    linear = _skin((40, 40), (0.45, 0.25, 0.18))
    tiny = np.zeros((40, 40), bool)
    tiny[:3, :3] = True
    metrics, _, _ = colour_metrics(linear, tiny, tiny, px_per_mm=10.0)
    assert metrics["ei"] is None and metrics["delta_ei"] is None


def test_glare_and_clipping_are_masked() -> None:
    linear = _skin((100, 100), (0.40, 0.22, 0.16))
    yy, xx = np.mgrid[:100, :100]
    spot = (yy - 50) ** 2 + (xx - 50) ** 2 < 36
    linear[spot] = 0.9  # white specular highlight
    region = np.ones((100, 100), bool)
    glare = glare_mask(linear, region)
    assert glare[spot].all() and glare.mean() < 0.1
    rgb = linear_to_uint8(linear)
    rgb[0, 0] = 255
    assert clipped_mask(rgb)[0, 0] and not clipped_mask(rgb)[50, 80]


def test_skin_mask_finds_skin_on_a_dark_backdrop() -> None:
    linear = np.full((240, 320, 3), 0.03, np.float32)
    inside = polygon_mask(rect_polygon(60, 40, 200, 160), (240, 320))
    linear[inside] = (0.20, 0.07, 0.03)  # dark skin: high R/G and G/B
    mask = skin_mask(linear)
    assert (mask & inside).sum() / inside.sum() > 0.97
    assert (mask & ~inside).sum() / (~inside).sum() < 0.01


def test_zone_helpers() -> None:
    assert parse_rect("10,20,30,40") == [[9.5, 19.5], [39.5, 19.5], [39.5, 59.5], [9.5, 59.5]]
    zones = Zones(rect_polygon(0, 0, 5, 5), None, "manual")
    assert Zones.from_json(zones.to_json()) == zones
    mask = polygon_mask(rect_polygon(2, 2, 4, 3), (10, 10))
    assert mask.sum() == 12 and mask[2:5, 2:6].all()
