"""Capture quality per photo (design §3.6): the numbers, and one score from 0 to 1 with the
reasons that lowered it.

The score decides whether a point enters a trend. It is a product of penalties, each tied
to a reason a person can act on ("too blurry: hold the phone steady"), so the upload page
can ask for a retake instead of silently keeping a bad point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.masks import BoolMask

F32 = NDArray[np.float32]

# Points below this score are shown but not used in trends (issue 4 reads it from here).
TREND_THRESHOLD = 0.5
BLUR_SHARP = 2.0e-3  # variance of the Laplacian of ln(G) at 10 px/mm: crisp skin texture
BLUR_UNUSABLE = 2.0e-4


@dataclass
class QualityCheck:
    """The quality being worked out: the measured numbers, then `assess` lowers the score
    with a reason for each problem. `result()` freezes it into the stored Quality."""

    px_per_mm: float | None = None
    px_per_mm_source: str | None = None
    blur: float | None = None
    clipped_pct: float = 0.0
    glare_pct: float = 0.0
    shadow_pct: float = 0.0
    exposure: float | None = None  # median linear green of the treated zone
    calibration_method: str = "none"
    calibration_residual_de00: float | None = None
    registration_score: float | None = None
    pose_rotation_deg: float | None = None
    pose_scale: float | None = None
    # From the face (issue 9): which share of each region is clear skin, what makes a zone
    # wrong (each makes the photo unusable), pose and light against the first photo.
    skin_share: dict[str, float] | None = None
    zone_problems: list[str] = field(default_factory=list)
    zone_notes: list[str] = field(default_factory=list)
    face_yaw_deg: float | None = None
    face_roll_deg: float | None = None
    yaw_change_deg: float | None = None
    lighting_asymmetry: float | None = None
    lighting_change: float | None = None
    camera: str | None = None
    camera_changed_from: str | None = None
    # The sensor noise the texture metrics were corrected for (σ of ln G at the source) and
    # why a texture metric is empty, when one is.
    texture_noise: float | None = None
    texture_notes: list[str] = field(default_factory=list)
    score: float = 1.0
    reasons: list[str] = field(default_factory=list)

    def penalise(self, factor: float, reason: str) -> None:
        self.score *= factor
        self.reasons.append(reason)

    def result(self) -> Quality:
        """The stored form: numbers rounded as they are kept, and the trend verdict decided
        here, once, on the unrounded score (every reader uses `usable_for_trends`)."""
        return Quality(
            px_per_mm=_r(self.px_per_mm, 3),
            px_per_mm_source=self.px_per_mm_source,
            blur=_r(self.blur, 6),
            clipped_pct=round(float(self.clipped_pct), 2),
            glare_pct=round(float(self.glare_pct), 2),
            shadow_pct=round(float(self.shadow_pct), 2),
            exposure=_r(self.exposure, 4),
            calibration_method=self.calibration_method,
            calibration_residual_de00=_r(self.calibration_residual_de00, 2),
            registration_score=_r(self.registration_score, 3),
            pose_rotation_deg=_r(self.pose_rotation_deg, 2),
            pose_scale=_r(self.pose_scale, 3),
            skin_share=dict(self.skin_share) if self.skin_share is not None else None,
            zone_problems=tuple(self.zone_problems),
            zone_notes=tuple(self.zone_notes),
            face_yaw_deg=_r(self.face_yaw_deg, 1),
            face_roll_deg=_r(self.face_roll_deg, 1),
            yaw_change_deg=_r(self.yaw_change_deg, 1),
            lighting_asymmetry=_r(self.lighting_asymmetry, 3),
            lighting_change=_r(self.lighting_change, 3),
            camera=self.camera,
            camera_changed_from=self.camera_changed_from,
            texture_noise=_r(self.texture_noise, 4),
            texture_notes=tuple(self.texture_notes),
            score=round(float(self.score), 3),
            usable_for_trends=bool(self.score >= TREND_THRESHOLD),
            reasons=tuple(self.reasons),
        )


@dataclass(frozen=True)
class Quality:
    """A photo's capture quality as stored with its result (design §3.6), rounded as kept.

    `usable_for_trends` is the one verdict on whether the point enters a trend: decided when
    the photo is measured and read back, never recomputed from `score` by a reader."""

    score: float
    usable_for_trends: bool
    reasons: tuple[str, ...] = ()
    px_per_mm: float | None = None
    px_per_mm_source: str | None = None
    blur: float | None = None
    clipped_pct: float = 0.0
    glare_pct: float = 0.0
    shadow_pct: float = 0.0
    exposure: float | None = None
    calibration_method: str = "none"
    calibration_residual_de00: float | None = None
    registration_score: float | None = None
    pose_rotation_deg: float | None = None
    pose_scale: float | None = None
    skin_share: Mapping[str, float] | None = None
    zone_problems: tuple[str, ...] = ()
    zone_notes: tuple[str, ...] = ()
    face_yaw_deg: float | None = None
    face_roll_deg: float | None = None
    yaw_change_deg: float | None = None
    lighting_asymmetry: float | None = None
    lighting_change: float | None = None
    camera: str | None = None
    camera_changed_from: str | None = None
    texture_noise: float | None = None
    texture_notes: tuple[str, ...] = ()

    @property
    def ita_uncertain(self) -> bool:
        # ITA moves 20–40° with an estimated white balance: only a chart makes it certain.
        return self.calibration_method != "chart"

    def to_json(self) -> dict[str, Any]:
        """The stored JSON: these keys, in this order, are what rows and exports hold."""
        return {
            "px_per_mm": self.px_per_mm,
            "px_per_mm_source": self.px_per_mm_source,
            "blur": self.blur,
            "clipped_pct": self.clipped_pct,
            "glare_pct": self.glare_pct,
            "shadow_pct": self.shadow_pct,
            "exposure": self.exposure,
            "calibration_method": self.calibration_method,
            "calibration_residual_de00": self.calibration_residual_de00,
            "ita_uncertain": self.ita_uncertain,
            "registration_score": self.registration_score,
            "pose_rotation_deg": self.pose_rotation_deg,
            "pose_scale": self.pose_scale,
            "skin_share": dict(self.skin_share) if self.skin_share is not None else None,
            "zone_problems": list(self.zone_problems),
            "zone_notes": list(self.zone_notes),
            "face_yaw_deg": self.face_yaw_deg,
            "face_roll_deg": self.face_roll_deg,
            "yaw_change_deg": self.yaw_change_deg,
            "lighting_asymmetry": self.lighting_asymmetry,
            "lighting_change": self.lighting_change,
            "camera": self.camera,
            "camera_changed_from": self.camera_changed_from,
            "texture_noise": self.texture_noise,
            "texture_notes": list(self.texture_notes),
            "score": self.score,
            "usable_for_trends": self.usable_for_trends,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Quality:
        """Read a stored quality. Keys a result of an older version lacks take their
        defaults; the verdict is the stored one."""
        skin_share = data.get("skin_share")
        return cls(
            score=float(data.get("score", 0.0)),
            usable_for_trends=bool(data.get("usable_for_trends", False)),
            reasons=tuple(data.get("reasons") or ()),
            px_per_mm=_f(data.get("px_per_mm")),
            px_per_mm_source=data.get("px_per_mm_source"),
            blur=_f(data.get("blur")),
            clipped_pct=float(data.get("clipped_pct") or 0.0),
            glare_pct=float(data.get("glare_pct") or 0.0),
            shadow_pct=float(data.get("shadow_pct") or 0.0),
            exposure=_f(data.get("exposure")),
            calibration_method=str(data.get("calibration_method", "none")),
            calibration_residual_de00=_f(data.get("calibration_residual_de00")),
            registration_score=_f(data.get("registration_score")),
            pose_rotation_deg=_f(data.get("pose_rotation_deg")),
            pose_scale=_f(data.get("pose_scale")),
            skin_share={str(k): float(v) for k, v in skin_share.items()} if skin_share is not None else None,
            zone_problems=tuple(data.get("zone_problems") or ()),
            zone_notes=tuple(data.get("zone_notes") or ()),
            face_yaw_deg=_f(data.get("face_yaw_deg")),
            face_roll_deg=_f(data.get("face_roll_deg")),
            yaw_change_deg=_f(data.get("yaw_change_deg")),
            lighting_asymmetry=_f(data.get("lighting_asymmetry")),
            lighting_change=_f(data.get("lighting_change")),
            camera=data.get("camera"),
            camera_changed_from=data.get("camera_changed_from"),
            texture_noise=_f(data.get("texture_noise")),
            texture_notes=tuple(data.get("texture_notes") or ()),
        )


def sharpness(log_green_canonical: F32, mask: BoolMask) -> float | None:
    """Variance of the Laplacian inside the zone, at the canonical pitch so that a higher
    resolution does not look sharper."""
    if mask.sum() < 100:
        return None
    lap = cv2.Laplacian(log_green_canonical, cv2.CV_32F, ksize=1)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return float(np.var(lap[inner])) if inner.any() else None


# Light and pose (issue 9): side light made the two cheeks of one face differ by up to 22
# redness steps, so uneven light, or light from another side than on the first photo, is a
# reason. ln units of the cheeks' luminance ratio: 0.35 ≈ one cheek 30 % darker.
MAX_LIGHT_ASYMMETRY = 0.35
MAX_LIGHT_CHANGE = 0.2
MAX_YAW_CHANGE_DEG = 12.0
ZONE_PROBLEM_PENALTY = 0.3  # below TREND_THRESHOLD on its own: the zone is not the skin meant


def _face_reasons(q: QualityCheck) -> None:
    for problem in q.zone_problems:
        q.penalise(ZONE_PROBLEM_PENALTY, problem)
    if q.lighting_change is not None and abs(q.lighting_change) > MAX_LIGHT_CHANGE:
        q.penalise(
            0.6, "the light falls from another side than on the first photo: face the same window or lamp"
        )
    elif q.lighting_asymmetry is not None and abs(q.lighting_asymmetry) > MAX_LIGHT_ASYMMETRY:
        darker = "right" if q.lighting_asymmetry > 0 else "left"
        q.penalise(0.7, f"uneven light: the {darker} side of the face is in shade; face the light")
    if q.yaw_change_deg is not None and abs(q.yaw_change_deg) > MAX_YAW_CHANGE_DEG:
        q.penalise(0.7, "the head is turned differently from the first photo: face the camera the same way")
    if q.camera_changed_from:
        q.penalise(0.9, "taken with a different camera than the first photo: colours may differ slightly")


def assess(q: QualityCheck, *, zone_pixels: int, zone_valid_pixels: int, has_reference: bool) -> QualityCheck:
    """Turn the measured numbers into a score and reasons."""
    _face_reasons(q)
    if q.blur is not None:
        if q.blur < BLUR_UNUSABLE:
            q.penalise(0.2, "very blurry: hold the phone steady and tap to focus on the skin")
        elif q.blur < BLUR_SHARP:
            q.penalise(
                0.5 + 0.5 * (q.blur - BLUR_UNUSABLE) / (BLUR_SHARP - BLUR_UNUSABLE),
                "slightly blurry: hold the phone steady and tap to focus",
            )
    if q.clipped_pct > 1.0:
        q.penalise(max(0.3, 1 - q.clipped_pct / 20), "over- or under-exposed areas: avoid direct sun")
    if q.glare_pct > 3.0:
        q.penalise(max(0.3, 1 - q.glare_pct / 30), "shine/glare on the skin: use soft light, not a flash")
    if q.shadow_pct > 10.0:
        q.penalise(max(0.4, 1 - q.shadow_pct / 60), "part of the area is in shadow: face the light")
    if q.exposure is not None and q.exposure < 0.02:
        q.penalise(0.6, "too dark: take the photo in a brighter room")
    if zone_pixels and zone_valid_pixels < 0.5 * zone_pixels:
        q.penalise(0.5, "less than half of the area could be measured")
    if q.calibration_method == "shades_of_grey":
        q.penalise(0.9, "no colour chart or white card in the photo: colours are estimated")
    elif q.calibration_method == "none":
        q.penalise(0.8, "colour balance could not be estimated")
    if q.px_per_mm is None:
        q.penalise(0.8, "scale unknown: texture cannot be measured (include the chart or a ruler)")
    if not has_reference:
        why = next((n for n in q.zone_notes if "untreated" in n), None)
        q.penalise(
            0.8,
            f"no untreated reference skin ({why}): redness is not lighting-corrected"
            if why
            else "no untreated reference skin: redness is not lighting-corrected",
        )
    if q.registration_score is not None and q.registration_score < 0.5:
        q.penalise(0.5, "could not line up with the first photo: match its framing")
    if q.pose_scale is not None and abs(np.log(q.pose_scale)) > np.log(1.25):
        q.penalise(0.7, "distance differs a lot from the first photo: match its framing")
    if q.pose_rotation_deg is not None and abs(q.pose_rotation_deg) > 20:
        q.penalise(0.8, "angle differs a lot from the first photo")
    return q


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _f(value: Any) -> float | None:
    return None if value is None else float(value)
