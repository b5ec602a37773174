"""Spectral skin model and camera pipeline: the physics the metrics rely on."""

from __future__ import annotations

import numpy as np
import pytest

from tracker_dev.synth.camera import (
    ILLUMINANTS,
    XYZ_TO_SRGB,
    camera_matrix,
    colorchecker_reflectances,
    linear_srgb_to_lab,
    patch_response,
    raw_response,
    raw_to_linear_srgb,
    skin_lut,
    srgb_decode,
    srgb_encode,
    xyz_of_reflectance,
)
from tracker_dev.synth.optics import WAVELENGTHS, skin_reflectance


def _band(refl: np.ndarray, lo: float, hi: float) -> float:
    sel = (lo <= WAVELENGTHS) & (hi >= WAVELENGTHS)
    return float(refl[..., sel].mean())


def test_reflectance_is_physical_and_vectorised() -> None:
    refl = skin_reflectance(np.array([[0.01], [0.05]]), np.array([0.01, 0.1, 0.3]))
    assert refl.shape == (2, 3, WAVELENGTHS.size)
    assert np.all(refl > 0) and np.all(refl < 1)


def test_blood_absorbs_green_more_than_red() -> None:
    low, high = skin_reflectance(0.01, 0.02), skin_reflectance(0.05, 0.02)
    green_drop = _band(low, 530, 580) / _band(high, 530, 580)
    red_drop = _band(low, 620, 680) / _band(high, 620, 680)
    assert green_drop > 1.5 * red_drop > 1.0


def test_melanin_darkens_blue_most() -> None:
    low, high = skin_reflectance(0.015, 0.02), skin_reflectance(0.015, 0.2)
    assert _band(low, 400, 460) / _band(high, 400, 460) > _band(low, 620, 700) / _band(high, 620, 700) > 1


def test_camera_matrix_keeps_white_and_reproduces_the_chart() -> None:
    assert np.allclose(camera_matrix().sum(axis=1), 1.0)
    white = raw_to_linear_srgb(raw_response(np.ones(WAVELENGTHS.size)))
    assert np.allclose(white, 1.0, atol=1e-9)
    refl = colorchecker_reflectances()
    camera = np.clip(raw_to_linear_srgb(raw_response(refl)), 0, 1)
    truth = np.clip(xyz_of_reflectance(refl) @ XYZ_TO_SRGB.T, 0, 1)
    delta_e = np.linalg.norm(linear_srgb_to_lab(camera) - linear_srgb_to_lab(truth), axis=1)
    assert delta_e.mean() < 3.0 and delta_e.max() < 8.0


@pytest.mark.parametrize("illuminant", ILLUMINANTS)
def test_correct_white_balance_neutralises_every_light(illuminant: str) -> None:
    grey = raw_to_linear_srgb(raw_response(np.full(WAVELENGTHS.size, 0.18), illuminant), illuminant)
    assert np.allclose(grey, 0.18, atol=1e-9)


@pytest.mark.parametrize("illuminant", ILLUMINANTS)
def test_erythema_index_rises_with_blood_under_every_light(illuminant: str) -> None:
    ei = [patch_response(b, 0.05, illuminant).erythema_index for b in (0.005, 0.01, 0.02, 0.04, 0.08)]
    assert all(np.diff(ei) > 0)
    # Paired response to +1 % blood: a few EI units, similar under every light (design §3.1).
    step = (
        patch_response(0.02, 0.05, illuminant).erythema_index
        - patch_response(0.01, 0.05, illuminant).erythema_index
    )
    assert 5.0 < step < 15.0


def test_lookup_table_matches_spectral_integration() -> None:
    rng = np.random.default_rng(0)
    blood, melanin = rng.uniform(0.003, 0.15, 50), rng.uniform(0.003, 0.45, 50)
    for illuminant in ("D65", "A", "FL11"):
        exact = raw_response(skin_reflectance(blood, melanin), illuminant)
        approx = skin_lut(illuminant)(blood, melanin)
        assert np.allclose(approx, exact, rtol=2e-3, atol=2e-5)


def test_srgb_curve_round_trips() -> None:
    x = np.linspace(0, 1, 101)
    assert np.allclose(srgb_decode(srgb_encode(x)), x, atol=1e-12)
    assert srgb_decode(np.array([255], np.uint8))[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("melanin", "lo", "hi"), [(0.015, 41.0, 90.0), (0.04, 10.0, 41.0), (0.17, -90.0, -10.0)]
)
def test_flat_patch_ita_spans_the_tone_classes(melanin: float, lo: float, hi: float) -> None:
    assert lo < patch_response(0.012, melanin).ita_deg < hi
