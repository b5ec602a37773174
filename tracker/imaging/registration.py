"""Register a follow-up photo onto its series baseline (design §3.5).

Zones are drawn once on the baseline photo and carried onto every later photo of the series, and
difference maps compare a follow-up resampled into the baseline frame. Both need the 2×3 affine
map from follow-up pixels to baseline pixels, which :func:`register` estimates:

1. **Working images.** The photos may come from different cameras (¼ to 4× the baseline's
   resolution), so each is area-reduced by its own factor: for a prior scale (equal pixel sizes,
   alike framing, a hint or the initial pose's) both working images get one pixel size, the larger
   at most ``max_side`` px, and every later step sees a scale near 1 (a 12 MP photo is reduced by
   a whole factor first, OpenCV's fast path). The green channel is linearised and logged: exposure
   and white-balance gains become offsets and a tone-curve change roughly a gain, which the
   alignment ignores. Each level of a Gaussian pyramid is band-passed at its own scale (uneven
   light and slow redness changes drop out), divided by its robust spread (faint texture on dark
   skin counts as much as on light skin) and softly clipped, so an object in one photo only (a
   colour chart, a hand) cannot dominate.
2. **Rough pose.** An initial pose from the caller (e.g. from face landmarks) is tried first. Then,
   for each prior scale, the clearest peak first: a grid of small rotations × scales about the
   image centres, each with the shift from a partly whitened cross-correlation on a padded canvas
   (coarsest level, ~10 ms). It needs no corners, which bare skin lacks. When the final score
   stays below ``_CONFIDENT`` (a large rotation or scale change, a symmetric outline), ORB
   features + RANSAC similarity (``cv2.estimateAffinePartial2D``) and then the plain centred start
   are tried as well and the best-scoring result wins.
3. **ECC, coarse.** ``cv2.findTransformECCWithMask`` (affine) on the levels up to 256 px, each time
   without the regions whose residual energy stays far above typical (changed or occluded).
4. **Fine levels.** Full-image ECC costs ~30 ms per iteration at 1 MP, beyond the photo-analysis
   budget. On the first fine level, block matching (phase correlation of tiles, RANSAC similarity)
   removes the degree-sized rotation errors coarse levels can leave, then the ECC criterion (affine
   warp with gain and offset) is minimised by Gauss-Newton on the ~30k strongest-gradient baseline
   pixels with Tukey weights: once on blurred images (wider capture range), once sharp on the
   finest level.
5. **Score.** ``score`` is the ECC correlation at the finest level over the baseline mask: coarse
   levels match any two photos with a similar outline, fine texture only matches the same skin.

Pure functions on numpy arrays; a failed registration never raises. Coordinates are pixel centres
at integers, x right, y down (as in the demo-set truth).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.colour import srgb_to_linear

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

#: Final ECC correlation (band-passed log green at the working resolution, over the baseline mask)
#: below which a registration is not trusted. On the demo set correct alignments score ≥ 0.6 even
#: after treatment and a lighting change, photos of a different client with a similar framing
#: ≤ 0.35, noise or an unrelated picture fails earlier (see tracker_dev.validation.registration).
OK_SCORE = 0.45
#: Sanity limits on the recovered transform: the relative scale of two photos of the same skin
#: area, and how far the 2×2 part may be from a similarity (shear / anisotropic scale).
MIN_SCALE, MAX_SCALE = 0.5, 2.0
MAX_SHEAR = 0.05
#: Least share of the baseline mask the follow-up must cover for the result to be ``ok``.
MIN_OVERLAP = 0.2

_ECC_MAX_SIDE = 256  # cv2 ECC on levels up to this size; sparse Gauss-Newton above
_COARSE_SIDE = 128  # the coarsest level (rough-pose search and checks)
_N_FEATURES = 2000
_BAND_SIGMA = 6.0  # high-pass scale in each level's own pixels
_CLIP = 3.0  # soft clip of the normalised band-pass image, in robust σ
_MIN_INLIERS = 12
_SEARCH_ROTATIONS = (-12.0, -8.0, -4.0, 0.0, 4.0, 8.0, 12.0)
_SEARCH_SCALES = (0.85, 0.92, 1.0, 1.08, 1.17)
_WHITEN = 0.7  # exponent of the cross-power normalisation in the shift search
_SHIFT_LOWPASS = 0.1  # cycles/px, Gaussian weight on the cross-power spectrum
_GN_POINTS = 30_000
_GN_POINTS_BLURRED = 10_000  # the blurred pass only widens the capture range
_CONFIDENT = 0.6  # final score above which no other rough pose is tried
_GN_ITERS = 12
_HALF = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
# log of linear light; the offset (≈ sRGB 14/255) keeps dark-pixel noise from being amplified
_LOG_LUT = np.log(srgb_to_linear(np.arange(256, dtype=np.uint8)) + 0.004).astype(np.float32)


@dataclass(frozen=True, eq=False)  # eq on an ndarray field would raise; compare fields instead
class Registration:
    """Result of :func:`register`.

    ``matrix`` maps follow-up pixel coordinates (x, y) to baseline pixel coordinates, both at full
    resolution. ``score`` is the ECC correlation of the final alignment at the working resolution
    over the baseline mask (0 when it failed). ``method`` says which rough pose led to the result:
    ``"initial+ecc"`` (the caller's initial pose), ``"search+ecc"`` (rotation × scale grid),
    ``"features+ecc"`` (ORB + RANSAC), ``"ecc"`` (from the centred start) or ``"identity"``
    (failed: identity matrix, score 0). ``ok`` is true when the score reaches :data:`OK_SCORE` and
    the follow-up covers at least :data:`MIN_OVERLAP` of the baseline mask; every returned
    transform is sane between the working images (scale 0.5–2 of the prior scale the two photos
    were brought to, e.g. ~4 in full-resolution pixels for a ¼-resolution follow-up; shear ≤
    :data:`MAX_SHEAR`). A
    result with ``ok=False`` but a positive score keeps its best-guess matrix, e.g. as the start of
    a manual adjustment; do not carry zones with it unchecked.
    """

    matrix: F64
    score: float
    method: str
    ok: bool

    def to_json(self) -> dict[str, Any]:
        """Plain-Python form for storage next to the photo's results."""
        m = np.asarray(self.matrix, dtype=np.float64)
        return {
            "matrix": [[float(v) for v in row] for row in m],
            "score": float(self.score),
            "method": self.method,
            "ok": bool(self.ok),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Registration:
        return cls(
            matrix=np.asarray(data["matrix"], dtype=np.float64),
            score=float(data["score"]),
            method=str(data["method"]),
            ok=bool(data["ok"]),
        )


# --------------------------------------------------------------------------------------------
# Affine helpers


def _full(m: NDArray[Any]) -> F64:
    out = np.eye(3)
    out[:2] = np.asarray(m, dtype=np.float64)
    return out


def invert_affine(m: NDArray[Any]) -> F64:
    """Inverse of a 2×3 affine matrix (e.g. baseline → follow-up from follow-up → baseline)."""
    inv: F64 = np.linalg.inv(_full(m))[:2].astype(np.float64)
    return inv


def compose_affine(outer: NDArray[Any], inner: NDArray[Any]) -> F64:
    """2×3 matrix of ``outer ∘ inner`` (``inner`` applied first)."""
    out: F64 = (_full(outer) @ _full(inner))[:2].copy()
    return out


def transform_points(m: NDArray[Any], points: Any) -> F64:
    """Map points (anything reshapeable to N×2, x then y) through a 2×3 affine matrix → N×2."""
    mm = np.asarray(m, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out: F64 = p @ mm[:, :2].T + mm[:, 2]
    return out


def transform_polygon(m: NDArray[Any], polygon: Any) -> list[tuple[float, float]]:
    """Map a polygon's (x, y) vertices, e.g. a zone drawn on the baseline, to a list of tuples.

    An affine map sends straight edges to straight edges, so mapping the vertices is exact. To
    carry a baseline zone onto a follow-up use ``invert_affine(reg.matrix)``.
    """
    return [(float(x), float(y)) for x, y in transform_points(m, polygon)]


def _matrix_of(reg: Registration | NDArray[Any]) -> F64:
    m = reg.matrix if isinstance(reg, Registration) else reg
    return np.asarray(m, dtype=np.float64)


def warp_to_baseline(
    follow_up: NDArray[Any],
    reg: Registration | NDArray[Any],
    baseline_shape: tuple[int, ...],
    *,
    interpolation: int = cv2.INTER_LINEAR,
    border_value: float = 0.0,
) -> NDArray[Any]:
    """Resample ``follow_up`` into the baseline frame: ``out[y, x] = follow_up[M⁻¹·(x, y)]``.

    ``M`` (follow-up → baseline) is the forward map ``cv2.warpAffine`` expects, so the output pixel
    at baseline position ``p`` shows the follow-up content that registration places at ``p`` and can
    be compared pixel by pixel with the baseline. Pixels whose source lies outside the follow-up
    get ``border_value``; :func:`valid_mask` tells which.
    """
    h, w = int(baseline_shape[0]), int(baseline_shape[1])
    out: NDArray[Any] = cv2.warpAffine(
        np.ascontiguousarray(follow_up),
        _matrix_of(reg),
        (w, h),
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border_value,
    )
    return out


def valid_mask(
    follow_up_shape: tuple[int, ...],
    reg: Registration | NDArray[Any],
    baseline_shape: tuple[int, ...],
) -> NDArray[np.bool_]:
    """Baseline-frame pixels that :func:`warp_to_baseline` filled from inside the follow-up.

    Computed analytically: the pre-image of a baseline pixel centre must lie within the follow-up's
    pixel-centre extent, so edge pixels that bilinear interpolation mixes with the border are out.
    """
    inv = invert_affine(_matrix_of(reg))
    h, w = int(baseline_shape[0]), int(baseline_shape[1])
    fh, fw = int(follow_up_shape[0]), int(follow_up_shape[1])
    xs = np.arange(w, dtype=np.float64)[None, :]
    ys = np.arange(h, dtype=np.float64)[:, None]
    u = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    v = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    eps = 1e-6
    ok: NDArray[np.bool_] = (u >= -eps) & (u <= fw - 1 + eps) & (v >= -eps) & (v <= fh - 1 + eps)
    return ok


def similarity_params(m: NDArray[Any]) -> tuple[float, float, float]:
    """(scale, rotation in degrees, shear) of the 2×2 part of an affine matrix.

    Shear is the relative distance of the 2×2 part from the nearest similarity: ~0 between two
    photos of the same area, large when an alignment ran away.
    """
    a = np.asarray(m, dtype=np.float64)[:, :2]
    p, q = (a[0, 0] + a[1, 1]) / 2.0, (a[1, 0] - a[0, 1]) / 2.0
    scale = math.hypot(p, q)
    rot = math.degrees(math.atan2(q, p))
    sim = np.array([[p, -q], [q, p]])
    shear = float(np.linalg.norm(a - sim) / max(scale, 1e-12) / math.sqrt(2.0))
    return scale, rot, shear


def is_sane(m: NDArray[Any]) -> bool:
    """Whether an affine matrix is plausible between two photos of the same area."""
    mm = np.asarray(m, dtype=np.float64)
    if mm.shape != (2, 3) or not np.all(np.isfinite(mm)):
        return False
    scale, _rot, shear = similarity_params(mm)
    return MIN_SCALE <= scale <= MAX_SCALE and shear <= MAX_SHEAR


# --------------------------------------------------------------------------------------------
# Working images


def _scale_map(src_w: int, src_h: int, dst_w: int, dst_h: int) -> F64:
    """2×3 map from source pixel centres to the pixel centres of an area-resized image."""
    ax, ay = dst_w / src_w, dst_h / src_h
    return np.array([[ax, 0.0, 0.5 * ax - 0.5], [0.0, ay, 0.5 * ay - 0.5]])


def _reduce(image: NDArray[Any], factor: float) -> tuple[NDArray[Any], F64]:
    """Area-reduce by ``factor`` (≤ 1); also return the full → reduced pixel map.

    An integer reduction is OpenCV's fast exact box filter (the few right/bottom pixels beyond a
    whole block are dropped), several times faster than an arbitrary one on a 12 MP photo. So the
    nearest whole factor is used alone when it lands within 15 % of the target size, otherwise the
    largest whole factor goes first and a small non-integer reduction follows.
    """
    h, w = image.shape[:2]
    to_small = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    if factor >= 1.0:
        return image, to_small
    out = image
    k_up = math.ceil(1.0 / factor - 1e-9)
    k = k_up if 1.0 / (k_up * factor) >= 0.85 else math.floor(1.0 / factor)
    if k >= 2:
        w1, h1 = max(1, w // k), max(1, h // k)
        out = cv2.resize(out[: h1 * k, : w1 * k], (w1, h1), interpolation=cv2.INTER_AREA)
        to_small = compose_affine(_scale_map(w1 * k, h1 * k, w1, h1), to_small)
    h1, w1 = out.shape[:2]
    w2, h2 = max(1, round(w * factor)), max(1, round(h * factor))
    if w2 < w1 or h2 < h1:
        out = cv2.resize(out, (min(w2, w1), min(h2, h1)), interpolation=cv2.INTER_AREA)
        to_small = compose_affine(_scale_map(w1, h1, out.shape[1], out.shape[0]), to_small)
    return out, to_small


def _upsample(coarse: NDArray[Any], shape: tuple[int, ...], flags: int = cv2.INTER_LINEAR) -> NDArray[Any]:
    """Bring a level up to the next finer one (``pyrDown`` keeps pixel 2i as pixel i)."""
    inverse = flags | cv2.WARP_INVERSE_MAP
    size = (shape[1], shape[0])
    out: NDArray[Any] = cv2.warpAffine(coarse, _HALF, size, flags=inverse, borderMode=cv2.BORDER_REPLICATE)
    return out


def _bandpass(lg: F32, low: F32, mask: U8 | None) -> F32:
    """Band-passed, robustly normalised, softly clipped version of one log level.

    ``low`` is the local mean (Gaussian, ``_BAND_SIGMA`` px); it is subtracted and a 1-px blur
    suppresses noise. Both photos are filtered the same way over the whole frame (a mask-aware
    filter on one side only would draw a false rim along the mask edge). The result is divided by
    its median absolute value over the mask and passed through ``CLIP·tanh(x/CLIP)``.
    """
    hp = cv2.GaussianBlur(lg - low, (0, 0), 1.0)
    step = max(1, int(math.sqrt(hp.size / 20_000)))
    sample = hp[::step, ::step] if mask is None else hp[::step, ::step][mask[::step, ::step] > 0]
    spread = 1.4826 * float(np.median(np.abs(sample))) if sample.size else 0.0
    if not spread > 1e-6:
        zero: F32 = np.zeros_like(hp)
        return zero
    out: F32 = (_CLIP * np.tanh(hp * (1.0 / (_CLIP * spread)))).astype(np.float32)
    return out


@dataclass(frozen=True)
class _Level:
    image: F32  # band-passed log green at this level
    mask: U8  # 255 where the pixel may be used
    to_level: F64  # full-resolution pixels → this level's pixels

    @property
    def side(self) -> int:
        return int(max(self.image.shape[:2]))


def _green(image: NDArray[np.uint8], factor: float) -> tuple[U8, F64]:
    """The green channel (a grey image as is) area-reduced by ``factor``, and the full → reduced
    pixel map. The channel is taken before reducing: a third of the work on a 12 MP photo."""
    channel = image[:, :, 1] if image.ndim == 3 else image
    green, to_small = _reduce(np.ascontiguousarray(channel, dtype=np.uint8), factor)
    return green, to_small


def _levels(
    image: NDArray[np.uint8], mask: NDArray[np.bool_] | None, factor: float, n_levels: int
) -> list[_Level]:
    """``n_levels`` band-passed log-green levels, finest (``factor`` × full size) first, halving."""
    green, to_small = _green(image, factor)
    small_mask: U8 | None = None
    if mask is not None:
        reduced, _ = _reduce(np.asarray(mask, dtype=np.uint8) * 255, factor)
        small_mask = np.where(reduced >= 128, 255, 0).astype(np.uint8)
    return _pyramid(green, to_small, small_mask, n_levels)


def _pyramid(green: U8, to_small: F64, mask: U8 | None, n_levels: int) -> list[_Level]:
    """Band-passed log-green levels of a reduced green channel, finest first (see :func:`_levels`)."""
    lg: F32 = cv2.LUT(green, _LOG_LUT)  # ~6× faster than numpy indexing
    m = np.full(lg.shape, 255, np.uint8) if mask is None else mask
    # Gaussian 5-tap decimation (pyrDown): a box (area) filter lets fine periodic texture (fabric,
    # pores) alias into moiré that differs between photos and creates false optima.
    logs, masks, maps = [lg], [m], [to_small]
    for _ in range(1, n_levels):
        logs.append(cv2.pyrDown(logs[-1]))
        masks.append(cv2.erode(masks[-1], np.ones((3, 3), np.uint8))[::2, ::2].copy())
        maps.append(compose_affine(_HALF, maps[-1]))  # pyrDown keeps pixel 2i as pixel i
    levels: list[_Level] = []
    for i in range(n_levels):
        if i + 1 < n_levels:  # the local mean from the next coarser level is ~4× cheaper
            low = _upsample(cv2.GaussianBlur(logs[i + 1], (0, 0), _BAND_SIGMA / 2), logs[i].shape)
        else:
            low = cv2.GaussianBlur(logs[i], (0, 0), _BAND_SIGMA)
        band = _bandpass(logs[i], low, masks[i] if mask is not None else None)
        levels.append(_Level(band, masks[i], maps[i]))
    return levels


def _n_levels(short_side: float) -> int:
    """Levels until the smaller image's longer side is about ``_COARSE_SIDE`` px (at least 1)."""
    n = 1
    while short_side / 2**n >= _COARSE_SIDE * 0.75:
        n += 1
    return n


def _sane(base: _Level, fol: _Level, pose: F64) -> bool:
    """:func:`is_sane` for the map between the two working images, which have equal pixel sizes
    under the prior scale: a ¼-resolution follow-up's full-resolution scale of ~4 is expected,
    a working-image scale beyond 0.5–2 is not."""
    return is_sane(_level_warp_fwd(base, fol, pose))


def _level_warp(base: _Level, fol: _Level, pose: F64) -> F64:
    """ECC-style warp (base level px → follow-up level px) from a full-res pose (fol → base)."""
    return compose_affine(fol.to_level, compose_affine(invert_affine(pose), invert_affine(base.to_level)))


def _level_warp_fwd(base: _Level, fol: _Level, pose: F64) -> F64:
    """Forward map follow-up level px → base level px of a full-res pose (fol → base)."""
    return compose_affine(base.to_level, compose_affine(pose, invert_affine(fol.to_level)))


def _pose_from_warp(base: _Level, fol: _Level, warp: NDArray[Any]) -> F64:
    return invert_affine(compose_affine(invert_affine(fol.to_level), compose_affine(warp, base.to_level)))


def _shift_pose(base: _Level, correction: F64, pose: F64) -> F64:
    """Apply a correction given in base-level pixels (drawn position → true position) to a pose."""
    return compose_affine(
        invert_affine(base.to_level), compose_affine(correction, compose_affine(base.to_level, pose))
    )


def _warped(base: _Level, fol: _Level, pose: F64) -> tuple[F32, U8]:
    """The follow-up level resampled into the base level frame, and where that is valid."""
    h, w = base.image.shape
    wmat = _level_warp(base, fol, pose)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    img: F32 = cv2.warpAffine(fol.image, wmat, (w, h), flags=flags)
    valid: U8 = cv2.warpAffine(fol.mask, wmat, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    return img, valid


def _correlation(base: _Level, fol: _Level, pose: F64, mask: U8 | None = None) -> tuple[float, float]:
    """(ECC correlation, share of the base mask covered) of the follow-up warped by ``pose``."""
    img, valid = _warped(base, fol, pose)
    use = cv2.bitwise_and(base.mask if mask is None else mask, valid)
    n_mask = int(np.count_nonzero(base.mask))
    n_use = int(np.count_nonzero(use))
    if n_use < 64 or n_mask == 0:
        return 0.0, n_use / max(n_mask, 1)
    rho = float(cv2.computeECC(base.image, img, use))
    return rho, n_use / n_mask


# --------------------------------------------------------------------------------------------
# Rough pose


def _feature_pose(base: _Level, fol: _Level) -> F64 | None:
    """Full-res similarity (fol → base) from ORB + ratio test + RANSAC, or None.

    ORB on the normalised band-pass image (many weak corners are kept: a low FAST threshold, as
    bare skin has little contrast); a 4-parameter RANSAC model stays robust with a dozen inliers.
    """
    orb = cv2.ORB.create(nfeatures=_N_FEATURES, fastThreshold=5, edgeThreshold=15, patchSize=15)
    ub = np.clip(128.0 + base.image * (120.0 / _CLIP), 0, 255).astype(np.uint8)
    uf = np.clip(128.0 + fol.image * (120.0 / _CLIP), 0, 255).astype(np.uint8)
    kb, db = orb.detectAndCompute(ub, base.mask)
    kf, df = orb.detectAndCompute(uf, fol.mask)
    if db is None or df is None or len(kb) < _MIN_INLIERS or len(kf) < _MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(df, db, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.85 * p[1].distance]
    if len(good) < _MIN_INLIERS:
        return None
    src = np.array([kf[g.queryIdx].pt for g in good], dtype=np.float32)
    dst = np.array([kb[g.trainIdx].pt for g in good], dtype=np.float32)
    m, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0, maxIters=5000, confidence=0.999
    )
    if m is None or inliers is None or int(inliers.sum()) < _MIN_INLIERS:
        return None
    pose = compose_affine(invert_affine(base.to_level), compose_affine(m, fol.to_level))
    return pose if _sane(base, fol, pose) else None


def _about_centres(
    base_shape: tuple[int, ...], fol_shape: tuple[int, ...], rot_deg: float, scale: float
) -> F64:
    """Similarity (fol → base, full res) turning/scaling about the follow-up centre onto the base centre."""
    a = math.radians(rot_deg)
    c, s = math.cos(a) * scale, math.sin(a) * scale
    cxf, cyf = (fol_shape[1] - 1) / 2.0, (fol_shape[0] - 1) / 2.0
    cxb, cyb = (base_shape[1] - 1) / 2.0, (base_shape[0] - 1) / 2.0
    return np.array([[c, -s, cxb - c * cxf + s * cyf], [s, c, cyb - s * cxf - c * cyf]])


def _taper(h: int, w: int, frac: float = 0.12) -> F32:
    """Window that is 1 inside and falls to 0 over ``frac`` of each border (cosine taper).

    Unlike a full Hann window it keeps the content away from the image centre, which matters
    when the two photos overlap only in part.
    """

    def ramp(n: int) -> F32:
        x = np.ones(n, np.float32)
        k = max(1, int(n * frac))
        t = 0.5 - 0.5 * np.cos(np.pi * (np.arange(k, dtype=np.float32) + 0.5) / k)
        x[:k], x[n - k :] = t, t[::-1]
        return x

    out: F32 = np.outer(ramp(h), ramp(w)).astype(np.float32)
    return out


@dataclass(frozen=True)
class _Canvas:
    """A padded frame around the baseline level, so partly overlapping follow-ups fit in whole,
    with what the shift search needs precomputed."""

    base_fft: NDArray[np.complex64]  # spectrum of the tapered, padded baseline level
    weight: F32  # low-pass applied to the partly whitened cross-power spectrum
    offset: F64  # base level px → canvas px
    size: tuple[int, int]  # (w, h), FFT-friendly
    fol: F32  # tapered follow-up level (its own frame)


def _canvas(base: _Level, fol: _Level) -> _Canvas:
    hb, wb = base.image.shape
    hf, wf = fol.image.shape
    pad_x, pad_y = max(wf, wb) // 2, max(hf, hb) // 2
    w = cv2.getOptimalDFTSize(wb + 2 * pad_x)
    h = cv2.getOptimalDFTSize(hb + 2 * pad_y)
    ox, oy = (w - wb) // 2, (h - hb) // 2
    canvas = np.zeros((h, w), np.float32)
    canvas[oy : oy + hb, ox : ox + wb] = base.image * _taper(hb, wb) * (base.mask > 0)
    fimg = (fol.image * _taper(hf, wf) * (fol.mask > 0)).astype(np.float32)
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    weight = np.exp(-(fx * fx + fy * fy) / (2 * _SHIFT_LOWPASS**2)).astype(np.float32)
    base_fft = np.fft.rfft2(canvas).astype(np.complex64)
    return _Canvas(base_fft, weight, np.array([[1.0, 0.0, ox], [0.0, 1.0, oy]]), (w, h), fimg)


def _shift_search(cv: _Canvas, base: _Level, fol: _Level, pose: F64) -> tuple[F64, float]:
    """Correct ``pose`` by the best whole-pixel shift on the canvas; return it and the peak's z-score.

    A partly whitened (``|X|^0.7``) and low-passed cross-correlation: full whitening (phase
    correlation) gives a peak only within ~1.5° / 2 % of the true rotation and scale, this one
    within ~3° / 5 %, so a coarse grid of candidates suffices. ECC does the sub-pixel part.
    """
    to_canvas = compose_affine(cv.offset, _level_warp_fwd(base, fol, pose))
    moved = cv2.warpAffine(cv.fol, to_canvas, cv.size, flags=cv2.INTER_LINEAR)
    cross = np.fft.rfft2(moved) * np.conj(cv.base_fft)
    surface = np.fft.irfft2(cross / (np.abs(cross) ** _WHITEN + 1e-9) * cv.weight, s=(cv.size[1], cv.size[0]))
    k = int(np.argmax(surface))
    y, x = divmod(k, cv.size[0])
    sd = float(surface.std())
    z = (float(surface.flat[k]) - float(surface.mean())) / sd if sd > 0 else 0.0
    dx = x if x < cv.size[0] // 2 else x - cv.size[0]
    dy = y if y < cv.size[1] // 2 else y - cv.size[1]
    # moved(x) ≈ base(x − d): follow-up content drawn at x belongs at x − d in the baseline.
    shift = np.array([[1.0, 0.0, -dx], [0.0, 1.0, -dy]])
    return _shift_pose(base, shift, pose), z


def _search_pose(
    base: _Level, fol: _Level, base_shape: tuple[int, ...], fol_shape: tuple[int, ...], prior: float = 1.0
) -> tuple[F64, float]:
    """Best small rotation × scale about the centres, with the shift from cross-correlation.

    ``prior`` is the full-resolution scale the grid is centred on (the one that made the two
    working images' pixel sizes equal); the pose comes back with its peak's z-score, which ranks
    the priors against each other.

    Run on the coarsest level; ECC then absorbs the remaining ±2° / ±4 %. Staged rather
    than the full grid: scales at no rotation, rotations at the best scale, then scales
    again at the best rotation. The peak's tolerance (~3° / 5 %) makes the two
    parameters nearly separable, and a follow-up taken with the framing guide is usually
    near the centre of the grid, so 15 candidates instead of 35 find the same pose.
    """
    cv = _canvas(base, fol)
    seen: dict[tuple[float, float], tuple[float, F64]] = {}

    def score(rot: float, scale: float) -> tuple[float, F64]:
        if (rot, scale) not in seen:
            start = _about_centres(base_shape, fol_shape, rot, scale * prior)
            pose, z = _shift_search(cv, base, fol, start)
            seen[(rot, scale)] = (z, pose)
        return seen[(rot, scale)]

    def best_of(candidates: list[tuple[float, float]]) -> tuple[float, float]:
        return max(candidates, key=lambda c: score(*c)[0])

    _rot, scale = best_of([(0.0, s) for s in _SEARCH_SCALES])
    rot, _scale = best_of([(r, scale) for r in _SEARCH_ROTATIONS])
    best = best_of([(rot, s) for s in _SEARCH_SCALES])
    z, pose = score(*best)
    return pose, z


# --------------------------------------------------------------------------------------------
# Refinement


def _ecc(base: _Level, fol: _Level, pose: F64, mask: U8, iters: int, eps: float) -> tuple[F64, float]:
    """cv2 ECC (affine) at one level from ``pose``; raises cv2.error when it does not converge."""
    w = _level_warp(base, fol, pose).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iters, eps)
    rho, w_new = cv2.findTransformECCWithMask(
        base.image, fol.image, mask, fol.mask, w, cv2.MOTION_AFFINE, criteria, 1
    )
    return _pose_from_warp(base, fol, w_new), float(rho)


def _inlier_mask(base: _Level, fol: _Level, pose: F64) -> U8:
    """Base mask minus regions where the aligned images disagree far more than typical.

    Both levels are in robust-σ units, so their plain difference is the residual (fitting a gain
    here would let an object present in one image only shrink the gain and hide itself). Its
    local energy is compared with the median; regions above 6× (a chart or hand in one photo
    only, a new lesion) are dropped, with a margin.
    """
    img, valid = _warped(base, fol, pose)
    use = (base.mask > 0) & (valid > 0)
    if int(use.sum()) < 256:
        return base.mask
    res = np.where(use, base.image - img, 0.0).astype(np.float32)
    energy = cv2.GaussianBlur(res * res, (0, 0), 3.0)
    step = max(1, int(math.sqrt(energy.size / 20_000)))
    typical = float(np.median(energy[::step, ::step][use[::step, ::step]]))
    bad = (energy > 6.0 * typical).astype(np.uint8)
    bad = cv2.dilate(bad, np.ones((5, 5), np.uint8))
    out: U8 = np.where(bad > 0, 0, base.mask).astype(np.uint8)
    return out if np.count_nonzero(out) > 0.3 * np.count_nonzero(base.mask) else base.mask


def _tile_correction(base: _Level, fol: _Level, pose: F64) -> F64:
    """Correct ``pose`` from block matching: phase-correlate overlapping tiles, fit a similarity.

    Coarse levels can leave a rotation or scale error of a degree or two (the outline of the skin
    area dominates them and fixes the position better than the angle), which at the finer levels
    is several pixels at the image edges, outside the few-pixel basin of Gauss-Newton. Each tile's
    shift has a capture range of a quarter tile, and RANSAC over the tile shifts ignores tiles
    that changed (treated area, chart).
    """
    img, valid = _warped(base, fol, pose)
    h, w = base.image.shape
    tile = 128 if min(h, w) >= 256 else max(32, min(h, w) // 2)
    taper = _taper(tile, tile, 0.25)
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    for y0 in range(0, h - tile + 1, tile // 2):
        for x0 in range(0, w - tile + 1, tile // 2):
            win = (slice(y0, y0 + tile), slice(x0, x0 + tile))
            use = (base.mask[win] > 0) & (valid[win] > 0)
            if use.mean() < 0.8:
                continue
            a = (base.image[win] * taper * use).astype(np.float32)
            b = (img[win] * taper * use).astype(np.float32)
            (dx, dy), resp = cv2.phaseCorrelate(a, b)  # no window: inputs stay unmodified
            if resp < 0.05 or max(abs(dx), abs(dy)) > tile / 4:
                continue
            cx, cy = x0 + (tile - 1) / 2.0, y0 + (tile - 1) / 2.0
            src.append((cx, cy))
            dst.append((cx - dx, cy - dy))  # content drawn at c belongs at c − d
    if len(src) < 6:
        return pose
    m, inliers = cv2.estimateAffinePartial2D(
        np.array(src, np.float32),
        np.array(dst, np.float32),
        method=cv2.RANSAC,
        ransacReprojThreshold=2.5,
        maxIters=2000,
    )
    if m is None or inliers is None or int(inliers.sum()) < max(5, len(src) // 4):
        return pose
    return _shift_pose(base, np.asarray(m, dtype=np.float64), pose)


def _sample(stack: F32, u: F32, v: F32) -> F32:
    """Bilinear samples of a multi-channel image at points (u, v) → N×C.

    ``cv2.remap`` wants maps with < 32767 columns, so the points are laid out in rows of 256.
    """
    n = u.size
    rows = -(-n // 256)
    mu = np.zeros(rows * 256, np.float32)
    mv = np.zeros(rows * 256, np.float32)
    mu[:n], mv[:n] = u, v
    out = cv2.remap(stack, mu.reshape(rows, 256), mv.reshape(rows, 256), cv2.INTER_LINEAR)
    res: F32 = out.reshape(rows * 256, -1)[:n]
    return res


def _refine(base: _Level, fol: _Level, pose: F64, points: int = _GN_POINTS) -> F64:
    """Robust Gauss-Newton on the ECC criterion at a fine level, on the strongest-gradient pixels.

    Minimises Σ ρ(T(x) − a·I(W(x)) − b) over the affine warp W (base → follow-up level px) and the
    gain/offset (a, b) with Tukey's ρ, i.e. what ECC maximises, but sampling only ~30k baseline
    pixels with the largest gradient (where the alignment information is) so each iteration costs
    a few ms at 1 MP instead of ~30 ms.
    """
    t_img = base.image
    gx = cv2.Sobel(t_img, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(t_img, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    inner = cv2.erode(base.mask, np.ones((5, 5), np.uint8))
    mag = gx * gx + gy * gy
    step = max(1, int(math.sqrt(mag.size / 20_000)))
    cand = mag[::step, ::step][inner[::step, ::step] > 0]
    if cand.size < 64:
        return pose
    # threshold for the strongest ~quarter of the mask, or ~_GN_POINTS pixels, from a sample
    n_inner = int(np.count_nonzero(inner))
    share = min(0.25, points / max(n_inner, 1))
    thresh = float(np.quantile(cand, 1.0 - share))
    ys, xs = np.nonzero((inner > 0) & (mag >= thresh))
    if xs.size > points:
        pick = np.linspace(0, xs.size - 1, points).astype(np.int64)
        xs, ys = xs[pick], ys[pick]
    tv = t_img[ys, xs].astype(np.float32)
    fx = cv2.Sobel(fol.image, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    fy = cv2.Sobel(fol.image, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    stack = cv2.merge([fol.image, fx, fy])
    fh, fw = fol.image.shape
    cx, cy = float(xs.mean()), float(ys.mean())
    xs32, ys32 = xs.astype(np.float32), ys.astype(np.float32)
    xc, yc = xs32 - np.float32(cx), ys32 - np.float32(cy)
    reach = float(max(np.abs(xc).max(), np.abs(yc).max()))
    w = _level_warp(base, fol, pose)
    best: tuple[float, F64] = (math.inf, w)
    gain, offset, sigma0 = 1.0, 0.0, 0.0  # both levels are in robust-σ units: start from T ≈ I
    wt_prev: F32 | None = None
    # the warp is parametrised about the sample centroid for a well-conditioned normal matrix
    for _ in range(_GN_ITERS + 1):
        u = w[0, 0] * xs32 + w[0, 1] * ys32 + np.float32(w[0, 2])
        v = w[1, 0] * xs32 + w[1, 1] * ys32 + np.float32(w[1, 2])
        sel = (u >= 1) & (u <= fw - 2) & (v >= 1) & (v <= fh - 2)
        sel[sel] = fol.mask[(v[sel] + 0.5).astype(np.int32), (u[sel] + 0.5).astype(np.int32)] > 0
        n_sel = int(np.count_nonzero(sel))
        if n_sel < 200:
            break
        sampled = _sample(stack, u[sel], v[sel])
        i_s, ix, iy = sampled[:, 0], sampled[:, 1], sampled[:, 2]
        t_s = tv[sel]
        if wt_prev is not None:  # gain and offset by weighted least squares on last step's inliers
            wp = wt_prev[sel]
            sw = float(wp.sum())
            if sw > 1e-6:
                mt, mi = float(wp @ t_s) / sw, float(wp @ i_s) / sw
                di = i_s - np.float32(mi)
                var_i = float(wp @ (di * di)) / sw
                if var_i > 1e-12:
                    gain = float(wp @ ((t_s - np.float32(mt)) * di)) / sw / var_i
                    offset = mt - gain * mi
        r = t_s - np.float32(gain) * i_s - np.float32(offset)
        sigma = 1.4826 * float(np.median(np.abs(r))) + 1e-9
        if sigma0 == 0.0:
            sigma0 = sigma
        # robust cost at a fixed scale decides which warp is best (Tukey ρ; lost points cost 1)
        z0 = np.minimum(np.abs(r) * np.float32(1.0 / (4.685 * sigma0)), 1.0)
        cost = (float(np.sum(1.0 - (1.0 - z0 * z0) ** 3)) + (xs.size - n_sel)) / xs.size
        if cost < best[0]:
            best = (cost, w.copy())
        elif cost > best[0] * 1.05:
            break  # diverging: keep the best warp seen
        z = r * np.float32(1.0 / (4.685 * sigma))
        wt = np.where(np.abs(z) < 1.0, (1.0 - z * z) ** 2, 0.0).astype(np.float32)
        wt_prev = np.zeros(xs.size, np.float32)
        wt_prev[sel] = wt
        gxs, gys = np.float32(gain) * ix, np.float32(gain) * iy
        xcs, ycs = xc[sel], yc[sel]
        jac = np.stack([gxs * xcs, gxs * ycs, gxs, gys * xcs, gys * ycs, gys], axis=1)
        jw = jac * wt[:, None]
        hess = (jw.T @ jac).astype(np.float64)
        rhs = (jw.T @ r).astype(np.float64)
        try:
            d = np.linalg.solve(hess + 1e-9 * np.trace(hess) * np.eye(6), rhs)
        except np.linalg.LinAlgError:
            break
        # largest displacement the update causes over the sampled area; at most 2 px per step
        step = max(abs(d[2]), abs(d[5])) + (abs(d[0]) + abs(d[1]) + abs(d[3]) + abs(d[4])) * reach
        if step > 2.0:
            d *= 2.0 / step
        # centred parameters → warp: u = a(x−cx) + b(y−cy) + c' with c' = c + a·cx + b·cy
        dw = np.array(
            [[d[0], d[1], d[2] - d[0] * cx - d[1] * cy], [d[3], d[4], d[5] - d[3] * cx - d[4] * cy]]
        )
        w = w + dw
        if step < 0.005:
            break
    return _pose_from_warp(base, fol, best[1])


def _align(pyr_b: list[_Level], pyr_f: list[_Level], start: F64) -> tuple[F64, float, float] | None:
    """Coarse-to-fine alignment from a rough pose → (pose, finest-level correlation, overlap).

    None when ECC does not converge on the coarsest level or the pose is not sane.
    """
    coarse_b, coarse_f = pyr_b[0], pyr_f[0]
    pose = start
    try:  # twice, the second time without the regions the first pass could not explain
        for _ in range(2):
            pose, _r = _ecc(coarse_b, coarse_f, pose, _inlier_mask(coarse_b, coarse_f, pose), 60, 1e-5)
    except cv2.error:
        return None
    if not _sane(coarse_b, coarse_f, pose):
        return None
    n = len(pyr_b)
    first_fine = True
    inliers = coarse_b.mask
    for i, (lb, lf) in enumerate(zip(pyr_b[1:], pyr_f[1:], strict=True), start=1):
        if first_fine:
            inliers = _inlier_mask(lb, lf, pose)
        else:  # the pose is already good: carry the last level's inliers up instead
            inliers = np.minimum(lb.mask, _upsample(inliers, lb.mask.shape, cv2.INTER_NEAREST))
        if lb.side <= _ECC_MAX_SIDE:
            with contextlib.suppress(cv2.error):  # on failure keep the coarser estimate
                pose, _r = _ecc(lb, lf, pose, inliers, 50, 1e-5)
            continue
        masked = _Level(lb.image, inliers, lb.to_level)
        if first_fine:
            # The first fine level is where the coarse pose can be several pixels off at the
            # edges: block matching, then a pass on blurred images, widen the capture range;
            # that is accurate enough to start the sharp pass on the next level directly.
            pose = _tile_correction(masked, lf, pose)
            blur_b = _Level(cv2.GaussianBlur(lb.image, (0, 0), 2.0), inliers, lb.to_level)
            blur_f = _Level(cv2.GaussianBlur(lf.image, (0, 0), 2.0), lf.mask, lf.to_level)
            pose = _refine(blur_b, blur_f, pose, _GN_POINTS_BLURRED)
            first_fine = False
        if i == n - 1:
            pose = _refine(masked, lf, pose)
    if not _sane(pyr_b[-1], pyr_f[-1], pose):
        return None
    # Scored at the finest level: coarse levels are dominated by outlines and would rate two
    # different photos with a similar framing as a match; fine texture only matches if it is the
    # same skin.
    score, overlap = _correlation(pyr_b[-1], pyr_f[-1], pose)
    return pose, score, overlap


# --------------------------------------------------------------------------------------------
# Entry point


def _failed() -> Registration:
    return Registration(matrix=np.eye(2, 3), score=0.0, method="identity", ok=False)


def register(
    baseline: NDArray[np.uint8],
    follow_up: NDArray[np.uint8],
    *,
    baseline_mask: NDArray[np.bool_] | None = None,
    max_side: int = 1024,
    baseline_cache: dict[Any, Any] | None = None,
    initial: NDArray[np.floating[Any]] | None = None,
    scales: Sequence[float] | None = None,
) -> Registration:
    """Estimate the affine map from ``follow_up`` pixels to ``baseline`` pixels (full resolution).

    ``baseline`` and ``follow_up`` are upright RGB uint8 images (grey H×W also accepted) of any
    sizes. ``baseline_mask`` (baseline shape, True = use) restricts the alignment to e.g. the skin
    region, so a backdrop or an object that moves independently cannot pull it. Never raises on
    bad image content: a failure gives the identity matrix, score 0 and ``ok=False``.

    The photos may come from different cameras: a follow-up at ¼ to 4× the baseline's resolution.
    Nothing is compared at unequal pixel sizes: for a prior scale ``s`` (baseline px per follow-up
    px) each photo is reduced by its own factor so that one working pixel covers the same skin in
    both, and the rough search looks within ±15 % of ``s``. The priors: the scale of ``initial``,
    then ``scales`` (default ``(1.0,)``: equal pixel sizes, the same camera at the same distance),
    then alike framing (the ratio of the longer sides: another camera used with the framing
    guide), which is always tried as it holds for reduced copies too. They are ranked by how
    clearly the rough search finds a peak, and tried until one scores :data:`_CONFIDENT`.

    ``initial``: a rough pose in this function's convention (2×3, follow-up px → baseline px),
    e.g. a similarity fitted to face landmarks found in both photos. It is refined first and
    kept if it scores well; otherwise the usual searches run as well and the best score wins, so
    a wrong initial pose costs time but cannot replace a better result. A non-finite or
    degenerate one is ignored.

    ``baseline_cache``: a dict owned by the caller and kept with this baseline image; the
    baseline's pyramids (a few working sizes) are stored there, so registering a series'
    follow-ups one after the other prepares the baseline once. Only used without
    ``baseline_mask``.
    """
    for name, img in (("baseline", baseline), ("follow_up", follow_up)):
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
            raise ValueError(
                f"{name} must be a uint8 H×W×3 RGB (or H×W grey) image, got {img.dtype} {img.shape}"
            )
    if baseline_mask is not None and baseline_mask.shape[:2] != baseline.shape[:2]:
        raise ValueError("baseline_mask must have the baseline's height and width")
    if initial is not None and np.shape(initial) != (2, 3):
        raise ValueError("initial must be a 2×3 affine matrix (follow-up px → baseline px)")
    start = _usable_initial(initial)
    cache = baseline_cache if baseline_mask is None else None
    try:
        return _register(baseline, follow_up, baseline_mask, max_side, cache, start, scales)
    except (cv2.error, np.linalg.LinAlgError, ValueError, IndexError):
        return _failed()


#: Priors closer than this ratio share one pair of working images (the search spans ±15 %).
_PRIOR_MERGE = 1.1
#: Working images smaller than this (longer side, px) are not worth aligning.
_MIN_WORKING_SIDE = 24
#: Baseline pyramids kept per baseline cache (one per working size in use).
_CACHED_PYRAMIDS = 4
_MAX_INITIAL_SHEAR = 0.25


@dataclass(frozen=True)
class _Pair:
    """Both photos' pyramids (coarse → fine) at one common pixel size: the follow-up is reduced
    so that, if the full-resolution scale is ``prior``, a working pixel covers the same skin in
    both, and everything downstream (search grid, ECC, block matching) sees a scale near 1."""

    prior: float
    base: list[_Level]
    fol: list[_Level]


def _usable_initial(initial: NDArray[Any] | None) -> F64 | None:
    """The initial pose as float64, or None when it cannot be a pose between two photos."""
    if initial is None:
        return None
    m = np.asarray(initial, dtype=np.float64)
    if not np.all(np.isfinite(m)):
        return None
    scale, _rot, shear = similarity_params(m)
    if not 1e-3 < scale < 1e3 or shear > _MAX_INITIAL_SHEAR:
        return None
    return m


def _priors(
    base_shape: tuple[int, ...],
    fol_shape: tuple[int, ...],
    initial: F64 | None,
    scales: Sequence[float] | None,
) -> list[float]:
    """Prior scales (baseline px per follow-up px) in the order given, near-duplicates merged.

    A prior under which the follow-up could not cover :data:`MIN_OVERLAP` of the baseline even
    at the largest scale the search reaches is dropped: it could never give an ``ok`` result,
    and its search would be the slowest (a ⅓-resolution follow-up taken for a crop at equal
    pixel sizes puts a small image against a large one).
    """
    wanted = [float(s) for s in (scales if scales is not None else (1.0,))]
    cover = fol_shape[0] * fol_shape[1] / (base_shape[0] * base_shape[1]) * _SEARCH_SCALES[-1] ** 2
    wanted = [s for s in wanted if s > 0 and cover * s * s >= MIN_OVERLAP]
    if initial is not None:
        wanted.insert(0, similarity_params(initial)[0])
    wanted.append(max(base_shape[:2]) / max(fol_shape[:2]))  # alike framing
    out: list[float] = []
    for s in wanted:
        if math.isfinite(s) and s > 0 and all(abs(math.log(s / t)) > math.log(_PRIOR_MERGE) for t in out):
            out.append(s)
    return out


def _factors(base_side: int, fol_side: int, prior: float, max_side: int) -> tuple[float, float]:
    """Reduction factors (baseline, follow-up) giving both working images one pixel size under
    ``prior``: neither photo is enlarged (it would add no detail, only interpolation), and the
    larger working image is at most ``max_side``. Equal framing at equal size gives the common
    factor of the single-camera case."""
    fb = min(1.0, max_side / base_side, 1.0 / prior, max_side / (fol_side * prior))
    return fb, min(1.0, fb * prior)


def _cached_levels(
    baseline: NDArray[np.uint8],
    mask: NDArray[np.bool_] | None,
    factor: float,
    n: int,
    cache: dict[Any, Any] | None,
) -> list[_Level]:
    """The baseline's pyramid (coarse → fine), from the cache when the same one was built before.

    Follow-ups of other resolutions need other working sizes, so a few are kept, oldest dropped
    first. The cache may be shared between threads: a lost race only rebuilds a pyramid.
    """
    key = ("levels", baseline.shape, factor, n)
    pyr: list[_Level] | None = cache.get(key) if cache is not None else None
    if pyr is None:
        pyr = _levels(baseline, mask, factor, n)[::-1]
        if cache is not None:
            cache[key] = pyr
            kept = [k for k in list(cache) if isinstance(k, tuple) and k[:1] == ("levels",)]
            for old in kept[: max(0, len(kept) - _CACHED_PYRAMIDS)]:
                cache.pop(old, None)
    return pyr


@dataclass(frozen=True)
class _Plan:
    """Working sizes for one prior scale."""

    prior: float
    base_factor: float
    fol_factor: float
    n_levels: int


def _plans(
    base_shape: tuple[int, ...], fol_shape: tuple[int, ...], priors: list[float], max_side: int
) -> list[_Plan]:
    """Each prior's working factors and level count; priors whose images would be too small to
    align are left out."""
    base_side, fol_side = max(base_shape[:2]), max(fol_shape[:2])
    plans = []
    for prior in priors:
        fb, ff = _factors(base_side, fol_side, prior, max_side)
        shortest = min(base_side * fb, fol_side * ff)
        if shortest >= _MIN_WORKING_SIDE:
            plans.append(_Plan(prior, fb, ff, _n_levels(shortest)))
    return plans


@dataclass(frozen=True)
class _Reduced:
    """The follow-up's green channel reduced once, to the largest working size any prior needs;
    the other working sizes start from this copy, so a 12 MP follow-up is read once, not once
    per prior."""

    green: U8
    to_small: F64
    factor: float

    @classmethod
    def of(cls, image: NDArray[np.uint8], factor: float) -> _Reduced:
        green, to_small = _green(image, factor)
        return cls(green, to_small, factor)

    def levels(self, factor: float, n_levels: int) -> list[_Level]:
        green, to_small = _reduce(self.green, factor / self.factor)
        return _pyramid(green, compose_affine(to_small, self.to_small), None, n_levels)


def _pair(
    baseline: NDArray[np.uint8],
    mask: NDArray[np.bool_] | None,
    follow_up: _Reduced,
    plan: _Plan,
    cache: dict[Any, Any] | None,
) -> _Pair | None:
    """Working pyramids for one prior (coarse → fine), or None when either image is flat."""
    pyr_b = _cached_levels(baseline, mask, plan.base_factor, plan.n_levels, cache)
    pyr_f = follow_up.levels(plan.fol_factor, plan.n_levels)[::-1]
    if not np.any(pyr_b[-1].image) or not np.any(pyr_f[-1].image):
        return None  # a flat image: nothing to align on
    return _Pair(plan.prior, pyr_b, pyr_f)


def _ranked(
    pairs: list[_Pair], base_shape: tuple[int, ...], fol_shape: tuple[int, ...]
) -> list[tuple[_Pair, F64]]:
    """Each prior's rough-search pose, the clearest peak first (~10 ms each on the coarsest
    level, far less than aligning from the wrong prior)."""
    found = []
    for pair in pairs:
        pose, z = _search_pose(pair.base[0], pair.fol[0], base_shape, fol_shape, pair.prior)
        found.append((z, pair, pose))
    found.sort(key=lambda f: -f[0])
    return [(pair, pose) for _z, pair, pose in found]


def _starts(
    ranked: list[tuple[_Pair, F64]], base_shape: tuple[int, ...], fol_shape: tuple[int, ...]
) -> Iterator[tuple[str, _Pair, F64 | None]]:
    """Rough poses to align from, cheapest and most likely first; computed only when reached.

    The search is cheap and works on bare skin; features (costly at the working size) and the
    plain centred start are for when no search result convinces, e.g. a large rotation, or a
    symmetric outline that the coarse levels cannot tell apart.
    """
    for pair, pose in ranked:
        yield "search+ecc", pair, pose
    for pair, _pose in ranked:
        yield "features+ecc", pair, _feature_pose(pair.base[-1], pair.fol[-1])
    for pair, _pose in ranked:
        yield "ecc", pair, _about_centres(base_shape, fol_shape, 0.0, pair.prior)


def _register(
    baseline: NDArray[np.uint8],
    follow_up: NDArray[np.uint8],
    baseline_mask: NDArray[np.bool_] | None,
    max_side: int,
    cache: dict[Any, Any] | None,
    initial: F64 | None,
    scales: Sequence[float] | None,
) -> Registration:
    if baseline.size == 0 or follow_up.size == 0:
        return _failed()
    plans = _plans(
        baseline.shape, follow_up.shape, _priors(baseline.shape, follow_up.shape, initial, scales), max_side
    )
    if not plans:
        return _failed()
    reduced = _Reduced.of(follow_up, max(plan.fol_factor for plan in plans))
    pairs = [
        p for p in (_pair(baseline, baseline_mask, reduced, plan, cache) for plan in plans) if p is not None
    ]
    if not pairs:
        return _failed()

    best: tuple[float, float, str, F64] | None = None

    def attempt(method: str, pair: _Pair, start: F64 | None) -> bool:
        """Align from ``start``, keep it if it is the best so far; whether that is convincing."""
        nonlocal best
        aligned = _align(pair.base, pair.fol, start) if start is not None else None
        if aligned is not None and (best is None or aligned[1] > best[0]):
            best = (aligned[1], aligned[2], method, aligned[0])
        return best is not None and best[0] >= _CONFIDENT

    confident = False
    if initial is not None and pairs[0].prior == similarity_params(initial)[0]:  # its own pair
        confident = attempt("initial+ecc", pairs[0], initial)
    if not confident:
        for method, pair, start in _starts(
            _ranked(pairs, baseline.shape, follow_up.shape), baseline.shape, follow_up.shape
        ):
            if attempt(method, pair, start):
                break
    if best is None or best[0] <= 0.0:
        return _failed()  # no start converged, or nothing correlates: no estimate worth keeping
    score, overlap, method, pose = best
    ok = score >= OK_SCORE and overlap >= MIN_OVERLAP
    return Registration(matrix=pose, score=score, method=method, ok=ok)
