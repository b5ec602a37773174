"""Pixel masks: where skin is, and which skin pixels can be trusted.

Every metric is a statistic over "valid" pixels, so what is excluded matters as much as
the formula: a 4 % specular glare lowers EI by ~6 units (design §3.4). The skin mask is
built from physics rather than a trained model: in linear light, skin of every tone has
R > G > B (haemoglobin absorbs green, melanin absorbs blue), while backgrounds, charts and
clothes rarely form one large connected region with that ordering. The thresholds adapt
to the photo (median chromaticity of the seed region), so dark and light skin are treated
alike — checked by the fairness validation.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

BoolMask = NDArray[np.bool_]
F32 = NDArray[np.float32]

# Loose ln(R/G) and ln(G/B) bounds for skin of ITA −60°…+70° under daylight to tungsten
# with a phone's white-balance error (a bluish cast can push G/B below 1 on light skin);
# the real decision is adaptive: Otsu on ln(R/G), then closeness to the seed's colour.
_SKIN_LN_RG = (0.05, 2.8)
_SKIN_LN_GB = (-0.5, 3.0)
_EPS = 1e-4
_SUPERSAMPLE = 4
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709 luminance weights
_MAX_STAT_PIXELS = 40_000
# Glare, in a zone's own white balance (see glare_mask): luminance above the zone's median by
# at least this fraction (or 6 robust spreads)...
_GLARE_BRIGHT = 0.6
# ... and ln(R/B) below the zone's median by at least this much (or 2 robust spreads). The
# rim of a highlight qualifies with half the brightness excess but twice the wash.
_GLARE_WASHED = 0.15
_GLARE_RIM_BRIGHT = 0.3


def channel_max(image: NDArray[Any]) -> NDArray[Any]:
    """Per-pixel max over the colour channels; ~10× faster than `max(axis=2)`, which numpy
    runs as a reduction over a 3-element axis."""
    return np.asarray(np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2]))


def channel_min(image: NDArray[Any]) -> NDArray[Any]:
    return np.asarray(np.minimum(np.minimum(image[..., 0], image[..., 1]), image[..., 2]))


def polygon_mask(polygon: list[list[float]] | NDArray[np.floating], shape: tuple[int, int]) -> BoolMask:
    """Pixels whose centres fall inside `polygon` ([[x, y], ...], pixel centres at integer
    coordinates). Rasterised at 4× and area-reduced, so a pixel counts when at least half
    of it is inside: exact for outlines along half-pixels, and OpenCV's own rule (which
    includes every pixel the outline touches) would make each zone a pixel too wide."""
    h, w = shape
    mask = np.zeros(shape, bool)
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3:
        return mask
    x0, y0 = max(0, int(np.floor(points[:, 0].min()))), max(0, int(np.floor(points[:, 1].min())))
    x1, y1 = min(w, int(np.ceil(points[:, 0].max())) + 1), min(h, int(np.ceil(points[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return mask
    k = _SUPERSAMPLE
    fine = np.zeros(((y1 - y0) * k, (x1 - x0) * k), np.uint8)
    # Sub-pixel (i, j) of pixel (x, y) has its centre at x - 0.5 + (i + 0.5) / k.
    local = (points - [x0 - 0.5, y0 - 0.5]) * k - 0.5
    cv2.fillPoly(fine, [np.round(local * 16).astype(np.int32).reshape(-1, 1, 2)], 255, cv2.LINE_8, shift=4)
    coverage = cv2.resize(fine, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    mask[y0:y1, x0:x1] = coverage >= 128
    return mask


def clipped_mask(rgb: NDArray[np.uint8]) -> BoolMask:
    """Any channel at the sensor's limits: the true colour is unknown there."""
    return np.asarray((channel_max(rgb) >= 254) | (channel_min(rgb) <= 1))


def glare_mask(linear: F32, region: BoolMask, clipped: BoolMask | None = None) -> BoolMask:
    """Specular highlights: brighter than the region and washed out towards the light's colour.

    Glare is surface reflection, so it has the light's colour, not the skin's. Every test is
    made in the region's own white balance (each channel divided by its median over the
    region, so typical skin there is grey): a colour cast is a gain per channel in linear
    light, and it cancels exactly, whether or not the photo's white balance succeeded. In
    that balance any light is less red than the skin it shines on, so glare lowers R/B below
    the region's median while shading leaves it alone: a pixel must be washed out *and*
    bright. No absolute level is used (the old "a channel above 0.92" turned 13–26 % of a
    real cheek into glare under a warm cast, which lifts R on bright skin without any shine).

    The rim of a highlight is less bright than its core but as washed out; next to a clipped
    core (`clipped`: pixels left out of `region` because a channel hit the limits) that would
    pass as a highlight itself, less still is needed. Under a warm cast whole patches of
    bright skin clip in R, but they stay dim in G and B, so their neighbours stay. Call it
    once per zone (a red treated zone and pale reference skin have different medians).
    """
    out = np.zeros(region.shape, bool)
    ys, xs = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
    if len(ys) == 0:
        return out
    # Every step is local (two dilations of 2 px) or a statistic of the region's own pixels,
    # so the region's box with a margin gives the same answer for a fraction of the pixels
    # (the treated and reference zones share one crop).
    pad = 5
    box = (
        slice(max(0, ys[0] - pad), ys[-1] + pad + 1),
        slice(max(0, xs[0] - pad), xs[-1] + pad + 1),
    )
    out[box] = _glare_in(linear[box], region[box], None if clipped is None else clipped[box])
    return out


def _glare_in(linear: F32, region: BoolMask, clipped: BoolMask | None) -> BoolMask:
    balanced = linear / _channel_medians(linear[region])
    luminance = balanced @ _LUMA
    luminance /= max(float(_median(luminance[region])), _EPS)
    ln_rb = np.log((balanced[..., 0] + _EPS) / (balanced[..., 2] + _EPS))
    ln_rb -= _median(ln_rb[region])
    wash = max(_GLARE_WASHED, 2.0 * _mad(ln_rb[region]))
    washed = ln_rb < -wash
    highlight = (luminance > 1.0 + max(_GLARE_BRIGHT, 6.0 * _mad(luminance[region] - 1.0))) & washed
    rim = (luminance > 1.0 + _GLARE_RIM_BRIGHT) & (ln_rb < -2.0 * wash)
    if clipped is not None:
        # Clipped pixels that would be a highlight if they were not clipped (a white core,
        # not skin whose R alone a warm cast pushed over the top, which stays dim in G).
        cores = clipped & highlight
        if cores.any():
            rim |= _dilate(cores, 2) & (luminance > 1.0 + _GLARE_RIM_BRIGHT) & washed
    glare = (highlight | rim) & region
    return _dilate(glare, 2) & region


def _median(values: NDArray[np.floating]) -> float:
    """Median of an even subsample of at most 40 000 values: it moves a median by far less
    than any threshold here, and keeps a 12 MP zone cheap."""
    step = max(1, values.size // _MAX_STAT_PIXELS)
    return float(np.median(values[::step]))


def _channel_medians(pixels: NDArray[np.floating]) -> F32:
    """Per-channel medians of N×3 pixels (subsampled as in `_median`), never zero."""
    step = max(1, pixels.shape[0] // _MAX_STAT_PIXELS)
    return np.asarray(np.maximum(np.median(pixels[::step], axis=0), _EPS), dtype=np.float32)


def _mad(values: NDArray[np.floating]) -> float:
    """Robust spread around zero (1.4826 · median absolute value) of a subsample."""
    return 1.4826 * _median(np.abs(values))


def shadow_mask(linear: F32, region: BoolMask) -> BoolMask:
    """Deep shadow: too little light for a stable ratio (noise dominates log metrics)."""
    green = linear[..., 1]
    inside = green[region]
    if inside.size == 0:
        return np.zeros(region.shape, bool)
    return np.asarray((green < 0.3 * float(np.median(inside))) | (green < 0.002))


def hair_mask(linear: F32, region: BoolMask, px_per_mm: float | None) -> BoolMask:
    """Thin dark strands (hair, stubble): black-hat ridges narrower than ~0.3 mm that are
    much darker than their surroundings. A heuristic; it keeps hair out of redness and
    texture statistics rather than detecting hair for its own sake."""
    scale = px_per_mm if px_per_mm else 10.0
    size = max(3, round(0.6 * scale) | 1)
    log_g = np.log(linear[..., 1] + 1e-3).astype(np.float32)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    blackhat = cv2.morphologyEx(log_g, cv2.MORPH_BLACKHAT, kernel)
    strands = (blackhat > 0.35) & region
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strands.astype(np.uint8), connectivity=8)
    min_len = 2.0 * scale  # ≥ 2 mm long
    keep = np.zeros(count, bool)
    for i in range(1, count):
        w, h, area = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_AREA]
        keep[i] = max(w, h) >= min_len and area < 0.5 * w * h + 1  # long and thin
    return np.asarray(keep[labels])


def skin_mask(linear: F32, *, max_side: int = 640) -> BoolMask:
    """The main skin region of a photo, at full resolution.

    Computed on a downscaled copy (the boundary does not need full resolution), then
    upscaled: a few milliseconds even for 12 MP.
    """
    h, w = linear.shape[:2]
    factor = min(1.0, max_side / max(h, w))
    small = (
        cv2.resize(
            linear, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA
        )
        if factor < 1.0
        else linear
    )
    mask_small = _skin_mask_small(small)
    if factor >= 1.0:
        return mask_small
    up = cv2.resize(mask_small.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(up >= 128)


def _skin_mask_small(linear: F32) -> BoolMask:
    r, g, b = (linear[..., i] + _EPS for i in range(3))
    ln_rg, ln_gb = np.log(r / g), np.log(g / b)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    lit = (luminance > 0.004) & (channel_max(linear) < 0.97)
    # The physical skin locus (R > G > B in linear light, not a saturated red) holds for every
    # tone; within it the seed is the region with the most pixels near the middle of the
    # frame, where the subject of a close-up is. No photo-wide split of red against the rest:
    # that picked the reddest thing in frame (red clothing, lips, a pink backdrop) and failed
    # most often on dark skin (issue 9).
    candidate = (
        lit
        & (ln_rg > _SKIN_LN_RG[0])
        & (ln_rg < _SKIN_SEED_MAX_LN_RG)
        & (ln_gb > _SKIN_LN_GB[0])
        & (ln_gb < _SKIN_LN_GB[1])
    )
    seed = _central_component(_open_close(candidate, 3))
    if seed.sum() < 0.01 * seed.size:
        return np.zeros(candidate.shape, bool)
    # Adapt to this photo: keep pixels whose chromaticity is close to the seed's.
    centre = np.array([np.median(ln_rg[seed]), np.median(ln_gb[seed])])
    spread = np.array(
        [
            max(0.08, 1.4826 * np.median(np.abs(ln_rg[seed] - centre[0]))),
            max(0.08, 1.4826 * np.median(np.abs(ln_gb[seed] - centre[1]))),
        ]
    )
    distance = np.hypot((ln_rg - centre[0]) / spread[0], (ln_gb - centre[1]) / spread[1])
    # Brightness may vary a lot across skin (shading, spots, pores), chromaticity little.
    refined = lit & (distance < 4.0)
    region = _largest_overlap(_open_close(refined, 5), seed)
    return _fill_holes(region)


# Skin, even flushed or dark, stays below R/G ≈ 4 in linear light; saturated red fabric and
# lipstick reach far beyond.
_SKIN_SEED_MAX_LN_RG = 1.4
_CENTRE_SIGMA = 0.35  # of the half-diagonal


def _central_component(mask: BoolMask) -> BoolMask:
    """The connected region with the most pixels near the middle of the frame."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    h, w = mask.shape
    yy, xx = np.ogrid[:h, :w]
    radius2 = ((h / 2) ** 2 + (w / 2) ** 2) * _CENTRE_SIGMA**2
    weight = np.exp(-0.5 * ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / radius2)
    scores = np.bincount(labels.ravel(), weights=np.broadcast_to(weight, (h, w)).ravel(), minlength=count)
    scores[0] = 0.0
    return np.asarray(labels == int(np.argmax(scores)))


def _largest_overlap(mask: BoolMask, seed: BoolMask) -> BoolMask:
    """The connected region of `mask` that holds most of the seed."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    overlap = np.bincount(labels[seed], minlength=count)
    overlap[0] = 0
    if overlap.max() == 0:
        return _largest_component(mask)
    return np.asarray(labels == int(np.argmax(overlap)))


def _open_close(mask: BoolMask, size: int) -> BoolMask:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel)
    return np.asarray(m, dtype=bool)


def _largest_component(mask: BoolMask) -> BoolMask:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.asarray(labels == biggest)


def _fill_holes(mask: BoolMask) -> BoolMask:
    """Pores, spots and freckles inside the skin are still skin."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros(mask.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def _dilate(mask: BoolMask, radius: int) -> BoolMask:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.asarray(cv2.dilate(mask.astype(np.uint8), kernel), dtype=bool)


def mask_to_polygon(mask: BoolMask, epsilon_px: float = 2.0) -> list[list[float]] | None:
    """Outline of the largest region, simplified; None when the mask is empty."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    approx = cv2.approxPolyDP(contour, epsilon_px, closed=True).reshape(-1, 2)
    if len(approx) < 3:
        return None
    return [[float(x), float(y)] for x, y in approx]
