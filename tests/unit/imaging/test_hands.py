"""A hand in front of the face: the skin check cannot see it (it is skin), the hand model can.

No photo of a hand ships in a registry package we install, so the detector itself is checked
only for not seeing a hand where there is none (a false hand would refuse good photos); what
is done with a found hand is checked with hands laid out landmark by landmark."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from tracker.domain import FaceRegion
from tracker.imaging import hands, landmarks
from tracker.imaging.colour import srgb_to_linear
from tracker.imaging.face_regions import (
    MAX_COVERED_SHARE,
    RegionChoice,
    choose_zones,
    face_regions,
    verify_skin,
)
from tracker.imaging.hands import Hand
from tracker.imaging.masks import polygon_mask


def _open_hand(wrist: tuple[float, float], palm: float) -> Hand:
    """21 landmarks of a hand, palm towards the camera, fingers up and the thumb held out
    sideways (an L), in MediaPipe's order: wrist, thumb, then index to little finger."""
    x0, y0 = wrist
    points = [(x0, y0)]
    points += [(x0 + 0.3 * palm * (i + 1), y0 - 0.2 * palm) for i in range(4)]
    for column in (0.3, 0.1, -0.1, -0.3):
        points += [(x0 + column * palm, y0 - palm - 0.3 * palm * i) for i in range(4)]
    return Hand(points=np.array(points, dtype=np.float64))


def test_the_mask_covers_the_fingers_but_not_the_space_between_finger_and_thumb() -> None:
    hand = _open_hand((100.0, 300.0), 100.0)
    mask = hand.mask((400, 400))
    for x, y in hand.points:
        assert mask[int(y), int(x)]
    assert mask[150, 100]  # between two fingers
    # Inside the points' hull, but two finger-widths from any bone (where a cheek or jaw
    # would show between a thumb and the fingers): not covered.
    hull = cv2.convexHull(hand.points.astype(np.float32))
    assert cv2.pointPolygonTest(hull, (180.0, 240.0), False) > 0
    assert not mask[240, 180]


def test_no_hand_is_found_on_a_portrait_without_one() -> None:
    if not landmarks.available():
        pytest.fail("the landmark model is missing: ./run test installs requirements-landmarks.txt")
    rgb = np.asarray(data.astronaut())
    for k in (1, 2):
        assert hands.find_hands(np.asarray(cv2.resize(rgb, None, fx=k, fy=k))) == ()
    assert hands.covered((), (10, 10)) is None


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    rgb = np.asarray(data.astronaut())
    return np.asarray(cv2.resize(rgb, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))


def test_a_hand_on_the_treated_cheek_is_named_and_left_out_of_every_zone(portrait: np.ndarray) -> None:
    if not landmarks.available():
        pytest.fail("the landmark model is missing: ./run test installs requirements-landmarks.txt")
    face = landmarks.find_face(portrait)
    assert face is not None
    shape = portrait.shape[:2]
    regions = face_regions(face, shape)
    skin = verify_skin(srgb_to_linear(portrait), regions).skin
    cheek = regions.regions[FaceRegion.LEFT_CHEEK]
    ys, xs = np.nonzero(cheek)
    palm = 0.8 * float(ys.max() - ys.min())
    choice = RegionChoice(treated=(FaceRegion.LEFT_CHEEK,))

    # Fingers up over the client's left cheek (the side of larger x): a phone call.
    on_cheek = _open_hand((float(xs.max()), float(ys.max()) + 0.7 * palm), palm)
    covered = on_cheek.mask(shape)
    assert covered[cheek].mean() > MAX_COVERED_SHARE
    chosen = choose_zones(regions, skin, choice, 1000, covered=covered)
    assert any("hand is in front of the left cheek" in p for p in chosen.problems)
    assert chosen.reference_regions and FaceRegion.LEFT_CHEEK not in chosen.reference_regions
    for polygon in chosen.treated + chosen.reference:
        zone = polygon_mask(polygon, shape)
        assert (zone & covered).sum() <= 0.002 * zone.sum()

    # Only a fingertip reaches the cheek's edge: left out and said, but not a fault.
    for shift in np.arange(0.0, 2.0, 0.02) * palm:
        near = _open_hand((float(xs.max()) + shift, float(ys.max()) + 0.7 * palm), palm).mask(shape)
        if 0 < near[cheek].mean() <= MAX_COVERED_SHARE / 2:
            break
    assert 0 < near[cheek].mean() <= MAX_COVERED_SHARE
    chosen = choose_zones(regions, skin, choice, 1000, covered=near)
    assert not chosen.problems
    assert any("hand is close to the left cheek" in n for n in chosen.notes)

    # A hand over the forehead: the reference moves to clear skin elsewhere.
    fys, fxs = np.nonzero(regions.regions[FaceRegion.FOREHEAD])
    over_forehead = _open_hand((float(fxs.mean()), float(fys.max()) + 0.5 * palm), palm)
    chosen = choose_zones(regions, skin, choice, 1000, covered=over_forehead.mask(shape))
    assert chosen.reference_regions and FaceRegion.FOREHEAD not in chosen.reference_regions
