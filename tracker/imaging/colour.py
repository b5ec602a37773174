"""Colour primitives on float32 arrays: the sRGB transfer curve, CIELAB, ΔE00 and the
white-point convention.

Every log-ratio metric (erythema index, optical density) must see *linear* light, never
gamma-encoded values (design §3.4), and Lab must be computed in float, because uint8 Lab
quantises a* to whole units. One white point, D65, is used project-wide and stored with
every result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
WHITE_POINT = "D65"
# CIE 1931 2° D65 white, XYZ with Y = 1.
_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
# Linear sRGB (D65) -> XYZ.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ],
    dtype=np.float32,
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ).astype(np.float32)


def srgb_to_linear(encoded: NDArray[np.generic]) -> F32:
    """uint8 (0–255) or float (0–1) sRGB to linear light in [0, 1]."""
    values = np.asarray(encoded)
    if values.dtype == np.uint8:
        # cv2.LUT is ~3× faster than numpy fancy indexing on a large image.
        return np.asarray(cv2.LUT(values, _SRGB_LUT.reshape(1, 256)), dtype=np.float32)
    v = values.astype(np.float32)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: NDArray[np.generic]) -> F32:
    v = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)


def linear_to_uint8(linear: NDArray[np.generic]) -> NDArray[np.uint8]:
    return np.round(linear_to_srgb(linear) * 255).astype(np.uint8)


def _build_lut() -> F32:
    v = np.arange(256, dtype=np.float64) / 255
    lut = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return lut.astype(np.float32)


_SRGB_LUT = _build_lut()


def linear_rgb_to_xyz(rgb: NDArray[np.generic]) -> F32:
    return np.asarray(rgb, dtype=np.float32) @ _RGB_TO_XYZ.T


def xyz_to_linear_rgb(xyz: NDArray[np.generic]) -> F32:
    return np.asarray(xyz, dtype=np.float32) @ _XYZ_TO_RGB.T


def linear_rgb_to_lab(rgb: NDArray[np.generic]) -> F32:
    """CIELAB (D65) of linear sRGB values, any leading shape, last axis RGB."""
    xyz = linear_rgb_to_xyz(rgb) / _D65
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(np.maximum(xyz, 0)), xyz / (3 * delta**2) + 4.0 / 29.0)
    lab = np.stack(
        [116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )
    return lab.astype(np.float32)


def ita_degrees(l_star: float, b_star: float) -> float:
    """Individual typology angle (design §3.2): stratifies thresholds, never diagnoses."""
    return float(np.degrees(np.arctan2(l_star - 50.0, b_star)))


ITA_GROUPS = (
    (55.0, "very light"),
    (41.0, "light"),
    (28.0, "intermediate"),
    (10.0, "tan"),
    (-30.0, "brown"),
)


def representative_ita(samples: Iterable[tuple[float, bool]]) -> float | None:
    """One ITA for a person from many photos: (ita, chart_calibrated) pairs → median.

    Why chart photos first: ITA = atan((L* − 50)/b*) moves with exposure and white balance,
    and a home photo balanced by shades-of-grey can be 20–40° off (on the demo set, chart
    photos are within 3° of the rendered skin, home check-ins anywhere from −41° to +56° for
    the same light skin). Photos without a chart count only when no chart photo exists."""
    pairs = [(float(v), bool(c)) for v, c in samples if v is not None and math.isfinite(float(v))]
    chosen = [v for v, calibrated in pairs if calibrated] or [v for v, _ in pairs]
    return float(np.median(chosen)) if chosen else None


def ita_group(ita: float) -> str:
    for bound, name in ITA_GROUPS:
        if ita > bound:
            return name
    return "dark"


def delta_e_2000(lab1: NDArray[np.generic], lab2: NDArray[np.generic]) -> NDArray[np.float64]:
    """CIEDE2000 colour difference (Sharma et al. 2005), element-wise over the last axis."""
    a = np.asarray(lab1, dtype=np.float64)
    b = np.asarray(lab2, dtype=np.float64)
    l1, a1, b1 = a[..., 0], a[..., 1], a[..., 2]
    l2, a2, b2 = b[..., 0], b[..., 1], b[..., 2]
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    c_bar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_bar7 / (c_bar7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dlp, dcp = l2 - l1, c2p - c1p
    dhp = h2p - h1p
    dhp = np.where(dhp > 180, dhp - 360, np.where(dhp < -180, dhp + 360, dhp))
    dhp = np.where(c1p * c2p == 0, 0, dhp)
    dhp_big = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp / 2))
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    hsum = h1p + h2p
    hbp = np.where(
        c1p * c2p == 0,
        hsum,
        np.where(
            np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)
        ),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    d_theta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * np.sqrt(cbp**7 / (cbp**7 + 25.0**7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / np.sqrt(20 + (lbp - 50) ** 2)
    sc = 1 + 0.045 * cbp
    sh = 1 + 0.015 * cbp * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.asarray(
        np.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp_big / sh) ** 2 + rt * (dcp / sc) * (dhp_big / sh))
    )


# X-Rite ColorChecker Classic 24, "ColorChecker24 - After November 2014" (colour-science),
# Bradford-adapted from D50 to D65 and expressed in linear sRGB. Reading order: dark skin
# (top left) to black (bottom right). Computed once with colour-science 0.4.7.
COLORCHECKER24_LINEAR_SRGB = np.array(
    [
        (0.17368, 0.07879, 0.05286),
        (0.55978, 0.27745, 0.21089),
        (0.10420, 0.18892, 0.32893),
        (0.10574, 0.15075, 0.05084),
        (0.22744, 0.21241, 0.42645),
        (0.11529, 0.50744, 0.41113),
        (0.74590, 0.20214, 0.02987),
        (0.05874, 0.10118, 0.38775),
        (0.56013, 0.08015, 0.11459),
        (0.10917, 0.04200, 0.13814),
        (0.33275, 0.49739, 0.04260),
        (0.77104, 0.35792, 0.02045),
        (0.02096, 0.04753, 0.28413),
        (0.04606, 0.29205, 0.06148),
        (0.44617, 0.03641, 0.04055),
        (0.84168, 0.57441, 0.00466),
        (0.52234, 0.07782, 0.28931),
        (-0.04392, 0.23366, 0.37719),
        (0.87953, 0.88503, 0.83425),
        (0.58449, 0.59217, 0.58448),
        (0.35769, 0.36708, 0.36527),
        (0.19009, 0.19087, 0.18981),
        (0.08593, 0.08874, 0.08980),
        (0.03135, 0.03150, 0.03232),
    ],
    dtype=np.float32,
)
