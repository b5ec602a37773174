"""Illuminant + camera spectral sensitivities -> camera raw -> white balance -> sRGB.

Why simulate a camera at all instead of converting spectra straight to sRGB: a real camera's
channels are not the CIE colour-matching functions, and real photos are white-balanced by a
guess. Redness metrics must survive both, so the renderer reproduces them: spectral integration
with measured sensitivities (colour-science's offline 'Nikon 5100 (NPL)' data), a diagonal white
balance with an optional error (a phone's auto-WB), and one fixed 3×3 matrix to linear sRGB fitted
under D65, which is what a camera's colour pipeline does.

Everything spectral is sampled on :data:`tracker_dev.synth.optics.WAVELENGTHS`. Raw values are
normalised so that a perfect white under the illuminant has green = 1 at exposure 1.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracker_dev.synth.optics import (
    DEFAULT_SATURATION,
    WAVELENGTHS,
    skin_reflectance,
)

FloatArray = NDArray[np.float64]

#: Camera whose measured sensitivities drive the renderer.
DEFAULT_CAMERA = "Nikon 5100 (NPL)"

#: Illuminants the renderer supports (CIE names as in colour.SDS_ILLUMINANTS): daylight, horizon
#: daylight, tungsten, cool-white and tri-phosphor fluorescent, and a phosphor-converted LED.
ILLUMINANTS: tuple[str, ...] = ("D65", "D50", "A", "FL2", "FL11", "LED-B3")

#: Linear sRGB (D65) -> XYZ, IEC 61966-2-1.
SRGB_TO_XYZ: FloatArray = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
XYZ_TO_SRGB: FloatArray = np.asarray(np.linalg.inv(SRGB_TO_XYZ), dtype=np.float64)
#: D65 white of the sRGB space (Y = 1); the project's working white point.
WHITE_D65_XYZ: FloatArray = SRGB_TO_XYZ @ np.ones(3)


def _colour() -> Any:
    """Import colour-science lazily and quietly (it warns about missing matplotlib)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour

    return colour


def _sample(sd: Any) -> FloatArray:
    """Values of a colour-science spectral distribution at WAVELENGTHS (interpolated if needed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(sd[WAVELENGTHS], dtype=np.float64)


@cache
def illuminant_spd(name: str) -> FloatArray:
    """Relative spectral power of a CIE illuminant at WAVELENGTHS (read-only array)."""
    if name not in ILLUMINANTS:
        raise ValueError(f"unsupported illuminant {name!r}; choose from {ILLUMINANTS}")
    raw = _sample(_colour().SDS_ILLUMINANTS[name])
    spd: FloatArray = raw / float(raw.max())
    spd.setflags(write=False)
    return spd


@cache
def camera_sensitivities(camera: str = DEFAULT_CAMERA) -> FloatArray:
    """Camera spectral sensitivities, shape (31, 3) in R, G, B order (read-only array)."""
    msds = _colour().MSDS_CAMERA_SENSITIVITIES[camera]
    sens = np.clip(_sample(msds), 0.0, None)
    sens.setflags(write=False)
    return sens


@lru_cache(maxsize=1)
def cie_cmfs() -> FloatArray:
    """CIE 1931 2° colour-matching functions at WAVELENGTHS, shape (31, 3)."""
    cmfs = _sample(_colour().MSDS_CMFS["CIE 1931 2 Degree Standard Observer"])
    cmfs.setflags(write=False)
    return cmfs


@lru_cache(maxsize=1)
def colorchecker_reflectances() -> FloatArray:
    """Spectral reflectances of the 24 ColorChecker Classic patches (BabelColor Average).

    Row order is the chart's reading order (row by row from 'dark skin' to 'black'), shape (24, 31).
    """
    sds = _colour().SDS_COLOURCHECKERS["BabelColor Average"]
    refl = np.stack([_sample(sd) for sd in sds.values()])
    refl.setflags(write=False)
    return refl


@lru_cache(maxsize=1)
def colorchecker_names() -> tuple[str, ...]:
    """Patch names of the 24 ColorChecker patches in reading order."""
    return tuple(str(k) for k in _colour().SDS_COLOURCHECKERS["BabelColor Average"])


def _weights(illuminant: str, camera: str) -> FloatArray:
    """Per-wavelength integration weights S(λ)·E(λ), normalised so white gives green = 1."""
    w = camera_sensitivities(camera) * illuminant_spd(illuminant)[:, None]
    result: FloatArray = w / w[:, 1].sum()
    return result


def raw_response(reflectance: ArrayLike, illuminant: str = "D65", camera: str = DEFAULT_CAMERA) -> FloatArray:
    """Camera raw RGB (before white balance) of reflectance spectra ``[..., 31]`` at exposure 1."""
    refl = np.asarray(reflectance, dtype=np.float64)
    result: FloatArray = refl @ _weights(illuminant, camera)
    return result


def white_raw(illuminant: str = "D65", camera: str = DEFAULT_CAMERA) -> FloatArray:
    """Raw RGB of a perfect white (the illuminant's colour as the sensor sees it)."""
    result: FloatArray = _weights(illuminant, camera).sum(axis=0)
    return result


def wb_gains(
    illuminant: str = "D65",
    camera: str = DEFAULT_CAMERA,
    wb_error: ArrayLike = (1.0, 1.0, 1.0),
) -> FloatArray:
    """Diagonal white-balance gains that map the illuminant's white to grey, times an error.

    ``wb_error`` multiplies the ideal gains per channel, modelling an auto-WB that guessed the
    light slightly wrong (a residual colour cast that varies from photo to photo).
    """
    white = white_raw(illuminant, camera)
    result: FloatArray = (white[1] / white) * np.asarray(wb_error, dtype=np.float64)
    return result


def xyz_of_reflectance(reflectance: ArrayLike, illuminant: str = "D65") -> FloatArray:
    """CIE XYZ (Y of a perfect white = 1) of reflectance spectra under an illuminant."""
    w = cie_cmfs() * illuminant_spd(illuminant)[:, None]
    w = w / w[:, 1].sum()
    result: FloatArray = np.asarray(reflectance, dtype=np.float64) @ w
    return result


@cache
def camera_matrix(camera: str = DEFAULT_CAMERA) -> FloatArray:
    """Fixed 3×3 matrix from white-balanced camera RGB to linear sRGB (D65).

    Fitted once by least squares on the 24 ColorChecker patches plus a grid of skin spectra
    under D65, with each row constrained to sum to 1 so that white stays white (a camera's
    colour matrix has that property, and it keeps white balance and colour correction separate).
    Skin gets extra weight because skin is what the product measures.
    """
    blood = np.linspace(0.005, 0.08, 6)
    melanin = np.linspace(0.005, 0.35, 8)
    skins = skin_reflectance(blood[:, None], melanin[None, :]).reshape(-1, WAVELENGTHS.size)
    refl = np.concatenate([colorchecker_reflectances(), skins])
    weight = np.concatenate([np.ones(24), np.full(skins.shape[0], 0.5)])
    cam = raw_response(refl, "D65", camera) * wb_gains("D65", camera)
    target = xyz_of_reflectance(refl, "D65") @ XYZ_TO_SRGB.T
    sw = np.sqrt(weight)[:, None]
    matrix = np.zeros((3, 3))
    # Row sum = 1: substitute m2 = 1 - m0 - m1 and solve an unconstrained problem in (m0, m1).
    a = np.stack([cam[:, 0] - cam[:, 2], cam[:, 1] - cam[:, 2]], axis=1) * sw
    for row in range(3):
        b = (target[:, row] - cam[:, 2]) * sw[:, 0]
        m01, *_ = np.linalg.lstsq(a, b, rcond=None)
        matrix[row] = [m01[0], m01[1], 1.0 - m01[0] - m01[1]]
    matrix.setflags(write=False)
    return matrix


def raw_to_linear_srgb(
    raw: ArrayLike,
    illuminant: str = "D65",
    camera: str = DEFAULT_CAMERA,
    wb_error: ArrayLike = (1.0, 1.0, 1.0),
) -> FloatArray:
    """White-balance camera raw ``[..., 3]`` and convert to linear sRGB (unclipped)."""
    balanced = np.asarray(raw, dtype=np.float64) * wb_gains(illuminant, camera, wb_error)
    result: FloatArray = balanced @ camera_matrix(camera).T
    return result


def srgb_encode(linear: ArrayLike) -> FloatArray:
    """sRGB transfer curve (IEC 61966-2-1), input clipped to [0, 1]."""
    x = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    result: FloatArray = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    return result


def srgb_decode(encoded: ArrayLike) -> FloatArray:
    """Inverse sRGB transfer curve; accepts floats in [0, 1] or uint8 arrays."""
    arr = np.asarray(encoded)
    x = arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    result: FloatArray = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return result


def linear_srgb_to_lab(linear: ArrayLike) -> FloatArray:
    """CIELAB (D65 white) of linear sRGB ``[..., 3]``."""
    xyz = np.asarray(linear, dtype=np.float64) @ SRGB_TO_XYZ.T
    t = xyz / WHITE_D65_XYZ
    delta = 6.0 / 29.0
    f = np.where(t > delta**3, np.cbrt(t), t / (3 * delta**2) + 4.0 / 29.0)
    lab = np.stack(
        [116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )
    result: FloatArray = lab
    return result


def ita_deg(lab: ArrayLike) -> FloatArray:
    """Individual typology angle ``atan2(L* − 50, b*)`` in degrees (design §3.2)."""
    arr = np.asarray(lab, dtype=np.float64)
    result: FloatArray = np.degrees(np.arctan2(arr[..., 0] - 50.0, arr[..., 2]))
    return result


class SkinLUT:
    """Camera raw RGB of skin as a function of (blood, melanin), for one light and camera.

    Why: spectral integration per pixel would be slow; the blood and melanin maps are smooth, so a
    bilinear lookup on a fine grid is exact to well below JPEG precision. Bilinear interpolation
    of per-channel values that are monotone in blood keeps R/G monotone in blood, which the
    redness tests rely on.
    """

    BLOOD_MAX = 0.20
    MELANIN_MAX = 0.50

    def __init__(
        self,
        illuminant: str = "D65",
        camera: str = DEFAULT_CAMERA,
        saturation: float = DEFAULT_SATURATION,
        n_blood: int = 161,
        n_melanin: int = 201,
    ) -> None:
        self.illuminant = illuminant
        self.camera = camera
        self.saturation = saturation
        self.blood_grid = np.linspace(0.0, self.BLOOD_MAX, n_blood)
        self.melanin_grid = np.linspace(0.0, self.MELANIN_MAX, n_melanin)
        refl = skin_reflectance(self.blood_grid[:, None], self.melanin_grid[None, :], saturation)
        self.table: FloatArray = raw_response(refl, illuminant, camera)  # (nb, nm, 3)

    def __call__(self, blood: ArrayLike, melanin: ArrayLike) -> NDArray[np.float32]:
        """Raw RGB ``[..., 3]`` (float32) for blood/melanin arrays (clamped to the grid)."""
        b = np.clip(np.asarray(blood, dtype=np.float64), 0.0, self.BLOOD_MAX)
        m = np.clip(np.asarray(melanin, dtype=np.float64), 0.0, self.MELANIN_MAX)
        fb = b / self.BLOOD_MAX * (self.blood_grid.size - 1)
        fm = m / self.MELANIN_MAX * (self.melanin_grid.size - 1)
        ib = np.minimum(fb.astype(np.int64), self.blood_grid.size - 2)
        im = np.minimum(fm.astype(np.int64), self.melanin_grid.size - 2)
        tb = (fb - ib)[..., None]
        tm = (fm - im)[..., None]
        t = self.table
        out = (
            t[ib, im] * (1 - tb) * (1 - tm)
            + t[ib + 1, im] * tb * (1 - tm)
            + t[ib, im + 1] * (1 - tb) * tm
            + t[ib + 1, im + 1] * tb * tm
        )
        result: NDArray[np.float32] = out.astype(np.float32)
        return result


@lru_cache(maxsize=16)
def skin_lut(
    illuminant: str = "D65", camera: str = DEFAULT_CAMERA, saturation: float = DEFAULT_SATURATION
) -> SkinLUT:
    """Cached :class:`SkinLUT` per light, camera and oxygen saturation."""
    return SkinLUT(illuminant, camera, saturation)


@dataclass(frozen=True)
class PatchResponse:
    """How a uniform, flat, noise-free skin patch comes out of the camera pipeline."""

    raw: FloatArray  #: camera raw RGB at the given exposure, before white balance
    linear_srgb: FloatArray  #: white-balanced, matrixed, unclipped linear sRGB
    srgb: FloatArray  #: sRGB-encoded, clipped, in [0, 1]
    lab: FloatArray  #: CIELAB (D65) of the clipped linear sRGB
    ita_deg: float  #: individual typology angle
    erythema_index: float  #: 100·log10(R_lin / G_lin) of the linear sRGB


def patch_response(
    blood: float,
    melanin: float,
    illuminant: str = "D65",
    camera: str = DEFAULT_CAMERA,
    exposure: float = 1.0,
    wb_error: ArrayLike = (1.0, 1.0, 1.0),
    saturation: float = DEFAULT_SATURATION,
) -> PatchResponse:
    """Exact (spectrally integrated) response of a uniform skin patch; ground truth for tests."""
    raw = raw_response(skin_reflectance(blood, melanin, saturation), illuminant, camera) * exposure
    lin = raw_to_linear_srgb(raw, illuminant, camera, wb_error)
    clipped = np.clip(lin, 0.0, 1.0)
    lab = linear_srgb_to_lab(clipped)
    return PatchResponse(
        raw=raw,
        linear_srgb=lin,
        srgb=srgb_encode(lin),
        lab=lab,
        ita_deg=float(ita_deg(lab)),
        erythema_index=float(100.0 * np.log10(clipped[0] / clipped[1])),
    )
