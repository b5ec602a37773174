"""Colour calibration and scale of one photo: ColorChecker 24 chart → white reference →
shades-of-grey (design §3.4 steps 3–5, §3.6).

Why this module exists: the headline redness metrics are reference-paired (treated vs untreated
skin in the same photo), so they survive exposure and light changes by construction. Absolute
values (a*, L*, ITA, erythema index of one zone) are only comparable between photos after the
light's colour and the camera's rendering are taken out; and every mm-based measure needs a
px/mm that comes from something of known size. A chart gives both.

Everything here is a pure function on arrays; nothing touches the database or the UI.

Conventions: ``rgb`` is upright sRGB uint8 H×W×3 (RGB order); ``linear`` is the same image in
linear sRGB float32 (see :mod:`tracker.imaging.colour`); all corrections act in linear RGB as
``linear @ matrix.T`` and target the project's single white point, D65.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.colour import (
    COLORCHECKER24_LINEAR_SRGB,
    WHITE_POINT,
    delta_e_2000,
    linear_rgb_to_lab,
    srgb_to_linear,
)
from tracker.imaging.masks import channel_max

_LUMA = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 / sRGB luminance weights
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]

#: Patch grid of a ColorChecker Classic 24 (any size): 4 rows × 6 columns, read row by row from
#: 'dark skin' (top left, chart held landscape with the neutral row at the bottom) to 'black'.
CHART_ROWS, CHART_COLS = 4, 6
N_PATCHES = CHART_ROWS * CHART_COLS
#: Indices of 'dark skin' and 'light skin' in reading order.
SKIN_PATCHES = (0, 1)
#: Patch pitch (centre-to-centre distance) of the demo set's pocket chart, mm. A clinic with
#: another chart sets its pitch in the settings (a full-size ColorChecker Classic, 279 × 216 mm,
#: has a pitch of about 40 mm; the Mini/Passport about 10.5 mm); px/mm is only as good as this.
DEFAULT_PATCH_PITCH_MM = 5.0
#: Long side of the copy the detector runs on. cv2.mcc costs roughly in proportion to the
#: pixels it sees, and a photo without a chart must cost little (≈ 35 ms at 12 MP). It finds
#: charts whose patch pitch is ≥ ~16 px in that copy: the chart must span at least ~1/9 of the
#: photo's long side.
DETECT_LONG_SIDE = 800
#: Half-width of the sampled square around each patch centre, in pitches. Patches cover about
#: 0.8 pitch; sampling ±0.25 keeps clear of edges, blur and a few px of geometric error.
_SAMPLE_HALF = 0.25
_TRIM = 0.1  # fraction trimmed from each end, per channel (specks, dust, JPEG ringing)
_SATURATED_CODE = 250  # any channel at or above this 8-bit code counts as clipped at the top
_CRUSHED_CODE = 1  # ... at or below this as crushed at the bottom
_CLIP_FRACTION = 0.02  # fraction of samples that must be clipped to flag a patch
_DARK_MIN = 0.004  # patches whose measured green is below this (linear) are too dark to use
_MIN_FIT_PATCHES = 12  # fewer usable patches than this: no chart fit
_MIN_SQUARES = 6  # patch squares needed to trust the refined chart geometry


# --------------------------------------------------------------------------------------------
# Chart detection and sampling


@dataclass(frozen=True)
class ChartFound:
    """A detected ColorChecker 24 and its sampled patches, in chart reading order.

    ``corners`` are the four corners of the *patch grid* (TL, TR, BR, BL, where TL is next to
    patch 1 'dark skin'), photo px, the same convention as cv2.mcc ``getBox()``; the black
    border outside the grid differs between chart makes, so it is not used.
    ``patch_linear`` holds trimmed means of the central part of each patch in linear RGB.
    ``saturated`` flags patches with a channel at the top of the 8-bit range and ``clipped``
    patches with a channel crushed to 0 (or lying partly outside the frame); such patches are
    left out of any fit.
    ``geometry_refined`` says whether the grid was fitted to the individual patch squares
    (accurate to a fraction of a pixel) or only to the detector's box (a few % off, so no px/mm).
    """

    corners: F64  # (4, 2)
    patch_centres: F64  # (24, 2)
    patch_linear: F64  # (24, 3)
    patch_pitch_px: float
    saturated: Bool  # (24,)
    clipped: Bool  # (24,)
    orientation: str  # how the chart lies relative to the detector's box
    geometry_refined: bool
    n_squares: int  # patch squares matched during refinement
    fit_de00_by_orientation: dict[str, float] = field(default_factory=dict)

    @property
    def usable(self) -> Bool:
        """Patches fit for a colour fit: not clipped at either end and not too dark."""
        ok: Bool = ~self.saturated & ~self.clipped & (self.patch_linear[:, 1] >= _DARK_MIN)
        return ok

    def px_per_mm(self, patch_pitch_mm: float = DEFAULT_PATCH_PITCH_MM) -> float:
        """Image scale at the chart: measured patch pitch / the chart's known pitch.

        Valid for skin in the chart's plane and at its distance; a chart held a few cm in front
        of the cheek makes the cheek a few % smaller than this says.
        """
        return self.patch_pitch_px / patch_pitch_mm


def find_chart(
    rgb: NDArray[np.uint8],
    linear: F32 | None = None,
    *,
    detect_long_side: int = DETECT_LONG_SIDE,
) -> ChartFound | None:
    """Find a 24-patch ColorChecker and sample its patches; ``None`` when there is none.

    Steps: cv2.mcc on a copy downscaled to ``detect_long_side`` (its box is 10–20 px off at
    1600 px, and a photo without a chart must stay cheap); refit the grid to the individual
    patch squares at full resolution (a homography from their centroids, RANSAC); sample the
    centre of every cell; then choose among the four ways a 4×6 grid can lie (as boxed, turned
    180°, mirrored either way) the one whose colours a 3×3 matrix maps best onto the reference,
    preferring orientations whose neutral row gets darker patch by patch. ``linear`` (if given)
    is sampled instead of linearising ``rgb``, so a colour-managed decode is honoured.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("rgb must be an H×W×3 uint8 array")
    box = _detect_box(rgb, detect_long_side)
    if box is None:
        return None
    h0 = _initial_homography(box)
    roi = _roi(h0, rgb.shape[:2])
    if roi is None:
        return None
    y0, y1, x0, x1 = roi
    lin_roi = srgb_to_linear(rgb[y0:y1, x0:x1]) if linear is None else np.asarray(linear[y0:y1, x0:x1])
    offset = np.array([x0, y0], dtype=np.float64)
    refined = _refine_homography(lin_roi, h0, offset)
    hom, n_squares = (refined[0], refined[1]) if refined is not None else (h0, 0)
    canon_centres, canon_lin, canon_sat, canon_clip = _sample_patches(lin_roi, rgb[y0:y1, x0:x1], hom, offset)
    best: tuple[int, float, str] | None = None
    scores: dict[str, float] = {}
    for name, perm, _flip in _ORIENTATIONS:
        lin = canon_lin[perm]
        usable = ~canon_sat[perm] & ~canon_clip[perm] & (lin[:, 1] >= _DARK_MIN)
        if usable.sum() < _MIN_FIT_PATCHES:
            continue
        _m, fit_de = _fit_and_score(lin, COLORCHECKER24_LINEAR_SRGB.astype(np.float64), usable)
        scores[name] = round(fit_de, 3)
        rank = (0 if _neutral_row_monotone(lin, usable) else 1, fit_de, name)
        if best is None or rank[:2] < best[:2]:
            best = rank
    if best is None:
        return None
    name = best[2]
    perm, flip = next((p, f) for n, p, f in _ORIENTATIONS if n == name)
    hom_oriented = hom @ flip
    corners = _project(
        hom_oriented, np.array([[0, 0], [CHART_COLS, 0], [CHART_COLS, CHART_ROWS], [0, CHART_ROWS]])
    )
    return ChartFound(
        corners=corners,
        patch_centres=canon_centres[perm],
        patch_linear=canon_lin[perm],
        patch_pitch_px=_pitch_px(hom),
        saturated=canon_sat[perm],
        clipped=canon_clip[perm],
        orientation=name,
        geometry_refined=refined is not None,
        n_squares=n_squares,
        fit_de00_by_orientation=scores,
    )


def _downscale(rgb: NDArray[np.uint8], long_side: int) -> tuple[NDArray[np.uint8], float, float]:
    """Area-averaged copy with a long side near ``long_side``; (copy, x scale, y scale).

    Large photos are shrunk by a whole factor (after dropping < factor edge pixels): OpenCV's
    area resize has a fast path for integer factors, 2–3× cheaper than an arbitrary one at
    12 MP, and the detector does not care whether it sees 1000 or 1008 px.
    """
    h, w = rgb.shape[:2]
    longest = max(h, w)
    if longest <= long_side:
        return rgb, 1.0, 1.0
    if longest < 1.5 * long_side:
        size = (max(1, round(w * long_side / longest)), max(1, round(h * long_side / longest)))
        small = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        return small, size[0] / w, size[1] / h
    k = round(longest / long_side)
    hk, wk = h // k, w // k
    small = np.asarray(
        cv2.resize(rgb[: hk * k, : wk * k], (wk, hk), interpolation=cv2.INTER_AREA), dtype=np.uint8
    )
    return small, 1.0 / k, 1.0 / k


def _detect_box(rgb: NDArray[np.uint8], detect_long_side: int) -> F64 | None:
    """cv2.mcc's box (4×2, full-resolution px) of the best MCC24 chart, or None."""
    small, sx, sy = _downscale(rgb, detect_long_side)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    detector = cv2.mcc.CCheckerDetector.create()
    # The 4.x positional form process(img, MCC24, n) fails in OpenCV 5; the type must be set.
    detector.setColorChartType(cv2.mcc.MCC24)
    params = detector.getDetectionParams()
    # mcc upsamples anything whose short side is below minImageSize (default 1000): that
    # would undo the downscale and triple the cost.
    params.minImageSize = min(bgr.shape[:2])
    # Smaller patches than the defaults allow (down to a ~16 px pitch at the detection size, so
    # a chart spanning ≥ 1/9 of the long side is found), and fewer, smaller threshold windows,
    # which also makes it faster. On the demo set: no false detections in 84 chart-free
    # frames, every chart found, also one filling the frame.
    params.minContoursAreaRate = 0.0003
    params.minContoursArea = 20.0
    params.minContourLengthAllowed = 20
    params.minInterContourDistance = 10
    params.adaptiveThreshWinSizeMin = 7
    params.adaptiveThreshWinSizeStep = 10
    params.adaptiveThreshWinSizeMax = 83
    detector.setDetectionParams(params)
    if not detector.process(bgr, 1):
        return None
    box = np.asarray(detector.getBestColorChecker().getBox(), dtype=np.float64).reshape(4, 2)
    # Pixel centres: full = (small + 0.5) / s − 0.5.
    box[:, 0] = (box[:, 0] + 0.5) / sx - 0.5
    box[:, 1] = (box[:, 1] + 0.5) / sy - 0.5
    return box


def _initial_homography(box: F64) -> F64:
    """Grid units (u across 6 columns, v down 4 rows) → px, from the detector's box.

    The long side of the box carries the 6 columns; which end is patch 1 is decided later by
    colour, so any corner order the detector uses is fine.
    """
    side01 = float(np.linalg.norm(box[1] - box[0]) + np.linalg.norm(box[2] - box[3]))
    side12 = float(np.linalg.norm(box[2] - box[1]) + np.linalg.norm(box[3] - box[0]))
    ordered = box if side01 >= side12 else np.roll(box, -1, axis=0)
    src = np.array([[0, 0], [CHART_COLS, 0], [CHART_COLS, CHART_ROWS], [0, CHART_ROWS]], dtype=np.float32)
    return np.asarray(cv2.getPerspectiveTransform(src, ordered.astype(np.float32)), dtype=np.float64)


def _project(hom: NDArray[Any], pts: NDArray[Any]) -> F64:
    """Apply a 3×3 homography to N×2 points."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    q = np.hstack([p, np.ones((p.shape[0], 1))]) @ hom.T
    result: F64 = q[:, :2] / q[:, 2:3]
    return result


def _cell_centres() -> F64:
    """Cell centres in grid units, row by row (canonical order)."""
    r, c = np.mgrid[0:CHART_ROWS, 0:CHART_COLS]
    return np.stack([c.ravel() + 0.5, r.ravel() + 0.5], axis=1).astype(np.float64)


def _pitch_px(hom: F64) -> float:
    """Mean distance between neighbouring patch centres, px (perspective averages out)."""
    c = _project(hom, _cell_centres()).reshape(CHART_ROWS, CHART_COLS, 2)
    dx = np.linalg.norm(np.diff(c, axis=1), axis=2)
    dy = np.linalg.norm(np.diff(c, axis=0), axis=2)
    return float(np.concatenate([dx.ravel(), dy.ravel()]).mean())


def _roi(hom: F64, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """Pixel rows/cols (y0, y1, x0, x1) around the chart grid plus one pitch of margin."""
    outline = _project(
        hom,
        np.array([[-1, -1], [CHART_COLS + 1, -1], [CHART_COLS + 1, CHART_ROWS + 1], [-1, CHART_ROWS + 1]]),
    )
    h, w = shape[0], shape[1]
    x0 = max(math.floor(outline[:, 0].min()), 0)
    x1 = min(math.ceil(outline[:, 0].max()) + 1, w)
    y0 = max(math.floor(outline[:, 1].min()), 0)
    y1 = min(math.ceil(outline[:, 1].max()) + 1, h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return y0, y1, x0, x1


def _refine_homography(lin: F32, h0: F64, offset: F64) -> tuple[F64, int] | None:
    """Fit the grid to the patch squares themselves; (homography, squares used) or None.

    Why: the detector's box is 0.1–0.2 pitch off, which is harmless for sampling but not for
    px/mm. The patches are brighter than the chart's black surround, so thresholding between
    the two (geometric mean of a gap level and a patch level) separates every patch but the
    black one into its own blob; blob centroids matched to the nearest cell give a homography.
    """
    level = np.maximum(np.maximum(lin[..., 0], lin[..., 1]), lin[..., 2])
    hh, ww = level.shape
    grid_px = (
        _project(h0, np.array([[0, 0], [CHART_COLS, 0], [CHART_COLS, CHART_ROWS], [0, CHART_ROWS]])) - offset
    )
    inside = np.zeros((hh, ww), np.uint8)
    cv2.fillConvexPoly(inside, np.round(grid_px).astype(np.int32), 1)
    vals = level[inside.astype(bool)]
    if vals.size < 100:
        return None
    gap, patch = np.percentile(vals, [10, 65])
    if patch <= 1.5 * gap:
        return None
    threshold = math.sqrt(max(float(gap), 1e-4) * float(patch))
    binary = (level > threshold).astype(np.uint8)
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _n, _labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=4)
    pitch = _pitch_px(h0)
    expected = (0.8 * pitch) ** 2
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    extent = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]).astype(np.float64)
    keep = (area > 0.35 * expected) & (area < 1.6 * expected) & (extent < 1.6 * 0.8 * pitch)
    blobs = np.asarray(centroids[1:][keep], dtype=np.float64) + offset
    if blobs.shape[0] < _MIN_SQUARES:
        return None
    hom = h0
    matched = 0
    for tolerance in (0.3, 0.15):
        cells, points = _match_cells(hom, blobs, tolerance)
        if cells.shape[0] < _MIN_SQUARES:
            return None
        found, inliers = cv2.findHomography(
            cells.astype(np.float32), points.astype(np.float32), cv2.RANSAC, max(1.0, 0.05 * pitch)
        )
        if found is None or inliers is None or int(inliers.sum()) < _MIN_SQUARES:
            return None
        good = inliers.ravel().astype(bool)
        # Least squares on the inliers: every centroid counts, not just a minimal sample.
        refit, _ = cv2.findHomography(cells[good].astype(np.float32), points[good].astype(np.float32), 0)
        hom = np.asarray(refit if refit is not None else found, dtype=np.float64)
        matched = int(good.sum())
    return hom, matched


def _match_cells(hom: F64, blobs: F64, tolerance: float) -> tuple[F64, F64]:
    """Pair blob centroids with the cell whose centre they fall near (in grid units)."""
    inv = np.linalg.inv(hom)
    g = _project(inv, blobs)
    cell = np.floor(g)
    off = g - cell - 0.5
    ok = (
        (np.abs(off) < tolerance).all(axis=1)
        & (cell[:, 0] >= 0)
        & (cell[:, 0] < CHART_COLS)
        & (cell[:, 1] >= 0)
        & (cell[:, 1] < CHART_ROWS)
    )
    idx = (cell[:, 1] * CHART_COLS + cell[:, 0]).astype(np.int64)
    counts = np.bincount(idx[ok], minlength=N_PATCHES)
    ok &= counts[np.clip(idx, 0, N_PATCHES - 1)] == 1  # a cell claimed twice is ambiguous
    return cell[ok] + 0.5, blobs[ok]


def _sample_patches(lin: F32, rgb: NDArray[np.uint8], hom: F64, offset: F64) -> tuple[F64, F64, Bool, Bool]:
    """Centres, trimmed-mean linear RGB and clip flags of the 24 cells in canonical order."""
    pitch = _pitch_px(hom)
    n = int(np.clip(round(2 * _SAMPLE_HALF * pitch), 4, 24))
    t = np.linspace(-_SAMPLE_HALF, _SAMPLE_HALF, n)
    du, dv = np.meshgrid(t, t)
    cells = _cell_centres()
    pts = (cells[:, None, :] + np.stack([du.ravel(), dv.ravel()], axis=1)[None]).reshape(-1, 2)
    px = _project(hom, pts) - offset
    map_x = px[:, 0].astype(np.float32).reshape(N_PATCHES, -1)
    map_y = px[:, 1].astype(np.float32).reshape(N_PATCHES, -1)
    values = np.asarray(
        cv2.remap(
            np.ascontiguousarray(lin, dtype=np.float32),
            map_x,
            map_y,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        ),
        dtype=np.float64,
    )  # (24, n*n, 3)
    codes = np.asarray(
        cv2.remap(np.ascontiguousarray(rgb), map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    )
    k = values.shape[1]
    cut = int(_TRIM * k)
    srt = np.sort(values, axis=1)
    means = srt[:, cut : k - cut].mean(axis=1)
    saturated = (codes >= _SATURATED_CODE).any(axis=2).mean(axis=1) > _CLIP_FRACTION
    crushed = (codes <= _CRUSHED_CODE).any(axis=2).mean(axis=1) > _CLIP_FRACTION
    # A patch (partly) outside the frame has no trustworthy value either.
    h, w = lin.shape[:2]
    outside = ((map_x < 0) | (map_x > w - 1) | (map_y < 0) | (map_y > h - 1)).any(axis=1)
    centres = _project(hom, cells)
    return centres, means, saturated, crushed | outside


def _orientations() -> tuple[tuple[str, NDArray[np.int64], F64], ...]:
    """(name, permutation, grid flip) for the four ways the 4×6 grid can lie in the box.

    ``perm[k]`` is the canonical cell holding chart patch ``k``; ``flip`` maps chart grid units
    to canonical grid units (so ``hom @ flip`` maps chart grid units to px).
    """
    r, c = np.mgrid[0:CHART_ROWS, 0:CHART_COLS]
    r, c = r.ravel(), c.ravel()
    w, h = CHART_COLS, CHART_ROWS
    out = []
    for name, rr, cc, flip in (
        ("as_boxed", r, c, np.eye(3)),
        ("rotated_180", h - 1 - r, w - 1 - c, np.array([[-1.0, 0, w], [0, -1, h], [0, 0, 1]])),
        ("mirrored_lr", r, w - 1 - c, np.array([[-1.0, 0, w], [0, 1, 0], [0, 0, 1]])),
        ("mirrored_tb", h - 1 - r, c, np.array([[1.0, 0, 0], [0, -1, h], [0, 0, 1]])),
    ):
        out.append((name, (rr * w + cc).astype(np.int64), np.asarray(flip, dtype=np.float64)))
    return tuple(out)


_ORIENTATIONS = _orientations()


def _neutral_row_monotone(lin: F64, usable: Bool) -> bool:
    """Whether the measured neutral row (patches 19–24) darkens from white to black.

    Saturated patches may tie (white can clip), so only usable neighbours must strictly drop.
    """
    y = lin[18:24] @ _LUMA
    ok = usable[18:24]
    for i in range(5):
        if ok[i] and ok[i + 1] and not y[i] > y[i + 1]:
            return False
    return bool(y[0] >= y[5])


# --------------------------------------------------------------------------------------------
# Colour correction fit


def _weighted_lstsq(x: F64, y: F64, weights: F64) -> F64:
    """3×3 ``matrix`` minimising Σ w_i |matrix @ x_i − y_i|² (returned so that y ≈ x @ matrix.T)."""
    sw = np.sqrt(weights)[:, None]
    sol, *_ = np.linalg.lstsq(x * sw, y * sw, rcond=None)
    result: F64 = np.asarray(sol.T, dtype=np.float64)
    return result


def _default_weights(reference: F64) -> F64:
    """Weights that tilt the linear-RGB least squares slightly towards dark patches.

    Plain least squares in linear RGB favours bright patches (an error of 0.01 is invisible on
    white and large on black, because L* goes as Y^(1/3)). Weighting squared residuals by
    Y^(−2/3) (Y floored at 0.02) evens that out a little. Measured on the 19 demo charts the
    choice barely matters: leave-one-out mean ΔE00 1.51 unweighted, 1.50 with Y^(−2/3), 1.51
    with Y^(−4/3). A root-polynomial degree-2 fit (also exposure-invariant) gave 1.40: not a
    clear enough gain for twice the parameters, so the plain 3×3 stays.
    """
    y = np.clip(reference @ _LUMA, 0.02, None)
    result: F64 = y ** (-2.0 / 3.0)
    return result


def _mean_de00(pred: F64, reference: F64) -> float:
    return float(np.mean(delta_e_2000(linear_rgb_to_lab(pred), linear_rgb_to_lab(reference))))


def _fit_and_score(
    measured: F64, reference: F64, usable: Bool, patch_weights: F64 | None = None
) -> tuple[F64, float]:
    """Fit on the usable patches; (matrix, mean ΔE00 of the fit on those patches)."""
    x, y = measured[usable], reference[usable]
    w = _default_weights(y) if patch_weights is None else _default_weights(y) * patch_weights[usable]
    matrix = _weighted_lstsq(x, y, w)
    return matrix, _mean_de00(x @ matrix.T, y)


def skin_patch_weights(weight: float) -> F64:
    """Per-patch weights (24,) that count the chart's two skin patches ``weight`` times.

    Why offer it: a 3×3 fitted on the whole chart is the best matrix for the chart, not for
    skin, whose haemoglobin bands make it metameric to most patches. On the renderer, weight 20
    cut the spread of the same skin's a* across six lights from 7.6 to 5.0 while the chart's
    mean ΔE00 stayed below 3 (see the validation report); it is not the default because that
    finding rests on modelled skin spectra.
    """
    w = np.ones(N_PATCHES)
    w[list(SKIN_PATCHES)] = weight
    return w


def fit_colour_correction(
    measured: NDArray[np.floating[Any]],
    reference: NDArray[np.floating[Any]] = COLORCHECKER24_LINEAR_SRGB,
    usable: Bool | None = None,
    patch_weights: NDArray[np.floating[Any]] | None = None,
) -> tuple[F64, float, float]:
    """3×3 correction in linear RGB from measured chart patches to their reference values.

    Returns ``(matrix, loo_mean_de00, fit_mean_de00)`` with ``corrected = linear @ matrix.T``.
    Weighted least squares (see :func:`_default_weights`, times ``patch_weights`` if given)
    over the ``usable`` patches (default: all whose measured green is at least 0.004; pass
    ``ChartFound.usable`` to also drop clipped ones). A 3×3 matrix without offset is
    exposure-invariant: scaling the input scales the output, so the same chart fits equally
    at any exposure.

    ``loo_mean_de00`` is the honest number: each usable patch is predicted by a fit on the
    others, and the CIEDE2000 (CIELAB, D65) errors are averaged. A wrong patch order or a
    non-chart object still gets a small in-sample error from 9 free parameters; it does not
    get a small leave-one-out error.
    """
    meas = np.asarray(measured, dtype=np.float64).reshape(-1, 3)
    ref = np.asarray(reference, dtype=np.float64).reshape(-1, 3)
    if meas.shape != ref.shape:
        raise ValueError("measured and reference must have the same shape (N, 3)")
    pw = None if patch_weights is None else np.asarray(patch_weights, dtype=np.float64).reshape(-1)
    if pw is not None and pw.shape[0] != meas.shape[0]:
        raise ValueError("patch_weights must have one weight per patch")
    use = meas[:, 1] >= _DARK_MIN
    if usable is not None:
        use &= np.asarray(usable, dtype=bool)
    idx = np.flatnonzero(use)
    if idx.size < 4:
        raise ValueError(f"need at least 4 usable patches, got {idx.size}")
    matrix, fit_de = _fit_and_score(meas, ref, use, pw)
    loo = np.empty(idx.size)
    for j, i in enumerate(idx):
        rest = use.copy()
        rest[i] = False
        m_i, _ = _fit_and_score(meas, ref, rest, pw)
        loo[j] = _mean_de00((meas[i] @ m_i.T)[None], ref[i][None])
    return matrix, float(loo.mean()), fit_de


# --------------------------------------------------------------------------------------------
# Fallbacks: white reference and shades of grey


def _luminance(rgb: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = np.asarray(rgb, dtype=np.float64) @ _LUMA
    return result


def white_reference_gains(
    linear: F32, region_mask: Bool, target_level: float | None = None
) -> NDArray[np.float64]:
    """Von Kries gains (3,) that make a user-marked white/grey region neutral.

    The region's robust colour (trimmed mean of pixels that are neither clipped nor in deep
    shadow) is mapped to grey. With ``target_level=None`` the grey keeps the region's own
    luminance (white balance only); with the card's known linear reflectance (e.g. 0.18 for an
    18 % grey card, ≈ 0.88 for a white card) exposure is normalised too.
    """
    px = np.asarray(linear, dtype=np.float32)[np.asarray(region_mask, dtype=bool)]
    ok = (px.max(axis=1) < 0.98) & (px.min(axis=1) > 1e-4)
    if ok.sum() < 20:
        raise ValueError("white reference region has fewer than 20 usable (unclipped, lit) pixels")
    colour = _trimmed_mean(px[ok].astype(np.float64))
    level = float(_luminance(colour)) if target_level is None else float(target_level)
    gains: NDArray[np.float64] = level / colour
    return gains


def _trimmed_mean(values: F64) -> F64:
    k = values.shape[0]
    cut = int(_TRIM * k)
    result: F64 = np.sort(values, axis=0)[cut : k - cut].mean(axis=0)
    return result


def shades_of_grey_gains(linear: F32, skin_mask: Bool, p: float = 6.0) -> NDArray[np.float64]:
    """Diagonal gains (3,) from the shades-of-grey estimate on NON-skin pixels.

    Shades of grey (Finlayson & Trezzi 2004) takes the illuminant colour as the Minkowski
    p-norm of each channel; p = 6 sits between grey-world (p = 1) and max-RGB (p = ∞). Skin is
    excluded because skin is red: on a close-up, grey-world over all pixels would read the
    redness as a cast and remove it. The skin mask is grown by a margin first: with p = 6 a
    thin rim of bright skin pixels left outside the mask outweighs a dark background (on a
    render, a mask without margin turned a 14 % cast into 16 %; with it the cast went to < 1 %).
    Clipped and deep-shadow pixels carry no light colour and are dropped too. Works on a copy
    of at most 400 px (the estimate is global). Gains keep the estimate's luminance (a global
    cast only, no exposure).
    """
    lin = np.asarray(linear, dtype=np.float32)
    skin = np.asarray(skin_mask, dtype=np.float32)
    h, w = lin.shape[:2]
    scale = min(1.0, _SOG_LONG_SIDE / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        lin = np.asarray(cv2.resize(lin, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
        skin = np.asarray(cv2.resize(skin, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
    margin = max(2, round(_SOG_MARGIN * max(lin.shape[:2])))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    grown = cv2.dilate((skin > 0).astype(np.uint8), kernel).astype(bool)
    peak = channel_max(lin)
    usable = ~grown & (peak < 0.98) & (peak > 0.005)
    if np.count_nonzero(usable) < 500:
        raise ValueError("too few usable non-skin pixels for shades of grey")
    # Channel by channel on 1-D arrays, and x⁶ as (x²)³: numpy's reductions along a short
    # last axis and float64 powers cost most of this function's time otherwise.
    estimate = np.array([_power_mean(lin[..., c][usable], p) for c in range(3)])
    gains: NDArray[np.float64] = float(_luminance(estimate)) / estimate
    return gains


def _power_mean(values: NDArray[np.float32], p: float) -> float:
    """(mean of values**p) ** (1/p), exact to float32 rounding."""
    if p == 6.0:
        square = values * values
        powered = square * square * square
    else:
        powered = values.astype(np.float64) ** p
    return float(powered.mean(dtype=np.float64) ** (1.0 / p))


_SOG_LONG_SIDE = 400  # a global estimate: more pixels change nothing but the time
_SOG_MARGIN = 0.006  # skin-mask margin as a fraction of the long side (2.4 px at 400 px; at least 2)


# --------------------------------------------------------------------------------------------
# The calibration record and the decision chain


@dataclass(frozen=True)
class Calibration:
    """How a photo's colours were normalised, stored with every result (design §3.6).

    ``matrix`` is applied as ``linear_rgb @ matrix.T`` (identity when ``method == "none"``).
    ``residual_de00`` is the chart's leave-one-out mean ΔE00 (None for other methods).
    ``uncalibrated`` marks photos whose absolute colour values are not comparable across
    photos (shades-of-grey and none): trends should rely on reference-paired metrics there.
    """

    method: str  # "chart" | "white_reference" | "shades_of_grey" | "none"
    matrix: F64
    residual_de00: float | None
    px_per_mm: float | None
    px_per_mm_source: str | None
    chart_corners: list[list[float]] | None
    uncalibrated: bool
    fit_de00: float | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain floats, lists and strings only (json.dumps-safe)."""
        return {
            "method": self.method,
            "matrix": [[float(v) for v in row] for row in np.asarray(self.matrix, dtype=np.float64)],
            "residual_de00": None if self.residual_de00 is None else float(self.residual_de00),
            "fit_de00": None if self.fit_de00 is None else float(self.fit_de00),
            "px_per_mm": None if self.px_per_mm is None else float(self.px_per_mm),
            "px_per_mm_source": self.px_per_mm_source,
            "chart_corners": None
            if self.chart_corners is None
            else [[float(x), float(y)] for x, y in self.chart_corners],
            "uncalibrated": bool(self.uncalibrated),
            "white_point": WHITE_POINT,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        """Read a stored calibration (its white point is always WHITE_POINT)."""
        corners = data.get("chart_corners")
        method = str(data.get("method", "none"))
        return cls(
            method=method,
            matrix=np.asarray(data.get("matrix", np.eye(3)), dtype=np.float64),
            residual_de00=_float_or_none(data.get("residual_de00")),
            px_per_mm=_float_or_none(data.get("px_per_mm")),
            px_per_mm_source=data.get("px_per_mm_source"),
            chart_corners=None if corners is None else [[float(x), float(y)] for x, y in corners],
            uncalibrated=bool(data.get("uncalibrated", method in ("shades_of_grey", "none"))),
            fit_de00=_float_or_none(data.get("fit_de00")),
            notes=tuple(str(n) for n in data.get("notes") or ()),
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


#: Shades-of-grey gains spread above this (max/min) suggest a coloured background, not a cast.
_MAX_SOG_GAIN_RATIO = 2.0
#: A chart rejected for colour still gives px/mm if its grid was refined on this many patch
#: squares and this fraction of its usable patches fit a robust 3×3 (see
#: :func:`chart_inlier_fraction`): a real chart in bad light (glare, half shadow, a dirty
#: patch) has exact geometry; a false detection of some tiled object fits no chart colours.
_GEOMETRY_MIN_SQUARES = 12
_GEOMETRY_MIN_INLIERS = 0.6
_INLIER_DE00 = 5.0


def chart_inlier_fraction(measured: NDArray[np.floating[Any]], usable: Bool) -> float:
    """Fraction of usable patches within 5 ΔE00 of a 3×3 fitted on the best two thirds.

    A trimmed fit: fit all, keep the two thirds that fit best, refit, count who fits. It tells
    "a real chart with a few bad patches" (most patches fit) from "not a chart" (few do).
    """
    meas = np.asarray(measured, dtype=np.float64).reshape(-1, 3)
    use = np.asarray(usable, dtype=bool) & (meas[:, 1] >= _DARK_MIN)
    idx = np.flatnonzero(use)
    if idx.size < _MIN_FIT_PATCHES:
        return 0.0
    ref = COLORCHECKER24_LINEAR_SRGB.astype(np.float64)
    matrix, _ = _fit_and_score(meas, ref, use)
    err = delta_e_2000(linear_rgb_to_lab(meas[idx] @ matrix.T), linear_rgb_to_lab(ref[idx]))
    best = np.zeros_like(use)
    best[idx[np.argsort(err)[: max(4, (2 * idx.size) // 3)]]] = True
    matrix, _ = _fit_and_score(meas, ref, best)
    err = delta_e_2000(linear_rgb_to_lab(meas[idx] @ matrix.T), linear_rgb_to_lab(ref[idx]))
    return float(np.mean(err < _INLIER_DE00))


def calibrate(
    rgb: NDArray[np.uint8],
    linear: F32,
    *,
    skin_mask: Bool | None,
    white_region: Bool | None = None,
    patch_pitch_mm: float = DEFAULT_PATCH_PITCH_MM,
    max_residual_de00: float = 3.0,
    white_reference_level: float | None = None,
    skin_patch_weight: float = 1.0,
    chart: ChartFound | Literal["search"] | None = "search",
) -> Calibration:
    """Choose the best available normalisation: chart → white reference → shades of grey → none.

    A chart is accepted only if its leave-one-out mean ΔE00 is at most ``max_residual_de00``
    (a chart in glare or half shadow, a scrambled or false detection fails that). px/mm comes
    from the chart's patch pitch (``patch_pitch_mm``, a clinic setting) whenever the grid was
    refined on the patch squares, even if its colours were rejected (geometry does not depend
    on light). Shades of grey needs a skin mask (without one it would erase redness) and marks
    the photo uncalibrated, as does "none". ``white_reference_level``: the white/grey card's
    linear reflectance, if known, to normalise exposure as well (see
    :func:`white_reference_gains`). ``skin_patch_weight``: see :func:`skin_patch_weights`.
    ``chart``: the result of :func:`find_chart` on the same image when the caller already
    searched (e.g. in parallel with other work), else it is searched here.
    """
    notes: list[str] = []
    px_per_mm: float | None = None
    corners: list[list[float]] | None = None
    if chart == "search":
        chart = find_chart(rgb, linear)
    if chart is not None:
        corners = chart.corners.tolist()
        if chart.geometry_refined:
            px_per_mm = chart.px_per_mm(patch_pitch_mm)
        else:
            notes.append("chart grid not refined on the patch squares: no px/mm")
        try:
            weights = None if skin_patch_weight == 1.0 else skin_patch_weights(skin_patch_weight)
            matrix, loo, fit = fit_colour_correction(
                chart.patch_linear, COLORCHECKER24_LINEAR_SRGB, chart.usable, weights
            )
        except ValueError as exc:
            notes.append(f"chart found but not fitted: {exc}")
        else:
            if loo <= max_residual_de00:
                return Calibration(
                    method="chart",
                    matrix=matrix,
                    residual_de00=loo,
                    px_per_mm=px_per_mm,
                    px_per_mm_source=None if px_per_mm is None else "chart",
                    chart_corners=corners,
                    uncalibrated=False,
                    fit_de00=fit,
                    notes=tuple(notes),
                )
            notes.append(f"chart colours rejected: leave-one-out mean ΔE00 {loo:.2f} > {max_residual_de00:g}")
        inliers = chart_inlier_fraction(chart.patch_linear, chart.usable)
        if chart.n_squares < _GEOMETRY_MIN_SQUARES or inliers < _GEOMETRY_MIN_INLIERS:
            px_per_mm, corners = None, None
            notes.append(f"chart geometry not trusted either ({chart.n_squares} squares, {inliers:.0%} fit)")
        else:
            notes.append(f"chart geometry kept for px/mm ({chart.n_squares} squares, {inliers:.0%} fit)")
    source = None if px_per_mm is None else "chart"

    def fallback(method: str, matrix: F64, uncalibrated: bool) -> Calibration:
        return Calibration(method, matrix, None, px_per_mm, source, corners, uncalibrated, None, tuple(notes))

    if white_region is not None:
        try:
            gains = white_reference_gains(linear, white_region, white_reference_level)
        except ValueError as exc:
            notes.append(f"white reference unusable: {exc}")
        else:
            return fallback("white_reference", np.diag(gains), False)
    if skin_mask is not None:
        try:
            gains = shades_of_grey_gains(linear, skin_mask)
        except ValueError as exc:
            notes.append(f"shades of grey unusable: {exc}")
        else:
            if gains.max() / gains.min() <= _MAX_SOG_GAIN_RATIO:
                return fallback("shades_of_grey", np.diag(gains), True)
            notes.append("shades of grey rejected: implausibly strong cast (coloured background?)")
    else:
        notes.append("no skin mask: shades of grey would remove redness, not applied")
    return fallback("none", np.eye(3), True)


def apply(calibration: Calibration, linear: NDArray[np.floating[Any]]) -> F32:
    """Corrected linear RGB (float32, ≥ 0; not clipped at 1 — a bright patch may exceed white)."""
    lin = np.asarray(linear, dtype=np.float32)
    out = lin @ np.asarray(calibration.matrix, dtype=np.float32).T
    result: F32 = np.maximum(out, 0.0).astype(np.float32)
    return result
