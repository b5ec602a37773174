"""The measurement pipeline for one photo: calibrate → zone → register → measure → QC.

Speed shapes the structure: whole-frame work (skin mask, chart search, colour balance,
registration) runs on a copy of at most ANALYSIS_SIDE pixels, and full-resolution work
(colour and texture metrics) only on the crop around the zones. So a 12 MP photo costs
about as much as decoding it, and the decode done by ingest is reused, never repeated.

Everything here is a pure function of arrays and plain data; it knows no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.domain import DEFAULT_TREATED_REGIONS, Concern, FaceRegion
from tracker.imaging import calibration as calib
from tracker.imaging import hands, landmarks
from tracker.imaging.colour import WHITE_POINT, srgb_to_linear
from tracker.imaging.face_regions import (
    MIN_SKIN_SHARE,
    FaceRegions,
    NoFaceZones,
    RegionChoice,
    choose_zones,
    face_regions,
    lighting_asymmetry,
    verify_skin,
)
from tracker.imaging.masks import (
    clipped_mask,
    glare_mask,
    hair_mask,
    polygon_mask,
    shadow_mask,
    skin_mask,
)
from tracker.imaging.quality import Quality, QualityCheck, assess, sharpness
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
from tracker.imaging.zones import LANDMARKS, MIN_ZONE_PIXELS, Zones, bounding_box, detect_face, propose

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
    # From the baseline's own analysis: what later photos are compared with for quality.
    face_yaw_deg: float | None = None
    lighting_asymmetry: float | None = None
    camera: str | None = None
    # Work derived from `rgb` alone (its reduced copy, its registration pyramid), kept so
    # that the follow-ups of a series analysed with the same Baseline prepare it once.
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Options:
    patch_pitch_mm: float = 5.0  # of the colour chart in use
    max_chart_residual_de00: float = 3.0
    # A face turned further than this is a profile view: its zones are foreshortened and
    # shaded, so the photo is refused with the reason rather than measured.
    max_face_yaw_deg: float = 45.0
    use_landmarks: bool = True


@dataclass(frozen=True, eq=False)  # arrays inside (matrices): compare to_json() instead
class Measurement:
    """What is stored of one photo's analysis: everything needed to recompute or audit its
    numbers. `to_json` gives the row's JSON (its keys are part of the export and the CLI's
    output); `from_json` reads a row back."""

    metric_version: str
    metrics: Mapping[str, float | None]
    quality: Quality
    zones: Zones
    calibration: calib.Calibration
    registration: Registration | None
    white_point: str = WHITE_POINT

    def to_json(self) -> dict[str, Any]:
        return {
            "metric_version": self.metric_version,
            "metrics": dict(self.metrics),
            "quality": self.quality.to_json(),
            "zones": self.zones.to_json(),
            "calibration": self.calibration.to_json(),
            "registration": self.registration.to_json() if self.registration is not None else None,
            "white_point": self.white_point,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Measurement:
        registration = data.get("registration")
        return cls(
            metric_version=str(data["metric_version"]),
            metrics={str(k): None if v is None else float(v) for k, v in (data.get("metrics") or {}).items()},
            quality=Quality.from_json(data.get("quality") or {}),
            zones=Zones.from_json(data["zones"]),
            calibration=calib.Calibration.from_json(data.get("calibration") or {}),
            registration=Registration.from_json(registration) if registration else None,
            white_point=str(data.get("white_point") or WHITE_POINT),
        )


@dataclass(frozen=True, eq=False)
class Analysis(Measurement):
    """A fresh measurement, with the facts its series may adopt (from the baseline, or a
    chart seen in a follow-up) and diagnostics that are not stored."""

    glcm_limits: tuple[float, float] | None = None
    baseline_px_per_mm: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class NoZones(Exception):
    """No zone was given and none could be proposed (no skin found)."""


def analyze(
    rgb: NDArray[np.uint8],
    *,
    zones: Zones | None = None,
    baseline: Baseline | None = None,
    px_per_mm: float | None = None,
    options: Options | None = None,
    regions: RegionChoice | None = None,
    camera: str | None = None,
) -> Analysis:
    """Measure one upright sRGB photo.

    Zones: `zones` (drawn on this photo) win; else, on a face, the course's `regions` found
    from this photo's own landmarks (so a turned head or another expression keeps the same
    skin), unless the series' zones were drawn by hand; else the baseline's zones carried
    over by registration; else all the skin of a close-up. px/mm: `px_per_mm` wins; else a
    chart in frame; else the iris; else the series' px/mm carried over by registration;
    else unknown, and texture stays null. `camera` (EXIF make, model, software) is compared
    with the baseline's.
    """
    opts = options or Options()
    height, width = rgb.shape[:2]
    small, factor = _downscale(rgb, ANALYSIS_SIDE)
    small_linear = srgb_to_linear(small)
    # The chart search and the face's landmarks are independent and both release the GIL:
    # on two cores they overlap (~25 ms of a 12 MP face photo's ~190 ms).
    with ThreadPoolExecutor(max_workers=1) as pool:
        chart_search = pool.submit(calib.find_chart, small, small_linear)
        # A series whose first photo shows no face (a close-up) is a series of close-ups:
        # its follow-ups skip the landmark step.
        look = opts.use_landmarks and landmarks.available()
        look = look and (baseline is None or _baseline_face(baseline) is not None)
        face = _find_face(rgb, small, factor) if look else None
        found = _face_skin(face, small_linear)
        if found is not None:
            # A hand in front of the face passes the skin check: its own model finds it.
            found = replace(found, covered=hands.covered(hands.find_hands(small), found.regions.shape))
        skin_small = found.skin if found is not None else skin_mask(small_linear, max_side=SKIN_MASK_SIDE)
        chart = chart_search.result()
    cal = calib.calibrate(
        small,
        small_linear,
        skin_mask=skin_small,
        patch_pitch_mm=opts.patch_pitch_mm,
        max_residual_de00=opts.max_chart_residual_de00,
        chart=chart,
    )
    chart_px_per_mm = cal.px_per_mm / factor if cal.px_per_mm else None

    zone_problems: list[str] = []
    zone_notes: list[str] = []
    skin_share: dict[str, float] = {}
    reg: Registration | None = None
    own_landmarks = zones is None and (baseline is None or baseline.zones.source == LANDMARKS)
    if own_landmarks and face is not None and found is not None:
        if abs(face.yaw_deg) > opts.max_face_yaw_deg:
            raise NoZones(
                f"The face is turned about {abs(face.yaw_deg):.0f}° to the side; the zones cannot be "
                "measured on a profile view. Take the photo facing the camera."
            )
        choice = regions or RegionChoice(treated=DEFAULT_TREATED_REGIONS[Concern.OTHER])
        try:
            chosen = choose_zones(
                found.regions, found.skin, choice, MIN_ZONE_PIXELS * factor * factor, covered=found.covered
            )
        except NoFaceZones as exc:
            raise NoZones(str(exc)) from None
        to_full = _small_to_full(factor)
        zones = Zones(
            treated=to_full(chosen.treated[0]),
            reference=to_full(chosen.reference[0]) if chosen.reference else None,
            source=LANDMARKS,
            treated_more=tuple(to_full(p) for p in chosen.treated[1:]),
            reference_more=tuple(to_full(p) for p in chosen.reference[1:]),
            treated_regions=tuple(r.value for r in chosen.treated_regions),
            reference_regions=tuple(r.value for r in chosen.reference_regions),
        )
        zone_problems, zone_notes = list(chosen.problems), list(chosen.notes)
        if baseline is not None:
            # A region measured on the first photo but not on this one: the zone would not be
            # the same skin, so the point cannot join the trend.
            lost = [r for r in baseline.zones.treated_regions if r not in zones.treated_regions]
            if lost:
                names = " and ".join(_region_label(r) for r in lost)
                zone_problems.append(
                    f"the {names} measured on the first photo is not visible: face the camera"
                )
        skin_share = {r.value: round(v, 3) for r, v in chosen.skin_share.items()}
        if baseline is not None:
            # The zones need no registration, but the comparison views and the pose check
            # do: the two faces' landmarks give it (about 1.5 px), without an image search.
            pose, _hint = _landmark_pose(baseline, face, factor)
            reg = (
                Registration(matrix=pose, score=1.0, method="landmarks", ok=True)
                if pose is not None
                else _register_to_baseline(baseline, small, factor, (width, height))
            )
    if zones is None and baseline is not None:
        # On faces, both photos' landmarks give the starting pose and their irises the
        # scale between the two cameras.
        initial, scale_hint = _landmark_pose(baseline, face, factor)
        reg = _register_to_baseline(
            baseline, small, factor, (width, height), initial=initial, scale_hint=scale_hint
        )
        to_photo = invert_affine(reg.matrix)
        zones = baseline.zones.mapped(lambda polygon: _carry(polygon, to_photo), source="series")
    if zones is None:
        if face is None and not landmarks.available() and detect_face(small) is not None:
            raise NoZones(
                "Automatic zones on a face need the face-landmark model, which is not installed on "
                "this server; a practitioner can draw the zones by hand."
            )
        zones = propose(small, skin_small, 1.0 / factor)
        if zones is None:
            raise NoZones("no skin was found in the photo and no zone was given")

    quality = QualityCheck(calibration_method=cal.method, calibration_residual_de00=cal.residual_de00)
    scale_from_baseline: float | None = None
    if reg is not None:
        scale, rotation, _shear = similarity_params(reg.matrix)
        quality.registration_score = reg.score if reg.method != "landmarks" else None
        quality.pose_rotation_deg = rotation
        quality.pose_scale = _distance_scale(scale, baseline, (width, height))
        scale_from_baseline = scale if reg.ok else None

    # The iris is judged (size, equality, turn) in the photo's own pixels.
    iris_px_per_mm = face.moved((-0.5, -0.5), 1.0 / factor).px_per_mm if face is not None else None
    resolved_px_per_mm, source = _resolve_scale(
        px_per_mm, chart_px_per_mm, iris_px_per_mm, baseline, scale_from_baseline
    )
    quality.px_per_mm, quality.px_per_mm_source = resolved_px_per_mm, source
    if face is not None and found is not None:
        _face_quality(quality, face, found, small_linear, baseline)
        if not skin_share:
            zone_problems += _drawn_zone_skin(zones, found, factor, (height, width))
    quality.skin_share = skin_share or None
    quality.zone_problems, quality.zone_notes = zone_problems, zone_notes
    quality.camera = camera
    if camera and baseline is not None and baseline.camera and camera != baseline.camera:
        quality.camera_changed_from = baseline.camera

    # Full-resolution work on the crop around the zones only.
    polygons = zones.all_polygons()
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

    treated = _union_mask([to_crop(p) for p in zones.treated_polygons()], crop_shape)
    reference = (
        _union_mask([to_crop(p) for p in zones.reference_polygons()], crop_shape) if zones.reference else None
    )
    skin = _crop_mask(skin_small, factor, (x0, y0, x1, y1), cs, crop_shape)
    region = treated | (reference if reference is not None else False)

    glare = glare_mask(crop_linear, treated & ~clipped, clipped)
    if reference is not None:
        glare |= glare_mask(crop_linear, reference & ~clipped, clipped)
    # Per zone, like glare: one median over a dim cheek and a bright forehead made a third of
    # the cheek "shadow" under side light.
    shadow = shadow_mask(crop_linear, treated & ~clipped) & treated
    if reference is not None:
        shadow |= shadow_mask(crop_linear, reference & ~clipped) & reference
    hair = hair_mask(crop_linear, region, work_px_per_mm)
    bad = clipped | glare | shadow | hair

    # A zone drawn by a person is trusted to be skin even where the mask disagrees (e.g. a
    # very red after-photo); automatic zones are limited to detected skin, unless the mask
    # hardly overlaps them (then the mask, not the zone, is what failed).
    def usable(zone: NDArray[np.bool_]) -> NDArray[np.bool_]:
        if zones.source == LANDMARKS:
            return zone & ~bad & skin
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
        quality.texture_noise = tex.noise_sigma
        quality.texture_notes = list(tex.notes)
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
    corners = cal.chart_corners
    full_calibration = replace(
        cal,
        px_per_mm=chart_px_per_mm,
        chart_corners=[[x / factor, y / factor] for x, y in corners] if corners else corners,
    )
    return Analysis(
        metric_version=METRIC_VERSION,
        metrics={k: _round(metrics.get(k)) for k in METRIC_KEYS},
        quality=quality.result(),
        zones=zones,
        calibration=full_calibration,
        registration=reg,
        glcm_limits=glcm_limits,
        baseline_px_per_mm=baseline_px_per_mm,
        extra={
            "pitch_px_per_mm": canonical_pitch(resolved_px_per_mm)[0] if resolved_px_per_mm else None,
            "crop": [x0, y0, x1, y1],
        },
    )


@dataclass(frozen=True)
class _FaceSkin:
    regions: FaceRegions
    skin: NDArray[np.bool_]
    covered: NDArray[np.bool_] | None = None  # by a hand


def _find_face(rgb: NDArray[np.uint8], small: NDArray[np.uint8], factor: float) -> landmarks.Face | None:
    """The face's landmarks in pixels of the small copy. When the small copy shows the irises
    under 40 px but the photo has more, the face is found again on a full-resolution crop
    around it, so the iris scale is measured on the pixels the camera gave."""
    face = landmarks.find_face(small)
    if face is None or factor >= 1.0 or min(face.iris_diameters_px) >= 2 * landmarks.MIN_IRIS_PX:
        return face
    lo, hi = face.points.min(axis=0), face.points.max(axis=0)
    pad = 0.3 * (hi - lo)
    h, w = rgb.shape[:2]
    x0, y0 = (np.maximum(lo - pad, 0) / factor).astype(int)
    x1, y1 = np.minimum((hi + pad) / factor, [w, h]).astype(int)
    k = max(1, int(np.ceil(max(x1 - x0, y1 - y0) / ANALYSIS_SIDE)))
    crop = rgb[y0:y1, x0:x1]
    if k > 1:
        size = (max(1, (x1 - x0) // k), max(1, (y1 - y0) // k))
        crop = np.asarray(cv2.resize(crop[: size[1] * k, : size[0] * k], size, interpolation=cv2.INTER_AREA))
    fine = landmarks.find_face(np.ascontiguousarray(crop))
    if fine is None:
        return face
    # Reduced-crop px c → full px c·k + (k-1)/2 + x0 (the centre of the k×k block it
    # averages) → small-copy px (full + 0.5)·factor - 0.5.
    half = (k - 1) / (2 * k)
    full = fine.moved((-half, -half), k).moved((-x0, -y0))
    return full.moved((-0.5, -0.5), factor).moved((0.5, 0.5))


# Points that move with the skull, not with the expression (eye corners, nose bridge,
# forehead, the face's sides): a smile or an open mouth must not shift the initial pose.
STABLE_POINTS = (33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 10, 151, 9, 234, 454, 127, 356, 50, 280)


def _baseline_face(baseline: Baseline) -> landmarks.Face | None:
    """The baseline's landmarks in its full-resolution pixels, found once per prepared
    Baseline on its display copy."""
    if "face" not in baseline.cache:
        display = np.ascontiguousarray(baseline.rgb)
        small, factor = _downscale(display, ANALYSIS_SIDE)
        # Found as a follow-up's face is (the same steps), so equal photos give equal points.
        face = _find_face(display, small, factor) if landmarks.available() else None
        if face is not None:
            display_per_full = baseline.rgb.shape[1] / baseline.full_size[0]
            # small px → display px → full px, each at pixel centres
            face = face.moved((-0.5, -0.5), 1.0 / factor).moved((0.5, 0.5))
            face = face.moved((-0.5, -0.5), 1.0 / display_per_full).moved((0.5, 0.5))
        baseline.cache["face"] = face
    found: landmarks.Face | None = baseline.cache["face"]
    return found


def _landmark_pose(
    baseline: Baseline, face: landmarks.Face | None, factor: float
) -> tuple[NDArray[np.float64] | None, float | None]:
    """(initial pose, scale hint) for registering this photo to its baseline from both
    faces' landmarks: a similarity from this photo's full-resolution px to the baseline's,
    fitted to points that do not move with the expression, and the ratio of their iris
    scales. (None, None) when either photo has no face."""
    base_face = _baseline_face(baseline)
    if face is None or base_face is None:
        return None, None
    here = face.moved((-0.5, -0.5), 1.0 / factor).moved((0.5, 0.5))
    src = here.points[list(STABLE_POINTS)].astype(np.float32)
    dst = base_face.points[list(STABLE_POINTS)].astype(np.float32)
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    hint = None
    if here.px_per_mm and base_face.px_per_mm:
        hint = base_face.px_per_mm / here.px_per_mm
    return (np.asarray(matrix, dtype=np.float64) if matrix is not None else None), hint


def _region_label(name: str) -> str:
    try:
        return FaceRegion(name).label.lower()
    except ValueError:  # stored by another version
        return name.replace("_", " ")


def _face_skin(face: landmarks.Face | None, small_linear: NDArray[np.float32]) -> _FaceSkin | None:
    if face is None:
        return None
    regions = face_regions(face, small_linear.shape[:2])
    verified = verify_skin(small_linear, regions)
    if verified.model is None:
        return None
    return _FaceSkin(regions=regions, skin=verified.skin)


def _face_quality(
    quality: QualityCheck,
    face: landmarks.Face,
    found: _FaceSkin,
    small_linear: NDArray[np.float32],
    baseline: Baseline | None,
) -> None:
    """Pose and light from the face, each compared with the first photo when there is one."""
    quality.face_yaw_deg = face.yaw_deg
    quality.face_roll_deg = face.roll_deg
    quality.lighting_asymmetry = lighting_asymmetry(small_linear, found.regions, found.skin)
    if baseline is not None and baseline.face_yaw_deg is not None:
        quality.yaw_change_deg = face.yaw_deg - baseline.face_yaw_deg
    if (
        baseline is not None
        and baseline.lighting_asymmetry is not None
        and quality.lighting_asymmetry is not None
    ):
        quality.lighting_change = quality.lighting_asymmetry - baseline.lighting_asymmetry


def _drawn_zone_skin(zones: Zones, found: _FaceSkin, factor: float, shape: tuple[int, int]) -> list[str]:
    """A zone drawn by hand (or carried from the first photo) is trusted to be skin, but
    when the head has turned or hair has fallen across it the verified skin says so."""
    problems = []
    allowed = found.regions.face | found.regions.regions[FaceRegion.NECK]
    small_shape = found.skin.shape
    to_small = _full_to_small(factor)
    for name, polygons in (
        ("treated zone", zones.treated_polygons()),
        ("reference zone", zones.reference_polygons()),
    ):
        if not polygons:
            continue
        mask = _union_mask([to_small(p) for p in polygons], small_shape)
        on_face = mask & allowed
        if on_face.sum() < 0.5 * mask.sum() or on_face.sum() < 20:
            continue  # mostly outside the face: the face's skin model says nothing about it
        share = float((found.skin & on_face).sum()) / float(on_face.sum())
        if share < MIN_SKIN_SHARE:
            problems.append(
                f"the {name} is not clear skin ({100 * share:.0f} % is; hair, a beard, glasses, "
                "a hand or shadow covers the rest)"
            )
    return problems


def _small_to_full(factor: float) -> Any:
    def convert(polygon: list[list[float]]) -> list[list[float]]:
        return [[(x + 0.5) / factor - 0.5, (y + 0.5) / factor - 0.5] for x, y in polygon]

    return convert


def _full_to_small(factor: float) -> Any:
    def convert(polygon: list[list[float]]) -> list[list[float]]:
        return [[(x + 0.5) * factor - 0.5, (y + 0.5) * factor - 0.5] for x, y in polygon]

    return convert


def _union_mask(polygons: list[list[list[float]]], shape: tuple[int, ...]) -> NDArray[np.bool_]:
    mask = np.zeros(shape[:2], bool)
    for polygon in polygons:
        mask |= polygon_mask(polygon, (shape[0], shape[1]))
    return mask


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
    iris: float | None,
    baseline: Baseline | None,
    scale_from_baseline: float | None,
) -> tuple[float | None, str | None]:
    """A length measured by a person, then a chart (±1 %), then the iris (about ±5 %: iris
    size varies between adults), then the series' scale carried by registration."""
    if given:
        return given, "given"
    if chart:
        return chart, "chart"
    if iris:
        return iris, "iris"
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
