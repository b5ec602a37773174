"""Pictures of the measurements: a redness heat map, a texture map and the difference
between a registered follow-up and its baseline, drawn over the photo for the UI and
reports.

Maps are made from a copy of at most MAP_SIDE pixels: they are for looking at, and a
person cannot see more detail than that on a screen or a printed page. The colour scales
are fixed in physical units (EI units, not per-image min/max), so two maps of the same
client can be compared side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.colour import srgb_to_linear
from tracker.imaging.masks import clipped_mask, glare_mask, polygon_mask, shadow_mask, skin_mask
from tracker.imaging.redness import erythema_index
from tracker.imaging.texture import texture_map
from tracker.imaging.zones import Zones

MAP_SIDE = 1024
REDNESS_RANGE_EI = 25.0  # full colour at 25 EI units above reference skin
DIFFERENCE_RANGE_EI = 15.0  # full colour at ±15 EI units of change
_TILE = 192  # map pixels: a zone's size, roughly
_TILE_MIN_PIXELS = 800
NOT_MEASURED_LEGEND = "grey: not measured (glare, shadow or outside the skin)"
U8 = NDArray[np.uint8]
BoolMask = NDArray[np.bool_]


@dataclass(frozen=True)
class MapImage:
    rgb: U8  # the picture, RGB
    scale: float  # map pixels per photo pixel
    legend: str  # what the colours mean, for a caption


def redness_map(
    rgb: U8,
    zones: Zones | None,
    *,
    reference_ei: float | None = None,
    valid: BoolMask | None = None,
) -> MapImage:
    """EI above the reference skin's median, as a heat map over the photo (skin only).
    Without a reference the skin's own median is the zero, and the legend says so. Pixels
    the analysis would not measure (glare, clipped, deep shadow, not skin, and outside
    `valid`, the part of the frame a photo covers: same shape as `rgb`) are drawn grey."""
    small, scale = _small(rgb)
    linear = srgb_to_linear(small)
    skin = skin_mask(linear) & _resized(valid, small.shape[:2])
    skin &= ~_untrusted(small, linear, skin)
    ei = erythema_index(linear)
    if reference_ei is None and zones is not None and zones.reference:
        ref = _mask(zones.reference_polygons(), scale, skin.shape)
        if ref.any():
            reference_ei = float(np.median(ei[ref]))
    zero_note = "reference skin" if reference_ei is not None else "this photo's median skin"
    if reference_ei is None:
        reference_ei = float(np.median(ei[skin])) if skin.any() else 0.0
    level = np.clip((ei - reference_ei) / REDNESS_RANGE_EI, 0, 1)
    heat = _colormap(level, cv2.COLORMAP_INFERNO)
    alpha = np.where(skin, 0.15 + 0.6 * level, 0.0)[..., None]
    out = _grey_outside(_blend(small, heat, alpha), skin)
    _outline(out, zones, scale)
    return MapImage(
        out,
        scale,
        f"redness above {zero_note}: dark = 0, bright = +{REDNESS_RANGE_EI:g} EI units · "
        + NOT_MEASURED_LEGEND,
    )


def texture_overlay(rgb: U8, px_per_mm: float | None, zones: Zones | None) -> MapImage | None:
    """Band-pass surface detail (0.1–0.4 mm) as a heat map; None without a scale, because
    'fine texture' is only defined in millimetres."""
    if not px_per_mm:
        return None
    small, scale = _small(rgb)
    linear = srgb_to_linear(small)
    detail = texture_map(linear, px_per_mm * scale)
    # Inside the skin only: the skin's own edge is the strongest "texture" in the frame.
    skin = cv2.erode(skin_mask(linear).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    high = float(np.percentile(detail[skin], 99)) if skin.any() else 1.0
    level = np.clip(detail / (high or 1.0), 0, 1)
    alpha = np.where(skin, 0.25 + 0.6 * level, 0.0)[..., None]
    out = _blend(small, _colormap(level, cv2.COLORMAP_VIRIDIS), alpha)
    _outline(out, zones, scale)
    return MapImage(
        out, scale, "surface detail 0.1–0.4 mm (scaled to this photo): dark = smooth, bright = pronounced"
    )


def difference_map(
    baseline_rgb: U8,
    follow_rgb: U8,
    matrix: NDArray[np.floating],
    zones: Zones | None,
    *,
    baseline_reference_ei: float | None = None,
    follow_reference_ei: float | None = None,
    valid: BoolMask | None = None,
) -> MapImage:
    """Change in redness from the baseline to a registered follow-up, on the baseline's
    geometry. Each photo is measured against its own reference skin first, so a change of
    lighting between the visits does not show as a change of the skin.

    `matrix` maps follow-up pixels to baseline pixels (full resolution), as registration
    returns it; `zones` are the baseline's. Pixels either photo cannot be measured at (glare,
    clipped, deep shadow, not skin, outside the follow-up's frame or outside `valid`, in
    baseline pixels) are drawn grey: glare lowers the redness index, so a highlight in one
    photo would otherwise show as a vivid "less redness" blob.
    """
    base_small, scale = _small(baseline_rgb)
    h, w = base_small.shape[:2]
    m = np.asarray(matrix, dtype=np.float64).copy()
    # follow px → baseline px → baseline map px, scaled for the follow-up's own reduction
    follow_small, follow_scale = _small(follow_rgb)
    m[:, :2] /= follow_scale
    m *= scale
    warped = cv2.warpAffine(follow_small, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    covered = cv2.warpAffine(np.full(follow_small.shape[:2], 255, np.uint8), m, (w, h)) > 200
    base_lin, follow_lin = srgb_to_linear(base_small), srgb_to_linear(warped)
    # Skin in both photos: a colour chart held up in one of them is not skin that changed.
    skin = skin_mask(base_lin) & skin_mask(follow_lin) & covered & _resized(valid, (h, w))
    skin &= ~(_untrusted(base_small, base_lin, skin) | _untrusted(warped, follow_lin, skin))
    ref = _mask(zones.reference_polygons(), scale, (h, w)) if zones and zones.reference else skin
    ei_b, ei_f = erythema_index(base_lin), erythema_index(follow_lin)
    zero_b = baseline_reference_ei if baseline_reference_ei is not None else _median(ei_b, ref & covered)
    zero_f = follow_reference_ei if follow_reference_ei is not None else _median(ei_f, ref & covered)
    change = (ei_f - zero_f) - (ei_b - zero_b)
    change = cv2.GaussianBlur(change, (0, 0), 1.5)  # registration is good to ~1 px, not better
    level = np.clip(change / DIFFERENCE_RANGE_EI, -1, 1)
    colours = _diverging(level)
    alpha = np.where(skin, 0.2 + 0.65 * np.abs(level), 0.0)[..., None]
    out = _grey_outside(_blend(base_small, colours, alpha), skin)
    _outline(out, zones, scale)
    return MapImage(
        out,
        scale,
        f"change in redness since the baseline: blue = less, red = more (±{DIFFERENCE_RANGE_EI:g} EI) · "
        + NOT_MEASURED_LEGEND,
    )


def _untrusted(rgb: U8, linear: NDArray[np.float32], skin: BoolMask) -> BoolMask:
    """The skin pixels the analysis leaves out of its statistics (tracker.imaging.analyze):
    a channel at the sensor's limits, a specular highlight, deep shadow.

    The analysis finds glare and shadow against a zone's own skin; a map has no zones, and
    the whole skin mask (forehead to neck, often some background) is too varied a
    reference for glare: a highlight would not stand out from it. So each tile of the skin
    stands in for a zone. Deep shadow is an absolute lack of light, judged on all the skin."""
    out = np.zeros(skin.shape, bool)
    if not skin.any():
        return out
    clipped = clipped_mask(rgb)
    trusted = skin & ~clipped
    h, w = skin.shape
    step = _TILE // 2  # overlapping: a highlight on one tile's edge is inside the next one
    for y in range(-step, h, step):
        for x in range(-step, w, step):
            y, x = max(y, 0), max(x, 0)
            tile = np.zeros(skin.shape, bool)
            tile[y : y + _TILE, x : x + _TILE] = trusted[y : y + _TILE, x : x + _TILE]
            if tile.sum() < _TILE_MIN_PIXELS:
                continue
            out |= glare_mask(linear, tile, clipped)
    # A highlight's soft halo is lighter than the skin too, if not enough to pass as glare.
    out = cv2.dilate(out.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    return np.asarray((out | clipped | shadow_mask(linear, trusted)) & skin)


def _resized(mask: BoolMask | None, shape: tuple[int, ...]) -> BoolMask:
    if mask is None:
        return np.ones(shape[:2], bool)
    if mask.shape[:2] == shape[:2]:
        return mask
    small = cv2.resize(mask.astype(np.uint8) * 255, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return np.asarray(small >= 255)  # a map pixel counts only when all of it was covered


def _grey_outside(image: U8, measured: BoolMask) -> U8:
    """The photo in grey (R = G = B, a little lighter) wherever nothing was measured, so
    no colour of the scale can be read into it."""
    luma = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = np.clip(60 + 0.7 * luma, 0, 255).astype(np.uint8)
    out = image.copy()
    out[~measured] = grey[~measured][:, None]
    return out


def _small(rgb: U8) -> tuple[U8, float]:
    h, w = rgb.shape[:2]
    scale = min(1.0, MAP_SIDE / max(h, w))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)), size[0] / w


def _scaled(polygon: list[list[float]], scale: float) -> list[list[float]]:
    return [[(x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5] for x, y in polygon]


def _median(values: NDArray[np.float32], mask: NDArray[np.bool_]) -> float:
    return float(np.median(values[mask])) if mask.any() else 0.0


def _colormap(level: NDArray[np.floating], cmap: int) -> U8:
    bgr = cv2.applyColorMap(np.round(level * 255).astype(np.uint8), cmap)
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _diverging(level: NDArray[np.floating]) -> U8:
    """Blue (−1) → white (0) → red (+1)."""
    pos, neg = np.clip(level, 0, 1), np.clip(-level, 0, 1)
    r = 255 * (1 - neg * 0.85)
    g = 255 * (1 - np.maximum(pos, neg) * 0.85)
    b = 255 * (1 - pos * 0.85)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def _blend(base: U8, overlay: U8, alpha: NDArray[np.floating]) -> U8:
    mixed = base.astype(np.float32) * (1 - alpha) + overlay.astype(np.float32) * alpha
    return np.asarray(np.clip(mixed, 0, 255), dtype=np.uint8)


def _outline(image: U8, zones: Zones | None, scale: float) -> None:
    if zones is None:
        return
    for polygons, colour in (
        (zones.treated_polygons(), (255, 255, 255)),
        (zones.reference_polygons(), (120, 200, 255)),
    ):
        for polygon in polygons:
            points = np.round(np.asarray(_scaled(polygon, scale)) * 4).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(image, [points], True, colour, 2, cv2.LINE_AA, shift=2)


def _mask(polygons: list[list[list[float]]], scale: float, shape: tuple[int, int]) -> NDArray[np.bool_]:
    mask = np.zeros(shape, bool)
    for polygon in polygons:
        mask |= polygon_mask(_scaled(polygon, scale), shape)
    return mask
