"""The measurement pipeline for one photo: calibrate → zone → register → measure → QC.

Speed shapes the structure: whole-frame work (skin mask, chart search, colour balance,
registration) runs on a copy of at most ANALYSIS_SIDE pixels, and full-resolution work
(colour and texture metrics) only on the crop around the zones. So a 12 MP photo costs
about as much as decoding it, and the decode done by ingest is reused, never repeated.

Everything here is a pure function of arrays and plain data; it knows no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging import calibration as calib
from tracker.imaging.colour import WHITE_POINT, srgb_to_linear
from tracker.imaging.masks import (
    clipped_mask,
    glare_mask,
    hair_mask,
    polygon_mask,
    shadow_mask,
    skin_mask,
)
from tracker.imaging.quality import Quality, assess, sharpness
from tracker.imaging.redness import colour_metrics
from tracker.imaging.registration import (
    Registration,
    compose_affine,
    invert_affine,
    register,
    similarity_params,
    transform_polygon,
)
from tracker.imaging.texture import METRIC_KEYS as TEXTURE_KEYS
from tracker.imaging.texture import canonical_pitch, measure_texture
from tracker.imaging.version import METRIC_VERSION
from tracker.imaging.zones import Zones, bounding_box, propose

ANALYSIS_SIDE = 1024
SKIN_MASK_SIDE = 384  # the skin boundary needs no more resolution than this
REGISTRATION_SIDE = 1024  # registration accuracy (~0.2 px on the demo set) needs this much
COLOUR_KEYS = (
    "ei",
    "delta_ei",
    "a_star",
    "delta_a_star",
    "hb_index",
    "mel_index",
    "red_area_pct",
    "ita_deg",
    "delta_l_star",
    "spot_area_pct",
)
# The JSON keys of the metrics: part of the product's interface (issue 3).
METRIC_KEYS = COLOUR_KEYS + TEXTURE_KEYS


@dataclass(frozen=True)
class Baseline:
    """What a follow-up photo needs from its series: the baseline image (any size, e.g. its
    display copy) with the zones drawn on it, plus facts fixed once for the series."""

    rgb: NDArray[np.uint8]
    zones: Zones  # in pixels of the full-resolution baseline
    full_size: tuple[int, int]  # (width, height) of the full-resolution baseline
    px_per_mm: float | None = None
    glcm_limits: tuple[float, float] | None = None
    # Work derived from `rgb` alone (its reduced copy, its registration pyramid), kept so
    # that the follow-ups of a series analysed with the same Baseline prepare it once.
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Options:
    patch_pitch_mm: float = 5.0  # of the colour chart in use
    max_chart_residual_de00: float = 3.0


@dataclass
class Analysis:
    metric_version: str
    metrics: dict[str, float | None]
    quality: dict[str, Any]
    zones: dict[str, Any]
    calibration: dict[str, Any]
    registration: dict[str, Any] | None
    white_point: str = WHITE_POINT
    # Facts the series may adopt (from the baseline, or a chart seen in a follow-up).
    glcm_limits: tuple[float, float] | None = None
    baseline_px_per_mm: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric_version": self.metric_version,
            "metrics": self.metrics,
            "quality": self.quality,
            "zones": self.zones,
            "calibration": self.calibration,
            "registration": self.registration,
            "white_point": self.white_point,
        }


class NoZones(Exception):
    """No zone was given and none could be proposed (no skin found)."""


def analyze(
    rgb: NDArray[np.uint8],
    *,
    zones: Zones | None = None,
    baseline: Baseline | None = None,
    px_per_mm: float | None = None,
    options: Options | None = None,
) -> Analysis:
    """Measure one upright sRGB photo.

    Zones: `zones` (drawn on this photo) win; else the baseline's zones carried over by
    registration; else a proposal. px/mm: `px_per_mm` wins; else a chart in frame; else the
    series' px/mm carried over by registration; else unknown, and texture stays null.
    """
    opts = options or Options()
    height, width = rgb.shape[:2]
    small, factor = _downscale(rgb, ANALYSIS_SIDE)
    small_linear = srgb_to_linear(small)
    skin_small = skin_mask(small_linear, max_side=SKIN_MASK_SIDE)
    cal = calib.calibrate(
        small,
        small_linear,
        skin_mask=skin_small,
        patch_pitch_mm=opts.patch_pitch_mm,
        max_residual_de00=opts.max_chart_residual_de00,
    )
    chart_px_per_mm = cal.px_per_mm / factor if cal.px_per_mm else None

    reg: Registration | None = None
    if zones is None and baseline is not None:
        reg = _register_to_baseline(baseline, small, factor, (width, height))
        to_photo = invert_affine(reg.matrix)
        zones = Zones(
            treated=_carry(baseline.zones.treated, to_photo),
            reference=_carry(baseline.zones.reference, to_photo) if baseline.zones.reference else None,
            source="series",
        )
    if zones is None:
        zones = propose(small, skin_small, 1.0 / factor)
        if zones is None:
            raise NoZones("no skin was found in the photo and no zone was given")

    quality = Quality(calibration_method=cal.method, calibration_residual_de00=cal.residual_de00)
    scale_from_baseline: float | None = None
    if reg is not None:
        scale, rotation, _shear = similarity_params(reg.matrix)
        quality.registration_score = reg.score
        quality.pose_rotation_deg = rotation
        quality.pose_scale = _distance_scale(scale, baseline, (width, height))
        scale_from_baseline = scale if reg.ok else None

    resolved_px_per_mm, source = _resolve_scale(px_per_mm, chart_px_per_mm, baseline, scale_from_baseline)
    quality.px_per_mm, quality.px_per_mm_source = resolved_px_per_mm, source

    # Full-resolution work on the crop around the zones only.
    polygons = [zones.treated] + ([zones.reference] if zones.reference else [])
    x0, y0, x1, y1 = bounding_box(polygons, width, height, margin=4)
    if x1 - x0 < 4 or y1 - y0 < 4:
        raise NoZones("the zones lie outside the photo")
    crop_rgb = rgb[y0:y1, x0:x1]
    # Zone statistics need no more than ~20–40 px/mm (texture is measured at 10 px/mm, fine
    # texture needs a source of 20): a 60 px/mm phone close-up is reduced first.
    cs = _crop_scale(resolved_px_per_mm, (y1 - y0) * (x1 - x0))
    work_px_per_mm = resolved_px_per_mm * cs if resolved_px_per_mm else None
    crop_linear = calib.apply(cal, _linear_reduced(crop_rgb, cs))
    crop_shape = crop_linear.shape[:2]
    clipped = _clipped_reduced(crop_rgb, cs)

    def to_crop(polygon: list[list[float]]) -> list[list[float]]:
        return [[(x - x0 + 0.5) * cs - 0.5, (y - y0 + 0.5) * cs - 0.5] for x, y in polygon]

    treated = polygon_mask(to_crop(zones.treated), crop_shape)
    reference = polygon_mask(to_crop(zones.reference), crop_shape) if zones.reference else None
    skin = _crop_mask(skin_small, factor, (x0, y0, x1, y1), cs, crop_shape)
    region = treated | (reference if reference is not None else False)

    glare = glare_mask(crop_linear, treated & ~clipped)
    if reference is not None:
        glare |= glare_mask(crop_linear, reference & ~clipped)
    shadow = shadow_mask(crop_linear, region & ~clipped)
    hair = hair_mask(crop_linear, region, work_px_per_mm)
    bad = clipped | glare | shadow | hair

    # A zone drawn by a person is trusted to be skin even where the mask disagrees (e.g. a
    # very red after-photo); automatic zones are limited to detected skin, unless the mask
    # hardly overlaps them (then the mask, not the zone, is what failed).
    def usable(zone: NDArray[np.bool_]) -> NDArray[np.bool_]:
        if zones.source in ("manual", "series") or skin[zone].mean() < 0.3:
            return zone & ~bad
        return zone & ~bad & skin

    treated_valid = usable(treated)
    reference_valid = usable(reference) if reference is not None else None

    metrics, treated_stats, _ = colour_metrics(crop_linear, treated_valid, reference_valid, work_px_per_mm)

    texture_metrics: dict[str, float | None] = dict.fromkeys(TEXTURE_KEYS)
    glcm_limits = baseline.glcm_limits if baseline else None
    if work_px_per_mm:
        tex = measure_texture(
            crop_linear,
            treated,
            work_px_per_mm,
            exclude=bad,
            glcm_limits=glcm_limits,
        )
        texture_metrics = dict(tex.metrics)
        glcm_limits = tex.glcm_limits
        quality.blur = _blur_at_canonical(crop_linear, treated & ~bad, work_px_per_mm)

    metrics.update(texture_metrics)
    zone_pixels = int(treated.sum())
    quality.clipped_pct = 100.0 * float((clipped & region).sum()) / max(1, int(region.sum()))
    quality.glare_pct = 100.0 * float((glare & region).sum()) / max(1, int(region.sum()))
    quality.shadow_pct = 100.0 * float((shadow & region).sum()) / max(1, int(region.sum()))
    quality.exposure = (
        float(np.median(crop_linear[..., 1][treated_valid])) if treated_stats.pixels >= 50 else None
    )
    assess(
        quality,
        zone_pixels=zone_pixels,
        zone_valid_pixels=int(treated_valid.sum()),
        has_reference=reference_valid is not None and metrics["delta_ei"] is not None,
    )

    baseline_px_per_mm = None
    if chart_px_per_mm and scale_from_baseline:
        # A length of L px here is L·scale px in the baseline: its px/mm follows.
        baseline_px_per_mm = chart_px_per_mm * scale_from_baseline
    elif chart_px_per_mm and baseline is None:
        baseline_px_per_mm = chart_px_per_mm

    # The calibration ran on the small copy: express its geometry in full-resolution pixels.
    calibration_json = cal.to_json()
    calibration_json["px_per_mm"] = chart_px_per_mm
    if calibration_json.get("chart_corners"):
        calibration_json["chart_corners"] = [
            [x / factor, y / factor] for x, y in calibration_json["chart_corners"]
        ]
    return Analysis(
        metric_version=METRIC_VERSION,
        metrics={k: _round(metrics.get(k)) for k in METRIC_KEYS},
        quality=quality.to_json(),
        zones=zones.to_json(),
        calibration=calibration_json,
        registration=reg.to_json() if reg else None,
        glcm_limits=glcm_limits,
        baseline_px_per_mm=baseline_px_per_mm,
        extra={
            "pitch_px_per_mm": canonical_pitch(resolved_px_per_mm)[0] if resolved_px_per_mm else None,
            "crop": [x0, y0, x1, y1],
        },
    )


def register_photo(
    baseline: Baseline,
    rgb: NDArray[np.uint8],
    *,
    initial: NDArray[np.float64] | None = None,
    scale_hint: float | None = None,
) -> Registration:
    """Register a whole follow-up photo to its series baseline exactly as `analyze` does (its
    analysis copy against the baseline's display copy), without measuring anything: for callers
    that need only the pose, such as the validation. The matrix maps follow-up full-resolution
    px to baseline full-resolution px; `initial` and `scale_hint` as in `_register_to_baseline`."""
    small, factor = _downscale(rgb, ANALYSIS_SIDE)
    size = (rgb.shape[1], rgb.shape[0])
    return _register_to_baseline(baseline, small, factor, size, initial=initial, scale_hint=scale_hint)


def _register_to_baseline(
    baseline: Baseline,
    small: NDArray[np.uint8],
    factor: float,
    full_size: tuple[int, int],
    *,
    initial: NDArray[np.float64] | None = None,
    scale_hint: float | None = None,
) -> Registration:
    """Register this photo's analysis copy (`small`, `factor` × its `full_size`) to the
    baseline's display copy and express the matrix in full-resolution pixels of both.

    The photos may come from different cameras (a new phone, the browser camera against a
    gallery photo), so no common reduction is assumed: `register` brings the two copies to one
    pixel size itself, for each likely scale in turn. Those are `scale_hint` (baseline full px
    per follow-up full px, e.g. the ratio of the two photos' iris px/mm), then equal
    full-resolution pixel sizes (one camera at one distance); alike framing is always tried.
    `initial` (2×3, follow-up full px → baseline full px, e.g. a similarity fitted to face
    landmarks of both photos) is the first pose tried and refined; a wrong one costs time, not
    accuracy (a non-finite or singular one is ignored). When registration fails, `initial` is
    kept if given; otherwise the photos are assumed framed alike (centres and longer sides
    matching), and the low score lowers the quality instead."""
    bw, bh = baseline.full_size
    to_display = _display_map(baseline)
    to_small = _analysis_map(factor)
    display_per_small = math.sqrt(abs(np.linalg.det(to_display[:, :2]))) / factor
    scales = [s * display_per_small for s in (scale_hint, 1.0) if s is not None and s > 0]
    given_initial = None
    if initial is not None and np.all(np.isfinite(initial)) and abs(np.linalg.det(initial[:, :2])) > 1e-9:
        given_initial = compose_affine(to_display, compose_affine(initial, invert_affine(to_small)))
    # No skin mask: the registration score is calibrated on whole frames (with the mask the
    # outline of the skin, its strongest structure, drops out and correct poses score low).
    reg = register(
        baseline.rgb,
        small,
        max_side=REGISTRATION_SIDE,
        baseline_cache=baseline.cache,
        initial=given_initial,
        scales=scales,
    )
    if not reg.ok:
        guess = (
            _framed_alike((bw, bh), full_size) if given_initial is None else np.asarray(initial, np.float64)
        )
        return Registration(matrix=guess, score=reg.score, method=reg.method, ok=False)
    m = compose_affine(invert_affine(to_display), compose_affine(reg.matrix, to_small))
    return Registration(matrix=m, score=reg.score, method=reg.method, ok=reg.ok)


def _display_map(baseline: Baseline) -> NDArray[np.float64]:
    """Baseline full-resolution px → display-copy px (a resize of the whole frame, pixel
    centres aligned, as PIL's thumbnail and cv2.resize make it)."""
    (w, h), (dh, dw) = baseline.full_size, baseline.rgb.shape[:2]
    ax, ay = dw / w, dh / h
    return np.array([[ax, 0.0, 0.5 * ax - 0.5], [0.0, ay, 0.5 * ay - 0.5]])


def _analysis_map(factor: float) -> NDArray[np.float64]:
    """Full-resolution px → px of the copy `_downscale` made: a whole-factor area reduction of
    the top-left whole blocks, so small pixel i is the mean of full pixels k·i … k·i + k − 1."""
    return np.array([[factor, 0.0, 0.5 * factor - 0.5], [0.0, factor, 0.5 * factor - 0.5]])


def _framed_alike(base_size: tuple[int, int], size: tuple[int, int]) -> NDArray[np.float64]:
    """Follow-up full px → baseline full px if both show the same view: centres and longer
    sides matching (a photo of another resolution taken with the framing guide)."""
    s = max(base_size) / max(size)
    (bw, bh), (w, h) = base_size, size
    return np.array([[s, 0.0, (bw - 1) / 2 - s * (w - 1) / 2], [0.0, s, (bh - 1) / 2 - s * (h - 1) / 2]])


def _distance_scale(scale: float, baseline: Baseline | None, size: tuple[int, int]) -> float:
    """The change of camera distance the quality check is about, as far as pixels can tell: the
    matrix's scale relative to the nearer of equal pixel sizes (1: one camera) and alike framing
    (the ratio of the longer sides: another camera with the framing guide). A half-resolution
    follow-up of the same view has a scale of 2 but was taken from the same distance."""
    if baseline is None:
        return scale
    framing = max(baseline.full_size) / max(size)
    return min((scale, scale / framing), key=lambda s: abs(math.log(s)))


def _resolve_scale(
    given: float | None,
    chart: float | None,
    baseline: Baseline | None,
    scale_from_baseline: float | None,
) -> tuple[float | None, str | None]:
    if given:
        return given, "given"
    if chart:
        return chart, "chart"
    if baseline is not None and baseline.px_per_mm and scale_from_baseline:
        # A baseline length of L px is L/scale px here.
        return baseline.px_per_mm / scale_from_baseline, "series"
    return None, None


def _blur_at_canonical(
    linear: NDArray[np.float32], mask: NDArray[np.bool_], px_per_mm: float
) -> float | None:
    pitch, _ = canonical_pitch(px_per_mm)
    f = pitch / px_per_mm
    if f >= 1.0:
        return None
    size = (max(1, round(linear.shape[1] * f)), max(1, round(linear.shape[0] * f)))
    green = cv2.resize(np.log(linear[..., 1] + 1e-3), size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return sharpness(green.astype(np.float32), small_mask)


def _downscale(rgb: NDArray[np.uint8], max_side: int) -> tuple[NDArray[np.uint8], float]:
    """A copy at most `max_side` long, reduced by a whole factor: OpenCV's area
    interpolation has a fast path for integer factors (7 ms instead of 18 ms at 12 MP)."""
    h, w = rgb.shape[:2]
    k = int(np.ceil(max(h, w) / max_side))
    if k <= 1:
        return rgb, 1.0
    size = (max(1, w // k), max(1, h // k))
    small = np.asarray(cv2.resize(rgb[: size[1] * k, : size[0] * k], size, interpolation=cv2.INTER_AREA))
    return small, 1.0 / k


def _crop_mask(
    mask_small: NDArray[np.bool_],
    factor: float,
    box: tuple[int, int, int, int],
    crop_scale: float,
    shape: tuple[int, ...],
) -> NDArray[np.bool_]:
    """The small-image mask resampled onto the (possibly reduced) crop."""
    x0, y0, _, _ = box
    k = factor / crop_scale  # crop px → small px
    matrix = np.array([[k, 0, x0 * factor], [0, k, y0 * factor]], dtype=np.float64)
    out = cv2.warpAffine(
        mask_small.astype(np.uint8) * 255,
        matrix,
        (shape[1], shape[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
    )
    return np.asarray(out >= 128)


FINE_TEXTURE_PX_PER_MM = 20.0  # fine texture needs a source of at least this much
MAX_CROP_PIXELS = 1_500_000  # when the scale is unknown


def _crop_scale(px_per_mm: float | None, pixels: int) -> float:
    """1/k for a whole k, so the reduction takes OpenCV's fast path and the reduced crop
    still has ≥ 20 px/mm whenever the photo had."""
    if px_per_mm:
        k = max(1, int(px_per_mm // FINE_TEXTURE_PX_PER_MM))
    else:
        k = max(1, int(np.ceil(np.sqrt(pixels / MAX_CROP_PIXELS))))
    return 1.0 / k


def _linear_reduced(rgb: NDArray[np.uint8], scale: float) -> NDArray[np.float32]:
    """Linear light of `rgb`, area-reduced by the whole factor 1/`scale`.

    Averaging must happen in linear light, but a float32 copy of a large full-resolution
    crop is ~40 bytes a pixel of memory traffic: the linear values go through 16-bit
    integers instead (resolution 1/65535, far below one sRGB step), which OpenCV also
    reduces on its fast path. An automatic zone can cover all the skin in a 12 MP frame."""
    if scale >= 1.0:
        return srgb_to_linear(rgb)
    linear16 = cv2.LUT(rgb, _LINEAR16_LUT)
    reduced = _resize_area(linear16, round(1.0 / scale))
    return np.asarray(reduced, dtype=np.float32) * np.float32(1.0 / 65535.0)


def _clipped_reduced(rgb: NDArray[np.uint8], scale: float) -> NDArray[np.bool_]:
    """Reduced pixels more than a quarter of which had a channel at the sensor's limits
    (the same test as `clipped_mask`, done with integer OpenCV calls)."""
    if scale >= 1.0:
        return clipped_mask(rgb)
    inside = cv2.inRange(rgb, (2, 2, 2), (253, 253, 253))  # 255 where no channel is clipped
    clipped = cv2.bitwise_not(inside)
    # share > 1/4 ⇔ reduced value > 63.75; > 64 keeps an exact quarter out, as before
    return np.asarray(_resize_area(clipped, round(1.0 / scale)) > 64)


def _resize_area(image: NDArray[Any], k: int) -> NDArray[Any]:
    h, w = image.shape[:2]
    size = (max(1, w // k), max(1, h // k))
    return np.asarray(cv2.resize(image[: size[1] * k, : size[0] * k], size, interpolation=cv2.INTER_AREA))


_LINEAR16_LUT = np.round(srgb_to_linear(np.arange(256, dtype=np.uint8)) * 65535.0).astype(np.uint16)


def _carry(polygon: list[list[float]], matrix: NDArray[np.float64]) -> list[list[float]]:
    return [[float(x), float(y)] for x, y in transform_polygon(matrix, polygon)]


def _round(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 4)
