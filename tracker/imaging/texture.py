"""Skin texture metrics at a fixed physical pitch (brief §3.3: scale first).

Why a canonical pitch: a texture statistic is a statement about structures of a given size, and a
pixel is not a size. Per-pixel GLCM contrast of the same skin changes 1.6–1.9× between a 40 and a
20 px/mm photo, so every zone is first resampled with area interpolation (what a coarser sensor
would have integrated) to **10 px/mm** when the source has ≥ 20 px/mm, else to **5 px/mm**, and
every filter size below is given in millimetres. Numbers are comparable only between results
with the same ``pitch_px_per_mm``.

Why ``I = ln(G_lin + 1e-3)``: exposure and a global illuminant gain multiply the green channel,
so they become an additive constant in ``I`` that every band-pass and every detrended image
removes; green carries the most shading contrast and the least noise on skin.

Masks: ``zone_mask`` says what to measure, ``exclude`` which pixels cannot be trusted (glare,
hair, clipped). Both are resampled with the same area interpolation as the image; a canonical
pixel is in the zone when at least half of its footprint is, and excluded when any part of its
footprint is (a glare pixel contaminates the average). All filters are computed on zone pixels
only: Gaussian sums by normalised convolution, GLCM pairs only between two valid pixels, LBP
codes only where all eight neighbours are valid, and the ridge/blob filters on an image whose
invalid pixels are filled with the smooth local mean of valid ones (no artificial edges), with
detections counted only at valid pixels. So the result does not depend on how much margin the
caller's crop has.

Anything the resolution or the zone cannot support is ``None``, never a guess: all metrics
below :data:`MIN_SOURCE_PX_PER_MM` or under :data:`MIN_ZONE_AREA_MM2` of valid zone; GLCM at the
5 px/mm pitch (its 0.1 mm distance is half a pixel there); ``pore_density`` whenever the source
has < 20 px/mm. All thresholds are absolute in ``I`` units (never relative to the image), so a
smoother photo scores lower instead of being re-normalised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from skimage.feature import graycomatrix, local_binary_pattern
from skimage.filters import apply_hysteresis_threshold
from skimage.morphology import skeletonize

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
BoolMask = NDArray[np.bool_]

#: Stored with every result so any number can be re-derived with the same definition.
TEXTURE_VERSION = "texture-1"
METRIC_KEYS = (
    "texture_dog",
    "glcm_contrast",
    "glcm_homogeneity",
    "glcm_entropy",
    "lbp_entropy",
    "line_density",
    "pore_density",
)

FINE_PITCH_PX_PER_MM = 10.0
COARSE_PITCH_PX_PER_MM = 5.0
#: Sources at or above this resolution support fine texture (pores) at the 10 px/mm pitch.
FINE_SOURCE_PX_PER_MM = 20.0
#: Below this even the coarse pitch would need upsampling, which invents no detail: all None.
MIN_SOURCE_PX_PER_MM = COARSE_PITCH_PX_PER_MM
#: Valid (in zone, not excluded) skin needed for any metric: 25 mm² (5 × 5 mm) is 2 500 samples
#: at 10 px/mm, ~15 pores at 60/cm² and room for a 3 mm line; below that the statistics and the
#: counts are dominated by sampling noise and by the zone edge.
MIN_ZONE_AREA_MM2 = 25.0

_EPS = 1e-3
DOG_SIGMAS_MM = (0.1, 0.4)
GLCM_LEVELS = 32
GLCM_DISTANCES_MM = (0.1, 0.2)
GLCM_ANGLES = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)
#: GLCM runs on the band σ 0.1 mm − σ 1 mm of I (normalised Gaussian means): the σ 1 mm mean
#: removes exposure, illumination gradients and tone variation, keeps pores, lines and scar
#: edges; the σ 0.1 mm mean removes pixel noise, whose share differs between a 40 and a 20 px/mm
#: source (GLCM contrast of the raw detrended I differed 3–5 % between them, of this band ~1 %).
GLCM_DETREND_SIGMA_MM = 1.0
#: Percentiles of the band over the baseline zone that become the client's fixed limits.
GLCM_LIMIT_PERCENTILES = (1.0, 99.0)
GLCM_LIMIT_HEADROOM = 0.25
LBP_POINTS, LBP_RADIUS = 8, 1.0
LINE_SIGMAS_MM = (0.15, 0.212, 0.3, 0.424, 0.6)
FRANGI_BETA = 0.5
#: Frangi "structureness" scale, scale-normalised curvature of I (absolute, not per image).
FRANGI_C = 0.02
#: Hysteresis on the vesselness: ridge pixels ≥ 0.2 connected to a core ≥ 0.5. A single level
#: broke real lines into < 3 mm pieces wherever skin micro-relief crossed them, and the count
#: then differed up to 28 % between a 40 and a 20 px/mm source of the same surface (≤ 3 % with
#: these settings). At this sensitivity the micro-relief furrows that join into ≥ 3 mm networks
#: count too: the metric is the visible dark-line network, not a wrinkle count.
LINE_THRESHOLDS = (0.2, 0.5)
LINE_MIN_LENGTH_MM = 3.0
PORE_RADII_MM = (0.1, 0.4)
_PORE_SCALES = 7  # radii geometrically spaced over PORE_RADII_MM, plus one guard scale each side
#: Scale-normalised LoG of I (σ²∇²I) of a dark blob: counted 0 below 0.06, 1 above 0.10 and
#: linearly in between (a soft count, so the number does not jump when one pore's contrast
#: crosses a single value). A Gaussian dark spot of central
#: depth a (ln units) gives a/2 at its own scale, so the mid-point 0.08 is a ~16 % central
#: darkening: on the renderer's skin this separates pores from the micro-relief of roughness.
PORE_STRENGTH_RAMP = (0.06, 0.10)
#: Smaller / larger Hessian eigenvalue at the blob's scale: elongated dark spots are lines.
PORE_MIN_ROUNDNESS = 0.5


@dataclass
class TextureResult:
    """Texture metrics of one zone at one canonical pitch.

    ``metrics`` has exactly the keys of :data:`METRIC_KEYS`; ``None`` means "not measurable here"
    (see ``notes`` for why). Compare numbers only between results with the same
    ``pitch_px_per_mm`` and ``version``.

    ``glcm_limits`` are the quantisation limits used, in units of the GLCM band of ``I``; when the
    caller passed none they were derived from this zone, and the caller should store them with
    the client's baseline and pass them for every later photo, so that GLCM levels mean the same
    thing across weeks. They exist only at the 10 px/mm pitch (where GLCM is measured): a coarse
    or unmeasurable photo returns the limits it was given, possibly ``None``.
    """

    metrics: dict[str, float | None]
    pitch_px_per_mm: float
    fine_measurable: bool
    glcm_limits: tuple[float, float] | None
    valid_area_mm2: float = 0.0
    version: str = TEXTURE_VERSION
    notes: list[str] = field(default_factory=list)


def canonical_pitch(px_per_mm: float) -> tuple[float, bool]:
    """Pitch to measure a source of ``px_per_mm`` at, and whether fine texture is measurable.

    10 px/mm needs ≥ 20 px/mm (two source pixels per canonical pixel, so the area average is a
    real low-pass and pores of 0.1 mm radius are still resolved); otherwise 5 px/mm.
    """
    if px_per_mm >= FINE_SOURCE_PX_PER_MM:
        return FINE_PITCH_PX_PER_MM, True
    return COARSE_PITCH_PX_PER_MM, False


def log_green(linear_rgb: NDArray[np.floating]) -> F32:
    """``I = ln(G_lin + 1e-3)``: exposure becomes an additive constant that band-passes remove."""
    g = np.asarray(linear_rgb[..., 1], dtype=np.float32)
    return np.log(np.maximum(g, 0.0) + np.float32(_EPS)).astype(np.float32)


def _resample(img: F32, scale: float) -> F32:
    """Area resampling by an exact factor (``fx``/``fy``, so the pitch is exact, not rounded)."""
    if abs(scale - 1.0) < 1e-9:
        return img.copy()
    out = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.asarray(out, dtype=np.float32)


def _blur(img: F32, sigma_px: float) -> F32:
    """Gaussian with zero outside the array (correct for normalised convolution)."""
    out = cv2.GaussianBlur(img, (0, 0), sigma_px, borderType=cv2.BORDER_CONSTANT)
    return np.asarray(out, dtype=np.float32)


def _normalised_blur(img: F32, weight: F32, sigma_px: float) -> tuple[F32, F32]:
    """Gaussian mean of ``img`` over the pixels with ``weight`` 1 only; also the weight density.

    Invalid pixels neither contribute nor pull the mean towards zero at the zone edge.
    """
    num = _blur(img * weight, sigma_px)
    den = _blur(weight, sigma_px)
    mean = np.where(den > 1e-4, num / np.maximum(den, 1e-4), 0.0).astype(np.float32)
    return mean, den


@dataclass
class _Canonical:
    """The zone at the canonical pitch: log-green image, valid mask, fill for ridge filters."""

    image: F32
    valid: BoolMask
    filled: F32
    trend: F32  # σ 1 mm normalised Gaussian mean of the valid pixels (defined everywhere)
    pitch: float


def _to_canonical(
    linear_rgb: NDArray[np.floating],
    zone_mask: BoolMask,
    px_per_mm: float,
    exclude: BoolMask | None,
    pitch: float,
) -> _Canonical:
    scale = pitch / px_per_mm
    image = _resample(log_green(linear_rgb), scale)
    zone = _resample(np.asarray(zone_mask, dtype=np.float32), scale) >= 0.5
    valid = zone
    if exclude is not None:
        bad = _resample(np.asarray(exclude, dtype=np.float32), scale) > 1e-3
        valid = zone & ~bad
    trend, den = _normalised_blur(image, valid.astype(np.float32), GLCM_DETREND_SIGMA_MM * pitch)
    fallback = float(np.median(image[valid])) if valid.any() else 0.0
    trend = np.where(den > 1e-3, trend, np.float32(fallback)).astype(np.float32)
    filled = np.where(valid, image, trend).astype(np.float32)
    return _Canonical(image=image, valid=valid, filled=filled, trend=trend, pitch=pitch)


def _fine_mean(c: _Canonical) -> F32:
    """Gaussian σ 0.1 mm mean of I over valid pixels (normalised convolution)."""
    fine, _ = _normalised_blur(c.image, c.valid.astype(np.float32), DOG_SIGMAS_MM[0] * c.pitch)
    return fine


def _dog(c: _Canonical, fine: F32) -> F32:
    """(Gaussian σ 0.1 mm − Gaussian σ 0.4 mm) of I by normalised convolution over valid pixels."""
    coarse, _ = _normalised_blur(c.image, c.valid.astype(np.float32), DOG_SIGMAS_MM[1] * c.pitch)
    return (fine - coarse).astype(np.float32)


def _glcm_band(c: _Canonical, fine: F32) -> F32:
    """σ 0.1 mm mean minus σ 1 mm mean of I: what the GLCM quantises (see GLCM_DETREND_SIGMA_MM)."""
    return (fine - c.trend).astype(np.float32)


def glcm_limits_from(band_values: NDArray[np.floating]) -> tuple[float, float]:
    """Quantisation limits from a baseline zone's GLCM band: 1st–99th percentile, widened.

    Widened by :data:`GLCM_LIMIT_HEADROOM` on each side, so a later, rougher photo (a flare-up,
    harsher light) still spreads over levels instead of piling up in the end levels — clipping
    would raise homogeneity and hide the change.
    """
    lo, hi = np.percentile(np.asarray(band_values, dtype=np.float64), GLCM_LIMIT_PERCENTILES)
    half = max(float(hi - lo), 1e-6) / 2 * (1.0 + 2 * GLCM_LIMIT_HEADROOM)
    centre = float(lo + hi) / 2
    return centre - half, centre + half


def _glcm(
    band: F32, valid: BoolMask, limits: tuple[float, float], pitch: float
) -> tuple[float, float, float]:
    """Contrast, homogeneity and entropy (bits) averaged over 2 distances × 4 angles.

    Invalid pixels get an extra grey level; pairs touching it land in the extra row/column, which
    is dropped, so only pairs with both pixels valid are counted — exact, no approximation.
    Values outside the limits are clipped to the end levels (a rougher later photo saturates
    rather than re-scaling).
    """
    lo, hi = limits
    q = np.floor((band - lo) / (hi - lo) * GLCM_LEVELS)
    q = np.clip(q, 0, GLCM_LEVELS - 1).astype(np.uint8)
    q[~valid] = GLCM_LEVELS
    distances = [round(d * pitch) for d in GLCM_DISTANCES_MM]
    counts = graycomatrix(
        q, distances=distances, angles=list(GLCM_ANGLES), levels=GLCM_LEVELS + 1, symmetric=True
    )
    p = counts[:GLCM_LEVELS, :GLCM_LEVELS].astype(np.float64)
    totals = p.sum(axis=(0, 1), keepdims=True)
    p = p / np.maximum(totals, 1.0)
    i, j = np.ogrid[:GLCM_LEVELS, :GLCM_LEVELS]
    diff2 = ((i - j) ** 2).astype(np.float64)[:, :, None, None]
    contrast = (p * diff2).sum(axis=(0, 1))
    homogeneity = (p / (1.0 + diff2)).sum(axis=(0, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(p), 0.0)
    entropy = -plogp.sum(axis=(0, 1))
    return float(contrast.mean()), float(homogeneity.mean()), float(entropy.mean())


def _lbp_entropy(c: _Canonical) -> float | None:
    """Entropy (bits) of the uniform LBP P8R1 histogram over pixels whose whole 3×3 is valid.

    I is quantised to integer steps of 0.001 (0.1 % of brightness, below the sensor noise) from
    the zone's minimum first: LBP only compares neighbours with the centre, so the codes are
    unchanged by an exposure offset, and ties are decided identically on every platform
    (skimage warns that float input makes them fragile).
    """
    core = cv2.erode(c.valid.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT)
    inner = core.astype(bool)
    if inner.sum() < 100:
        return None
    base = float(c.filled[c.valid].min())
    steps = np.round((c.filled - base) / 1e-3).astype(np.int32)
    codes = local_binary_pattern(steps, LBP_POINTS, LBP_RADIUS, method="uniform")
    hist = np.bincount(codes[inner].astype(np.int64), minlength=LBP_POINTS + 2).astype(np.float64)
    p = hist / hist.sum()
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _hessian(img: F32, sigma_px: float) -> tuple[F32, F32, F32]:
    """Scale-normalised (σ²·) Hessian of the Gaussian-smoothed image, central differences."""
    smooth = cv2.GaussianBlur(img, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
    lxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=1, borderType=cv2.BORDER_REFLECT)
    lyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=1, borderType=cv2.BORDER_REFLECT)
    lx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=1, borderType=cv2.BORDER_REFLECT)
    lxy = cv2.Sobel(lx, cv2.CV_32F, 0, 1, ksize=1, borderType=cv2.BORDER_REFLECT) * 0.25
    s2 = np.float32(sigma_px * sigma_px)
    return lxx * s2, lyy * s2, lxy * s2


def _eigen(lxx: F32, lyy: F32, lxy: F32) -> tuple[F32, F32]:
    """Eigenvalues of the 2×2 Hessian ordered by magnitude: (|small|, |big|) with signs kept."""
    half_trace = (lxx + lyy) * 0.5
    root = np.sqrt(((lxx - lyy) * 0.5) ** 2 + lxy * lxy)
    e1, e2 = half_trace + root, half_trace - root
    swap = np.abs(e1) < np.abs(e2)
    big = np.where(swap, e2, e1).astype(np.float32)
    small = np.where(swap, e1, e2).astype(np.float32)
    return small, big


def _dark_ridges(c: _Canonical) -> F32:
    """Frangi vesselness for dark ridges, max over σ 0.15–0.6 mm, with a fixed (absolute) c.

    skimage's ``frangi`` sets c from the image's own Hessian maximum, which would re-normalise
    every photo; here c is a constant in I units so smoother skin gives fewer ridges.
    """
    best = np.zeros(c.filled.shape, np.float32)
    for sigma_mm in LINE_SIGMAS_MM:
        lxx, lyy, lxy = _hessian(c.filled, sigma_mm * c.pitch)
        small, big = _eigen(lxx, lyy, lxy)
        rb2 = (small / np.where(big == 0, np.float32(1e-12), big)) ** 2
        s2 = small * small + big * big
        v = np.exp(-rb2 / (2 * FRANGI_BETA**2)) * (1.0 - np.exp(-s2 / (2 * FRANGI_C**2)))
        v = np.where(big > 0, v, 0.0).astype(np.float32)  # dark ridge: curving up across it
        np.maximum(best, v, out=best)
    return best


def _skeleton_length_px(skeleton: BoolMask) -> tuple[NDArray[np.int32], F64]:
    """8-connected components of a skeleton and each one's length in pixels.

    Length sums the links between neighbouring skeleton pixels (1 orthogonal, √2 diagonal); a
    diagonal link is skipped where an orthogonal corner pixel already joins the two, so staircase
    corners are not counted twice.
    """
    n, labels = cv2.connectedComponents(skeleton.astype(np.uint8), connectivity=8)
    lengths = np.zeros(n, np.float64)
    s = skeleton
    right = s[:, :-1] & s[:, 1:]
    down = s[:-1, :] & s[1:, :]
    lengths += np.bincount(labels[:, :-1][right], minlength=n)
    lengths += np.bincount(labels[:-1, :][down], minlength=n)
    # down-right: (i, j)-(i+1, j+1); corners (i, j+1) and (i+1, j)
    dr = s[:-1, :-1] & s[1:, 1:] & ~s[:-1, 1:] & ~s[1:, :-1]
    dl = s[:-1, 1:] & s[1:, :-1] & ~s[:-1, :-1] & ~s[1:, 1:]
    lengths += math.sqrt(2.0) * np.bincount(labels[:-1, :-1][dr], minlength=n)
    lengths += math.sqrt(2.0) * np.bincount(labels[:-1, 1:][dl], minlength=n)
    lengths[0] = 0.0
    return labels.astype(np.int32), lengths


def _line_density(c: _Canonical, area_cm2: float) -> float:
    """mm of dark line per cm² of zone: ridge hysteresis threshold → skeleton → drop < 3 mm.

    The threshold mask is restricted to valid zone pixels before skeletonising, so a line is
    measured only inside the zone (a piece cut short by the zone edge or a glare hole counts
    only if ≥ 3 mm remain).
    """
    vesselness = np.where(c.valid, _dark_ridges(c), 0.0)
    ridges = np.asarray(apply_hysteresis_threshold(vesselness, *LINE_THRESHOLDS), dtype=bool)
    if not ridges.any():
        return 0.0
    skeleton = np.asarray(skeletonize(ridges), dtype=bool)
    _labels, lengths_px = _skeleton_length_px(skeleton)
    lengths_mm = lengths_px / c.pitch
    total_mm = float(lengths_mm[lengths_mm >= LINE_MIN_LENGTH_MM].sum())
    return total_mm / area_cm2


def _pores(c: _Canonical) -> NDArray[np.float64]:
    """Dark round blobs (x, y, radius px, strength) by scale-normalised LoG, absolute thresholds.

    Radii 0.1–0.4 mm (σ = r/√2); one guard scale on each side, and only maxima at inner scales
    are kept, so a feature whose response still grows beyond 0.4 mm (a scar) is not a pore.
    Roundness: the Hessian at the blob's scale must curve up in both directions with the smaller
    eigenvalue ≥ half the larger (an elongated dark spot is a line). Overlapping detections keep
    the stronger one, as in skimage's ``blob_log``.
    """
    r_lo, r_hi = PORE_RADII_MM
    ratio = (r_hi / r_lo) ** (1.0 / (_PORE_SCALES - 1))
    radii_mm = r_lo * ratio ** np.arange(-1, _PORE_SCALES + 1)
    sigmas = radii_mm / math.sqrt(2.0) * c.pitch
    smooth = np.empty((len(sigmas), *c.filled.shape), np.float32)
    stack = np.empty_like(smooth)
    for k, sigma in enumerate(sigmas):
        smooth[k] = cv2.GaussianBlur(c.filled, (0, 0), float(sigma), borderType=cv2.BORDER_REFLECT)
        lap = cv2.Laplacian(smooth[k], cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
        stack[k] = lap * np.float32(sigma * sigma)
    # 3×3×3 local maxima: a 3×3 dilation per scale, then the max over neighbouring scales.
    kernel = np.ones((3, 3), np.uint8)
    spatial = np.stack([cv2.dilate(layer, kernel, borderType=cv2.BORDER_REPLICATE) for layer in stack])
    neighbourhood = spatial.copy()
    np.maximum(neighbourhood[1:], spatial[:-1], out=neighbourhood[1:])
    np.maximum(neighbourhood[:-1], spatial[1:], out=neighbourhood[:-1])
    peaks = (stack >= neighbourhood) & (stack > PORE_STRENGTH_RAMP[0]) & c.valid[None, :, :]
    peaks[0] = False
    peaks[-1] = False
    ks, ys, xs = np.nonzero(peaks)
    if ks.size == 0:
        return np.zeros((0, 4), np.float64)
    # Hessian at the peaks only, by central differences on the smoothed layer of each peak.
    h, w = c.filled.shape
    xm, xp = np.maximum(xs - 1, 0), np.minimum(xs + 1, w - 1)
    ym, yp = np.maximum(ys - 1, 0), np.minimum(ys + 1, h - 1)
    centre = smooth[ks, ys, xs]
    lxx = smooth[ks, ys, xp] - 2 * centre + smooth[ks, ys, xm]
    lyy = smooth[ks, yp, xs] - 2 * centre + smooth[ks, ym, xs]
    lxy = (smooth[ks, yp, xp] - smooth[ks, yp, xm] - smooth[ks, ym, xp] + smooth[ks, ym, xm]) * 0.25
    small, big = _eigen(lxx, lyy, lxy)
    keep = (small > 0) & (big > 0) & (small >= PORE_MIN_ROUNDNESS * big)
    strength = stack[ks, ys, xs]
    blobs = np.stack([xs, ys, radii_mm[ks] * c.pitch, strength], axis=1)[keep].astype(np.float64)
    blobs = blobs[np.argsort(-blobs[:, 3], kind="stable")]
    return blobs[_survivors(blobs)]


def _survivors(blobs: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Greedy suppression, strongest first: each survivor removes the weaker blobs that
    overlap it (centres closer than the larger radius). Candidate pairs come from a k-d
    tree, so a zone covering all the skin of a 12 MP photo (thousands of candidates) does
    not build an n × n distance matrix."""
    n = len(blobs)
    alive = np.ones(n, bool)
    if n < 2:
        return alive
    pairs = cKDTree(blobs[:, :2]).query_pairs(r=float(blobs[:, 2].max()), output_type="ndarray")
    if pairs.size == 0:
        return alive
    first, second = pairs.min(axis=1), pairs.max(axis=1)  # first is the stronger (sorted)
    gap = np.hypot(blobs[first, 0] - blobs[second, 0], blobs[first, 1] - blobs[second, 1])
    close = gap < np.maximum(blobs[first, 2], blobs[second, 2])
    first, second = first[close], second[close]
    order = np.argsort(first, kind="stable")
    first, second = first[order], second[order]
    starts = np.searchsorted(first, np.arange(n + 1))
    for i in range(n):
        if alive[i] and starts[i] < starts[i + 1]:
            alive[second[starts[i] : starts[i + 1]]] = False
    return alive


def _none_metrics() -> dict[str, float | None]:
    return dict.fromkeys(METRIC_KEYS)


def measure_texture(
    linear_rgb: NDArray[np.float32],
    zone_mask: BoolMask,
    px_per_mm: float,
    *,
    exclude: BoolMask | None = None,
    glcm_limits: tuple[float, float] | None = None,
) -> TextureResult:
    """Texture metrics of one zone (brief §3.3 table), at the canonical pitch.

    ``linear_rgb`` is an H×W×3 linear-light crop around the zone (not the full frame: the filters
    cost ~1 s on a full frame), ``zone_mask`` and ``exclude`` are H×W booleans on that crop,
    ``px_per_mm`` its scale. Pass the client's baseline ``glcm_limits`` for every later photo.
    """
    pitch, fine = canonical_pitch(px_per_mm)
    metrics = _none_metrics()
    result = TextureResult(metrics, pitch, fine, glcm_limits)
    if linear_rgb.ndim != 3 or zone_mask.shape != linear_rgb.shape[:2]:
        raise ValueError("linear_rgb must be H×W×3 and zone_mask H×W on the same crop")
    if exclude is not None and exclude.shape != zone_mask.shape:
        raise ValueError("exclude must have the zone mask's shape")
    if px_per_mm < MIN_SOURCE_PX_PER_MM:
        result.notes.append(f"source {px_per_mm:.2f} px/mm < {MIN_SOURCE_PX_PER_MM} px/mm: not measurable")
        return result

    c = _to_canonical(linear_rgb, zone_mask, px_per_mm, exclude, pitch)
    area_mm2 = float(c.valid.sum()) / (pitch * pitch)
    result.valid_area_mm2 = area_mm2
    if area_mm2 < MIN_ZONE_AREA_MM2:
        result.notes.append(f"valid zone {area_mm2:.1f} mm² < {MIN_ZONE_AREA_MM2} mm²: not measurable")
        return result
    area_cm2 = area_mm2 / 100.0

    fine_mean = _fine_mean(c)
    dog = _dog(c, fine_mean)
    metrics["texture_dog"] = float(np.std(dog[c.valid], dtype=np.float64))

    if fine:
        band = _glcm_band(c, fine_mean)
        limits = glcm_limits if glcm_limits is not None else glcm_limits_from(band[c.valid])
        result.glcm_limits = limits
        contrast, homogeneity, entropy = _glcm(band, c.valid, limits, pitch)
        metrics["glcm_contrast"] = contrast
        metrics["glcm_homogeneity"] = homogeneity
        metrics["glcm_entropy"] = entropy
    else:
        result.notes.append("GLCM needs the 0.1 mm distance: not measurable at 5 px/mm")

    metrics["lbp_entropy"] = _lbp_entropy(c)
    metrics["line_density"] = _line_density(c, area_cm2)
    if fine:
        lo, hi = PORE_STRENGTH_RAMP
        weights = np.clip((_pores(c)[:, 3] - lo) / (hi - lo), 0.0, 1.0)
        metrics["pore_density"] = float(weights.sum()) / area_cm2
    else:
        result.notes.append("pore_density needs a source of ≥ 20 px/mm")
    return result


def texture_map(linear_rgb: NDArray[np.float32], px_per_mm: float) -> F32:
    """|DoG| band-pass of I (σ 0.1 − 0.4 mm) at the source resolution, for a heat-map overlay.

    Computed at the canonical pitch (the band has nothing finer than 0.1 mm, so this loses
    nothing visible) and upsampled bilinearly: a full frame costs an area resize and two small
    blurs instead of σ-16-px blurs at 40 px/mm. Not masked: for display only.
    """
    h, w = linear_rgb.shape[:2]
    pitch, _fine = canonical_pitch(px_per_mm)
    scale = min(pitch / px_per_mm, 1.0)
    image = _resample(log_green(linear_rgb), scale)
    eff = px_per_mm * scale
    fine = cv2.GaussianBlur(image, (0, 0), DOG_SIGMAS_MM[0] * eff, borderType=cv2.BORDER_REFLECT)
    coarse = cv2.GaussianBlur(image, (0, 0), DOG_SIGMAS_MM[1] * eff, borderType=cv2.BORDER_REFLECT)
    band: F32 = np.abs(np.asarray(fine, dtype=np.float32) - np.asarray(coarse, dtype=np.float32))
    if band.shape != (h, w):
        band = np.asarray(cv2.resize(band, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    return band
