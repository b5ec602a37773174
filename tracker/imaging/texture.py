"""Skin texture metrics at a fixed physical pitch (design §3.3: scale first).

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

Noise floor: a canonical pixel averages (source px/mm ÷ pitch)² source pixels, so the same
per-pixel sensor noise leaves 4× less variance at 10 px/mm when it comes from a 40 px/mm source
than from a 20 px/mm one, and every metric read that residual noise as texture (texture_dog of
one surface differed 4–5 % between the two at 4.6 DN of noise, GLCM contrast 12 %, line density
30–40 %). So the per-pixel noise of ``I`` is estimated where skin has the least signal — the
finest scale of the source, inside the zone (:func:`estimate_noise_sigma`; below 20 px/mm,
where the pixel no longer resolves the relief, bounded by a second scale:
:func:`_noise_below_relief`) — carried exactly through the area reduction (:class:`NoiseFloor`)
and removed: from the variance behind texture_dog (exact), from the power spectrum of the
canonical image that LBP and the GLCM limits are read from (:func:`_remove_noise_floor`), and
from the GLCM by subtracting what a simulated draw of the same noise does to that noise-free
estimate (:func:`_glcm_net_of_noise`). Line and
pore counts have no correction that does not scatter more than it removes (see
:data:`LINE_MAX_NOISE`): they are ``None`` when the noise at their finest detector is high
enough to lift faint relief over their thresholds.

Anything the resolution or the zone cannot support is ``None``, never a guess: all metrics
below :data:`MIN_SOURCE_PX_PER_MM` or under :data:`MIN_ZONE_AREA_MM2` of valid zone; GLCM at the
5 px/mm pitch (its 0.1 mm distance is half a pixel there); ``pore_density`` whenever the source
has < 20 px/mm. All thresholds are absolute in ``I`` units (never relative to the image), so a
smoother photo scores lower instead of being re-normalised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree
from skimage.feature import graycomatrix, local_binary_pattern
from skimage.filters import apply_hysteresis_threshold
from skimage.morphology import skeletonize

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
BoolMask = NDArray[np.bool_]

#: Stored with every result so any number can be re-derived with the same definition.
TEXTURE_VERSION = "texture-2"  # 2: net of the sensor noise floor
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

#: Immerkær's noise kernel (the product of two second differences): zero on anything that is
#: linear along x or along y, e.g. shading, edges and lines along an axis, and 36× the variance of
#: white noise. Its response on skin is mostly noise at the source's finest scale, where the
#: skin's own relief (already averaged by the pixel) is weakest.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
#: MAD → σ of a Gaussian; the median ignores the minority of pixels where a pore or a line edge
#: gives a large response, which the mean of Immerkær's original estimate would count as noise.
_MAD_TO_SIGMA = 1.4826
_NOISE_MAX_SAMPLES = 100_000  # a regular subsample above this (the MAD's error is then ~0.4 %)
#: σ, in frequency bins, of the Gaussian that smooths the zone's periodogram before the noise
#: power is subtracted (an average over ~100 bins: ±10 % estimates, still following the
#: spectrum's shape, e.g. the orientation of lines).
PERIODOGRAM_SMOOTHING_BINS = 3.0
#: Counts are only measured while the noise at their finest detector stays small: the std of the
#: noise in the scale-normalised Hessian norm at σ 0.15 mm at most this fraction of FRANGI_C,
#: and in the scale-normalised LoG at the 0.1 mm pore radius at most :data:`PORE_MAX_NOISE` of
#: the ramp's start; both limits are a canonical noise σ of ≈ 0.021 in I. Why no correction: a
#: threshold on a noisy response counts relief the noise lifted over it. Tried and left out:
#: subtracting the noise's expected Hessian norm from the Frangi structureness (lines −13 % at
#: low noise) and simulating the noise as for the GLCM (lines scattered ±10–28 %, pores up to
#: 15 %, one draw to the next). Measured on the renderer (4 surfaces, 40 and 20 px/mm,
#: against the noise-free render): up to σ 0.019 lines moved −8…+14 % and pores −3…+6 % (the
#: scatter two noise-free renders already show: 40 vs 20 px/mm differ by up to 9 and 11 %); at
#: 0.024 lines +7…+22 %, at 0.037 lines +33…+66 % and pores +7…+21 %.
LINE_MAX_NOISE = 0.25
PORE_MAX_NOISE = 0.15


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

    Every metric is net of the estimated sensor noise (``noise_sigma``), see the module docstring.
    """

    metrics: dict[str, float | None]
    pitch_px_per_mm: float
    fine_measurable: bool
    glcm_limits: tuple[float, float] | None
    valid_area_mm2: float = 0.0
    version: str = TEXTURE_VERSION
    notes: list[str] = field(default_factory=list)
    #: Estimated per-pixel σ of the sensor noise in ``I`` at the source resolution, and what is
    #: left of it per canonical pixel (None when no metric was measured).
    noise_sigma: float | None = None
    noise_sigma_canonical: float | None = None


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


def estimate_noise_sigma(image: F32, valid: BoolMask) -> float | None:
    """Per-pixel σ of the white noise in ``image`` over ``valid`` (Immerkær's kernel, MAD scale).

    Why here and this way: sensor noise is the one thing in a photo that is independent from one
    pixel to the next, and the skin's own relief is weakest at the source's finest scale (each
    pixel already averages it). The kernel — a second difference along x times one along y — is
    blind to anything linear along either axis and nearly blind to structure broader than a
    pixel, so its response is mostly noise; the median of its magnitude, not the mean of
    Immerkær's paper, ignores the minority of pixels on a pore's or a line's edge. Only pixels
    whose 3×3 neighbourhood is valid count (a zone edge or an excluded hole is a step, not
    noise). Measured on the renderer: within 2 % of the injected σ at 40 px/mm and within +15 %
    at 20 px/mm down to 1.4 DN, where the skin's finest relief starts to count (coarser sources:
    :func:`_noise_below_relief`). JPEG smooths the finest scale, so on real uploads this reads
    the noise the JPEG kept, not the sensor's. ``None`` below 100 usable pixels.
    """
    h, w = image.shape
    if h < 3 or w < 3:
        return None
    step = max(1, math.ceil(math.sqrt(int(valid.sum()) / _NOISE_MAX_SAMPLES)))
    response = np.zeros(((h - 3) // step + 1, (w - 3) // step + 1), np.float32)
    inner = np.ones(response.shape, bool)
    for dy in range(3):  # the kernel at every step-th interior pixel, from strided views
        for dx in range(3):
            view = (slice(dy, dy + h - 2, step), slice(dx, dx + w - 2, step))
            response += _NOISE_KERNEL[dy, dx] * image[view]
            inner &= valid[view]
    values = np.abs(response[inner])
    if values.size < 100:
        return None
    kernel_norm = math.sqrt(float((_NOISE_KERNEL.astype(np.float64) ** 2).sum()))
    return _MAD_TO_SIGMA * float(np.median(values)) / kernel_norm


def _noise_below_relief(image: F32, valid: BoolMask) -> float:
    """Noise σ of a coarse source, separated from skin relief that reaches the pixel scale.

    Why: below 20 px/mm a pixel (> 50 µm) is no longer finer than the skin's micro-relief, and
    Immerkær's kernel reads the relief's pixel-scale contrast as noise (noise-free renders at
    15, 11 and 8 px/mm: σ 0.016, 0.024, 0.029 against 0.005 of 8-bit rounding). The two differ
    in how they scale: a 2×2 average quarters white noise's variance, while relief, already
    averaged by each pixel, keeps or gains contrast at the coarser scale. With σ₁² = σ² + r₁
    and σ₂² = σ²/4 + r₂ (r the relief's part, r₂ ≥ r₁), (4/3)(σ₁² − σ₂²) = σ² − (4/3)(r₂ − r₁)
    never exceeds the noise's variance. On the renderer at 11–19 px/mm: 0 without noise, 0.8–1.0
    of the injected σ at 4.6 DN and at 11 px/mm also at 1.4 DN (0 at 15–19 px/mm: an
    under-correction, the safe side). Near 8 px/mm the relief is averaged away at 2× the pixel
    and the bound leaks (a noise-free render reads σ 0.018, texture_dog 2.4 % low).
    """
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    blocks = image[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).astype(np.float32)
    block_valid = np.asarray(valid[:h, :w].reshape(h // 2, 2, w // 2, 2).all(axis=(1, 3)), dtype=bool)
    fine, coarse = estimate_noise_sigma(image, valid), estimate_noise_sigma(blocks, block_valid)
    if fine is None or coarse is None:
        return 0.0
    return math.sqrt(max(4.0 / 3.0 * (fine * fine - coarse * coarse), 0.0))


def _area_axis_covariance(length: int, scale: float) -> tuple[float, float]:
    """Lag-0 and lag-1 autocovariance, per unit variance, of white noise after 1-D area resampling.

    Taken from ``cv2.resize`` itself (rows of the resampling matrix R: the image of an identity
    matrix), so it is exactly the operator :func:`_resample` applies: the mean over output pixels
    of Σ_k R[j,k]² and Σ_k R[j,k]·R[j+1,k]. Two canonical pixels further apart share no source
    pixel when the scale is ≤ 1, so longer lags are zero.
    """
    if abs(scale - 1.0) < 1e-9:
        return 1.0, 0.0
    n = int(min(max(length, 16), 256))
    rows = cv2.resize(np.eye(n, dtype=np.float32), None, fx=scale, fy=1.0, interpolation=cv2.INTER_AREA)
    r = np.asarray(rows, dtype=np.float64).T  # R: output × input
    if r.shape[0] > 4:
        r = r[1:-1]  # drop the edge outputs, which the border shortens
    lag0 = float((r * r).sum(axis=1).mean())
    lag1 = float((r[:-1] * r[1:]).sum(axis=1).mean()) if r.shape[0] > 1 else 0.0
    return lag0, lag1


@dataclass(frozen=True, eq=False)
class NoiseFloor:
    """Sensor noise of ``I``: per-pixel σ at the source, autocovariance at the canonical pitch.

    Why the autocovariance and not one number: area reduction by a non-integer factor (22 → 10
    px/mm) lets neighbouring canonical pixels share a source pixel, so the noise left at the
    pitch is slightly correlated, and how much of it passes a filter depends on that. The
    reduction is linear and separable, so white source noise of variance σ² becomes, at lag
    (dy, dx), σ²·a_y(dy)·a_x(dx) (:func:`_area_axis_covariance`; ``axis_y``/``axis_x`` hold
    a(0), a(1)). A 40 px/mm source leaves σ²/16 per canonical pixel, a 20 px/mm one σ²/4.
    """

    sigma: float
    axis_y: tuple[float, float] = (1.0, 0.0)
    axis_x: tuple[float, float] = (1.0, 0.0)

    @classmethod
    def after_area_reduction(cls, sigma: float, shape: tuple[int, ...], scale: float) -> NoiseFloor:
        return cls(sigma, _area_axis_covariance(shape[0], scale), _area_axis_covariance(shape[1], scale))

    @property
    def covariance(self) -> NDArray[np.float64]:
        """Autocovariance at the canonical pitch, lags −1…1 (rows y, columns x)."""
        (y0, y1), (x0, x1) = self.axis_y, self.axis_x
        return np.outer([y1, y0, y1], [x1, x0, x1]) * self.sigma**2

    @property
    def canonical_sigma(self) -> float:
        return self.sigma * math.sqrt(self.axis_y[0] * self.axis_x[0])

    def sample(self, shape: tuple[int, int], seed: int = 0) -> F32:
        """A draw of this noise at the canonical pitch (fixed seed: the same photo, the same result).

        White noise through a 2-tap filter per axis, [p, q] with p² + q² = a(0) and p·q = a(1),
        has exactly the autocovariance of the area reduction.
        """

        def taps(lags: tuple[float, float]) -> F32:
            wide, narrow = math.sqrt(lags[0] + 2 * lags[1]), math.sqrt(max(lags[0] - 2 * lags[1], 0.0))
            return np.array([(wide - narrow) / 2, (wide + narrow) / 2], np.float32)

        white = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
        white *= np.float32(self.sigma)
        out = cv2.sepFilter2D(white, cv2.CV_32F, taps(self.axis_x), taps(self.axis_y))
        return np.asarray(out, dtype=np.float32)

    def variance_through(self, linear: Callable[[F32], F32], size: int) -> float:
        """Variance this noise keeps after a linear, shift-invariant filter (away from borders).

        ⟨h, C ∗ h⟩ for the filter's impulse response h (the filter applied to a unit impulse in
        a ``size``² image, which must hold its support) and the autocovariance C: exact for any
        filter built from the same OpenCV calls as the metric.
        """
        size += 1 - size % 2
        impulse = np.zeros((size, size), np.float32)
        impulse[size // 2, size // 2] = 1.0
        h = np.asarray(linear(impulse), dtype=np.float64)
        spread = cv2.filter2D(h, cv2.CV_64F, self.covariance, borderType=cv2.BORDER_CONSTANT)
        return float((h * spread).sum())


def _support(sigma_px: float) -> int:
    """Impulse image size that holds a Gaussian of ``sigma_px`` and a few pixels of derivatives."""
    return 2 * math.ceil(4.0 * sigma_px) + 9


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
) -> tuple[_Canonical, NoiseFloor]:
    """The zone at the canonical pitch, and the source's noise carried to that pitch."""
    scale = pitch / px_per_mm
    source = log_green(linear_rgb)
    source_valid = np.asarray(zone_mask, dtype=bool)
    if exclude is not None:
        source_valid = source_valid & ~np.asarray(exclude, dtype=bool)
    sigma = estimate_noise_sigma(source, source_valid) or 0.0
    if px_per_mm < FINE_SOURCE_PX_PER_MM:
        sigma = min(sigma, _noise_below_relief(source, source_valid))
    noise = NoiseFloor.after_area_reduction(sigma, source.shape, scale)
    image = _resample(source, scale)
    zone = _resample(np.asarray(zone_mask, dtype=np.float32), scale) >= 0.5
    valid = zone
    if exclude is not None:
        bad = _resample(np.asarray(exclude, dtype=np.float32), scale) > 1e-3
        valid = zone & ~bad
    trend, den = _normalised_blur(image, valid.astype(np.float32), GLCM_DETREND_SIGMA_MM * pitch)
    fallback = float(np.median(image[valid])) if valid.any() else 0.0
    trend = np.where(den > 1e-3, trend, np.float32(fallback)).astype(np.float32)
    filled = np.where(valid, image, trend).astype(np.float32)
    return _Canonical(image=image, valid=valid, filled=filled, trend=trend, pitch=pitch), noise


def _noise_power(noise: NoiseFloor, shape: tuple[int, int], trend_sigma_px: float) -> F64:
    """Power spectrum (per pixel) of the noise in the detail I − trend, on an FFT grid of ``shape``.

    The transform of the 3×3 autocovariance, times |1 − T|² for the σ 1 mm trend T that the
    detail has removed (noise slower than the trend is not in the detail).
    """
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    c = noise.covariance
    cx, cy = np.cos(2 * np.pi * fx), np.cos(2 * np.pi * fy)
    power = c[1, 1] + 2 * c[1, 2] * cx + 2 * c[2, 1] * cy + 4 * c[2, 2] * cx * cy
    trend = np.exp(-2 * np.pi**2 * trend_sigma_px**2 * (fx * fx + fy * fy))
    result: F64 = power * (1.0 - trend) ** 2
    return result


def _full_plane(half: NDArray[np.floating], width: int) -> NDArray[np.floating]:
    """The whole periodogram from the half an ``rfft2`` returns (P(−k) = P(k) for a real image)."""
    rows = (-np.arange(half.shape[0])) % half.shape[0]
    full = np.empty((half.shape[0], width), half.dtype)
    full[:, : half.shape[1]] = half
    mirrored = width - np.arange(half.shape[1], width)
    full[:, half.shape[1] :] = half[rows][:, mirrored]
    return full


def _remove_noise_floor(c: _Canonical, noise: NoiseFloor) -> _Canonical:
    """The canonical image with the noise's power taken out of its spectrum (spectral subtraction).

    Why: LBP entropy is not a variance, so there is no number to subtract from it; it is measured
    instead on an image whose power spectrum is, in expectation, that of the noise-free skin.
    Each frequency of the zone's detail (I minus its σ 1 mm trend) is scaled by √(1 − N/P): P
    the zone's periodogram smoothed over :data:`PERIODOGRAM_SMOOTHING_BINS`, N the noise's power
    there (:func:`_noise_power`), so P·(1 − N/P) = P − N is left. Frequencies where the skin's
    texture dominates pass almost untouched, those where only noise is are removed, and a photo
    without noise (N = 0) is returned as it is. Second-order statistics of the result — the
    band's spread that sets the GLCM limits — are noise-free in expectation; LBP codes (signs of
    neighbour differences) come out within 0.5 % on the renderer. Distribution shapes are not
    restored (what is kept of the noise is Gaussian where skin is not), which is why the GLCM
    uses this image only as its noise-free reference (:func:`_glcm_net_of_noise`).

    Only valid pixels carry detail (the rest is 0 after the trend fill) and P is divided by their
    number, so N, a per-pixel power, needs no correction for the zone's shape or holes. The
    detail is zero-padded before the FFT so the filter does not wrap one edge onto the other.
    """
    if noise.sigma <= 0.0:
        return c
    detail = np.where(c.valid, c.image - c.trend, 0.0).astype(np.float32)
    h, w = detail.shape
    margin = 16
    shape = (cv2.getOptimalDFTSize(h + margin), cv2.getOptimalDFTSize(w + margin))
    padded = np.zeros(shape, np.float32)
    padded[:h, :w] = detail
    spectrum = np.fft.rfft2(padded)
    half = spectrum.shape[1]
    power = _full_plane(np.abs(spectrum) ** 2 / max(int(c.valid.sum()), 1), shape[1])
    power = gaussian_filter(power, PERIODOGRAM_SMOOTHING_BINS, mode="wrap")[:, :half]
    floor = _noise_power(noise, shape, GLCM_DETREND_SIGMA_MM * c.pitch)[:, :half]
    gain = np.sqrt(np.clip(1.0 - floor / np.maximum(power, 1e-30), 0.0, 1.0))
    clean = np.fft.irfft2(spectrum * gain, s=shape)[:h, :w]
    image = np.where(c.valid, c.trend + clean, c.image).astype(np.float32)
    filled = np.where(c.valid, image, c.trend).astype(np.float32)
    return _Canonical(image=image, valid=c.valid, filled=filled, trend=c.trend, pitch=c.pitch)


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


def _with_noise(c: _Canonical, noise: F32) -> _Canonical:
    image = (c.image + noise).astype(np.float32)
    filled = np.where(c.valid, image, c.trend).astype(np.float32)
    return _Canonical(image=image, valid=c.valid, filled=filled, trend=c.trend, pitch=c.pitch)


def _glcm_of(c: _Canonical, limits: tuple[float, float]) -> NDArray[np.float64]:
    return np.array(_glcm(_glcm_band(c, _fine_mean(c)), c.valid, limits, c.pitch))


def _glcm_net_of_noise(
    c: _Canonical, clean: _Canonical, noise: NoiseFloor, limits: tuple[float, float]
) -> tuple[float, float, float]:
    """GLCM contrast, homogeneity and entropy of the photo, minus what its noise adds to them.

    Why not simply the GLCM of ``clean``: homogeneity and entropy depend on the shape of the
    distribution of level pairs, and noise turns skin's peaked pair differences into more
    Gaussian ones, which no linear filter undoes (measured on ``clean``: homogeneity still 5 %
    low at 4.6 DN from a 20 px/mm source). So the bias b = f(skin + noise) − f(skin) is
    measured by doing it — a draw of the same noise (:meth:`NoiseFloor.sample`) is added to the
    noise-free estimate ``clean`` — and subtracted from the photo's own GLCM: f(photo) −
    [f(clean + draw) − f(clean)], a parametric bootstrap bias correction. For contrast, a
    variance of pair differences, b is the noise's variance through the band (as for
    texture_dog); for homogeneity and entropy it is right as far as ``clean``'s pairs are
    distributed like the skin's. The draw's own scatter moves the result by < 0.2 %. Clamped to
    the metrics' ranges, so a photo of pure noise gives 0 contrast, not a negative one.
    """
    measured = _glcm_of(c, limits)
    if noise.sigma <= 0.0:
        return float(measured[0]), float(measured[1]), float(measured[2])
    bias = _glcm_of(_with_noise(clean, noise.sample(clean.image.shape)), limits) - _glcm_of(clean, limits)
    contrast, homogeneity, entropy = measured - bias
    max_entropy = 2 * math.log2(GLCM_LEVELS)
    return max(contrast, 0.0), min(max(homogeneity, 0.0), 1.0), min(max(entropy, 0.0), max_entropy)


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


def _scale_normalised_log(img: F32, sigma_px: float) -> tuple[F32, F32]:
    """Gaussian-smoothed image and its scale-normalised Laplacian σ²∇² (the pore response)."""
    smooth = np.asarray(cv2.GaussianBlur(img, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT), np.float32)
    lap = cv2.Laplacian(smooth, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    return smooth, np.asarray(lap * np.float32(sigma_px * sigma_px), np.float32)


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
        smooth[k], stack[k] = _scale_normalised_log(c.filled, float(sigma))
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


def _dog_noise_variance(noise: NoiseFloor, pitch: float) -> float:
    """Variance the sensor noise adds to the DoG band at the canonical pitch.

    Why subtracting it from texture_dog² is right: the noise is zero-mean and independent of the
    skin, and the DoG is linear, so Var(DoG(skin + noise)) = Var(DoG(skin)) + Var(DoG(noise)) —
    the cross term has expectation 0. The second term is the noise's canonical autocovariance
    through the DoG's own kernel (:meth:`NoiseFloor.variance_through`), so what is left is the
    noise-free variance whichever resolution the noise came from.
    """
    fine_px, coarse_px = (sigma_mm * pitch for sigma_mm in DOG_SIGMAS_MM)
    return noise.variance_through(lambda d: _blur(d, fine_px) - _blur(d, coarse_px), _support(coarse_px))


def _line_noise(noise: NoiseFloor, pitch: float) -> float:
    """Noise std in the scale-normalised Hessian (Frobenius norm) at the finest line scale ÷ FRANGI_C.

    E‖H‖² = Var(Lxx) + Var(Lyy) + 2 Var(Lxy) for zero-mean noise; this is what lifts the
    Frangi structureness of faint relief over the line thresholds.
    """
    sigma = LINE_SIGMAS_MM[0] * pitch

    def component(index: int) -> float:
        return noise.variance_through(lambda d: _hessian(d, sigma)[index], _support(sigma))

    return math.sqrt(component(0) + component(1) + 2 * component(2)) / FRANGI_C


def _pore_noise(noise: NoiseFloor, pitch: float) -> float:
    """Noise std in the scale-normalised LoG at the 0.1 mm pore radius ÷ the ramp's start."""
    sigma = PORE_RADII_MM[0] / math.sqrt(2.0) * pitch
    variance = noise.variance_through(lambda d: _scale_normalised_log(d, sigma)[1], _support(sigma))
    return math.sqrt(variance) / PORE_STRENGTH_RAMP[0]


def _none_metrics() -> dict[str, float | None]:
    return dict.fromkeys(METRIC_KEYS)


def measure_texture(
    linear_rgb: NDArray[np.float32],
    zone_mask: BoolMask,
    px_per_mm: float,
    *,
    exclude: BoolMask | None = None,
    glcm_limits: tuple[float, float] | None = None,
    remove_noise: bool = True,
) -> TextureResult:
    """Texture metrics of one zone (design §3.3 table), at the canonical pitch.

    ``linear_rgb`` is an H×W×3 linear-light crop around the zone (not the full frame: the filters
    cost ~1 s on a full frame), ``zone_mask`` and ``exclude`` are H×W booleans on that crop,
    ``px_per_mm`` its scale. Pass the client's baseline ``glcm_limits`` for every later photo.
    ``remove_noise=False`` measures as if the photo had no sensor noise (noise still estimated
    and reported, nothing removed, no count withheld): only for showing what the correction does.
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

    c, noise = _to_canonical(linear_rgb, zone_mask, px_per_mm, exclude, pitch)
    area_mm2 = float(c.valid.sum()) / (pitch * pitch)
    result.valid_area_mm2 = area_mm2
    if area_mm2 < MIN_ZONE_AREA_MM2:
        result.notes.append(f"valid zone {area_mm2:.1f} mm² < {MIN_ZONE_AREA_MM2} mm²: not measurable")
        return result
    area_cm2 = area_mm2 / 100.0
    result.noise_sigma = noise.sigma
    result.noise_sigma_canonical = noise.canonical_sigma
    if not remove_noise:
        noise = NoiseFloor(0.0)
    elif noise.sigma > 0.0:
        result.notes.append(
            f"sensor noise σ {noise.sigma:.4f} in ln G per source pixel, "
            f"{noise.canonical_sigma:.4f} at {pitch:g} px/mm: removed"
        )

    dog = _dog(c, _fine_mean(c))
    dog_variance = float(np.var(dog[c.valid], dtype=np.float64)) - _dog_noise_variance(noise, pitch)
    metrics["texture_dog"] = math.sqrt(max(dog_variance, 0.0))

    clean = _remove_noise_floor(c, noise)
    if fine:
        band = _glcm_band(clean, _fine_mean(clean))
        limits = glcm_limits if glcm_limits is not None else glcm_limits_from(band[clean.valid])
        result.glcm_limits = limits
        contrast, homogeneity, entropy = _glcm_net_of_noise(c, clean, noise, limits)
        metrics["glcm_contrast"] = contrast
        metrics["glcm_homogeneity"] = homogeneity
        metrics["glcm_entropy"] = entropy
    else:
        result.notes.append("GLCM needs the 0.1 mm distance: not measurable at 5 px/mm")
    metrics["lbp_entropy"] = _lbp_entropy(clean)

    line_noise = _line_noise(noise, pitch)
    if line_noise <= LINE_MAX_NOISE:
        metrics["line_density"] = _line_density(c, area_cm2)
    else:
        result.notes.append(
            f"line_density: noise {line_noise:.2f} × FRANGI_C at the finest line scale "
            f"> {LINE_MAX_NOISE}: not measurable"
        )
    if not fine:
        result.notes.append("pore_density needs a source of ≥ 20 px/mm")
        return result
    pore_noise = _pore_noise(noise, pitch)
    if pore_noise <= PORE_MAX_NOISE:
        lo, hi = PORE_STRENGTH_RAMP
        weights = np.clip((_pores(c)[:, 3] - lo) / (hi - lo), 0.0, 1.0)
        metrics["pore_density"] = float(weights.sum()) / area_cm2
    else:
        result.notes.append(
            f"pore_density: noise {pore_noise:.2f} × the strength ramp's start at the 0.1 mm "
            f"radius > {PORE_MAX_NOISE}: not measurable"
        )
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
