"""Spatial scene of one skin close-up and its rendering into a photo with ground truth.

A scene is described in millimetres (so the same skin renders consistently at any resolution):
a skin region over a dark fabric backdrop, a treated zone and an untreated reference zone with
their own blood and melanin fractions, smooth natural variation, optional brown spots, and a
height map (pores, fine lines, atrophic scars, fine roughness) that a directional light turns
into shading. A :class:`Framing` places the scene in a photo (px/mm, size, rotation, shift);
:func:`render_photo` runs the spectral camera pipeline (:mod:`tracker_dev.synth.camera`) and returns
the sRGB pixels plus a JSON-serialisable truth record.

Why the height map lives on a fixed fine millimetre grid (:data:`FINE_PX_PER_MM`) and is
area-filtered to each photo's pixel size: a texture metric measured at a canonical mm pitch must
agree between a 40 px/mm and a 20 px/mm photo of the same skin, so both must be images of the
same physical surface, each integrated over its own pixel footprint, as a real sensor does.

Coordinates: scene millimetres have x to the right and y down, origin at the centre of the skin
region. Photo pixel coordinates are OpenCV's: x right, y down, pixel centres at integers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from tracker_dev.synth.camera import (
    DEFAULT_CAMERA,
    colorchecker_names,
    colorchecker_reflectances,
    patch_response,
    raw_response,
    raw_to_linear_srgb,
    skin_lut,
    srgb_encode,
    white_raw,
)
from tracker_dev.synth.optics import DEFAULT_SATURATION, flat_reflectance

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
Point = tuple[float, float]
Polygon = tuple[Point, ...]

#: Resolution of the height map every photo is filtered from, px per mm (0.025 mm pitch).
FINE_PX_PER_MM = 40.0

#: Default chart: a 24-patch ColorChecker Classic layout (4 rows × 6 columns, black surround)
#: at pocket size (6.8 × 4.8 patch pitches of 5 mm = 34 × 24 mm), small enough to share a
#: ≥ 20 px/mm frame with the cheek.
CHART_PITCH_MM = 5.0
CHART_SIZE_MM: Point = (6.8 * CHART_PITCH_MM, 4.8 * CHART_PITCH_MM)
_CHART_BORDER_PITCHES = 0.4  # black border around the patch grid, in pitches
_CHART_PATCH_FRACTION = 0.8  # patch side as a fraction of the pitch (the rest is black gap)
_CHART_SURROUND_REFLECTANCE = 0.03

_SUPERSAMPLE = 4  # sub-pixels per axis for polygon coverage (anti-aliased edges)


# --------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class TextureParams:
    """Height-map recipe. Depths in mm; ``depth_factor`` scales pores, lines and scars together.

    ``depth_factor`` models treatment progress (collagen remodelling makes scars, pores and
    lines shallower) without moving any feature, so successive sessions show the same skin.
    Pores are Gaussian pits with σ = radius/√2 (a LoG blob detector reports that radius).
    """

    seed: int = 0
    pore_density_per_cm2: float = 60.0
    pore_radius_mm: Point = (0.1, 0.3)
    pore_depth_mm: float = 0.04
    n_lines: int = 5
    line_width_mm: float = 0.12
    line_depth_mm: float = 0.03
    line_angle_deg: float = 20.0
    n_scars: int = 0
    scar_radius_mm: Point = (1.0, 2.5)
    scar_depth_mm: float = 0.2
    roughness_mm: float = 0.008
    depth_factor: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for the truth record."""
        d = asdict(self)
        d["pore_radius_mm"] = list(self.pore_radius_mm)
        d["scar_radius_mm"] = list(self.scar_radius_mm)
        d["effective_pore_depth_mm"] = round(self.pore_depth_mm * self.depth_factor, 6)
        d["effective_line_depth_mm"] = round(self.line_depth_mm * self.depth_factor, 6)
        d["effective_scar_depth_mm"] = round(self.scar_depth_mm * self.depth_factor, 6)
        return d


@dataclass(frozen=True)
class Spot:
    """A brown spot (local extra melanin), scene mm; soft-edged disc."""

    x_mm: float
    y_mm: float
    radius_mm: float
    extra_melanin: float


def rectangle(cx: float, cy: float, w: float, h: float) -> Polygon:
    """Axis-aligned rectangle polygon (clockwise on screen) centred on (cx, cy), mm."""
    return (
        (cx - w / 2, cy - h / 2),
        (cx + w / 2, cy - h / 2),
        (cx + w / 2, cy + h / 2),
        (cx - w / 2, cy + h / 2),
    )


#: Default zones of :class:`SkinScene` (scene mm): a cheek area and untreated skin beside it.
DEFAULT_TREATED_ZONE_MM: Polygon = rectangle(-7.0, -1.0, 16.0, 12.0)
DEFAULT_REFERENCE_ZONE_MM: Polygon = rectangle(12.0, 4.0, 8.0, 6.0)


@dataclass(frozen=True)
class SkinScene:
    """The physical subject: skin shape, zones, chromophores and texture, all in mm.

    ``blood_*`` are dermal blood volume fractions, ``melanin_*`` epidermal melanosome volume
    fractions. The treated zone holds ``blood_treated`` on average (with mottling), the rest of
    the skin ``blood_reference``; both get the same smooth natural variation.
    """

    seed: int = 0
    skin_semi_axes_mm: Point = (24.0, 17.0)
    skin_wobble: float = 0.05
    treated_zone_mm: Polygon = DEFAULT_TREATED_ZONE_MM
    reference_zone_mm: Polygon = DEFAULT_REFERENCE_ZONE_MM
    blood_reference: float = 0.015
    blood_treated: float = 0.015
    melanin_reference: float = 0.02
    melanin_treated: float = 0.02
    saturation: float = DEFAULT_SATURATION
    blood_variation: float = 0.10
    melanin_variation: float = 0.05
    treated_mottle: float = 0.15
    zone_feather_mm: float = 0.4
    spots: tuple[Spot, ...] = ()
    texture: TextureParams = field(default_factory=TextureParams)
    backdrop_reflectance: float = 0.045


@dataclass(frozen=True)
class Framing:
    """Where the scene sits in a photo: scale, size, rotation and shift.

    ``rotation_deg`` rotates the scene as seen in the image (positive = clockwise on screen,
    because y points down); ``shift_mm`` is where the scene origin lands relative to the image
    centre, in mm along the image axes.
    """

    px_per_mm: float
    width: int
    height: int
    rotation_deg: float = 0.0
    shift_mm: Point = (0.0, 0.0)

    def scene_to_px(self) -> F64:
        """2×3 affine matrix mapping scene mm to photo pixels."""
        a = math.radians(self.rotation_deg)
        s = self.px_per_mm
        c, si = math.cos(a) * s, math.sin(a) * s
        tx = (self.width - 1) / 2.0 + self.shift_mm[0] * s
        ty = (self.height - 1) / 2.0 + self.shift_mm[1] * s
        return np.array([[c, -si, tx], [si, c, ty]])

    def follow_up(
        self, rotation_deg: float = 0.0, scale: float = 1.0, shift_mm: Point = (0.0, 0.0)
    ) -> Framing:
        """A re-take of this framing: the small pose change of a later photo of the series."""
        return Framing(
            px_per_mm=self.px_per_mm * scale,
            width=self.width,
            height=self.height,
            rotation_deg=self.rotation_deg + rotation_deg,
            shift_mm=(self.shift_mm[0] + shift_mm[0], self.shift_mm[1] + shift_mm[1]),
        )


@dataclass(frozen=True)
class ChartPlacement:
    """A ColorChecker 24 held in front of the scene, placed in photo pixels.

    ``rotation_deg`` as for :class:`Framing`. The chart is imaged at the photo's px/mm.
    """

    centre_px: Point
    rotation_deg: float = 0.0
    size_mm: Point = CHART_SIZE_MM


@dataclass(frozen=True)
class Glare:
    """A specular highlight on the skin (the illuminant's colour), photo pixels."""

    centre_px: Point
    radius_mm: float = 1.5
    strength: float = 0.8


@dataclass(frozen=True)
class PhotoSpec:
    """Everything needed to render one photo deterministically.

    ``baseline`` is the framing of the series' baseline photo; the truth then records the 2×3
    matrix mapping this photo's pixels to baseline pixels (identity when omitted).
    ``wb_error`` multiplies the ideal white-balance gains (R, G, B). ``illumination_gradient``
    is the fractional brightness change from the image centre to a corner along
    ``gradient_angle_deg`` (uneven light). ``noise`` is the sensor noise std at raw = 1.
    """

    scene: SkinScene
    framing: Framing
    baseline: Framing | None = None
    illuminant: str = "D65"
    camera: str = DEFAULT_CAMERA
    exposure: float = 1.0
    wb_error: tuple[float, float, float] = (1.0, 1.0, 1.0)
    light_azimuth_deg: float = -135.0
    light_elevation_deg: float = 50.0
    ambient: float = 0.35
    illumination_gradient: float = 0.0
    gradient_angle_deg: float = 0.0
    chart: ChartPlacement | None = None
    glare: Glare | None = None
    noise: float = 0.006
    seed: int = 0


@dataclass(frozen=True)
class Rendered:
    """A rendered photo: ``rgb`` uint8 H×W×3 (RGB order, sRGB-encoded), upright; ``truth`` dict.

    ``linear_srgb`` is the clipped linear sRGB before 8-bit quantisation (float32), handy for
    tests that want to avoid quantisation.
    """

    rgb: NDArray[np.uint8]
    truth: dict[str, Any]
    linear_srgb: F32


# --------------------------------------------------------------------------------------------
# Geometry helpers


def invert_affine(m: F64) -> F64:
    """Inverse of a 2×3 affine matrix."""
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def compose_affine(outer: F64, inner: F64) -> F64:
    """2×3 matrix of ``outer ∘ inner`` (apply ``inner`` first)."""
    full_o = np.vstack([outer, [0.0, 0.0, 1.0]])
    full_i = np.vstack([inner, [0.0, 0.0, 1.0]])
    result: F64 = (full_o @ full_i)[:2]
    return result


def apply_affine(m: F64, points: Any) -> F64:
    """Map N×2 points through a 2×3 affine matrix."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    result: F64 = p @ m[:, :2].T + m[:, 2]
    return result


def skin_polygon_mm(scene: SkinScene, n: int = 120) -> F64:
    """The skin region's outline in scene mm: an ellipse with a seeded low-order wobble.

    The polygon itself (not the smooth curve) is the truth: the renderer fills exactly it.
    """
    rng = np.random.default_rng([scene.seed, 11])
    phi = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 4):
        r += scene.skin_wobble / k * rng.uniform(-1, 1) * np.cos(k * phi + rng.uniform(0, 2 * np.pi))
    a, b = scene.skin_semi_axes_mm
    return np.stack([a * r * np.cos(phi), b * r * np.sin(phi)], axis=1)


def polygon_mask(polygon: Any, height: int, width: int, supersample: int = _SUPERSAMPLE) -> F32:
    """Fractional coverage (0..1, float32) of pixels by a polygon given in pixel coordinates.

    Public so that tests and tools can turn truth polygons into masks the same way the renderer
    does (``> 0.5`` gives a hard mask).
    """
    ss = supersample
    pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    sub = (pts + 0.5) * ss - 0.5
    fixed = np.round(sub * 16).astype(np.int32)
    canvas = np.zeros((height * ss, width * ss), np.uint8)
    cv2.fillPoly(canvas, [fixed], 255, lineType=cv2.LINE_8, shift=4)
    small: F32 = (canvas.reshape(height, ss, width, ss).mean(axis=(1, 3)) / 255.0).astype(np.float32)
    return small


def _pixel_grid(framing: Framing) -> tuple[F32, F32]:
    """Scene-mm coordinates (X, Y) of every pixel centre of a framing."""
    inv = invert_affine(framing.scene_to_px())
    j = np.arange(framing.width, dtype=np.float32)[None, :]
    i = np.arange(framing.height, dtype=np.float32)[:, None]
    x = (inv[0, 0] * j + inv[0, 1] * i + inv[0, 2]).astype(np.float32)
    y = (inv[1, 0] * j + inv[1, 1] * i + inv[1, 2]).astype(np.float32)
    return x, y


def _wave_field(framing: Framing, seed: tuple[int, ...], lam_mm: Point, n: int = 24) -> F32:
    """Smooth random field (≈ unit std) defined analytically in scene mm.

    A sum of plane waves with log-uniform wavelengths in ``lam_mm``: evaluable at any resolution
    with no resampling error. Each wave's phase is affine in the pixel indices, so the whole sum
    is an outer product (``U @ V.T``), which is fast.
    """
    rng = np.random.default_rng(list(seed))
    lam = np.exp(rng.uniform(math.log(lam_mm[0]), math.log(lam_mm[1]), n))
    ang = rng.uniform(0, 2 * np.pi, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    kx, ky = 2 * np.pi / lam * np.cos(ang), 2 * np.pi / lam * np.sin(ang)
    inv = invert_affine(framing.scene_to_px())
    # phase at pixel (i, j) = kx*X + ky*Y + phase with X, Y affine in (i, j)
    a_j = kx * inv[0, 0] + ky * inv[1, 0]
    a_i = kx * inv[0, 1] + ky * inv[1, 1]
    c = kx * inv[0, 2] + ky * inv[1, 2] + phase
    j = np.arange(framing.width)
    i = np.arange(framing.height)
    u = np.exp(1j * (np.outer(i, a_i) + c))
    v = np.exp(1j * np.outer(j, a_j))
    out: F32 = ((u @ v.T).real * math.sqrt(2.0 / n)).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------
# Texture (height map on a fixed fine mm grid)


@dataclass(frozen=True)
class _FineGrid:
    x0: float
    y0: float
    width: int
    height: int


def _fine_grid(scene: SkinScene) -> _FineGrid:
    poly = skin_polygon_mm(scene)
    x0, y0 = poly.min(axis=0) - 1.5
    x1, y1 = poly.max(axis=0) + 1.5
    return _FineGrid(
        float(x0),
        float(y0),
        math.ceil((x1 - x0) * FINE_PX_PER_MM),
        math.ceil((y1 - y0) * FINE_PX_PER_MM),
    )


def _blur(img: F32, sigma_px: float) -> F32:
    if sigma_px <= 0.05:
        return img
    out = np.asarray(cv2.GaussianBlur(img, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT), dtype=np.float32)
    return out


@lru_cache(maxsize=1)
def _line_gain(sigma_px: float) -> float:
    """Peak of an anti-aliased 1-px line after blurring; used to give lines unit depth."""
    img = np.zeros((101, 101), np.float32)
    cv2.line(img, (10 * 16, 30 * 16), (90 * 16, 70 * 16), 1.0, 1, cv2.LINE_AA, 4)
    return float(_blur(img, sigma_px)[40:60, 40:60].max())


@lru_cache(maxsize=3)
def _texture_components(
    tex_key: tuple[Any, ...], grid: _FineGrid, centre_box: tuple[float, float, float, float]
) -> dict[str, F32]:
    """Unit-depth height components (pores, lines, scars, roughness) on the fine grid.

    Cached by everything that moves or shapes features but not by depths, so a course's
    sessions (same skin, shallower features) reuse them.
    """
    (seed, pore_density, pore_r, n_lines, line_width, line_angle, n_scars, scar_r) = tex_key
    f = FINE_PX_PER_MM
    h, w = grid.height, grid.width
    area_mm2 = (w / f) * (h / f)
    rng = np.random.default_rng([seed, 21])

    # Pores: Gaussian pits, radius log-uniform; grouped by radius for a few big blurs.
    pores = np.zeros((h, w), np.float32)
    n_pores = round(pore_density * area_mm2 / 100.0)
    if n_pores:
        px = rng.uniform(0, w - 1, n_pores)
        py = rng.uniform(0, h - 1, n_pores)
        radius = np.exp(rng.uniform(math.log(pore_r[0]), math.log(pore_r[1]), n_pores))
        weight = np.sqrt(radius / pore_r[1]) * rng.uniform(0.6, 1.0, n_pores)
        edges = np.geomspace(pore_r[0], pore_r[1], 7)
        idx = np.clip(np.searchsorted(edges, radius) - 1, 0, 5)
        for b in range(6):
            sel = idx == b
            if not sel.any():
                continue
            imp = np.zeros((h, w), np.float32)
            np.add.at(imp, (np.round(py[sel]).astype(int), np.round(px[sel]).astype(int)), weight[sel])
            sigma = math.sqrt(edges[b] * edges[b + 1]) / math.sqrt(2.0) * f
            pores += _blur(imp, sigma) * np.float32(2 * np.pi * sigma * sigma)

    # Fine lines: long gently curved grooves roughly along one direction.
    lines = np.zeros((h, w), np.float32)
    sigma_line = line_width / 2.355 * f
    for _ in range(n_lines):
        ang = math.radians(line_angle + rng.normal(0, 12))
        length = rng.uniform(8, 22)
        cx = rng.uniform(centre_box[0], centre_box[2])
        cy = rng.uniform(centre_box[1], centre_box[3])
        t = np.linspace(-length / 2, length / 2, 80)
        bend = rng.uniform(-0.02, 0.02) * t**2
        xs = cx + t * math.cos(ang) - bend * math.sin(ang)
        ys = cy + t * math.sin(ang) + bend * math.cos(ang)
        pts = np.stack([(xs - grid.x0) * f, (ys - grid.y0) * f], axis=1)
        cv2.polylines(
            lines,
            [np.round(pts * 16).astype(np.int32)],
            False,
            float(rng.uniform(0.6, 1.0)),
            1,
            cv2.LINE_AA,
            4,
        )
    lines = _blur(lines, sigma_line) / np.float32(_line_gain(sigma_line))

    # Atrophic scars: flat-bottomed, soft-walled depressions (boxcar/rolling scars).
    scars = np.zeros((h, w), np.float32)
    for _ in range(n_scars):
        r_mm = rng.uniform(scar_r[0], scar_r[1])
        cx = rng.uniform(centre_box[0], centre_box[2])
        cy = rng.uniform(centre_box[1], centre_box[3])
        depth = rng.uniform(0.5, 1.0)
        sig = 0.2 * r_mm * f
        half = int(r_mm * f + 4 * sig) + 2
        gx, gy = (cx - grid.x0) * f, (cy - grid.y0) * f
        x_lo, y_lo = max(int(gx) - half, 0), max(int(gy) - half, 0)
        x_hi, y_hi = min(int(gx) + half, w), min(int(gy) + half, h)
        if x_hi <= x_lo or y_hi <= y_lo:
            continue
        patch = np.zeros((y_hi - y_lo, x_hi - x_lo), np.float32)
        cv2.circle(
            patch,
            (round((gx - x_lo) * 16), round((gy - y_lo) * 16)),
            round(r_mm * f * 16),
            1.0,
            -1,
            cv2.LINE_AA,
            4,
        )
        scars[y_lo:y_hi, x_lo:x_hi] += _blur(patch, sig) * np.float32(depth)

    # Roughness: band-limited noise plus the skin's micro-relief (short shallow furrows in two
    # directions), normalised to unit std.
    noise = rng.standard_normal((h, w)).astype(np.float32)
    r1 = _blur(noise, 0.05 * f)
    r2 = _blur(noise, 0.15 * f)
    relief = np.zeros((h, w), np.float32)
    n_seg = int(3.0 * area_mm2)
    base = rng.choice([math.radians(line_angle + 60), math.radians(line_angle - 60)], n_seg)
    seg_ang = base + rng.normal(0, 0.2, n_seg)
    ln = rng.uniform(0.6, 2.0, n_seg) * f
    sx, sy = rng.uniform(0, w, n_seg), rng.uniform(0, h, n_seg)
    segs = np.stack(
        [np.stack([sx, sy], 1), np.stack([sx + ln * np.cos(seg_ang), sy + ln * np.sin(seg_ang)], 1)], 1
    )
    cv2.polylines(relief, list(np.round(segs * 16).astype(np.int32)), False, 1.0, 1, cv2.LINE_AA, 4)
    relief = _blur(relief, 0.03 * f)
    rough = r1 / r1.std() + 0.7 * r2 / r2.std() - 0.8 * relief / max(float(relief.std()), 1e-6)
    rough = (rough / rough.std()).astype(np.float32)

    comps = {"pores": pores, "lines": lines, "scars": scars, "rough": rough}
    for arr in comps.values():
        arr.setflags(write=False)
    return comps


def _tex_key(t: TextureParams) -> tuple[Any, ...]:
    return (
        t.seed,
        t.pore_density_per_cm2,
        t.pore_radius_mm,
        t.n_lines,
        t.line_width_mm,
        t.line_angle_deg,
        t.n_scars,
        t.scar_radius_mm,
    )


@lru_cache(maxsize=3)
def _relief(scene: SkinScene) -> tuple[F32, F32, F32]:
    """Height slopes (∂h/∂x, ∂h/∂y) and an ambient-occlusion factor on the fine grid.

    Ambient occlusion darkens pits relative to their surroundings, which is why pores and
    scars stay visible under flat frontal light.
    """
    grid = _fine_grid(scene)
    t = scene.texture
    a, b = scene.skin_semi_axes_mm
    box = (-0.8 * a, -0.8 * b, 0.8 * a, 0.8 * b)
    c = _texture_components(_tex_key(t), grid, box)
    d = t.depth_factor
    height = (
        t.roughness_mm * c["rough"]
        - np.float32(t.pore_depth_mm * d) * c["pores"]
        - np.float32(t.line_depth_mm * d) * c["lines"]
        - np.float32(t.scar_depth_mm * d) * c["scars"]
    ).astype(np.float32)
    f = FINE_PX_PER_MM
    hx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=1, borderType=cv2.BORDER_REFLECT) * (f / 2)
    hy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=1, borderType=cv2.BORDER_REFLECT) * (f / 2)
    cavity = np.maximum(_blur(height, 0.3 * f) - height, 0.0)
    ao = (1.0 - 0.5 * (1.0 - np.exp(-cavity / 0.05))).astype(np.float32)
    for arr in (hx, hy, ao):
        arr.setflags(write=False)
    return hx, hy, ao


def _shading(spec: PhotoSpec, x: F32, y: F32) -> F32:
    """Skin shading at every photo pixel: Lambert + ambient occlusion, area-filtered.

    Computed on the fine grid (the nonlinearity in slope must act before averaging), blurred to
    the photo's pixel footprint (box std ≈ 0.29 px), then sampled at the pixel centres.
    """
    hx, hy, ao = _relief(spec.scene)
    grid = _fine_grid(spec.scene)
    az = math.radians(spec.light_azimuth_deg - spec.framing.rotation_deg)
    el = math.radians(spec.light_elevation_deg)
    lx, ly, lz = math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)
    ndotl = (lz - hx * lx - hy * ly) / np.sqrt(1.0 + hx * hx + hy * hy)
    amb = spec.ambient
    lit = (ao * (amb + (1.0 - amb) * np.maximum(ndotl, 0.0) / lz)).astype(np.float32)
    sigma = 0.29 * FINE_PX_PER_MM / spec.framing.px_per_mm
    shade = _blur(lit, math.sqrt(max(sigma * sigma - 0.09, 0.0)))
    map_x = (x - grid.x0) * FINE_PX_PER_MM
    map_y = (y - grid.y0) * FINE_PX_PER_MM
    out = np.asarray(
        cv2.remap(shade, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
        dtype=np.float32,
    )
    return out


# --------------------------------------------------------------------------------------------
# Chart


def chart_geometry(chart: ChartPlacement, px_per_mm: float) -> tuple[F64, F64, F64]:
    """Chart-local mm -> photo px matrix, its 4 corners (TL, TR, BR, BL) and 24 patch centres.

    Top-left is the corner next to patch 1 ('dark skin'); patches are numbered row by row.
    """
    w, h = chart.size_mm
    a = math.radians(chart.rotation_deg)
    c, s = math.cos(a) * px_per_mm, math.sin(a) * px_per_mm
    cx, cy = chart.centre_px
    m = np.array([[c, -s, cx - c * w / 2 + s * h / 2], [s, c, cy - s * w / 2 - c * h / 2]])
    corners = apply_affine(m, [(0, 0), (w, 0), (w, h), (0, h)])
    px_, py_ = w / (6 + 2 * _CHART_BORDER_PITCHES), h / (4 + 2 * _CHART_BORDER_PITCHES)
    centres = [
        ((_CHART_BORDER_PITCHES + col + 0.5) * px_, (_CHART_BORDER_PITCHES + row + 0.5) * py_)
        for row in range(4)
        for col in range(6)
    ]
    return m, corners, apply_affine(m, centres)


def _grid_corners(chart: ChartPlacement, px_per_mm: float) -> F64:
    """Corners (TL, TR, BR, BL) of the patch grid: the chart inset by its black border."""
    m, _corners, _centres = chart_geometry(chart, px_per_mm)
    w, h = chart.size_mm
    bu = w / (6 + 2 * _CHART_BORDER_PITCHES) * _CHART_BORDER_PITCHES
    bv = h / (4 + 2 * _CHART_BORDER_PITCHES) * _CHART_BORDER_PITCHES
    return apply_affine(m, [(bu, bv), (w - bu, bv), (w - bu, h - bv), (bu, h - bv)])


def _composite_chart(raw: F32, spec: PhotoSpec) -> dict[str, Any] | None:
    """Paint the chart (spectral patches through the same camera) over ``raw`` in place."""
    chart = spec.chart
    if chart is None:
        return None
    h_img, w_img = raw.shape[:2]
    m, corners, centres = chart_geometry(chart, spec.framing.px_per_mm)
    x_lo = max(math.floor(corners[:, 0].min()) - 1, 0)
    x_hi = min(math.ceil(corners[:, 0].max()) + 2, w_img)
    y_lo = max(math.floor(corners[:, 1].min()) - 1, 0)
    y_hi = min(math.ceil(corners[:, 1].max()) + 2, h_img)
    if x_hi > x_lo and y_hi > y_lo:
        ss = _SUPERSAMPLE
        inv = invert_affine(m)
        sj = x_lo + (np.arange((x_hi - x_lo) * ss) + 0.5) / ss - 0.5
        si = y_lo + (np.arange((y_hi - y_lo) * ss) + 0.5) / ss - 0.5
        u = inv[0, 0] * sj[None, :] + inv[0, 1] * si[:, None] + inv[0, 2]
        v = inv[1, 0] * sj[None, :] + inv[1, 1] * si[:, None] + inv[1, 2]
        w, h = chart.size_mm
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
        pitch_u, pitch_v = w / (6 + 2 * _CHART_BORDER_PITCHES), h / (4 + 2 * _CHART_BORDER_PITCHES)
        gu = u / pitch_u - _CHART_BORDER_PITCHES
        gv = v / pitch_v - _CHART_BORDER_PITCHES
        col, row = np.floor(gu), np.floor(gv)
        margin = (1 - _CHART_PATCH_FRACTION) / 2
        in_patch = (
            inside
            & (col >= 0)
            & (col < 6)
            & (row >= 0)
            & (row < 4)
            & (gu - col >= margin)
            & (gu - col < 1 - margin)
            & (gv - row >= margin)
            & (gv - row < 1 - margin)
        )
        idx = np.where(in_patch, row * 6 + col, 24).astype(np.int64)
        colours = np.vstack(
            [
                raw_response(colorchecker_reflectances(), spec.illuminant, spec.camera),
                raw_response(flat_reflectance(_CHART_SURROUND_REFLECTANCE), spec.illuminant, spec.camera)[
                    None, :
                ],
            ]
        ).astype(np.float32)
        sub = colours[idx] * inside[..., None]
        hh, ww = y_hi - y_lo, x_hi - x_lo
        paint = sub.reshape(hh, ss, ww, ss, 3).mean(axis=(1, 3))
        cover = inside.reshape(hh, ss, ww, ss).mean(axis=(1, 3)).astype(np.float32)
        region = raw[y_lo:y_hi, x_lo:x_hi]
        region *= (1.0 - cover)[..., None]
        region += paint
    return {
        "corners": _r(corners, 3),
        "corner_order": "TL,TR,BR,BL of the chart; TL is next to patch 1 'dark skin'",
        "grid_corners": _r(_grid_corners(chart, spec.framing.px_per_mm), 3),
        "grid_note": "patch grid inside the black border (what cv2.mcc getBox() reports)",
        "size_mm": [round(chart.size_mm[0], 3), round(chart.size_mm[1], 3)],
        "rotation_deg": round(chart.rotation_deg, 4),
        "type": "ColorChecker Classic 24 layout (4x6), black surround",
        "reflectance_data": "colour.SDS_COLOURCHECKERS['BabelColor Average']",
        "patch_names": list(colorchecker_names()),
        "patch_centres": _r(centres, 3),
    }


# --------------------------------------------------------------------------------------------
# Rendering


def _r(a: Any, nd: int) -> Any:
    """Round arrays/floats to plain JSON-friendly nested lists."""
    arr = np.asarray(a, dtype=np.float64)
    return np.round(arr, nd).tolist()


def chromophore_maps(spec: PhotoSpec, x: F32, y: F32) -> tuple[F32, F32, F32]:
    """Blood and melanin fraction maps at pixel resolution, plus the soft treated-zone weight."""
    sc = spec.scene
    fr = spec.framing
    a = fr.scene_to_px()
    treated_px = apply_affine(a, sc.treated_zone_mm)
    zone = polygon_mask(treated_px, fr.height, fr.width)
    zone = _blur(zone, sc.zone_feather_mm * fr.px_per_mm)
    var_b = _wave_field(fr, (sc.seed, 31), (6.0, 30.0))
    mottle = _wave_field(fr, (sc.seed, 32), (0.8, 4.0), n=96)
    var_m = _wave_field(fr, (sc.seed, 33), (5.0, 25.0))
    extra = sc.blood_treated - sc.blood_reference
    blood = sc.blood_reference * (1.0 + sc.blood_variation * var_b) + extra * zone * (
        1.0 + sc.treated_mottle * mottle
    )
    melanin = (
        sc.melanin_reference * (1.0 + sc.melanin_variation * var_m)
        + (sc.melanin_treated - sc.melanin_reference) * zone
    )
    for spot in sc.spots:
        d = np.hypot(x - spot.x_mm, y - spot.y_mm)
        melanin = melanin + spot.extra_melanin * 0.5 * (1.0 - np.tanh((d - spot.radius_mm) / 0.3))
    return blood.astype(np.float32), melanin.astype(np.float32), zone


def render_photo(spec: PhotoSpec) -> Rendered:
    """Render one photo of ``spec.scene`` through the full spectral camera pipeline.

    Steps: chromophore maps -> skin raw RGB via a (blood, melanin) lookup for this light and
    camera -> × area-filtered texture shading and edge fall-off -> backdrop and optional chart
    and glare -> × exposure and illumination gradient -> sensor noise -> white balance (with
    error) -> fixed camera matrix -> sRGB encoding. Deterministic for a given spec.
    """
    sc, fr = spec.scene, spec.framing
    h, w, ppm = fr.height, fr.width, fr.px_per_mm
    a = fr.scene_to_px()
    x, y = _pixel_grid(fr)

    skin_px = apply_affine(a, skin_polygon_mm(sc))
    cover = polygon_mask(skin_px, h, w)
    blood, melanin, _zone = chromophore_maps(spec, x, y)
    skin_raw = skin_lut(spec.illuminant, spec.camera, sc.saturation)(blood, melanin)

    shade = _shading(spec, x, y)
    # The cheek curves away from the camera near the outline: darker edge band (~1.5 mm).
    inside = (cover > 0.5).astype(np.uint8)
    dist_mm = cv2.distanceTransform(inside, cv2.DIST_L2, 5) / ppm
    limb = 1.0 - 0.3 * np.exp(-dist_mm / 1.5)
    skin_raw *= (shade * limb)[..., None]

    # Backdrop: dark neutral fabric with a fine weave (analytic, so resolution-independent).
    weave = _wave_field(fr, (sc.seed, 41), (0.7, 0.75), n=2)
    blotch = _wave_field(fr, (sc.seed, 42), (20.0, 60.0), n=6)
    rho = sc.backdrop_reflectance * (1.0 + 0.12 * weave + 0.08 * blotch)
    bg_raw = rho[..., None] * white_raw(spec.illuminant, spec.camera).astype(np.float32)

    raw = (cover[..., None] * skin_raw + (1.0 - cover)[..., None] * bg_raw).astype(np.float32)

    glare_truth = None
    if spec.glare is not None:
        g = spec.glare
        sig = g.radius_mm * ppm / 2.0
        jj = np.arange(w, dtype=np.float32)[None, :] - g.centre_px[0]
        ii = np.arange(h, dtype=np.float32)[:, None] - g.centre_px[1]
        blob = g.strength * np.exp(-(jj * jj + ii * ii) / (2 * sig * sig)) * cover
        raw += blob[..., None] * white_raw(spec.illuminant, spec.camera).astype(np.float32)
        glare_truth = {
            "centre": _r(g.centre_px, 3),
            "radius_px": round(g.radius_mm * ppm, 3),
            "strength": round(g.strength, 4),
        }

    chart_truth = _composite_chart(raw, spec)

    # Exposure and uneven illumination act on everything in front of the lens.
    ga = math.radians(spec.gradient_angle_deg)
    jj = np.arange(w, dtype=np.float32)[None, :] - (w - 1) / 2
    ii = np.arange(h, dtype=np.float32)[:, None] - (h - 1) / 2
    half_diag = 0.5 * math.hypot(w, h)
    illum = 1.0 + spec.illumination_gradient * (jj * math.cos(ga) + ii * math.sin(ga)) / half_diag
    raw *= (spec.exposure * illum)[..., None]

    if spec.noise > 0:
        rng = np.random.default_rng([spec.seed, 51])
        sd = spec.noise * np.sqrt(np.maximum(raw, 0.0) + 0.02)
        raw += (rng.standard_normal(raw.shape).astype(np.float32) * sd).astype(np.float32)

    lin = raw_to_linear_srgb(raw, spec.illuminant, spec.camera, spec.wb_error)
    lin32 = np.clip(lin, 0.0, 1.0).astype(np.float32)
    rgb = np.round(srgb_encode(lin32) * 255.0).astype(np.uint8)

    truth = _truth(spec, skin_px, blood, melanin, chart_truth, glare_truth)
    return Rendered(rgb=rgb, truth=truth, linear_srgb=lin32)


def _truth(
    spec: PhotoSpec,
    skin_px: F64,
    blood: F32,
    melanin: F32,
    chart_truth: dict[str, Any] | None,
    glare_truth: dict[str, Any] | None,
) -> dict[str, Any]:
    sc, fr = spec.scene, spec.framing
    a = fr.scene_to_px()
    treated = apply_affine(a, sc.treated_zone_mm)
    reference = apply_affine(a, sc.reference_zone_mm)
    baseline = spec.baseline or fr
    to_base = compose_affine(baseline.scene_to_px(), invert_affine(a))
    t_mask = polygon_mask(treated, fr.height, fr.width) > 0.5
    r_mask = polygon_mask(reference, fr.height, fr.width) > 0.5
    ref = patch_response(
        sc.blood_reference, sc.melanin_reference, "D65", spec.camera, saturation=sc.saturation
    )
    centre = apply_affine(a, [(0.0, 0.0)])[0]
    return {
        "blood_treated": round(sc.blood_treated, 6),
        "blood_reference": round(sc.blood_reference, 6),
        "melanin_treated": round(sc.melanin_treated, 6),
        "melanin_reference": round(sc.melanin_reference, 6),
        "saturation": round(sc.saturation, 4),
        "zone_means": {
            "blood_treated": round(float(blood[t_mask].mean()), 6) if t_mask.any() else None,
            "blood_reference": round(float(blood[r_mask].mean()), 6) if r_mask.any() else None,
            "melanin_treated": round(float(melanin[t_mask].mean()), 6) if t_mask.any() else None,
            "melanin_reference": round(float(melanin[r_mask].mean()), 6) if r_mask.any() else None,
        },
        "spots": [
            {
                "centre": _r(apply_affine(a, [(s.x_mm, s.y_mm)])[0], 3),
                "radius_px": round(s.radius_mm * fr.px_per_mm, 3),
                "radius_mm": s.radius_mm,
                "extra_melanin": s.extra_melanin,
            }
            for s in sc.spots
        ],
        "texture": spec.scene.texture.to_dict(),
        "illuminant": spec.illuminant,
        "exposure": round(spec.exposure, 6),
        "wb_error": [round(v, 6) for v in spec.wb_error],
        "camera": spec.camera,
        "noise": spec.noise,
        "light": {
            "azimuth_deg": spec.light_azimuth_deg,
            "elevation_deg": spec.light_elevation_deg,
            "ambient": spec.ambient,
        },
        "illumination_gradient": {"amount": spec.illumination_gradient, "angle_deg": spec.gradient_angle_deg},
        "px_per_mm": round(fr.px_per_mm, 6),
        "width": fr.width,
        "height": fr.height,
        "coordinates": "upright image pixels, x right, y down, pixel centres at integers",
        "zones": {"treated": _r(treated, 3), "reference": _r(reference, 3)},
        "skin_region": {
            "polygon": _r(skin_px, 2),
            "ellipse": {
                "centre": _r(centre, 3),
                "semi_axes_px": [
                    round(sc.skin_semi_axes_mm[0] * fr.px_per_mm, 3),
                    round(sc.skin_semi_axes_mm[1] * fr.px_per_mm, 3),
                ],
                "angle_deg": round(fr.rotation_deg, 4),
                "note": "smooth shape the polygon wobbles around; the polygon is exact",
            },
            "occluded_by": ["chart"] if chart_truth else [],
        },
        "chart": chart_truth,
        "glare": glare_truth,
        "pose": {
            "rotation_deg": round(fr.rotation_deg, 4),
            "shift_mm": [round(fr.shift_mm[0], 4), round(fr.shift_mm[1], 4)],
        },
        "pose_to_baseline": _r(to_base, 6),
        "exif_orientation": 1,
        "ita_deg_reference": round(ref.ita_deg, 3),
        "lab_reference_d65": _r(ref.lab, 3),
        "seed": spec.seed,
        "scene_seed": sc.seed,
    }
