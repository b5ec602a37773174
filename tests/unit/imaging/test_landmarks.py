"""Face landmarks and the iris scale, on a real photograph that ships with scikit-image
(the public-domain portrait of astronaut Eileen Collins, upscaled so that the irises are
large enough to measure)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from tracker.imaging import landmarks


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    if not landmarks.available():
        pytest.fail("the landmark model is missing: ./run test installs requirements-landmarks.txt")
    return np.asarray(data.astronaut())


def _scaled(rgb: np.ndarray, factor: float) -> np.ndarray:
    return np.asarray(cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC))


def test_the_face_is_found_with_its_landmarks_on_the_face(portrait: np.ndarray) -> None:
    face = landmarks.find_face(portrait)
    assert face is not None and face.points.shape == (478, 2)
    # the face is in the upper middle of the photo: every landmark in that box
    assert face.points[:, 0].min() > 100 and face.points[:, 0].max() < 320
    assert face.points[:, 1].min() > 20 and face.points[:, 1].max() < 260
    right, left = face.points[landmarks.RIGHT_IRIS[0]], face.points[landmarks.LEFT_IRIS[0]]
    assert right[0] < left[0] and abs(right[1] - left[1]) < 10  # eyes side by side, image left first
    assert abs(face.yaw_deg) < 10  # a frontal portrait


def test_small_irises_give_no_scale(portrait: np.ndarray) -> None:
    face = landmarks.find_face(portrait)  # irises about 8 px across
    assert face is not None and max(face.iris_diameters_px) < landmarks.MIN_IRIS_PX
    assert face.px_per_mm is None


def test_the_iris_scale_implies_a_human_interpupillary_distance_and_halves_with_the_size(
    portrait: np.ndarray,
) -> None:
    large = landmarks.find_face(_scaled(portrait, 6))
    half = landmarks.find_face(_scaled(portrait, 3))
    assert large is not None and half is not None
    assert large.px_per_mm is not None and half.px_per_mm is not None
    ipd_mm = large.interpupillary_px / large.px_per_mm
    assert 54 <= ipd_mm <= 72, ipd_mm
    assert half.px_per_mm / large.px_per_mm == pytest.approx(0.5, rel=0.05)


def test_no_face_in_noise_and_a_close_up_is_found_inside_a_border(portrait: np.ndarray) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert landmarks.find_face(noise) is None
    close = _scaled(portrait[40:250, 120:310], 3)  # the face filling the frame, edge to edge
    face = landmarks.find_face(close)
    assert face is not None
    inside = (face.points[:, 0] > -5) & (face.points[:, 0] < close.shape[1] + 5)
    assert inside.mean() > 0.95  # points given in the close-up's own pixels
