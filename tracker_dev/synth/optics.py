"""Spectral reflectance of skin from a two-layer absorption/scattering model (design §3.8).

Why a physical model rather than hand-picked RGB values: the metrics we validate (erythema index,
ITA, melanin/haemoglobin unmixing) are only meaningful if the test images react to blood and
melanin the way real skin does — strongly in green (haemoglobin Q bands), weakly in red, and with
melanin darkening blue most. Using published haemoglobin spectra and melanin absorption gives
that behaviour for free, under any illuminant and camera.

All functions are vectorised: fractions may be scalars or arrays of any shape; the spectral axis
is appended last (length ``len(WAVELENGTHS)``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: Sampling of every spectrum in the synthesiser, nm (400-700 step 10, 31 samples).
WAVELENGTHS: FloatArray = np.arange(400.0, 701.0, 10.0)

# Molar extinction coefficients of oxy- and deoxy-haemoglobin (Prahl compilation), cm^-1/M,
# at WAVELENGTHS, copied from design §3.8.
_EPS_HBO2 = np.array(
    [
        266232,
        466840,
        480360,
        246072,
        102580,
        62816,
        44480,
        33209.2,
        26629.2,
        23684.4,
        20932.8,
        20035.2,
        24202.4,
        39956.8,
        53236,
        43016,
        32613.2,
        44496,
        50104,
        14400.8,
        3200,
        1506,
        942,
        610,
        442,
        368,
        319.6,
        294,
        277.6,
        276,
        290,
    ],
    dtype=np.float64,
)
_EPS_HB = np.array(
    [
        223296,
        303956,
        407560,
        528600,
        413280,
        103292,
        23388.8,
        16156.4,
        14550,
        16684,
        20862,
        25773.6,
        31589.6,
        39036.4,
        46592,
        53412,
        53788,
        45072,
        37020,
        28324.4,
        14677.2,
        9443.6,
        6509.6,
        5148.8,
        4345.2,
        3750.12,
        3226.56,
        2795.12,
        2407.92,
        2051.96,
        1794.28,
    ],
    dtype=np.float64,
)

#: Haemoglobin concentration of whole blood, g/L, and its molar mass, g/mol.
_HB_G_PER_L = 150.0
_HB_G_PER_MOL = 64500.0

#: Epidermal thickness used by the two-layer model, cm (100 µm).
EPIDERMIS_CM = 0.01

#: Typical dermal oxygen saturation (mixed arterial/venous capillary blood).
DEFAULT_SATURATION = 0.75


def mua_blood(saturation: float = DEFAULT_SATURATION) -> FloatArray:
    """Absorption coefficient of whole blood, cm^-1, at WAVELENGTHS.

    Mixed linearly from the oxy and deoxy spectra by oxygen saturation, as in design §3.8.
    """
    eps = saturation * _EPS_HBO2 + (1.0 - saturation) * _EPS_HB
    return 2.303 * eps * _HB_G_PER_L / _HB_G_PER_MOL


def mua_baseline() -> FloatArray:
    """Bloodless tissue background absorption, cm^-1 (collagen and other chromophores)."""
    return 0.244 + 85.3 * np.exp(-(WAVELENGTHS - 154.0) / 66.2)


def mua_melanosome() -> FloatArray:
    """Absorption of a melanosome interior, cm^-1 (power law in wavelength)."""
    return 6.6e11 * WAVELENGTHS**-3.33


def mus_reduced_dermis() -> FloatArray:
    """Reduced scattering coefficient of dermis, cm^-1 (Mie + Rayleigh terms)."""
    return 2e5 * WAVELENGTHS**-1.5 + 2e12 * WAVELENGTHS**-4.0


def skin_reflectance(
    blood: ArrayLike,
    melanin: ArrayLike,
    saturation: float = DEFAULT_SATURATION,
) -> FloatArray:
    """Diffuse reflectance R(λ) of skin for dermal blood and epidermal melanin volume fractions.

    ``R = exp(-2·μa_epi·d_epi) · exp(-7·sqrt(μa_der / (3(μa_der + μs'))))``: a double pass
    through an absorbing epidermis on top of a semi-infinite diffusing dermis. Crude, but it
    reproduces the spectral signatures the metrics rely on. Returns shape ``broadcast(blood,
    melanin).shape + (31,)``.
    """
    b = np.asarray(blood, dtype=np.float64)[..., None]
    m = np.asarray(melanin, dtype=np.float64)[..., None]
    base = mua_baseline()
    mua_epi = m * mua_melanosome() + (1.0 - m) * base
    mua_der = b * mua_blood(saturation) + (1.0 - b) * base
    mus = mus_reduced_dermis()
    epi = np.exp(-2.0 * mua_epi * EPIDERMIS_CM)
    der = np.exp(-7.0 * np.sqrt(mua_der / (3.0 * (mua_der + mus))))
    result: FloatArray = epi * der
    return result


def flat_reflectance(value: float) -> FloatArray:
    """A spectrally neutral reflectance (grey card, dark backdrop fabric)."""
    return np.full(WAVELENGTHS.shape, float(value))
