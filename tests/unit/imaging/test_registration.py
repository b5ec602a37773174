"""Registration of follow-ups onto the baseline (tracker.imaging.registration).

The accuracy thresholds of the validation experiment are in tests/validation/test_registration.py.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from tracker.imaging.analyze import Baseline, analyze, register_photo
from tracker.imaging.registration import (
    OK_SCORE,
    Registration,
    compose_affine,
    invert_affine,
    register,
    similarity_params,
    transform_points,
    transform_polygon,
    valid_mask,
    warp_to_baseline,
)
from tracker.imaging.zones import Zones
from tracker_dev.validation.registration import (
    SAMPLE_DIR,
    astronaut,
    astronaut_warps,
    demo_manifest,
    face_grid,
    load_rgb,
    resample,
    zone_error,
)


@pytest.fixture(scope="module")
def demo_pair() -> tuple[NDArray[np.uint8], NDArray[np.uint8], dict[str, object]]:
    photos = demo_manifest()["clients"][0]["photos"]
    return (
        load_rgb(SAMPLE_DIR / photos[0]["file"]),
        load_rgb(SAMPLE_DIR / photos[4]["file"]),
        photos[4]["truth"],
    )


# --------------------------------------------------------------------------------------------
# Accuracy (validation numbers)


# --------------------------------------------------------------------------------------------
# Behaviour


def test_identity_pair_gives_identity_with_score_near_one(
    demo_pair: tuple[NDArray[np.uint8], NDArray[np.uint8], dict[str, object]],
) -> None:
    base = demo_pair[0]
    reg = register(base, base.copy())
    h, w = base.shape[:2]
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64)
    assert np.abs(transform_points(reg.matrix, corners) - corners).max() < 0.05
    assert reg.score > 0.99
    assert reg.ok


def test_exif_rotated_follow_up_registers() -> None:
    """A follow-up stored with EXIF orientation 6: decoded upright, it registers like the rest."""
    for client in demo_manifest()["clients"]:
        rotated = [p for p in client["photos"] if p["truth"]["exif_orientation"] == 6]
        if rotated:
            break
    else:
        pytest.skip("no EXIF-rotated photo in the demo set")
    base = load_rgb(SAMPLE_DIR / client["photos"][0]["file"])
    follow = load_rgb(SAMPLE_DIR / rotated[0]["file"])
    reg = register(base, follow)
    assert reg.ok
    assert zone_error(reg.matrix, rotated[0]["truth"]) <= 2.0


@pytest.mark.parametrize("kind", ["noise", "blank"])
def test_failure_returns_not_ok_without_raising(
    demo_pair: tuple[NDArray[np.uint8], NDArray[np.uint8], dict[str, object]], kind: str
) -> None:
    base = demo_pair[0]
    rng = np.random.default_rng(3)
    other = rng.integers(0, 256, base.shape, dtype=np.uint8) if kind == "noise" else np.full_like(base, 200)
    for reg in (register(base, other), register(other, base)):
        assert not reg.ok
        assert reg.score < OK_SCORE
    blank = register(base, np.zeros_like(base))
    assert (blank.score, blank.method, blank.ok) == (0.0, "identity", False)
    assert np.array_equal(blank.matrix, np.eye(2, 3))


def test_tiny_and_mismatched_inputs() -> None:
    rng = np.random.default_rng(0)
    small = cv2.GaussianBlur(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), (0, 0), 1.5)
    assert not register(small, small[:5, :5]).ok  # a sliver cannot be registered, but no exception
    with pytest.raises(ValueError, match="baseline_mask"):
        register(small, small, baseline_mask=np.ones((10, 10), bool))
    with pytest.raises(ValueError, match="uint8"):
        register(small.astype(np.float32), small)


def test_baseline_mask_restricts_to_the_skin(
    demo_pair: tuple[NDArray[np.uint8], NDArray[np.uint8], dict[str, object]],
) -> None:
    base, follow, truth = demo_pair
    mask = np.zeros(base.shape[:2], bool)
    mask[200:650, 250:900] = True  # central skin only: no backdrop, no outline
    reg = register(base, follow, baseline_mask=mask)
    assert reg.ok
    assert zone_error(reg.matrix, truth) <= 2.0


def test_large_rotation_falls_back_to_features() -> None:
    base = astronaut()
    h, w = base.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), 60.0, 1.0)
    follow = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    reg = register(base, follow)
    assert reg.ok and reg.method == "features+ecc"
    pts = np.array([[600.0, 500.0], [900.0, 800.0]])
    assert np.abs(transform_points(reg.matrix, transform_points(m, pts)) - pts).max() < 0.5


# --------------------------------------------------------------------------------------------
# Geometry helpers


def test_invert_and_transform_round_trip() -> None:
    m = np.array([[1.03, -0.05, 12.5], [0.05, 1.03, -7.25]])
    pts = np.random.default_rng(1).uniform(-500, 1500, (50, 2))
    back = transform_points(invert_affine(m), transform_points(m, pts))
    assert np.allclose(back, pts, atol=1e-9)
    assert np.allclose(compose_affine(m, invert_affine(m)), np.eye(2, 3), atol=1e-12)
    scale, rot, shear = similarity_params(m)
    assert scale == pytest.approx(np.hypot(1.03, 0.05))
    assert rot == pytest.approx(np.degrees(np.arctan2(0.05, 1.03)))
    assert shear == pytest.approx(0.0, abs=1e-12)


def test_transform_polygon_maps_vertices() -> None:
    m = np.array([[2.0, 0.0, 1.0], [0.0, 2.0, -1.0]])
    assert transform_polygon(m, [(0, 0), (10, 0), (10, 5)]) == [(1.0, -1.0), (21.0, -1.0), (21.0, 9.0)]


def test_to_json_is_plain() -> None:
    reg = Registration(np.array([[1.0, 0.0, 2.5], [0.0, 1.0, -1.0]]), np.float64(0.9), "ecc", True)
    data = reg.to_json()
    assert json.loads(json.dumps(data)) == {
        "matrix": [[1.0, 0.0, 2.5], [0.0, 1.0, -1.0]],
        "score": 0.9,
        "method": "ecc",
        "ok": True,
    }
    assert all(type(v) is float for row in data["matrix"] for v in row)
    assert type(data["score"]) is float


def test_warp_to_baseline_puts_a_feature_where_the_truth_says() -> None:
    """A dot at a known follow-up position lands, after registration and warping, at the baseline
    position the known warp says; the valid mask matches the warped frame."""
    base = astronaut()
    warp = astronaut_warps(1, seed=5)[0]
    reg = register(base, warp.image)
    assert reg.ok
    q = np.array([760.0, 420.0])  # on the face, in follow-up pixels
    marker = np.zeros(warp.image.shape[:2], np.float32)  # the dot alone, so its centroid is exact
    cv2.circle(marker, (int(q[0] * 16), int(q[1] * 16)), 6 * 16, 1.0, -1, cv2.LINE_AA, shift=4)
    moved = warp_to_baseline(marker, reg, base.shape)
    ys, xs = np.mgrid[: moved.shape[0], : moved.shape[1]]
    centroid = np.array([(xs * moved).sum(), (ys * moved).sum()]) / moved.sum()
    expected = transform_points(invert_affine(warp.to_warped), q)[0]
    assert np.linalg.norm(centroid - expected) < 0.1

    # and the image itself: the warped follow-up matches the baseline around that place
    aligned = warp_to_baseline(warp.image, reg, base.shape)
    x, y = np.round(expected).astype(int)
    patch_b = base[y - 40 : y + 40, x - 40 : x + 40, 1].astype(np.float64)
    patch_a = aligned[y - 40 : y + 40, x - 40 : x + 40, 1].astype(np.float64)
    assert np.corrcoef(patch_b.ravel(), patch_a.ravel())[0, 1] > 0.95

    valid = valid_mask(warp.image.shape, reg, base.shape)
    filled = warp_to_baseline(np.full(warp.image.shape[:2], 255, np.uint8), reg, base.shape)
    assert valid.shape == base.shape[:2]
    assert np.all(filled[valid] == 255)  # every valid pixel came from inside the follow-up
    assert 0.5 < valid.mean() < 1.0  # the warp leaves part of the baseline uncovered


# --------------------------------------------------------------------------------------------
# Other cameras: follow-ups at other resolutions, initial pose


@pytest.mark.parametrize(("base_side", "ratio"), [(1536, 0.25), (512, 4.0)])
def test_register_finds_the_scale_of_another_camera(base_side: int, ratio: float) -> None:
    """``register`` itself, both ways round: a ¼-resolution follow-up and a 4× one."""
    base = (
        astronaut()
        if base_side == 1536
        else cv2.resize(astronaut(), (512, 512), interpolation=cv2.INTER_AREA)
    )
    h, w = base.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), 5.0, 1.06)
    m[:, 2] += (0.02 * w, -0.03 * h)
    moved = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    follow, to_follow = resample(moved, ratio)
    reg = register(base, follow)
    assert reg.ok
    scale, rotation, _shear = similarity_params(reg.matrix)
    assert scale == pytest.approx(1.0 / (1.06 * ratio), rel=0.002)
    assert rotation == pytest.approx(5.0, abs=0.1)  # undoing getRotationMatrix2D's 5°
    grid = face_grid() * (base_side / 1536)
    errors = np.linalg.norm(
        transform_points(reg.matrix, transform_points(compose_affine(to_follow, m), grid)) - grid, axis=1
    )
    assert errors.mean() <= 0.5


def _demo_retake(
    rotation: float, scale: float, noise: float
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.float64], dict[str, object]]:
    """Demo client 0's baseline, and its 5th photo turned and scaled about its centre, with noise:
    (baseline, follow-up, follow-up px → 5th photo px, the 5th photo's truth)."""
    photos = demo_manifest()["clients"][0]["photos"]
    base = load_rgb(SAMPLE_DIR / photos[0]["file"])
    fifth = load_rgb(SAMPLE_DIR / photos[4]["file"])
    h, w = fifth.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), rotation, scale)
    moved = cv2.warpAffine(fifth, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    noisy = moved + np.random.default_rng(0).normal(0.0, noise, moved.shape)
    return base, np.clip(noisy, 0, 255).astype(np.uint8), invert_affine(m), photos[4]["truth"]


def test_an_initial_pose_finds_what_the_search_cannot() -> None:
    """A 40° turn at 0.7× on noisy bare skin: no rough pose (search grid ±12° / ±15 %, ORB
    features, centred start) converges, but a start as rough as a landmark fit (2°, 3 % and
    10 px off) is refined to the true pose."""
    base, follow, to_fifth, truth = _demo_retake(40.0, 0.7, 8.0)
    fifth_to_base = np.asarray(truth["pose_to_baseline"], dtype=np.float64)
    true = compose_affine(fifth_to_base, to_fifth)
    h, w = base.shape[:2]
    off = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), 2.0, 1.03) + np.array(
        [[0.0, 0.0, 8.0], [0.0, 0.0, -6.0]]
    )

    alone = register(base, follow)
    assert not alone.ok  # the premise: without the initial pose this pair is out of reach

    reg = register(base, follow, initial=compose_affine(off, true))
    assert reg.ok and reg.method == "initial+ecc"
    assert zone_error(compose_affine(reg.matrix, invert_affine(to_fifth)), truth) <= 1.0


def test_a_wrong_initial_pose_does_no_harm() -> None:
    """A start 90° and 200 px off scores low, so the usual searches run and win; a non-finite
    one is ignored; a matrix of the wrong shape is a programming error."""
    base = astronaut()
    warp = astronaut_warps(1, seed=5)[0]
    grid = face_grid()

    def error(reg: Registration) -> float:
        return float(
            np.abs(transform_points(reg.matrix, transform_points(warp.to_warped, grid)) - grid).max()
        )

    plain = register(base, warp.image)
    h, w = base.shape[:2]
    wrong = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), 90.0, 1.0) + np.array(
        [[0, 0, 200.0], [0, 0, 0]]
    )
    for initial in (wrong, np.full((2, 3), np.nan)):
        reg = register(base, warp.image, initial=initial)
        assert reg.ok and reg.method != "initial+ecc"
        assert error(reg) <= error(plain) + 0.02 and error(reg) < 0.5
    with pytest.raises(ValueError, match="initial"):
        register(base, warp.image, initial=np.eye(3))


def test_analysis_carries_zones_to_a_half_resolution_follow_up() -> None:
    """Through ``analyze``: the baseline's zone lands where the warp put it in a follow-up at half
    the resolution, and the quality check does not read the resolution change as a change of
    distance."""
    base = astronaut()
    warp = astronaut_warps(1, seed=5)[0]
    follow, to_follow = resample(warp.image, 0.5)
    zone = [[560.0, 300.0], [860.0, 300.0], [860.0, 560.0], [560.0, 560.0]]
    baseline = Baseline(
        rgb=base, zones=Zones(treated=zone, reference=None, source="manual"), full_size=(1536, 1536)
    )
    result = analyze(follow, baseline=baseline, px_per_mm=10.0)
    assert result.registration is not None and result.registration.ok
    expected = transform_points(compose_affine(to_follow, warp.to_warped), zone)
    assert np.abs(np.array(result.zones.treated) - expected).max() <= 0.5  # follow-up px
    assert result.quality.pose_scale == pytest.approx(1.0 / warp.scale, rel=0.01)


def test_a_failed_follow_up_of_another_size_is_assumed_framed_alike() -> None:
    """Noise at half the baseline's size cannot be registered: the pose kept is the same view
    (centres on each other, scale 2), not the same pixel size."""
    base = astronaut()
    baseline = Baseline(
        rgb=base,
        zones=Zones(treated=[[0.0, 0.0], [9.0, 0.0], [9.0, 9.0]], reference=None, source="manual"),
        full_size=(1536, 1536),
    )
    noise = np.random.default_rng(1).integers(0, 256, (768, 768, 3), dtype=np.uint8)
    reg = register_photo(baseline, noise)
    assert not reg.ok
    assert transform_points(reg.matrix, [(383.5, 383.5)])[0] == pytest.approx([767.5, 767.5])
    assert similarity_params(reg.matrix)[0] == pytest.approx(2.0)


def test_a_scale_hint_brings_a_cropped_follow_up_within_the_search() -> None:
    """A follow-up that is a zoomed-in crop at half the resolution matches neither equal pixel
    sizes nor alike framing; the scale from e.g. the two iris px/mm (baseline px per follow-up px,
    full resolution) lets the cheap search find it."""
    base = astronaut()
    warp = astronaut_warps(1, seed=5)[0]
    crop = warp.image[100:1100, 250:1250]  # 1000 px of the 1536-px frame, the face inside
    follow, to_follow = resample(crop, 0.5)
    base_to_follow = compose_affine(
        to_follow, compose_affine(np.array([[1.0, 0, -250], [0, 1.0, -100]]), warp.to_warped)
    )
    baseline = Baseline(
        rgb=base,
        zones=Zones(treated=[[0.0, 0.0], [9.0, 0.0], [9.0, 9.0]], reference=None, source="manual"),
        full_size=(1536, 1536),
    )
    true_scale = 2.0 / warp.scale
    reg = register_photo(baseline, follow, scale_hint=true_scale)
    assert reg.ok and reg.method == "search+ecc"
    assert similarity_params(reg.matrix)[0] == pytest.approx(true_scale, rel=0.002)
    grid = face_grid()
    errors = np.linalg.norm(
        transform_points(reg.matrix, transform_points(base_to_follow, grid)) - grid, axis=1
    )
    assert errors.mean() <= 0.5


def test_the_analysis_takes_the_initial_pose_in_full_resolution_pixels() -> None:
    """``register_photo`` (the analysis path) takes ``initial`` follow-up full px → baseline full
    px, as its result is: a start near the truth for a ⅓-resolution follow-up is used and refined;
    when nothing registers, the initial pose is what is kept (a non-finite one is not)."""
    base = astronaut()
    warp = astronaut_warps(1, seed=5)[0]
    follow, to_follow = resample(warp.image, 1 / 3)
    true = invert_affine(compose_affine(to_follow, warp.to_warped))  # follow-up px → baseline px
    nudge = cv2.getRotationMatrix2D((768.0, 768.0), 1.5, 1.02) + np.array([[0.0, 0.0, 9.0], [0.0, 0.0, -7.0]])
    start = compose_affine(nudge, true)
    baseline = Baseline(
        rgb=base,
        zones=Zones(treated=[[0.0, 0.0], [9.0, 0.0], [9.0, 9.0]], reference=None, source="manual"),
        full_size=(1536, 1536),
    )
    reg = register_photo(baseline, follow, initial=start)
    assert reg.ok and reg.method == "initial+ecc"
    grid = face_grid()
    assert (
        np.abs(transform_points(reg.matrix, transform_points(invert_affine(true), grid)) - grid).max() < 0.5
    )

    noise = np.random.default_rng(2).integers(0, 256, follow.shape, dtype=np.uint8)
    failed = register_photo(baseline, noise, initial=start)
    assert not failed.ok and np.array_equal(failed.matrix, start)
    ignored = register_photo(baseline, noise, initial=np.full((2, 3), np.inf))
    assert similarity_params(ignored.matrix)[0] == pytest.approx(3.0, rel=0.01)  # framed alike
