"""Two photos of a series brought into the same frame, for before/after comparison.

Each follow-up's result stores the matrix registering it to the series baseline, so any
two photos can be aligned without registering again: b → baseline → a. When a stored
matrix is missing (registration failed, or an older result), the pair is registered now.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from tracker import analysis, services
from tracker.bootstrap import App
from tracker.imaging.registration import compose_affine, invert_affine, register
from tracker.permissions import Actor

U8 = NDArray[np.uint8]


def aligned_pair(app: App, actor: Actor, first_id: int, second_id: int) -> tuple[U8, U8, bool]:
    """Display copies of both photos, the second warped onto the first. The flag says
    whether the alignment is trustworthy (both registrations succeeded)."""
    first = _display(app, actor, first_id)
    second = _display(app, actor, second_id)
    m_first, ok_first, full_first = _to_baseline(app, actor, first_id)
    m_second, ok_second, full_second = _to_baseline(app, actor, second_id)
    ok = ok_first and ok_second
    if ok:
        # second px → baseline px → first px at full resolution, then in display pixels
        full = compose_affine(invert_affine(m_first), m_second)
        display_matrix = np.asarray(full, dtype=np.float64).copy()
        display_matrix[:, :2] *= full_second[0] / second.shape[1]
        display_matrix *= first.shape[1] / full_first[0]
    else:
        reg = register(first, second)  # display copies directly
        ok, display_matrix = reg.ok, np.asarray(reg.matrix, dtype=np.float64)
    warped = cv2.warpAffine(
        second,
        display_matrix,
        (first.shape[1], first.shape[0]),
        flags=cv2.INTER_LINEAR,
        borderValue=(240, 240, 240),
    )
    return first, np.asarray(warped), ok


def _display(app: App, actor: Actor, photo_id: int) -> U8:
    with Image.open(io.BytesIO(services.photo_bytes(app, actor, photo_id, "display"))) as img:
        return np.asarray(img.convert("RGB"))


def _to_baseline(app: App, actor: Actor, photo_id: int) -> tuple[NDArray[np.float64], bool, tuple[int, int]]:
    result = analysis.latest_result(app, actor, photo_id) or {}
    size = services.photo_size(app, actor, photo_id)
    reg = result.get("registration")
    if reg is None:  # the baseline itself (or a photo analysed without a series)
        identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        return identity, result.get("zones", {}).get("source") != "series", size
    return np.asarray(reg["matrix"], dtype=np.float64), bool(reg["ok"]), size
