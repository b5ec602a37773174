"""Texture metrics at a canonical pitch (design §3.3).

Direct checks of the contract: which metrics are None when, fixed GLCM limits, masks. The
acceptance numbers of the validation experiment are in tests/validation/test_texture.py.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tracker.imaging import texture
from tracker.imaging.texture import (
    METRIC_KEYS,
    MIN_ZONE_AREA_MM2,
    NoiseFloor,
    canonical_pitch,
    estimate_noise_sigma,
    log_green,
    measure_texture,
    texture_map,
)
from tracker_dev.validation import texture as validation


@pytest.fixture(scope="module")
def zone20() -> validation._Zone:
    """A 25 × 20 mm zone of the default scene photographed at 20 px/mm."""
    return validation._zone_of(validation._render(validation._scene(1), 20.0))


def test_canonical_pitch() -> None:
    assert canonical_pitch(40.0) == (10.0, True)
    assert canonical_pitch(20.0) == (10.0, True)
    assert canonical_pitch(19.9) == (5.0, False)
    assert canonical_pitch(8.0) == (5.0, False)


@pytest.mark.parametrize(("px_per_mm", "pitch"), [(40.0, 10.0), (22.0, 10.0), (20.0, 10.0), (13.0, 5.0)])
def test_noise_floor_is_what_the_area_reduction_leaves(px_per_mm: float, pitch: float) -> None:
    """Variance, lag-1 correlation and DoG variance of white noise after the reduction, as predicted."""
    sigma, size = 0.05, round(400 * px_per_mm / pitch)  # 400² canonical pixels
    white = np.random.default_rng(7).normal(0.0, sigma, (size, size)).astype(np.float32)
    scale = pitch / px_per_mm
    reduced = np.asarray(cv2.resize(white, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    noise = NoiseFloor.after_area_reduction(sigma, white.shape, scale)
    inner = reduced[8:-8, 8:-8].astype(np.float64)
    assert np.var(inner) == pytest.approx(noise.covariance[1, 1], rel=0.05)
    lag_x = float(np.mean(inner[:, 1:] * inner[:, :-1]))
    lag_y = float(np.mean(inner[1:] * inner[:-1]))
    assert lag_x == pytest.approx(noise.covariance[1, 2], abs=0.03 * noise.covariance[1, 1])
    assert lag_y == pytest.approx(noise.covariance[2, 1], abs=0.03 * noise.covariance[1, 1])
    fine, coarse = (s * pitch for s in texture.DOG_SIGMAS_MM)
    dog = cv2.GaussianBlur(reduced, (0, 0), fine) - cv2.GaussianBlur(reduced, (0, 0), coarse)
    measured = float(np.var(dog[30:-30, 30:-30], dtype=np.float64))
    assert texture._dog_noise_variance(noise, pitch) == pytest.approx(measured, rel=0.03)
    # a draw of the noise has the same autocovariance
    draw = noise.sample((200, 200)).astype(np.float64)[2:-2, 2:-2]
    assert np.var(draw) == pytest.approx(noise.covariance[1, 1], rel=0.05)
    assert float(np.mean(draw[:, 1:] * draw[:, :-1])) == pytest.approx(
        noise.covariance[1, 2], abs=0.03 * noise.covariance[1, 1]
    )


def test_relief_of_a_coarse_source_is_not_taken_for_noise() -> None:
    """At 11 px/mm the skin's relief reaches the pixel scale, where the noise is estimated."""
    scene = validation._scene(1)
    clean = validation._zone_of(validation._render(scene, 11.0, noise=0.0))
    finest = estimate_noise_sigma(log_green(clean.linear), clean.zone)
    assert finest is not None and finest > 0.015  # relief that the finest scale alone reads as noise
    off = measure_texture(clean.linear, clean.zone, 11.0, remove_noise=False)
    on = measure_texture(clean.linear, clean.zone, 11.0)
    for key in METRIC_KEYS:
        a, b = off.metrics[key], on.metrics[key]
        assert (a is None) == (b is None), key
        if a is not None and b is not None:
            assert b == pytest.approx(a, rel=0.01), key
    noisy = validation._zone_of(validation._render(scene, 11.0, noise=0.02))
    injected, _dn = validation._injected_sigma(noisy, clean)
    assert measure_texture(noisy.linear, noisy.zone, 11.0).noise_sigma == pytest.approx(injected, rel=0.2)


def test_noise_estimate_ignores_smooth_structure_and_excluded_pixels() -> None:
    yy, xx = np.mgrid[:400, :400].astype(np.float32)
    smooth = 0.3 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 0.002 * xx  # shading and broad relief
    valid = np.ones(smooth.shape, bool)
    assert (estimate_noise_sigma(smooth, valid) or 0.0) < 0.002
    noisy = smooth + np.random.default_rng(3).normal(0.0, 0.02, smooth.shape).astype(np.float32)
    noisy[100:200, 100:200] = np.random.default_rng(4).uniform(-3, 3, (100, 100))  # glare, hair…
    valid[100:200, 100:200] = False
    estimate = estimate_noise_sigma(noisy, valid)
    assert estimate is not None
    assert estimate == pytest.approx(0.02, rel=0.05)
    assert estimate_noise_sigma(noisy, np.zeros_like(valid)) is None


def test_a_zone_of_pure_noise_has_almost_no_texture() -> None:
    """Flat skin with 5 % noise per pixel at 20 px/mm: what is left is noise, and is removed."""
    rng = np.random.default_rng(5)
    shape = (500, 600)
    green = 0.2 * np.exp(rng.normal(0.0, 0.05, shape))
    linear = np.repeat(green[..., None], 3, axis=2).astype(np.float32)
    zone = np.ones(shape, bool)
    raw = measure_texture(linear, zone, 20.0, remove_noise=False)
    # with the (noisy) limits a baseline photo would have given, so levels are not all clipped
    corrected = measure_texture(linear, zone, 20.0, glcm_limits=raw.glcm_limits)
    for key, value in corrected.metrics.items():
        assert value is None or (math.isfinite(value) and value >= 0.0), key
    dog, raw_dog = corrected.metrics["texture_dog"], raw.metrics["texture_dog"]
    contrast, raw_contrast = corrected.metrics["glcm_contrast"], raw.metrics["glcm_contrast"]
    assert dog is not None and raw_dog is not None and contrast is not None and raw_contrast is not None
    assert dog < 0.25 * raw_dog
    assert contrast < 0.1 * raw_contrast
    assert corrected.noise_sigma == pytest.approx(0.05, rel=0.05)
    assert corrected.metrics["line_density"] is None and corrected.metrics["pore_density"] is None
    assert raw.metrics["line_density"] is not None  # the uncorrected count reads noise as lines
    assert any("line_density" in note for note in corrected.notes)


def test_metric_keys_and_fine_texture_gate(zone20: validation._Zone) -> None:
    fine = measure_texture(zone20.linear, zone20.zone, 20.0)
    assert tuple(fine.metrics) == METRIC_KEYS
    assert fine.fine_measurable and fine.pitch_px_per_mm == 10.0
    assert all(v is not None for v in fine.metrics.values())

    z15 = validation._zone_of(validation._render(validation._scene(1), 15.0))
    coarse = measure_texture(z15.linear, z15.zone, 15.0)
    assert tuple(coarse.metrics) == METRIC_KEYS
    assert not coarse.fine_measurable and coarse.pitch_px_per_mm == 5.0
    assert coarse.metrics["pore_density"] is None
    assert coarse.metrics["glcm_contrast"] is None  # its 0.1 mm distance is half a pixel at 5 px/mm
    assert coarse.metrics["texture_dog"] is not None


def test_too_coarse_source_gives_none(zone20: validation._Zone) -> None:
    res = measure_texture(zone20.linear, zone20.zone, 4.0)
    assert all(v is None for v in res.metrics.values())


def test_tiny_zone_gives_none(zone20: validation._Zone) -> None:
    tiny = np.zeros_like(zone20.zone)
    tiny[100:180, 100:180] = True  # 4 × 4 mm at 20 px/mm
    assert MIN_ZONE_AREA_MM2 > 16.0
    res = measure_texture(zone20.linear, tiny, 20.0)
    assert all(v is None for v in res.metrics.values())
    assert res.glcm_limits is None
    # a fully excluded zone is as unmeasurable as a tiny one
    res = measure_texture(zone20.linear, zone20.zone, 20.0, exclude=np.ones_like(zone20.zone))
    assert all(v is None for v in res.metrics.values())


def test_fixed_glcm_limits(zone20: validation._Zone) -> None:
    baseline = measure_texture(zone20.linear, zone20.zone, 20.0)
    assert baseline.glcm_limits is not None
    lo, hi = baseline.glcm_limits
    assert lo < 0.0 < hi
    # a later, darker photo with the baseline's limits: the limits are used as given and the
    # levels (hence the GLCM numbers) match the baseline's
    later = measure_texture(zone20.linear * 0.6, zone20.zone, 20.0, glcm_limits=baseline.glcm_limits)
    assert later.glcm_limits == baseline.glcm_limits
    for key in ("glcm_contrast", "glcm_homogeneity", "glcm_entropy"):
        a, b = baseline.metrics[key], later.metrics[key]
        assert a is not None and b is not None
        assert abs(b - a) / a < 0.02
    # other limits quantise differently and change the numbers
    wider = measure_texture(zone20.linear, zone20.zone, 20.0, glcm_limits=(2 * lo, 2 * hi))
    assert wider.glcm_limits == (2 * lo, 2 * hi)
    c0, c1 = baseline.metrics["glcm_contrast"], wider.metrics["glcm_contrast"]
    assert c0 is not None and c1 is not None
    assert c1 < 0.5 * c0  # twice the level width: about a quarter of the contrast


def test_exposure_cancels_exactly_enough(zone20: validation._Zone) -> None:
    a = measure_texture(zone20.linear, zone20.zone, 20.0)
    b = measure_texture(zone20.linear * 0.5, zone20.zone, 20.0, glcm_limits=a.glcm_limits)
    for key in ("texture_dog", "glcm_contrast", "lbp_entropy"):
        va, vb = a.metrics[key], b.metrics[key]
        assert va is not None and vb is not None
        assert abs(vb - va) / va < 0.02  # only the +1e-3 in ln(G + 1e-3) breaks exactness


def test_masked_pixels_do_not_contaminate(zone20: validation._Zone) -> None:
    """Wild values under the exclude mask must not leak into any statistic through the filters."""
    clean = measure_texture(zone20.linear, zone20.zone, 20.0)
    spoiled = zone20.linear.copy()
    hole = np.zeros_like(zone20.zone)
    hole[150:230, 200:280] = True  # 4 × 4 mm block inside the zone
    spoiled[hole] = 1.0  # blown-out glare
    excluded = measure_texture(spoiled, zone20.zone, 20.0, exclude=hole, glcm_limits=clean.glcm_limits)
    ignored = measure_texture(spoiled, zone20.zone, 20.0, glcm_limits=clean.glcm_limits)
    base, ex, inc = (r.metrics["texture_dog"] for r in (clean, excluded, ignored))
    assert base is not None and ex is not None and inc is not None
    assert abs(ex - base) / base < 0.02
    assert abs(inc - base) > 5 * abs(ex - base)
    assert excluded.valid_area_mm2 < clean.valid_area_mm2 - 15.0


def test_input_validation(zone20: validation._Zone) -> None:
    with pytest.raises(ValueError, match="zone_mask"):
        measure_texture(zone20.linear, zone20.zone[:-1], 20.0)
    with pytest.raises(ValueError, match="exclude"):
        measure_texture(zone20.linear, zone20.zone, 20.0, exclude=zone20.zone[:-1])


def test_texture_map(zone20: validation._Zone) -> None:
    band = texture_map(zone20.linear, 20.0)
    assert band.shape == zone20.linear.shape[:2]
    assert band.dtype == np.float32
    assert float(band.min()) >= 0.0
    # exposure-invariant like the metrics
    half = texture_map(zone20.linear * 0.5, 20.0)
    inner = (slice(20, -20), slice(20, -20))
    assert np.median(np.abs(half[inner] - band[inner])) < 0.05 * np.median(band[inner])
