"""Hands in front of the face: the one occluder the skin check cannot see.

Why: a hand has the colour and texture of the face behind it, so the photo's own skin model
passes a finger resting on a cheek as clear skin (issue 9: a man on the phone, his fingers
inside the cheek zone, scored usable). MediaPipe's hand model ships in the same wheel as the
face mesh (nothing is downloaded). Its lite palm detector at confidence 0.5 found every hand
touching a face in the 72 development photos (phone, chin rest, microphone, violin) and
nothing on a face that had no hand; the full model missed the phone call. About 11 ms per
1 MP photo on 2 cores.

The 21 landmarks run along the middle of each finger, so the covered area is the palm and
each finger's bones drawn a finger wide, with a margin.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.native_stderr import known_noise_dropped

BoolMask = NDArray[np.bool_]

MIN_CONFIDENCE = 0.5
# Wrist (0) to the middle finger's knuckle (9) is a palm's length, ~10 cm; a finger is about
# a fifth of that wide, and the landmarks sit on its middle line: each bone is drawn 1.8 cm
# either side of that line (a finger's half-width and about as much again for the margin).
_WRIST, _MIDDLE_KNUCKLE = 0, 9
HALF_WIDTH_PER_PALM = 0.18
_PALM = (0, 1, 5, 9, 13, 17)
_FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))

_lock = threading.Lock()
_graph_obj: Any = None


@dataclass(frozen=True)
class Hand:
    """One hand's 21 landmarks in pixel coordinates of the image given to `find_hands`."""

    points: NDArray[np.float64]  # 21×2 (x, y)

    @property
    def palm_px(self) -> float:
        return float(np.hypot(*(self.points[_WRIST] - self.points[_MIDDLE_KNUCKLE])))

    def mask(self, shape: tuple[int, int]) -> BoolMask:
        """The pixels the hand covers on a grid of `shape` (the same pixels as the points):
        the palm and each finger's bones drawn a finger wide, with a margin. Not the hull: a
        hand cupping the chin would hide the jaw it does not touch."""
        out = np.zeros(shape, np.uint8)
        pts = np.round(self.points * 16).astype(np.int32)
        thickness = max(2, round(2 * HALF_WIDTH_PER_PALM * self.palm_px))
        palm = pts[list(_PALM)].reshape(-1, 1, 2)
        cv2.fillPoly(out, [palm], 1, cv2.LINE_8, shift=4)
        cv2.polylines(out, [palm], True, 1, thickness, cv2.LINE_8, shift=4)
        for finger in _FINGERS:
            bones = pts[list(finger)].reshape(-1, 1, 2)
            cv2.polylines(out, [bones], False, 1, thickness, cv2.LINE_8, shift=4)
        return out.astype(bool)


def find_hands(rgb: NDArray[np.uint8]) -> tuple[Hand, ...]:
    """Every hand in the photo (at most two). Empty when there is none, or when the model is
    not installed (the face's zones then rely on the skin check alone)."""
    h, w = rgb.shape[:2]
    with _lock, known_noise_dropped():  # one graph per process, not safe to share between threads
        try:
            graph = _graph()
        except ImportError:
            return ()
        result = graph.process(np.ascontiguousarray(rgb))
    found = getattr(result, "multi_hand_landmarks", None) or []
    return tuple(
        Hand(points=np.array([(p.x * w, p.y * h) for p in hand.landmark], dtype=np.float64)) for hand in found
    )


def covered(hands: tuple[Hand, ...], shape: tuple[int, int]) -> BoolMask | None:
    """The pixels any hand covers, or None when there is no hand."""
    if not hands:
        return None
    out = np.zeros(shape, bool)
    for hand in hands:
        out |= hand.mask(shape)
    return out


def _graph() -> Any:
    global _graph_obj
    if _graph_obj is None:
        from mediapipe.python.solutions import hands

        _graph_obj = hands.Hands(
            static_image_mode=True,
            max_num_hands=2,
            model_complexity=0,
            min_detection_confidence=MIN_CONFIDENCE,
        )
    return _graph_obj


__all__ = ["Hand", "covered", "find_hands"]
