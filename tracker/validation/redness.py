"""Physics validation of the headline redness metric, delta_ei.

Photos are rendered with known dermal blood in the treated zone, for light, medium and
dark skin, under four kinds of light (daylight, incandescent, fluorescent, LED) at full
and half exposure, then measured by the real pipeline (`analyze`, with the zones from the
renderer's truth and no colour chart, i.e. the shades-of-grey fallback). What must hold:

- delta_ei rises strictly with blood at fixed skin and lighting;
- within each skin tone, pooled over all lights and exposures, the ranking by blood holds
  (Spearman ≥ 0.95);
- the response to +1 % blood on dark skin is at least half that on light skin;
- an exposure change alone moves delta_ei by less than a quarter of the +1 % blood step.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise, product

import numpy as np
from scipy.stats import spearmanr

from tracker.imaging.analyze import analyze
from tracker.imaging.zones import Zones
from tracker.synth import Framing, PhotoSpec, SkinScene, render_photo
from tracker.validation import Section

# Melanin fractions of the demo clients' skin tones (sample_photos/manifest.json).
TONES = {"light": 0.015, "medium": 0.04, "dark": 0.17}
LIGHTS = {"daylight": "D65", "incandescent": "A", "fluorescent": "FL11", "LED": "LED-B3"}
BLOOD_REFERENCE = 0.015
EXTRA_BLOOD = (0.0, 0.005, 0.01, 0.02, 0.03)
EXPOSURES = (1.0, 0.75, 0.5)


@dataclass(frozen=True)
class Point:
    tone: str
    light: str
    exposure: float
    extra_blood: float
    delta_ei: float


def measure(
    tone: str, light: str, exposure: float, extra: float, *, px_per_mm: float = 10.0, seed: int = 7
) -> Point:
    melanin = TONES[tone]
    scene = SkinScene(
        seed=seed,
        blood_reference=BLOOD_REFERENCE,
        blood_treated=BLOOD_REFERENCE + extra,
        melanin_reference=melanin,
        melanin_treated=melanin,
    )
    spec = PhotoSpec(
        scene=scene,
        framing=Framing(px_per_mm=px_per_mm, width=round(56 * px_per_mm), height=round(42 * px_per_mm)),
        illuminant=LIGHTS[light],
        exposure=exposure,
        seed=seed,
    )
    rendered = render_photo(spec)
    zones = rendered.truth["zones"]
    result = analyze(
        rendered.rgb,
        zones=Zones(zones["treated"], zones["reference"], "manual"),
        px_per_mm=px_per_mm,
    )
    value = result.metrics["delta_ei"]
    assert value is not None
    return Point(tone, light, exposure, extra, float(value))


def run(quick: bool = False) -> Section:
    # Quick: fewer exposures and a coarser pixel grid; the same five blood levels, because
    # tied blood values cap a pooled Spearman (at 0.94 with three levels, 0.98 with five).
    exposures = (1.0, 0.5) if quick else EXPOSURES
    px_per_mm = 6.0 if quick else 10.0
    extras = EXTRA_BLOOD
    points = [
        measure(tone, light, exposure, extra, px_per_mm=px_per_mm)
        for tone, light, exposure, extra in product(TONES, LIGHTS, exposures, extras)
    ]
    numbers: dict[str, float] = {}
    rows = []
    for tone in TONES:
        mine = [p for p in points if p.tone == tone]
        rho = float(spearmanr([p.extra_blood for p in mine], [p.delta_ei for p in mine]).statistic)
        monotone = all(
            all(b.delta_ei > a.delta_ei for a, b in pairwise(sorted(group, key=lambda p: p.extra_blood)))
            for group in _groups(mine)
        )
        slope = _slope_per_percent([p for p in mine if p.light == "daylight" and p.exposure == 1.0])
        slopes = [_slope_per_percent(g) for g in _groups(mine)]
        exposure_shift = max(
            abs(a.delta_ei - b.delta_ei)
            for a in mine
            for b in mine
            if a.light == b.light and a.extra_blood == b.extra_blood and a.exposure != b.exposure
        )
        numbers[f"spearman_{tone}"] = rho
        numbers[f"monotone_{tone}"] = 1.0 if monotone else 0.0
        numbers[f"slope_per_1pct_{tone}"] = slope
        numbers[f"exposure_shift_{tone}"] = exposure_shift
        numbers[f"exposure_shift_over_step_{tone}"] = exposure_shift / slope
        rows.append(
            f"| {tone} | {rho:.3f} | {'yes' if monotone else 'NO'} | {slope:.2f} "
            f"| {min(slopes):.2f}–{max(slopes):.2f} | {exposure_shift:.2f} | {exposure_shift / slope:.3f} |"
        )
    numbers["dark_over_light_response"] = numbers["slope_per_1pct_dark"] / numbers["slope_per_1pct_light"]
    numbers["spearman_min"] = min(numbers[f"spearman_{t}"] for t in TONES)
    numbers["exposure_shift_over_step_max"] = max(numbers[f"exposure_shift_over_step_{t}"] for t in TONES)
    body = "\n".join(
        [
            __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
            "",
            f"Grid: {len(TONES)} tones × {len(LIGHTS)} lights "
            f"({', '.join(f'{k} {v}' for k, v in LIGHTS.items())})"
            f" × exposures {', '.join(f'×{e:g}' for e in exposures)} × extra blood "
            f"{', '.join(f'{100 * x:g} %' for x in extras)} ({len(points)} rendered photos, 56 × 42 mm at "
            f"{px_per_mm:g} px/mm). Five blood levels, so a perfect ranking gives a pooled Spearman of 0.98 "
            "(tied blood values cap it below 1).",
            "",
            "| tone | Spearman (pooled) | strictly rising in every light/exposure | delta_ei per +1 % blood "
            "(daylight) | range over lights/exposures | max shift from exposure alone | shift / +1 % step |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Response on dark skin relative to light skin: **{numbers['dark_over_light_response']:.2f}** "
            "(goal ≥ 0.5). Lowest pooled Spearman: "
            f"**{numbers['spearman_min']:.3f}** (goal ≥ 0.95). Largest exposure-only shift: "
            f"**{numbers['exposure_shift_over_step_max']:.3f}** of a +1 % step (goal < 0.25).",
        ]
    )
    return Section(title="Redness (delta_ei) against dermal blood", markdown=body, numbers=numbers)


def _groups(points: list[Point]) -> list[list[Point]]:
    keys = sorted({(p.light, p.exposure) for p in points})
    return [[p for p in points if (p.light, p.exposure) == key] for key in keys]


def _slope_per_percent(points: list[Point]) -> float:
    x = np.array([100 * p.extra_blood for p in points])
    y = np.array([p.delta_ei for p in points])
    return float(np.polyfit(x, y, 1)[0])
