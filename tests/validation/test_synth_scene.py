"""Rendered photos: redness, tone, resolution consistency, pose, chart and truth records."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from tracker_dev.synth.camera import ita_deg, linear_srgb_to_lab, srgb_decode
from tracker_dev.synth.demo_set import clients
from tracker_dev.synth.scene import (
    ChartPlacement,
    Framing,
    Glare,
    PhotoSpec,
    Rendered,
    SkinScene,
    TextureParams,
    apply_affine,
    polygon_mask,
    rectangle,
    render_photo,
)

# A small cheek patch (28 × 20 mm frame at 20 px/mm) keeps every render well under a second.
SMALL = SkinScene(
    seed=7,
    skin_semi_axes_mm=(12.0, 9.0),
    treated_zone_mm=rectangle(-4.0, 0.0, 7.0, 6.0),
    reference_zone_mm=rectangle(5.0, 0.0, 5.0, 5.0),
    texture=TextureParams(seed=7, n_lines=2, n_scars=2),
)
FRAME = Framing(px_per_mm=20.0, width=560, height=400)


def _mask(r: Rendered, zone: str, erode_mm: float = 0.0) -> np.ndarray:
    h, w = r.rgb.shape[:2]
    mask = np.asarray(polygon_mask(r.truth["zones"][zone], h, w) > 0.5, dtype=np.uint8)
    if erode_mm > 0:
        k = max(round(erode_mm * r.truth["px_per_mm"]), 1)
        mask = np.asarray(cv2.erode(mask, np.ones((2 * k + 1, 2 * k + 1), np.uint8)), dtype=np.uint8)
    return np.asarray(mask > 0)


def _zone_linear_mean(r: Rendered, zone: str) -> np.ndarray:
    return np.asarray(srgb_decode(r.rgb)[_mask(r, zone)].mean(axis=0))


def _texture_dog(r: Rendered, zone: str) -> float:
    """Band-pass texture in mm units: std of DoG(σ 0.1 mm − σ 0.4 mm) of ln(G_lin) (design §3.3)."""
    ppm = r.truth["px_per_mm"]
    img = np.log(srgb_decode(r.rgb)[..., 1] + 1e-3).astype(np.float32)
    dog = cv2.GaussianBlur(img, (0, 0), 0.1 * ppm) - cv2.GaussianBlur(img, (0, 0), 0.4 * ppm)
    return float(dog[_mask(r, zone, erode_mm=1.0)].std())


@pytest.mark.parametrize("illuminant", ["D65", "A", "FL11"])
def test_redness_rises_strictly_with_blood(illuminant: str) -> None:
    ratios, paired = [], []
    for blood in (0.012, 0.02, 0.03, 0.045, 0.065, 0.09):
        scene = dataclasses.replace(SMALL, blood_reference=0.012, blood_treated=blood)
        spec = PhotoSpec(scene, FRAME, illuminant=illuminant, exposure=0.8, wb_error=(1.05, 1.0, 0.95))
        r = render_photo(spec)
        treated, reference = _zone_linear_mean(r, "treated"), _zone_linear_mean(r, "reference")
        ratios.append(treated[0] / treated[1])
        paired.append(100 * np.log10(treated[0] / treated[1]) - 100 * np.log10(reference[0] / reference[1]))
    assert all(np.diff(ratios) > 0), ratios
    assert abs(paired[0]) < 1.5 and all(np.diff(paired) > 0), paired


def test_darker_skin_renders_have_lower_ita() -> None:
    ita = {}
    for c in clients():
        scene = dataclasses.replace(
            SMALL,
            blood_reference=c.blood_reference,
            blood_treated=c.blood_reference,
            melanin_reference=c.melanin_reference,
            melanin_treated=c.melanin_reference,
        )
        r = render_photo(PhotoSpec(scene, FRAME, illuminant="D65"))
        ita[c.key] = (c.skin_tone, float(ita_deg(linear_srgb_to_lab(_zone_linear_mean(r, "reference")))))
    light = [v for tone, v in ita.values() if tone == "light"]
    medium = [v for tone, v in ita.values() if tone == "medium"]
    dark = [v for tone, v in ita.values() if tone == "dark"]
    assert light and medium and dark, ita
    assert min(light) > 41.0, ita
    assert all(10.0 < v < 41.0 for v in medium), ita
    assert max(dark) < -10.0, ita
    assert min(light) > max(medium) >= min(medium) > max(dark)


def _at(scene: SkinScene, ppm: float) -> Rendered:
    return render_photo(PhotoSpec(scene, Framing(ppm, int(28 * ppm), int(20 * ppm)), seed=3))


def test_same_surface_at_40_and_20_px_per_mm() -> None:
    smooth = SMALL
    rough = dataclasses.replace(
        SMALL, texture=dataclasses.replace(SMALL.texture, roughness_mm=0.016, pore_depth_mm=0.06)
    )
    values = {}
    for name, scene in (("smooth", smooth), ("rough", rough)):
        hi, lo = _at(scene, 40.0), _at(scene, 20.0)
        for zone in ("treated", "reference"):
            m_hi, m_lo = _zone_linear_mean(hi, zone), _zone_linear_mean(lo, zone)
            assert np.allclose(m_hi, m_lo, rtol=0.01), (zone, m_hi, m_lo)
            t_hi, t_lo = _texture_dog(hi, zone), _texture_dog(lo, zone)
            assert abs(t_lo / t_hi - 1) < 0.03, (name, zone, t_hi, t_lo)
            values[name, zone] = (t_hi, t_lo)
    for zone in ("treated", "reference"):
        assert min(values["rough", zone]) > 1.2 * max(values["smooth", zone]), values


def test_shallower_features_lower_the_texture_measure() -> None:
    tex = TextureParams(seed=8, n_scars=6, pore_depth_mm=0.06)
    measured = []
    for depth_factor in (1.0, 0.87, 0.6):
        scene = dataclasses.replace(SMALL, texture=dataclasses.replace(tex, depth_factor=depth_factor))
        measured.append(_texture_dog(render_photo(PhotoSpec(scene, FRAME, noise=0.0)), "treated"))
    assert measured[0] > measured[1] > measured[2], measured


def test_pose_matrix_maps_a_follow_up_onto_the_baseline() -> None:
    base = FRAME
    follow = base.follow_up(rotation_deg=3.0, scale=1.04, shift_mm=(1.5, -1.0))
    scene = dataclasses.replace(SMALL, texture=dataclasses.replace(SMALL.texture, roughness_mm=0.0))
    b = render_photo(PhotoSpec(scene, base, baseline=base, noise=0.0, light_elevation_deg=85))
    f = render_photo(PhotoSpec(scene, follow, baseline=base, noise=0.0, light_elevation_deg=85))
    assert np.allclose(b.truth["pose_to_baseline"], [[1, 0, 0], [0, 1, 0]])
    m = np.array(f.truth["pose_to_baseline"])
    for zone in ("treated", "reference"):
        mapped = apply_affine(m, f.truth["zones"][zone])
        assert np.allclose(mapped, b.truth["zones"][zone], atol=0.01)
    warped = cv2.warpAffine(f.rgb, m, (base.width, base.height), flags=cv2.INTER_LINEAR)
    inner = (
        cv2.erode(
            (polygon_mask(b.truth["skin_region"]["polygon"], base.height, base.width) > 0.5).astype(np.uint8),
            np.ones((41, 41), np.uint8),
        )
        > 0
    )
    diff = np.abs(warped.astype(float) - b.rgb.astype(float))[inner]
    assert diff.mean() < 3.0


def test_chart_is_detected_by_opencv_mcc() -> None:
    scene = dataclasses.replace(SMALL, skin_semi_axes_mm=(18.0, 13.0))
    framing = Framing(12.0, 800, 600, shift_mm=(-12.0, 0.0))
    chart = ChartPlacement(centre_px=(560.0, 300.0), rotation_deg=4.0)
    r = render_photo(PhotoSpec(scene, framing, illuminant="LED-B3", exposure=0.9, chart=chart))
    detector = cv2.mcc.CCheckerDetector.create()
    detector.setColorChartType(cv2.mcc.MCC24)  # required in OpenCV 5; the 4.x positional form fails
    assert detector.process(cv2.cvtColor(r.rgb, cv2.COLOR_RGB2BGR), 1)
    box = np.asarray(detector.getBestColorChecker().getBox())
    corners = np.asarray(r.truth["chart"]["corners"])
    assert np.abs(box.mean(axis=0) - corners.mean(axis=0)).max() < 5.0
    assert np.abs(box - np.asarray(r.truth["chart"]["grid_corners"])).max() < 8.0
    chart_mask = polygon_mask(corners, 600, 800)
    assert (chart_mask[np.round(box[:, 1]).astype(int), np.round(box[:, 0]).astype(int)] > 0.5).all()
    centres = np.round(r.truth["chart"]["patch_centres"]).astype(int)
    lin = srgb_decode(r.rgb)[centres[:, 1], centres[:, 0]]
    greys = lin[18:24, 1]
    assert all(np.diff(greys) < 0)  # white -> black row
    assert np.abs(lin[18] / lin[18].mean() - 1).max() < 0.05  # white patch is neutral after WB


def test_render_is_deterministic_and_truth_is_json() -> None:
    spec = PhotoSpec(SMALL, FRAME, glare=Glare((300.0, 150.0), radius_mm=1.0, strength=1.0), seed=5)
    a, b = render_photo(spec), render_photo(spec)
    assert np.array_equal(a.rgb, b.rgb)
    assert json.loads(json.dumps(a.truth)) == a.truth == b.truth
    c = render_photo(dataclasses.replace(spec, seed=6))
    assert not np.array_equal(a.rgb, c.rgb)
    assert a.rgb.dtype == np.uint8 and a.rgb.shape == (FRAME.height, FRAME.width, 3)
    assert a.rgb[150, 300].min() > 235  # the glare is near white


def test_skin_region_is_exact_and_backdrop_is_dark() -> None:
    r = render_photo(PhotoSpec(SMALL, FRAME, noise=0.0))
    cover = polygon_mask(r.truth["skin_region"]["polygon"], FRAME.height, FRAME.width)
    lin = srgb_decode(r.rgb)[..., 1]
    assert lin[cover > 0.99].mean() > 4 * lin[cover < 0.01].mean()
    assert lin[cover < 0.01].mean() < 0.08
    for zone in ("treated", "reference"):
        pts = np.asarray(r.truth["zones"][zone])
        assert (cover[np.round(pts[:, 1]).astype(int), np.round(pts[:, 0]).astype(int)] > 0.99).all()
