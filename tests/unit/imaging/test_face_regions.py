"""Zones from face landmarks and skin verified per photo, on real photographs that ship with
scikit-image (the public-domain portrait of astronaut Eileen Collins), with occlusions made
from the photo itself so the answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from tracker.domain import FaceRegion
from tracker.imaging import landmarks
from tracker.imaging.analyze import NoZones, Options, analyze
from tracker.imaging.colour import srgb_to_linear
from tracker.imaging.face_regions import (
    LEFT_IRIS,
    MIN_SKIN_SHARE,
    NoFaceZones,
    RegionChoice,
    choose_zones,
    face_regions,
    verify_skin,
)
from tracker.imaging.masks import polygon_mask
from tracker.imaging.zones import LANDMARKS

# Mesh outlines of what no zone may touch (lips, eyes, brows).
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
EYES = (33, 133, 159, 145, 263, 362, 386, 374)
BROWS = (70, 63, 105, 66, 107, 300, 293, 334, 296, 336)


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    if not landmarks.available():
        pytest.fail("the landmark model is missing: ./run test installs requirements-landmarks.txt")
    rgb = np.asarray(data.astronaut())
    return np.asarray(cv2.resize(rgb, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))


@pytest.fixture(scope="module")
def face(portrait: np.ndarray) -> landmarks.Face:
    found = landmarks.find_face(portrait)
    assert found is not None
    return found


def _hull(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points.round().astype(np.int32)), 1)
    return mask.astype(bool)


def test_regions_keep_away_from_lips_eyes_and_brows(portrait: np.ndarray, face: landmarks.Face) -> None:
    shape = portrait.shape[:2]
    regions = face_regions(face, shape)
    features = [
        _hull(face.points[list(idx)], shape) for idx in (LIPS, EYES[:4], EYES[4:], BROWS[:5], BROWS[5:])
    ]
    for name in (FaceRegion.FOREHEAD, FaceRegion.LEFT_CHEEK, FaceRegion.RIGHT_CHEEK, FaceRegion.CHIN):
        mask = regions.regions[name]
        assert mask.sum() > 2000, name
        for feature in features:
            assert not (mask & feature).any(), name
    # the client's left cheek is on the photo's right, around the left iris
    left_x = np.nonzero(regions.regions[FaceRegion.LEFT_CHEEK])[1].mean()
    right_x = np.nonzero(regions.regions[FaceRegion.RIGHT_CHEEK])[1].mean()
    assert right_x < face.points[LEFT_IRIS[0], 0] < left_x or left_x > right_x
    # the forehead is above the eyes, the chin below the mouth
    assert np.nonzero(regions.regions[FaceRegion.FOREHEAD])[0].max() < face.points[[159, 386], 1].min()
    assert np.nonzero(regions.regions[FaceRegion.CHIN])[0].mean() > face.points[list(LIPS), 1].max()


def test_skin_is_verified_and_a_covered_cheek_is_named(portrait: np.ndarray, face: landmarks.Face) -> None:
    shape = portrait.shape[:2]
    regions = face_regions(face, shape)
    clear = verify_skin(srgb_to_linear(portrait), regions)
    for name in (FaceRegion.LEFT_CHEEK, FaceRegion.RIGHT_CHEEK, FaceRegion.CHIN):
        assert clear.skin[regions.regions[name]].mean() > 0.85, name
    # Her fringe covers the top of the forehead: what is not skin there lies above what is.
    forehead = regions.regions[FaceRegion.FOREHEAD]
    rows = np.nonzero(forehead)[0]
    assert rows[~clear.skin[forehead]].mean() < rows[clear.skin[forehead]].mean()
    # A dark scarf covers the client's left cheek (the astronaut's own black collar, copied
    # over 70 % of that cheek's box).
    covered = portrait.copy()
    ys, xs = np.nonzero(regions.regions[FaceRegion.LEFT_CHEEK])
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    x_cut = x0 + int(0.7 * (x1 - x0))
    collar = np.asarray(data.astronaut())[190:230, 170:230]
    patch = cv2.resize(collar, (x_cut - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
    covered[y0:y1, x0:x_cut] = patch
    verified = verify_skin(srgb_to_linear(covered), regions)
    chosen = choose_zones(regions, verified.skin, RegionChoice(treated=(FaceRegion.LEFT_CHEEK,)), 1000)
    assert chosen.skin_share[FaceRegion.LEFT_CHEEK] < MIN_SKIN_SHARE
    assert any("left cheek" in p for p in chosen.problems)
    # the forehead (first choice) is half fringe: the next untreated clear region is used
    assert chosen.reference_regions == (FaceRegion.RIGHT_CHEEK,)


def test_analysis_measures_the_course_regions_on_verified_skin(portrait: np.ndarray) -> None:
    result = analyze(portrait, regions=RegionChoice(treated=(FaceRegion.LEFT_CHEEK, FaceRegion.RIGHT_CHEEK)))
    zones = result.zones
    assert zones.source == LANDMARKS
    assert zones.treated_regions == ("left_cheek", "right_cheek")
    assert zones.reference_regions == ("chin",)  # the forehead is half under her fringe
    assert len(zones.treated_more) >= 1  # two cheeks: two polygons
    q = result.quality
    assert q.skin_share is not None
    assert q.skin_share["left_cheek"] > 0.85 and q.skin_share["right_cheek"] > 0.85
    assert q.zone_problems == ()
    assert result.metrics["delta_ei"] is not None
    # the treated zone touches no lip pixel
    face = landmarks.find_face(portrait)
    assert face is not None
    lips = _hull(face.points[list(LIPS)], portrait.shape[:2])
    assert zones.reference is not None
    for polygon in [zones.treated, *zones.treated_more, zones.reference]:
        assert not (polygon_mask(polygon, portrait.shape[:2]) & lips).any()


def test_every_region_treated_leaves_no_reference_and_says_why(portrait: np.ndarray) -> None:
    result = analyze(portrait, regions=RegionChoice(treated=tuple(FaceRegion)))
    assert result.zones.reference is None
    assert result.metrics["delta_ei"] is None
    assert any("no untreated skin" in note for note in result.quality.zone_notes)
    assert any("every region of the face is treated" in r for r in result.quality.reasons)


def test_the_iris_gives_the_scale_and_texture_is_measured(portrait: np.ndarray) -> None:
    # 9× the original: about 6 px/mm, above the 5 px/mm texture needs (a phone selfie at arm's
    # length gives about 10).
    large = np.asarray(cv2.resize(portrait, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))
    result = analyze(large)
    assert result.quality.px_per_mm_source == "iris"
    face = landmarks.find_face(large)
    assert face is not None and face.px_per_mm is not None
    assert result.quality.px_per_mm == pytest.approx(face.px_per_mm, rel=0.05)
    assert result.quality.px_per_mm > 5.0
    assert result.metrics["texture_dog"] is not None


def test_a_face_turned_beyond_the_setting_is_refused_with_the_reason(
    portrait: np.ndarray, face: landmarks.Face
) -> None:
    """The portrait is frontal (a few degrees); a limit below its turn stands in for a profile."""
    assert abs(face.yaw_deg) < 10
    with pytest.raises(NoZones, match="turned about"):
        analyze(portrait, options=Options(max_face_yaw_deg=abs(face.yaw_deg) / 2))


def _side_lit(rgb: np.ndarray, darkest: float) -> np.ndarray:
    """Light falling from the photo's left, as a window beside the client makes it: linear
    light scaled from 1 at the face's left edge down to `darkest` at its right edge."""
    face = landmarks.find_face(rgb)
    assert face is not None
    x0, x1 = face.points[234, 0], face.points[454, 0]
    linear = srgb_to_linear(rgb)
    t = np.clip((np.arange(rgb.shape[1], dtype=np.float32) - x0) / (x1 - x0), 0.0, 1.0)
    ramp = (1.0 - (1.0 - darkest) * t)[None, :, None]
    from tracker.imaging.colour import linear_to_uint8

    return linear_to_uint8(linear * ramp)


def test_uneven_light_across_the_face_is_a_reason(portrait: np.ndarray) -> None:
    even = analyze(portrait)
    assert abs(even.quality.lighting_asymmetry) < 0.35
    assert not any("uneven light" in r for r in even.quality.reasons)
    lit = analyze(_side_lit(portrait, 0.5))
    # the client's left cheek (photo's right) is in shade: ln(left / right) well below zero
    assert lit.quality.lighting_asymmetry < -0.35
    assert any("uneven light: the left side" in r for r in lit.quality.reasons)


def test_light_camera_and_turn_are_compared_with_the_first_photo(portrait: np.ndarray) -> None:
    from tracker.imaging.analyze import Baseline

    first = analyze(portrait, camera="Apple iPhone 13 16.1")
    baseline = Baseline(
        rgb=portrait,
        zones=first.zones,
        full_size=(portrait.shape[1], portrait.shape[0]),
        face_yaw_deg=first.quality.face_yaw_deg,
        lighting_asymmetry=first.quality.lighting_asymmetry,
        camera="Apple iPhone 13 16.1",
    )
    same = analyze(portrait, baseline=baseline, camera="Apple iPhone 13 16.1")
    assert same.zones.source == LANDMARKS  # found again from this photo's own landmarks
    # no image search: the two faces' landmarks give the pose the comparison views need
    assert same.registration is not None and same.registration.method == "landmarks"
    assert np.allclose(same.registration.matrix, [[1, 0, 0], [0, 1, 0]], atol=1e-3)
    assert same.quality.camera_changed_from is None and same.quality.lighting_change == 0.0
    other = analyze(_side_lit(portrait, 0.5), baseline=baseline, camera="Google Pixel 8")
    assert other.quality.camera_changed_from == "Apple iPhone 13 16.1"
    assert other.quality.lighting_change < -0.2
    reasons = " ".join(other.quality.reasons)
    assert "different camera" in reasons and "another side than on the first photo" in reasons


def test_a_region_measured_first_but_out_of_view_now_keeps_the_point_out_of_trends(
    portrait: np.ndarray,
) -> None:
    """The first photo measured the forehead too; on this one the course's regions give only
    the cheeks (as when a fringe or a turn hides a region): not the same skin, not usable."""
    import dataclasses

    from tracker.imaging.analyze import Baseline

    cheeks = RegionChoice(treated=(FaceRegion.LEFT_CHEEK, FaceRegion.RIGHT_CHEEK))
    first = analyze(portrait, regions=cheeks).zones
    wider = dataclasses.replace(first, treated_regions=(*first.treated_regions, "forehead"))
    baseline = Baseline(rgb=portrait, zones=wider, full_size=(portrait.shape[1], portrait.shape[0]))
    result = analyze(portrait, baseline=baseline, regions=cheeks)
    assert any(
        "forehead measured on the first photo is not visible" in p for p in result.quality.zone_problems
    )
    assert not result.quality.usable_for_trends


def test_a_face_too_small_to_measure_says_so(portrait: np.ndarray, face: landmarks.Face) -> None:
    regions = face_regions(face, portrait.shape[:2])
    skin = verify_skin(srgb_to_linear(portrait), regions).skin
    cheek = int(regions.regions[FaceRegion.LEFT_CHEEK].sum())
    with pytest.raises(NoFaceZones, match="too small in this photo to measure the left cheek"):
        choose_zones(regions, skin, RegionChoice(treated=(FaceRegion.LEFT_CHEEK,)), min_pixels=cheek + 1)


def test_drawn_zones_follow_a_face_photographed_by_another_camera(portrait: np.ndarray) -> None:
    """Zones drawn by hand on a face are carried by registration, which starts from the two
    faces' landmarks: a follow-up turned 6° and at half the resolution lands within a pixel."""
    from tracker.imaging.analyze import Baseline
    from tracker.imaging.registration import transform_points
    from tracker.imaging.zones import Zones, rect_polygon

    h, w = portrait.shape[:2]
    zones = Zones(rect_polygon(820, 700, 140, 120), rect_polygon(640, 380, 200, 80), "manual")
    first = analyze(portrait, zones=zones)
    baseline = Baseline(rgb=portrait, zones=zones, full_size=(w, h), face_yaw_deg=first.quality.face_yaw_deg)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 6.0, 1.0)
    turned = cv2.warpAffine(portrait, turn, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    half = np.asarray(cv2.resize(turned, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    result = analyze(half, baseline=baseline)
    assert result.registration is not None and result.registration.ok
    assert result.registration.method == "initial+ecc"  # started from the landmarks
    # follow-up px → baseline px: (x·2 + 0.5) through the inverse turn
    matrix = np.asarray(result.registration.matrix)
    probe = np.array([[300.0, 250.0], [450.0, 400.0], [600.0, 320.0]])
    full = (probe + 0.5) * 2 - 0.5
    expected = transform_points(cv2.invertAffineTransform(turn), full)
    assert np.abs(transform_points(matrix, probe) - expected).max() < 1.0
    assert result.zones.source == "series"
