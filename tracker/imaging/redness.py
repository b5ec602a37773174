"""Redness and pigment metrics (design §3.1, §3.2) on calibrated linear RGB.

The headline is `delta_ei`, the erythema index of the treated zone minus that of
untreated reference skin in the same photo: the ratio R/G cancels exposure exactly and the
pairing cancels most of the illuminant, so it stays comparable across weeks, cameras and
lighting. Absolute CIELAB values are reported too (for comparison with chromameter
literature) but they move with exposure and illuminant; `delta_*` versions pair them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.colour import ita_degrees, linear_rgb_to_lab

F32 = NDArray[np.float32]
BoolMask = NDArray[np.bool_]

# Optical-density unit vectors (R, G, B) from the physics model (design §3.1).
V_HB = np.array([0.235, 0.800, 0.552])
V_MEL = np.array([0.272, 0.506, 0.818])
_UNMIX = np.linalg.inv(np.stack([V_HB, V_MEL, np.ones(3)], axis=1)).astype(np.float32)
# A pixel counts as "red" when its EI exceeds the reference median by this much.
RED_AREA_THRESHOLD_EI = 6.0
MIN_RED_SPECK_MM2 = 1.0
# Brown spots: 0.5–5 mm regions above the zone's melanin median + K·MAD (design §3.2).
SPOT_K_MAD = 3.0
SPOT_DIAMETER_MM = (0.5, 5.0)
MIN_VALID_PIXELS = 50
# Medians of more pixels than this are computed on an even subsample: the standard error of
# a median over 40 000 pixels is far below any perceptible difference, and it keeps a 12 MP
# zone as cheap as a small one.
MAX_STAT_PIXELS = 40_000


def erythema_index(linear: F32) -> F32:
    """EI = 100·log10(R/G) per pixel; exposure-invariant by construction."""
    r = np.maximum(linear[..., 0], 1e-5)
    g = np.maximum(linear[..., 1], 1e-5)
    return np.asarray(100.0 * np.log10(r / g), dtype=np.float32)


def unmix(linear: F32) -> tuple[F32, F32]:
    """Haemoglobin and melanin coordinates by optical-density unmixing (Tsumura-style);
    exposure falls into the shading term, which is discarded."""
    od = -np.log(np.maximum(linear, 1e-5))
    coords = od @ _UNMIX.T
    return coords[..., 0].astype(np.float32), coords[..., 1].astype(np.float32)


@dataclass(frozen=True)
class ZoneStats:
    """Medians over a zone's valid pixels; None when too few pixels are valid."""

    pixels: int
    ei: float | None
    a_star: float | None
    b_star: float | None
    l_star: float | None
    hb_index: float | None
    mel_index: float | None


def zone_stats(linear: F32, valid: BoolMask) -> ZoneStats:
    count = int(valid.sum())
    if count < MIN_VALID_PIXELS:
        return ZoneStats(count, None, None, None, None, None, None)
    pixels = linear[valid]
    if count > MAX_STAT_PIXELS:
        pixels = pixels[:: count // MAX_STAT_PIXELS + 1]
    lab = linear_rgb_to_lab(pixels)
    ei = erythema_index(pixels)
    hb, mel = unmix(pixels)
    return ZoneStats(
        pixels=count,
        ei=float(np.median(ei)),
        a_star=float(np.median(lab[:, 1])),
        b_star=float(np.median(lab[:, 2])),
        l_star=float(np.median(lab[:, 0])),
        hb_index=float(np.median(hb)),
        mel_index=float(np.median(mel)),
    )


def colour_metrics(
    linear: F32,
    treated_valid: BoolMask,
    reference_valid: BoolMask | None,
    px_per_mm: float | None,
) -> tuple[dict[str, float | None], ZoneStats, ZoneStats | None]:
    """The redness and pigment keys of the metrics JSON (design §3.1–3.2)."""
    treated = zone_stats(linear, treated_valid)
    reference = zone_stats(linear, reference_valid) if reference_valid is not None else None
    # Skin tone from untreated reference skin only: treated skin is red after a session and
    # may darken (PIH), which is what the tone's threshold is meant to judge (issue 9).
    tone_source = reference if reference is not None and reference.ei is not None else None
    metrics: dict[str, float | None] = {
        "ei": treated.ei,
        "delta_ei": _diff(treated.ei, reference.ei) if reference else None,
        "a_star": treated.a_star,
        "delta_a_star": _diff(treated.a_star, reference.a_star) if reference else None,
        "hb_index": treated.hb_index,
        "mel_index": treated.mel_index,
        "red_area_pct": None,
        "ita_deg": (
            ita_degrees(tone_source.l_star, tone_source.b_star)
            if tone_source and tone_source.l_star is not None and tone_source.b_star is not None
            else None
        ),
        "delta_l_star": _diff(treated.l_star, reference.l_star) if reference else None,
        "spot_area_pct": None,
    }
    if reference is not None and reference.ei is not None and treated.ei is not None:
        metrics["red_area_pct"] = red_area_pct(linear, treated_valid, reference.ei, px_per_mm)
    if treated.mel_index is not None and px_per_mm:
        metrics["spot_area_pct"] = spot_area_pct(linear, treated_valid, px_per_mm)
    return metrics, treated, reference


def red_area_pct(linear: F32, valid: BoolMask, reference_ei: float, px_per_mm: float | None) -> float:
    """Share of the zone visibly redder than reference skin. Specks under 1 mm² are noise
    (pores, a single hot pixel), so they are dropped when the scale is known."""
    ys, xs = np.nonzero(valid)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop_valid = valid[y0:y1, x0:x1]
    ei = erythema_index(linear[y0:y1, x0:x1])
    red = (ei > reference_ei + RED_AREA_THRESHOLD_EI) & crop_valid
    if px_per_mm:
        red = _drop_small(red, MIN_RED_SPECK_MM2 * px_per_mm**2)
    return float(100.0 * red.sum() / crop_valid.sum())


def spot_area_pct(linear: F32, valid: BoolMask, px_per_mm: float) -> float:
    """Share of the zone covered by brown spots 0.5–5 mm across on the melanin map."""
    ys, xs = np.nonzero(valid)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop_valid = valid[y0:y1, x0:x1]
    _, mel = unmix(linear[y0:y1, x0:x1])
    # Smooth at pore scale so pores do not count as spots.
    mel = cv2.GaussianBlur(mel, (0, 0), sigmaX=max(0.5, 0.15 * px_per_mm))
    values = mel[crop_valid]
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) * 1.4826
    spots = (mel > median + SPOT_K_MAD * max(mad, 1e-3)) & crop_valid
    lo, hi = (np.pi / 4 * (d * px_per_mm) ** 2 for d in SPOT_DIAMETER_MM)
    _, _, stats, _ = cv2.connectedComponentsWithStats(spots.astype(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    keep = (areas >= lo) & (areas <= hi)
    keep[0] = False
    return float(100.0 * areas[keep].sum() / crop_valid.sum())


def redness_map(linear: F32, reference_ei: float | None) -> F32:
    """Per-pixel EI minus the reference median (or raw EI without a reference)."""
    ei = erythema_index(linear)
    return ei - np.float32(reference_ei) if reference_ei is not None else ei


def _drop_small(mask: BoolMask, min_area: float) -> BoolMask:
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return np.asarray(keep[labels])


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
