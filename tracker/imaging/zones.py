"""Zones: the treated area and the untreated reference skin of a photo series.

Zones are drawn once on the series' baseline photo (by a practitioner, or proposed here)
and carried onto every later photo by registration, so that week 12 measures the same
skin as week 0. Coordinates are pixels of the upright image, as [[x, y], ...] polygons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker.imaging.masks import BoolMask, mask_to_polygon

Polygon = list[list[float]]


LANDMARKS = "landmarks"  # the source of zones found from a face's landmarks


@dataclass(frozen=True)
class Zones:
    """The treated and reference zones. Zones found from landmarks are one polygon per
    visible part of each named region (two cheeks are two polygons): `treated` and
    `reference` are the first, `*_more` the others, and `*_regions` name the regions."""

    treated: Polygon
    reference: Polygon | None
    source: str  # manual | series | landmarks | auto-skin
    treated_more: tuple[Polygon, ...] = ()
    reference_more: tuple[Polygon, ...] = ()
    treated_regions: tuple[str, ...] = ()
    reference_regions: tuple[str, ...] = ()

    def treated_polygons(self) -> list[Polygon]:
        return [self.treated, *self.treated_more]

    def reference_polygons(self) -> list[Polygon]:
        return [self.reference, *self.reference_more] if self.reference else []

    def all_polygons(self) -> list[Polygon]:
        return self.treated_polygons() + self.reference_polygons()

    def mapped(self, transform: Any, source: str | None = None) -> Zones:
        """The same zones with every point passed through `transform` ([[x, y]] → [[x, y]])."""
        return Zones(
            treated=transform(self.treated),
            reference=transform(self.reference) if self.reference else None,
            source=source or self.source,
            treated_more=tuple(transform(p) for p in self.treated_more),
            reference_more=tuple(transform(p) for p in self.reference_more),
            treated_regions=self.treated_regions,
            reference_regions=self.reference_regions,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "treated": _rounded(self.treated),
            "reference": _rounded(self.reference) if self.reference else None,
            "source": self.source,
        }
        if self.treated_more or self.reference_more:
            data["treated_more"] = [_rounded(p) for p in self.treated_more]
            data["reference_more"] = [_rounded(p) for p in self.reference_more]
        if self.treated_regions or self.reference_regions:
            data["treated_regions"] = list(self.treated_regions)
            data["reference_regions"] = list(self.reference_regions)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Zones:
        return cls(
            treated=_floats(data["treated"]),
            reference=_floats(data["reference"]) if data.get("reference") else None,
            source=str(data.get("source", "manual")),
            treated_more=tuple(_floats(p) for p in data.get("treated_more") or ()),
            reference_more=tuple(_floats(p) for p in data.get("reference_more") or ()),
            treated_regions=tuple(str(r) for r in data.get("treated_regions") or ()),
            reference_regions=tuple(str(r) for r in data.get("reference_regions") or ()),
        )


def _rounded(polygon: Polygon) -> Polygon:
    return [[round(x, 1), round(y, 1)] for x, y in polygon]


def _floats(polygon: Any) -> Polygon:
    return [[float(x), float(y)] for x, y in polygon]


def rect_polygon(x: float, y: float, w: float, h: float) -> Polygon:
    """The w×h pixels starting at pixel (x, y). Pixel centres sit at integer coordinates
    (OpenCV's convention, also the renderer's), so the outline runs along half-pixels."""
    return [[x - 0.5, y - 0.5], [x + w - 0.5, y - 0.5], [x + w - 0.5, y + h - 0.5], [x - 0.5, y + h - 0.5]]


def parse_rect(text: str) -> Polygon:
    """ "x,y,w,h" (CLI) → polygon; raises ValueError with the expected form."""
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError(f"expected x,y,w,h in pixels, got {text!r}")
    x, y, w, h = (float(p) for p in parts)
    if w <= 0 or h <= 0:
        raise ValueError(f"width and height must be positive in {text!r}")
    return rect_polygon(x, y, w, h)


def from_points(points: list[tuple[float, float]]) -> Polygon:
    """What a person clicked on the photo → a zone: two points are opposite corners of a
    rectangle (the quick way), three or more an outline in click order (a cheek is not a
    rectangle)."""
    if len(points) == 2:
        (ax, ay), (bx, by) = points
        x0, x1 = float(min(ax, bx)), float(max(ax, bx))
        y0, y1 = float(min(ay, by)), float(max(ay, by))
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    return [[float(x), float(y)] for x, y in points]


MAX_ZONE_POINTS = 64
MIN_ZONE_PIXELS = 32 * 32  # of the full-resolution photo
MIN_ZONE_MM2 = 9.0  # 3 × 3 mm: texture is measured in windows of about a millimetre
MAX_REFERENCE_OVERLAP = 0.05  # share of the reference zone that may lie in the treated one


def check_zones(zones: Zones, size: tuple[int, int], px_per_mm: float | None = None) -> None:
    """Refuse zones that cannot give a sound measurement, with a message saying which zone
    is wrong and how; return None when they are fine. `size` is (width, height) of the
    full-resolution photo they are drawn on."""
    width, height = size
    named = [("treated zone", zones.treated)]
    if zones.reference is not None:
        named.append(("reference zone", zones.reference))
    for name, polygon in named:
        _check_polygon(name, polygon, width, height, px_per_mm)
    if zones.reference is not None:
        shared = _overlap(zones.treated, zones.reference, width, height)
        if shared > MAX_REFERENCE_OVERLAP:
            raise ValueError(
                f"The reference zone overlaps the treated zone ({100 * shared:.0f} % of it). "
                "The reference must be untreated skin, away from the treated area."
            )


def _check_polygon(name: str, polygon: Polygon, width: int, height: int, px_per_mm: float | None) -> None:
    points = np.asarray(polygon, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3:
        raise ValueError(f"The {name} needs two corners or at least three points around it.")
    if len(points) > MAX_ZONE_POINTS:
        raise ValueError(f"The {name} has {len(points)} points; at most {MAX_ZONE_POINTS} are allowed.")
    if not np.isfinite(points).all():
        raise ValueError(f"The {name} has a point without valid coordinates.")
    (lo_x, lo_y), (hi_x, hi_y) = points.min(axis=0), points.max(axis=0)
    if lo_x < -1 or lo_y < -1 or hi_x > width or hi_y > height:
        raise ValueError(f"The {name} reaches outside the photo ({width} × {height} px).")
    if _crosses_itself(points):
        raise ValueError(f"The {name}'s outline crosses itself; click the points in order around the area.")
    x, y = points[:, 0], points[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    if area < MIN_ZONE_PIXELS:
        raise ValueError(f"The {name} is only {area:.0f} px; draw at least {MIN_ZONE_PIXELS} px (32 × 32).")
    if px_per_mm and area / px_per_mm**2 < MIN_ZONE_MM2:
        raise ValueError(
            f"The {name} covers only {area / px_per_mm**2:.1f} mm²; draw at least {MIN_ZONE_MM2:.0f} mm² "
            "(3 × 3 mm) of skin."
        )


def _crosses_itself(points: NDArray[np.float64]) -> bool:
    """Whether two edges of the closed outline that share no corner properly intersect."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]

    def side(a: NDArray[np.float64], b: NDArray[np.float64], c: NDArray[np.float64]) -> float:
        return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbours share a corner
            (p, q), (r, s) = edges[i], edges[j]
            if side(p, q, r) * side(p, q, s) < 0 and side(r, s, p) * side(r, s, q) < 0:
                return True
    return False


def _overlap(treated: Polygon, reference: Polygon, width: int, height: int) -> float:
    """Share of the reference zone inside the treated zone, on a raster of ≤ 1024 px."""
    k = min(1.0, 1024 / max(width, height))
    shape = (max(1, round(height * k)), max(1, round(width * k)))

    def raster(polygon: Polygon) -> NDArray[np.bool_]:
        mask = np.zeros(shape, np.uint8)
        pts = np.round((np.asarray(polygon, dtype=np.float64) + 0.5) * k * 16).astype(np.int32)
        cv2.fillPoly(mask, [pts.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=4)
        return mask.astype(bool)

    ref = raster(reference)
    return float((ref & raster(treated)).sum()) / max(1, int(ref.sum()))


def bounding_box(
    polygons: list[Polygon], width: int, height: int, margin: int = 0
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the polygons plus a margin, clipped to the image."""
    points = np.concatenate([np.asarray(p, dtype=np.float64) for p in polygons])
    x0 = max(0, int(np.floor(points[:, 0].min())) - margin)
    y0 = max(0, int(np.floor(points[:, 1].min())) - margin)
    x1 = min(width, int(np.ceil(points[:, 0].max())) + 1 + margin)
    y1 = min(height, int(np.ceil(points[:, 1].max())) + 1 + margin)
    return x0, y0, x1, y1


def shift_polygon(polygon: Polygon, dx: float, dy: float) -> Polygon:
    return [[x - dx, y - dy] for x, y in polygon]


def propose(rgb_small: NDArray[np.uint8], skin_small: BoolMask, scale: float) -> Zones | None:
    """Automatic zones for a photo without a face (a close-up of the treated area): all
    visible skin as the treated zone and no reference, so the paired metrics stay null
    rather than being computed against skin that may itself be treated. Faces get their
    zones from landmarks (tracker.imaging.face_regions). `scale` converts the small image's
    pixels to the full image's.
    """
    if skin_small.sum() < 0.02 * skin_small.size:
        return None
    # One pixel of the small image in from the edge: the analysis still keeps only skin-mask
    # pixels inside an automatic zone, so the outline need not be conservative.
    eroded = cv2.erode(skin_small.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    outline = mask_to_polygon(eroded if eroded.any() else skin_small, epsilon_px=0.75)
    if outline is None:
        return None
    return Zones(treated=[[x * scale, y * scale] for x, y in outline], reference=None, source="auto-skin")


FACE_SEARCH_SIDE = 256


@cache
def _cascade() -> Any:
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def detect_face(rgb_small: NDArray[np.uint8]) -> tuple[float, float, float, float] | None:
    """The largest frontal face (x, y, w, h) with scikit-image's LBP cascade, which ships
    inside the wheel (nothing is downloaded). Only faces filling a real part of the frame
    count: a tiny face in a background is not the subject."""
    # A face must fill 15 % of the short side, so a copy whose short side is FACE_SEARCH_SIDE
    # px still shows it at ≥ 38 px, above the cascade's 24-px window; searching the 1000-px
    # analysis copy instead cost ~0.45 s per photo, this ~10× less.
    k = max(1.0, min(rgb_small.shape[:2]) / FACE_SEARCH_SIDE)
    small = rgb_small
    if k > 1.0:
        size = (round(rgb_small.shape[1] / k), round(rgb_small.shape[0] / k))
        small = cv2.resize(rgb_small, size, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
    min_side = int(0.15 * min(h, w))
    if min_side < 24:
        return None
    found = _cascade().detect_multi_scale(
        img=gray,
        scale_factor=1.1,
        step_ratio=1,
        min_size=(min_side, min_side),
        max_size=(min(h, w), min(h, w)),
        min_neighbor_number=5,
    )
    faces = [f for f in found if _looks_like_a_face(gray, f)]
    if not faces:
        return None
    best = max(faces, key=lambda f: f["width"] * f["height"])
    sx, sy = rgb_small.shape[1] / w, rgb_small.shape[0] / h
    return float(best["c"]) * sx, float(best["r"]) * sy, float(best["width"]) * sx, float(best["height"]) * sy


# The band of eyes and brows is darker than the cheeks below it on real faces in nearly any
# light (measured 0.83 on scikit-image's astronaut); the cascade's false hits on textured
# skin close-ups measured 0.95–1.06. Windows without that structure are rejected.
EYE_TO_CHEEK_MAX = 0.92


def _looks_like_a_face(gray: NDArray[np.float64], found: dict[str, int]) -> bool:
    r, c, w, h = found["r"], found["c"], found["width"], found["height"]
    window = gray[r : r + h, c : c + w]
    eyes = float(window[int(0.2 * h) : int(0.45 * h)].mean())
    cheeks = float(window[int(0.5 * h) : int(0.75 * h)].mean())
    return cheeks > 0 and eyes / cheeks <= EYE_TO_CHEEK_MAX
