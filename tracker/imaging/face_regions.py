"""Named regions of a face from its landmarks, and the skin that is really visible in them.

Why landmarks: a fixed rectangle inside a detector's face box covered lips, teeth or beard
on 41 % of real faces (issue 9). The face mesh follows the face itself, so each region is
a polygon through mesh points that keeps away from the lips, eyes, brows and nostrils, and
the same skin is found again on every later photo however the head is turned.

Why a per-photo skin model: landmarks say where the cheek is, not whether it is visible. A
fringe, a beard, a cap, glasses or a hand may cover part of it. The photo's own skin colour
(robust statistics over all regions, so one covered region cannot move it) decides which
pixels are skin; the rule is relative to this face, so it works alike for every skin tone,
and it is one-sided where treatment moves the colour (a red after-photo stays skin).

Coordinates: mesh indices follow MediaPipe's face mesh. "Left" and "right" are the
client's own: the client's left cheek is on the right of a frontal photo, around the
left iris (mesh points 473–477).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.domain import REFERENCE_PREFERENCE, FaceRegion
from tracker.imaging.landmarks import LEFT_IRIS, RIGHT_IRIS, Face

BoolMask = NDArray[np.bool_]
F32 = NDArray[np.float32]

# Outlines through mesh points, on the client's right side of the face; the left side is
# the mirror image (MIRROR below). Checked by drawing them on real faces of every tone.
_RIGHT_CHEEK = (117, 118, 119, 120, 100, 36, 206, 216, 192, 187, 123, 116)
_RIGHT_JAW = (192, 214, 212, 202, 210, 211, 170, 149, 150, 136, 172, 138)
_FOREHEAD = (54, 103, 67, 109, 10, 338, 297, 332, 284, 300, 293, 334, 296, 336, 9, 107, 66, 105, 63, 70)
_NOSE = (168, 122, 196, 3, 51, 45, 44, 1, 274, 275, 281, 248, 419, 351)
_CHIN = (194, 182, 83, 18, 313, 406, 418, 262, 369, 400, 377, 152, 148, 176, 140, 32)
_PERIORAL = (2, 167, 165, 92, 186, 57, 43, 106, 182, 83, 18, 313, 406, 335, 273, 287, 410, 322, 391, 393)
_FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
# What no zone may touch, with a margin: their colour is not skin's.
_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
_RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
_LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
_RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
_LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
_NOSTRILS = (64, 98, 240, 75, 60, 99, 97, 2, 326, 327, 294, 455, 460, 305, 290, 328, 20, 79, 309, 250)

MIRROR = {
    117: 346, 118: 347, 119: 348, 120: 349, 100: 329, 36: 266, 206: 426, 216: 436, 192: 416,
    187: 411, 123: 352, 116: 345, 214: 434, 212: 432, 202: 422, 210: 430, 211: 431, 170: 395,
    149: 378, 150: 379, 136: 365, 172: 397, 138: 367,
}  # fmt: skip

# Margins, as fractions of the distance between the eyes' centres (about 63 mm): ~4 mm
# from lips, eyes and brows, whose edges the mesh places within a millimetre or two.
MARGIN_FEATURE = 0.06
MARGIN_NOSTRIL = 0.04
MARGIN_OUTLINE = 0.05  # in from the face's outline (ears, hairline, jaw shadow)
NECK_DEPTH = 0.45  # how far below the jaw the neck region reaches
MIN_VISIBLE_SHARE = 0.45  # of a side region's area against its mirror: below, it is turned away


@dataclass(frozen=True)
class FaceRegions:
    """Each region's pixels (before skin verification) on a grid of `shape`, the face's
    outline, and the pixels no region may use."""

    shape: tuple[int, int]
    regions: dict[FaceRegion, BoolMask]
    face: BoolMask
    excluded: BoolMask
    eye_distance_px: float
    # Below the line through the nostrils' outer edges: where a beard grows.
    lower_face: BoolMask | None = None


def _fill(points: NDArray[np.float64], shape: tuple[int, int]) -> BoolMask:
    mask = np.zeros(shape, np.uint8)
    pts = np.round(points * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(mask, [pts], 1, cv2.LINE_8, shift=4)
    return mask.astype(bool)


def _hull(points: NDArray[np.float64], shape: tuple[int, int]) -> BoolMask:
    mask = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points * 16).astype(np.int32).reshape(-1, 1, 2))
    cv2.fillConvexPoly(mask, hull, 1, cv2.LINE_8, shift=4)
    return mask.astype(bool)


def _grow(mask: BoolMask, radius: float) -> BoolMask:
    r = max(1, round(radius))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return np.asarray(cv2.dilate(mask.astype(np.uint8), kernel), dtype=bool)


def _shrink(mask: BoolMask, radius: float) -> BoolMask:
    r = max(1, round(radius))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return np.asarray(cv2.erode(mask.astype(np.uint8), kernel), dtype=bool)


def _mirrored(indices: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(MIRROR[i] for i in indices)


def eye_distance(face: Face) -> float:
    return float(np.hypot(*(face.points[RIGHT_IRIS[0]] - face.points[LEFT_IRIS[0]])))


def face_regions(face: Face, shape: tuple[int, int]) -> FaceRegions:
    """The regions of `face` (landmarks in pixels of an image of `shape` (h, w)). The work
    is done on the face's box (a face may fill a tenth of the frame) and pasted back."""
    iod = max(1.0, eye_distance(face))
    reach = (NECK_DEPTH + MARGIN_FEATURE + 0.1) * iod
    lo = np.maximum(np.floor(face.points.min(axis=0) - reach), 0).astype(int)
    hi = np.minimum(np.ceil(face.points.max(axis=0) + reach), [shape[1], shape[0]]).astype(int)
    if (hi <= lo).any():
        empty = np.zeros(shape, bool)
        return FaceRegions(shape, dict.fromkeys(FaceRegion, empty), empty, empty, iod, empty)
    box = (slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    local = _regions_in_box(face.points - lo, (int(hi[1] - lo[1]), int(hi[0] - lo[0])), iod)

    def paste(mask: BoolMask) -> BoolMask:
        full = np.zeros(shape, bool)
        full[box] = mask
        return full

    regions = {name: paste(mask) for name, mask in local[0].items()}
    lower = paste(_below_nostrils(face.points - lo, local[1].shape))
    return FaceRegions(shape, regions, paste(local[1]), paste(local[2]), iod, lower)


def _regions_in_box(
    p: NDArray[np.float64], shape: tuple[int, int], iod: float
) -> tuple[dict[FaceRegion, BoolMask], BoolMask, BoolMask]:
    def poly(indices: tuple[int, ...]) -> BoolMask:
        return _fill(p[list(indices)], shape)

    outline = poly(_FACE_OVAL)
    face_mask = _shrink(outline, MARGIN_OUTLINE * iod)
    excluded = _grow(_hull(p[list(_LIPS)], shape), MARGIN_FEATURE * iod)
    for group in (_RIGHT_EYE, _LEFT_EYE, _RIGHT_BROW, _LEFT_BROW):
        excluded |= _grow(_hull(p[list(group)], shape), MARGIN_FEATURE * iod)
    for side in (_NOSTRILS[:10], _NOSTRILS[10:]):
        excluded |= _grow(_hull(p[list(side)], shape), MARGIN_NOSTRIL * iod)

    raw = {
        FaceRegion.FOREHEAD: poly(_FOREHEAD),
        FaceRegion.NOSE: poly(_NOSE),
        FaceRegion.RIGHT_CHEEK: poly(_RIGHT_CHEEK),
        FaceRegion.LEFT_CHEEK: poly(_mirrored(_RIGHT_CHEEK)),
        FaceRegion.PERIORAL: poly(_PERIORAL),
        FaceRegion.CHIN: poly(_CHIN),
        FaceRegion.JAWLINE: poly(_RIGHT_JAW) | poly(_mirrored(_RIGHT_JAW)),
    }
    regions = {name: mask & face_mask & ~excluded for name, mask in raw.items()}
    # The nose is its own region: keep it out of the cheeks and the area around the mouth.
    for name in (FaceRegion.RIGHT_CHEEK, FaceRegion.LEFT_CHEEK, FaceRegion.PERIORAL):
        regions[name] &= ~raw[FaceRegion.NOSE]
    regions[FaceRegion.CHIN] &= ~raw[FaceRegion.PERIORAL]
    for name in (FaceRegion.CHIN, FaceRegion.RIGHT_CHEEK, FaceRegion.LEFT_CHEEK):
        regions[FaceRegion.JAWLINE] &= ~raw[name]
    regions[FaceRegion.NECK] = _neck(p, shape, iod) & ~outline
    _drop_turned_away(regions)
    return regions, face_mask, excluded


def _below_nostrils(p: NDArray[np.float64], shape: tuple[int, ...]) -> BoolMask:
    """Pixels below the line through the nostrils' outer edges (mesh 98 and 327), along the
    face's own vertical."""
    eyes = p[LEFT_IRIS[0]] - p[RIGHT_IRIS[0]]
    down = np.array([-eyes[1], eyes[0]]) / max(1e-6, float(np.hypot(*eyes)))
    level = float(np.dot((p[98] + p[327]) / 2, down))
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.asarray(xx * down[0] + yy * down[1] > level)


def _neck(p: NDArray[np.float64], shape: tuple[int, int], iod: float) -> BoolMask:
    """The band below the jaw: the jaw line from ear to ear moved down (along the face's
    own vertical, so a tilted head keeps its neck). Only skin verification decides whether
    any of it is visible (collars, scarves, beards)."""
    jaw = p[[136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365]]
    eyes = p[LEFT_IRIS[0]] - p[RIGHT_IRIS[0]]
    down = np.array([-eyes[1], eyes[0]]) / max(1e-6, float(np.hypot(*eyes)))
    inner = jaw[2:-2] + down * 0.1 * iod
    lower = (jaw[2:-2] + down * NECK_DEPTH * iod)[::-1]
    return _fill(np.concatenate([inner, lower]), shape)


def _drop_turned_away(regions: dict[FaceRegion, BoolMask]) -> None:
    """A cheek seen edge-on (the head turned) is foreshortened and shaded: not a region."""
    right, left = int(regions[FaceRegion.RIGHT_CHEEK].sum()), int(regions[FaceRegion.LEFT_CHEEK].sum())
    if right < MIN_VISIBLE_SHARE * left:
        regions[FaceRegion.RIGHT_CHEEK] = np.zeros_like(regions[FaceRegion.RIGHT_CHEEK])
    elif left < MIN_VISIBLE_SHARE * right:
        regions[FaceRegion.LEFT_CHEEK] = np.zeros_like(regions[FaceRegion.LEFT_CHEEK])


# The skin model ------------------------------------------------------------------------------

# Floors of the robust spreads: a very even face has a tiny MAD, and pores, freckles and
# shading must not fall outside it.
_CHROMA_FLOOR = 0.05  # ln units of R/G and G/B
_LIGHT_FLOOR = 0.25  # ln units of luminance
_CHROMA_K = 3.5
_LIGHT_K = 4.0
# Treatment makes skin redder (after-photos, PIH): that direction is never "not skin" up to
# this far (ln R/G); lips are excluded by landmarks, so little else this red is in a face.
_REDDER_ALLOWED = 0.9
_TEXTURE_K = 4.0
_TEXTURE_FLOOR = 0.06
_EPS = 1e-4


@dataclass(frozen=True)
class SkinModel:
    """The face's own skin colour and texture: medians and robust spreads."""

    centre: tuple[float, float, float, float]  # ln R/G, ln G/B, ln Y, local texture
    spread: tuple[float, float, float, float]


def _features(linear: F32, eye_distance_px: float) -> NDArray[np.float32]:
    r, g, b = (linear[..., i] + _EPS for i in range(3))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    ln_y = np.log(luminance).astype(np.float32)
    # Local texture at ~1.5 % of the eye distance (about 1 mm): hair and stubble are strands
    # of high contrast at that scale, skin is smooth.
    sigma = max(0.7, 0.015 * eye_distance_px)
    mean = cv2.GaussianBlur(ln_y, (0, 0), sigma)
    sq = cv2.GaussianBlur(ln_y * ln_y, (0, 0), sigma)
    texture = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    return np.stack([np.log(r / g), np.log(g / b), ln_y, texture], axis=-1).astype(np.float32)


def _robust(values: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    centre = np.median(values, axis=0).astype(np.float64)
    spread = 1.4826 * np.median(np.abs(values - centre), axis=0).astype(np.float64)
    return centre, spread


def fit_skin_model(features: NDArray[np.float32], seed: BoolMask) -> SkinModel | None:
    """Medians and spreads of the seed's skin, in two passes: the first pass's outliers
    (a fringe, a beard, a frame across the nose) are dropped before the second."""
    values = features[seed]
    if len(values) < 50:
        return None
    centre, spread = _robust(values)
    floors = np.array([_CHROMA_FLOOR, _CHROMA_FLOOR, _LIGHT_FLOOR, _TEXTURE_FLOOR / 2])
    spread = np.maximum(spread, floors)
    z = np.abs(values - centre) / spread
    keep = (z[:, 0] < 3) & (z[:, 1] < 3) & (z[:, 2] < 3)
    if keep.sum() >= 50:
        centre, spread = _robust(values[keep])
        spread = np.maximum(spread, floors)
    c, s = centre.tolist(), spread.tolist()
    return SkinModel(centre=(c[0], c[1], c[2], c[3]), spread=(s[0], s[1], s[2], s[3]))


def skin_pixels(features: NDArray[np.float32], model: SkinModel) -> BoolMask:
    """Pixels whose colour and texture belong to this face's skin."""
    c, s = model.centre, model.spread
    d_rg = (features[..., 0] - c[0]) / s[0]
    d_gb = (features[..., 1] - c[1]) / s[1]
    # Redder than this face's skin is allowed (treatment, PIH, flushing); less red is hair,
    # fabric, glasses or background. Blue–yellow moves both ways (tan, bruising).
    redder = (features[..., 0] - c[0]) / max(s[0], _REDDER_ALLOWED / _CHROMA_K)
    chroma_ok = (np.where(d_rg > 0, redder, d_rg) ** 2 + d_gb**2) < _CHROMA_K**2
    light_tolerance = max(_LIGHT_K * s[2], 2.0 * _LIGHT_FLOOR)
    # Dark spots (PIH, marks) are skin: they may be darker by more than shading alone.
    light_ok = (features[..., 2] > c[2] - 1.5 * light_tolerance) & (features[..., 2] < c[2] + light_tolerance)
    texture_ok = features[..., 3] < c[3] + max(_TEXTURE_K * s[3], _TEXTURE_FLOOR)
    return np.asarray(chroma_ok & light_ok & texture_ok)


_SEED_REGIONS = (
    FaceRegion.FOREHEAD,
    FaceRegion.NOSE,
    FaceRegion.RIGHT_CHEEK,
    FaceRegion.LEFT_CHEEK,
    FaceRegion.CHIN,
)


@dataclass(frozen=True)
class VerifiedSkin:
    skin: BoolMask  # verified skin pixels inside the face (and neck)
    model: SkinModel | None


def verify_skin(linear: F32, regions: FaceRegions) -> VerifiedSkin:
    """The face's verified skin on the regions' grid. `linear` is the photo in linear light
    at the same size as the regions. Only the face's box is examined (a face may fill a
    tenth of the frame)."""
    allowed = regions.face | regions.regions[FaceRegion.NECK]
    skin = np.zeros(regions.shape, bool)
    ys, xs = np.nonzero(allowed)
    if len(ys) == 0:
        return VerifiedSkin(skin=skin, model=None)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = (slice(y0, y1), slice(x0, x1))
    features = _features(np.ascontiguousarray(linear[box]), regions.eye_distance_px)
    # Seed from every region at once: a fringe may cover the forehead and a beard the chin,
    # but not all regions are covered at once, and the two-pass fit drops what is.
    seed = np.zeros(regions.shape, bool)
    for name in (
        FaceRegion.FOREHEAD,
        FaceRegion.NOSE,
        FaceRegion.RIGHT_CHEEK,
        FaceRegion.LEFT_CHEEK,
        FaceRegion.CHIN,
    ):
        seed |= regions.regions[name]
    # The model is fitted on well-exposed pixels; a clipped pixel of skin is still skin (the
    # exposure check, not this one, says its colour is unknown).
    lit = features[..., 2] > np.log(0.002)
    exposed = np.asarray(np.max(linear[box], axis=-1) < 0.97) & lit
    model = fit_skin_model(features, seed[box] & exposed)
    if model is None:
        return VerifiedSkin(skin=skin, model=None)
    found = (skin_pixels(features, model) | (~exposed & lit)) & allowed[box] & ~regions.excluded[box]
    # Remove specks (isolated pixels that happen to match) and close pores and freckles.
    skin[box] = _open_close(found, max(1, round(0.01 * regions.eye_distance_px)))
    if regions.lower_face is not None and _bearded(regions, skin):
        # Stubble on the lower cheeks is sparse: single pixels pass as skin although the
        # area is not clear skin. Where the chin and jaw show a beard, the face below the
        # nostrils is left out of every region.
        skin &= ~regions.lower_face
    return VerifiedSkin(skin=skin, model=model)


BEARD_SKIN_SHARE = 0.5  # of the chin and of the jawline: below both, they are bearded


def _bearded(regions: FaceRegions, skin: BoolMask) -> bool:
    shares = []
    for name in (FaceRegion.CHIN, FaceRegion.JAWLINE):
        mask = regions.regions[name]
        if mask.sum() < 20:
            return False
        shares.append(float(skin[mask].mean()))
    return max(shares) < BEARD_SKIN_SHARE


def _open_close(mask: BoolMask, radius: int) -> BoolMask:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, kernel)
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, kernel)
    return np.asarray(m, dtype=bool)


# Choosing the zones ---------------------------------------------------------------------------

MIN_SKIN_SHARE = 0.6  # of a region that must be clear skin for its numbers to enter trends
MAX_PARTS_PER_REGION = 3
MIN_PIECE_SHARE = 0.2
# A hand has the skin's colour, so the skin check alone keeps a finger in the zone: what the
# hand model says a hand covers (with a margin) is left out of every zone. Beyond this share
# of a treated region the zone is no longer the same skin as on other photos (a phone call
# covered a third of one cheek; a hand under the chin, 9 % of the cheek above it).
MAX_COVERED_SHARE = 0.15


@dataclass(frozen=True)
class RegionChoice:
    """What the course treats, and the practitioner's choice of reference (None: the first
    untreated visible region in REFERENCE_PREFERENCE)."""

    treated: tuple[FaceRegion, ...]
    reference: tuple[FaceRegion, ...] | None = None


@dataclass(frozen=True)
class ChosenZones:
    """Zones on the regions' grid as polygons, with what a person should know about them."""

    treated: list[list[list[float]]]
    reference: list[list[list[float]]]
    treated_regions: tuple[FaceRegion, ...]
    reference_regions: tuple[FaceRegion, ...]
    skin_share: dict[FaceRegion, float]
    problems: list[str]  # each makes the photo unusable for trends
    notes: list[str]  # worth saying, not a fault of the photo


class NoFaceZones(Exception):
    """None of the treated regions is visible (the message says which were looked for)."""


def _labels(regions: tuple[FaceRegion, ...] | list[FaceRegion]) -> str:
    names = [r.label.lower() for r in regions]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def choose_zones(
    regions: FaceRegions,
    skin: BoolMask,
    choice: RegionChoice,
    min_pixels: float,
    covered: BoolMask | None = None,
) -> ChosenZones:
    """The treated zone is the chosen regions' clear skin; the reference is untreated clear
    skin. A treated region that is mostly covered stays in the zone (so the zone means the
    same on every photo) but makes the photo unusable for trends, with the reason. `covered`
    is what a hand hides: left out of every zone, and a reason when it reaches a treated
    region."""
    share: dict[FaceRegion, float] = {}
    hidden: dict[FaceRegion, float] = {}
    if covered is not None:
        skin = skin & ~covered
    for name, mask in regions.regions.items():
        area = int(mask.sum())
        if area >= min_pixels:
            share[name] = float(skin[mask].sum()) / area
            hidden[name] = float(covered[mask].sum()) / area if covered is not None else 0.0
    treated = tuple(r for r in choice.treated if r in share)
    too_small = [r for r in choice.treated if 0 < int(regions.regions[r].sum()) < min_pixels]
    if not treated and too_small:
        raise NoFaceZones(
            f"The face is too small in this photo to measure the {_labels(too_small)}: "
            "come closer, so that the face fills most of the frame."
        )
    if not treated:
        raise NoFaceZones(
            f"The treated area ({_labels(choice.treated)}) is not visible in this photo: "
            "take it facing the camera, with that area in view."
        )
    problems = [
        f"a hand is in front of the {r.label.lower()}: take the photo with the hands away from the face"
        if hidden[r] > MAX_COVERED_SHARE
        else f"the {r.label.lower()} is not clear skin ({100 * share[r]:.0f} % is; hair, a beard, glasses, "
        "a hand or shadow covers the rest)"
        for r in treated
        if hidden[r] > MAX_COVERED_SHARE or share[r] < MIN_SKIN_SHARE
    ]
    notes: list[str] = [
        f"a hand is close to the {r.label.lower()}: the skin it may hide is left out"
        for r in treated
        if 0.0 < hidden[r] <= MAX_COVERED_SHARE
    ]
    missing = [r for r in choice.treated if r not in share]
    if missing:
        notes.append(f"not visible in this photo: {_labels(missing)}")

    def clear(r: FaceRegion) -> bool:
        return share.get(r, 0.0) >= MIN_SKIN_SHARE and hidden.get(r, 0.0) <= MAX_COVERED_SHARE

    reference: tuple[FaceRegion, ...] = ()
    if choice.reference:
        reference = tuple(r for r in choice.reference if clear(r))
        if not reference:
            problems.append(
                f"the chosen reference skin ({_labels(choice.reference)}) is not clear in this photo"
            )
    else:
        untreated = [r for r in REFERENCE_PREFERENCE if r not in choice.treated]
        candidates = [r for r in untreated if clear(r)]
        if candidates:
            reference = (candidates[0],)
        elif not untreated:
            notes.append("every region of the face is treated: there is no untreated skin to compare with")
        else:
            notes.append("no untreated region is clear in this photo to compare with")

    def polygons(names: tuple[FaceRegion, ...]) -> list[list[list[float]]]:
        out: list[list[list[float]]] = []
        for name in names:
            out.extend(_outlines(regions.regions[name] & skin, min_pixels))
        return out

    treated_polygons = polygons(treated)
    if not treated_polygons:
        raise NoFaceZones(
            f"No clear skin was found on the treated area ({_labels(treated)}): "
            "uncover it (hair, glasses, hands) and take the photo again."
        )
    return ChosenZones(
        treated=treated_polygons,
        reference=polygons(reference),
        treated_regions=treated,
        reference_regions=reference if polygons(reference) else (),
        skin_share=share,
        problems=problems,
        notes=notes,
    )


def _outlines(mask: BoolMask, min_pixels: float) -> list[list[list[float]]]:
    """The mask's larger pieces as polygons along pixel edges (so a polygon rasterised back
    covers the same pixels), largest first."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pieces = sorted(contours, key=cv2.contourArea, reverse=True)[:MAX_PARTS_PER_REGION]
    out = []
    for contour in pieces:
        # Islands (a patch of skin between hair strands, at the edge of a highlight) are not
        # the region a person means: only pieces of a real share of the largest one count.
        if cv2.contourArea(contour) < max(min_pixels / 4, 16, MIN_PIECE_SHARE * cv2.contourArea(pieces[0])):
            continue
        approx = cv2.approxPolyDP(contour, 1.0, closed=True).reshape(-1, 2)
        if len(approx) >= 3:
            out.append([[float(x), float(y)] for x, y in approx])
    return out


def lighting_asymmetry(linear: F32, regions: FaceRegions, skin: BoolMask) -> float | None:
    """ln(client's left cheek ÷ right cheek) of the median skin luminance: 0 under even light.
    Side light makes the two cheeks of one face differ by many redness steps (issue 9), so a
    change of it against the first photo is a reason, not a detail."""
    values = []
    for name in (FaceRegion.LEFT_CHEEK, FaceRegion.RIGHT_CHEEK):
        mask = regions.regions[name] & skin
        if mask.sum() < 50:
            return None
        y = linear[..., 0][mask] * 0.2126 + linear[..., 1][mask] * 0.7152 + linear[..., 2][mask] * 0.0722
        values.append(float(np.median(y)))
    if min(values) <= 0:
        return None
    return float(np.log(values[0] / values[1]))
