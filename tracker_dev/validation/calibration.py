"""Validation of colour calibration and chart scale (tracker.imaging.calibration, design §3.4).

Three experiments:

1. Illuminant sweep: one rendered scene (skin + a ColorChecker 24 held beside it) under several
   CIE illuminants with a camera white-balance error; the chart is found and fitted, and the
   corrected patches are compared with the reference. The skin's a* in the untreated reference
   zone is compared across illuminants before and after correction: that spread is what the
   calibration exists to remove. A scrambled patch order must be rejected by the leave-one-out
   gate.
2. The demo set's chart frames (JPEG, several illuminants, small rotations): detection rate,
   leave-one-out ΔE00, px/mm versus the renderer's truth, and no chart in chart-free frames.
3. Cost when there is no chart, at 12 MP (the price every photo pays), and the fallback taken.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from tracker.imaging.calibration import (
    DEFAULT_PATCH_PITCH_MM,
    apply,
    calibrate,
    find_chart,
    fit_colour_correction,
    skin_patch_weights,
)
from tracker.imaging.colour import (
    COLORCHECKER24_LINEAR_SRGB,
    delta_e_2000,
    ita_degrees,
    linear_rgb_to_lab,
    srgb_to_linear,
)
from tracker_dev.synth import (
    WAVELENGTHS,
    ChartPlacement,
    Framing,
    PhotoSpec,
    Rendered,
    SkinScene,
    polygon_mask,
    render_photo,
    skin_reflectance,
)
from tracker_dev.synth.camera import (
    XYZ_TO_SRGB,
    colorchecker_reflectances,
    raw_response,
    raw_to_linear_srgb,
    xyz_of_reflectance,
)
from tracker_dev.validation import Section

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_photos"
#: A phone's auto-WB guessing the light wrong by 8 % in red and blue (a clearly visible cast),
#: warm and cool.
WB_ERROR = (1.08, 1.0, 0.92)
WB_ERROR_COOL = (0.93, 1.0, 1.08)
#: Skin-patch weight of the alternative fit reported next to the plain one.
SKIN_WEIGHT = 20.0
_FULL_ILLUMINANTS = ("D65", "D50", "A", "FL2", "FL11", "LED-B3")
_QUICK_ILLUMINANTS = ("D65", "A", "FL2", "LED-B3")
# Scene framing: 1200×900 at 16 px/mm; the chart sits top right, clear of both zones.
_W, _H, _PPM = 1200, 900, 16.0
_CHART_CENTRE = (0.755 * _W, 0.235 * _H)
_REF = COLORCHECKER24_LINEAR_SRGB.astype(np.float64)


def _de(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.float64]:
    return delta_e_2000(linear_rgb_to_lab(a), linear_rgb_to_lab(b))


@lru_cache(maxsize=16)
def render_scene(
    illuminant: str,
    chart_rotation_deg: float | None = 3.0,
    exposure: float = 0.85,
    wb_error: tuple[float, float, float] = WB_ERROR,
) -> Rendered:
    """The sweep's scene (cached: the tests reuse it). ``chart_rotation_deg=None``: no chart."""
    chart = None if chart_rotation_deg is None else ChartPlacement(_CHART_CENTRE, chart_rotation_deg)
    spec = PhotoSpec(
        scene=SkinScene(seed=7),
        framing=Framing(_PPM, _W, _H),
        illuminant=illuminant,
        wb_error=wb_error,
        exposure=exposure,
        chart=chart,
        seed=11,
    )
    return render_photo(spec)


def zone_mask(truth: dict[str, Any], zone: str) -> NDArray[np.bool_]:
    """Hard mask of a truth zone polygon ('treated' / 'reference')."""
    mask: NDArray[np.bool_] = polygon_mask(truth["zones"][zone], truth["height"], truth["width"]) > 0.5
    return mask


def skin_mask(truth: dict[str, Any]) -> NDArray[np.bool_]:
    """Hard mask of the rendered skin region (truth polygon)."""
    mask: NDArray[np.bool_] = (
        polygon_mask(truth["skin_region"]["polygon"], truth["height"], truth["width"]) > 0.5
    )
    return mask


def _zone_lab(linear: NDArray[np.float32], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    return linear_rgb_to_lab(linear[mask].astype(np.float64).mean(axis=0))


def _illuminant_row(
    illuminant: str, rotation: float, exposure: float, wb_error: tuple[float, float, float]
) -> dict[str, Any]:
    r = render_scene(illuminant, rotation, exposure, wb_error)
    linear = srgb_to_linear(r.rgb)
    t0 = time.perf_counter()
    chart = find_chart(r.rgb, linear)
    ms = (time.perf_counter() - t0) * 1000
    row: dict[str, Any] = {
        "illuminant": illuminant,
        "rotation": rotation,
        "exposure": exposure,
        "wb": "warm" if wb_error[0] > 1 else "cool",
        "ms": ms,
    }
    ref_mask = zone_mask(r.truth, "reference")
    lab_before = _zone_lab(linear, ref_mask)
    row["a_before"] = float(lab_before[1])
    row["ita_before"] = ita_degrees(float(lab_before[0]), float(lab_before[2]))
    if chart is None:
        row["found"] = False
        return row
    matrix, loo, fit = fit_colour_correction(chart.patch_linear, _REF, chart.usable)
    corrected = np.maximum(chart.patch_linear @ matrix.T, 0.0)
    truth_centres = np.asarray(r.truth["chart"]["patch_centres"])
    cal = calibrate(r.rgb, linear, skin_mask=skin_mask(r.truth))
    lab_after = _zone_lab(apply(cal, linear), ref_mask)
    m_skin, _l, _f = fit_colour_correction(
        chart.patch_linear, _REF, chart.usable, skin_patch_weights(SKIN_WEIGHT)
    )
    lab_skin_w = linear_rgb_to_lab(linear[ref_mask].astype(np.float64).mean(axis=0) @ m_skin.T)
    de_skin_w = float(_de(np.maximum(chart.patch_linear @ m_skin.T, 0.0), _REF).mean())
    scramble = np.random.default_rng(5).permutation(24)
    _m, loo_scrambled, _f = fit_colour_correction(chart.patch_linear[scramble], _REF, chart.usable[scramble])
    row.update(
        found=True,
        n_usable=int(chart.usable.sum()),
        de_before=float(_de(chart.patch_linear, _REF).mean()),
        de_after=float(_de(corrected, _REF).mean()),
        de_after_usable=float(_de(corrected, _REF)[chart.usable].mean()),
        loo=loo,
        fit=fit,
        loo_scrambled=loo_scrambled,
        centre_err_px=float(np.abs(chart.patch_centres - truth_centres).max()),
        ppm_rel_err=chart.px_per_mm(DEFAULT_PATCH_PITCH_MM) / r.truth["px_per_mm"] - 1.0,
        method=cal.method,
        a_after=float(lab_after[1]),
        ita_after=ita_degrees(float(lab_after[0]), float(lab_after[2])),
        a_skin_w=float(lab_skin_w[1]),
        ita_skin_w=ita_degrees(float(lab_skin_w[0]), float(lab_skin_w[2])),
        de_after_skin_w=de_skin_w,
    )
    return row


def _sweep(quick: bool) -> tuple[str, dict[str, float]]:
    if quick:  # one WB error per light, alternating
        cases = [
            (ill, 3.0, 0.85, (WB_ERROR, WB_ERROR_COOL)[i % 2]) for i, ill in enumerate(_QUICK_ILLUMINANTS)
        ]
    else:
        cases = [(ill, 3.0, 0.85, wb) for ill in _FULL_ILLUMINANTS for wb in (WB_ERROR, WB_ERROR_COOL)]
        cases.append(("A", 183.0, 0.6, WB_ERROR))  # chart turned upside down, darker exposure
    rows = [_illuminant_row(*c) for c in cases]
    found = [r for r in rows if r["found"]]
    lines = [
        "| light | WB | chart rot. | exposure | usable | ΔE00 before | ΔE00 after (24) | after (usable) | "
        "LOO | LOO scrambled | centre err px | px/mm err | skin a* before → 3×3 → skin-weighted |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = f"| {r['illuminant']} | {r['wb']} | {r['rotation']:g}° | {r['exposure']:g} |"
        if not r["found"]:
            lines.append(head + " not found |" + " – |" * 8)
            continue
        lines.append(
            f"{head} {r['n_usable']} | {r['de_before']:.2f} | {r['de_after']:.2f} | "
            f"{r['de_after_usable']:.2f} | {r['loo']:.2f} | {r['loo_scrambled']:.1f} | "
            f"{r['centre_err_px']:.2f} | {100 * r['ppm_rel_err']:+.3f} % | "
            f"{r['a_before']:.2f} → {r['a_after']:.2f} → {r['a_skin_w']:.2f} |"
        )

    def spread(key: str, subset: list[dict[str, Any]]) -> float:
        values = [float(r[key]) for r in subset]
        return max(values) - min(values)

    numbers = {
        "sweep_detect_rate": len(found) / len(rows),
        "corrected_de00_mean_worst_illuminant": max(r["de_after"] for r in found),
        "corrected_de00_usable_mean_worst_illuminant": max(r["de_after_usable"] for r in found),
        "corrected_de00_skin_weighted_worst": max(r["de_after_skin_w"] for r in found),
        "uncorrected_de00_mean_worst": max(r["de_before"] for r in found),
        "uncorrected_de00_mean_best": min(r["de_before"] for r in found),
        "sweep_loo_de00_max": max(r["loo"] for r in found),
        "sweep_loo_scrambled_min": min(r["loo_scrambled"] for r in found),
        "sweep_px_per_mm_rel_err_max": max(abs(r["ppm_rel_err"]) for r in found),
        "sweep_centre_err_px_max": max(r["centre_err_px"] for r in found),
        "sweep_chart_accepted_rate": sum(r["method"] == "chart" for r in found) / len(rows),
        "skin_a_spread_before": spread("a_before", rows),
        "skin_a_spread_after": spread("a_after", found),
        "skin_a_spread_skin_weighted": spread("a_skin_w", found),
        "skin_ita_spread_before": spread("ita_before", rows),
        "skin_ita_spread_after": spread("ita_after", found),
        "skin_ita_spread_skin_weighted": spread("ita_skin_w", found),
    }
    model_md, model_numbers = _skin_model_check()
    numbers.update(model_numbers)
    md = (
        f"Scene: {_W}×{_H} px at {_PPM:g} px/mm, skin with a 34 × 24 mm pocket ColorChecker "
        "(5 mm pitch, BabelColor Average spectra) beside it, camera WB error warm "
        f"{WB_ERROR} or cool {WB_ERROR_COOL}, noise on, 8-bit sRGB. 'Before' compares the measured "
        "patches with the reference as they are (cast and exposure included); 'after (24)' applies "
        "the fitted 3×3 to all 24 patches (negatives clipped to 0), including patches with a "
        "channel clipped in the photo that were left out of the fit; LOO is the leave-one-out mean "
        "ΔE00 the acceptance gate uses (≤ 3); 'LOO scrambled' fits the same patches in a random "
        "order. Skin a* is the mean of the untreated reference zone: as photographed, after "
        f"`calibrate()`, and after a fit with the two skin patches weighted ×{SKIN_WEIGHT:g}.\n\n"
        + "\n".join(lines)
        + "\n\n"
        f"Worst corrected mean ΔE00 {numbers['corrected_de00_mean_worst_illuminant']:.2f} (goal ≤ 3; "
        f"{numbers['uncorrected_de00_mean_best']:.1f}–{numbers['uncorrected_de00_mean_worst']:.1f} "
        "before). The chart residual comes from metamerism (a 3×3 cannot map every spectrum under "
        "every light) and from the reference data (chart rendered from BabelColor Average spectra, "
        "reference = colour-science's 'After November 2014' set, 0.9 ΔE00 apart under D65).\n\n"
        "**Skin is not the chart.** The same skin's a* across these photos spreads "
        f"{numbers['skin_a_spread_before']:.2f} as photographed, {numbers['skin_a_spread_after']:.2f} "
        f"after the chart 3×3 and {numbers['skin_a_spread_skin_weighted']:.2f} with skin-weighted "
        f"patches; ITA spreads {numbers['skin_ita_spread_before']:.1f}° / "
        f"{numbers['skin_ita_spread_after']:.1f}° / {numbers['skin_ita_spread_skin_weighted']:.1f}°. "
        "The chart removes casts and exposure (which dominate between real photos), but the matrix "
        "that is best for the 24 patches is not the best for skin, whose haemoglobin bands make it "
        "metameric to them; under spiky fluorescent light no 3×3 can fix that. So absolute a*/ITA "
        "stay approximate even with a chart; reference-paired metrics remain the headline.\n\n" + model_md
    )
    return md, numbers


def _skin_model_check() -> tuple[str, dict[str, float]]:
    """Chart-fitted matrices applied to modelled skin spectra, against the skin's CIE D65 colour.

    No image: spectral integration only (tracker_dev.synth.camera), 12 skins (blood × melanin),
    6 lights × 2 WB errors. 'oracle' is a 3×3 fitted on the skins themselves: it shows the camera
    could render skin well and the gap is the chart's choice of colours.
    """
    skins = skin_reflectance(
        np.array([0.01, 0.015, 0.03, 0.05])[:, None], np.array([0.02, 0.1, 0.3])[None, :]
    ).reshape(-1, WAVELENGTHS.size)
    target = xyz_of_reflectance(skins, "D65") @ XYZ_TO_SRGB.T
    truth = linear_rgb_to_lab(target)
    chart = colorchecker_reflectances()
    variants: dict[str, list[tuple[float, float]]] = {
        "none": [],
        "3×3": [],
        "skin-weighted": [],
        "oracle": [],
    }
    for ill in _FULL_ILLUMINANTS:
        for wb in (WB_ERROR, WB_ERROR_COOL):
            x = raw_to_linear_srgb(raw_response(chart, ill), ill, wb_error=wb)
            sk = raw_to_linear_srgb(raw_response(skins, ill), ill, wb_error=wb)
            oracle, *_ = np.linalg.lstsq(sk, target, rcond=None)
            mats = {
                "none": np.eye(3),
                "3×3": fit_colour_correction(x, _REF)[0],
                "skin-weighted": fit_colour_correction(x, _REF, None, skin_patch_weights(SKIN_WEIGHT))[0],
                "oracle": oracle.T,
            }
            for name, m in mats.items():
                lab = linear_rgb_to_lab(sk @ m.T)
                variants[name].append(
                    (float(delta_e_2000(lab, truth).mean()), float(np.mean(lab[:, 1] - truth[:, 1])))
                )
    lines = [
        "| correction | skin ΔE00 vs CIE D65, mean | worst light | mean a* bias | a* bias range |",
        "|---|---|---|---|---|",
    ]
    numbers: dict[str, float] = {}
    for name, vals in variants.items():
        arr = np.asarray(vals)
        lines.append(
            f"| {name} | {arr[:, 0].mean():.2f} | {arr[:, 0].max():.2f} | {arr[:, 1].mean():+.2f} | "
            f"{arr[:, 1].min():+.2f} … {arr[:, 1].max():+.2f} |"
        )
        key = {"none": "none", "3×3": "chart", "skin-weighted": "skin_weighted", "oracle": "oracle"}[name]
        numbers[f"model_skin_de00_{key}"] = float(arr[:, 0].mean())
        numbers[f"model_skin_a_bias_{key}"] = float(arr[:, 1].mean())
    md = (
        "Spectral check without images: 12 modelled skins under the 6 lights × 2 WB errors, "
        "corrected with the matrix fitted on the (noise-free) chart, compared with each skin's "
        "CIE 1931 colour under D65:\n\n" + "\n".join(lines) + "\n"
    )
    return md, numbers


def _demo_photos() -> list[dict[str, Any]]:
    manifest = json.loads((SAMPLE_DIR / "manifest.json").read_text())
    photos: list[dict[str, Any]] = [p for c in manifest["clients"] for p in c["photos"]]
    return photos


def load_rgb(path: Path) -> NDArray[np.uint8]:
    """Upright RGB uint8 of a demo JPEG (EXIF orientation applied)."""
    with Image.open(path) as img:
        upright = ImageOps.exif_transpose(img).convert("RGB")
        return np.asarray(upright, dtype=np.uint8)


def _pick(items: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """n items spread evenly over the list (different clients and lights)."""
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in idx]


def _demo(quick: bool) -> tuple[str, dict[str, float]]:
    photos = _demo_photos()
    with_chart = [p for p in photos if p["truth"].get("chart")]
    chosen = _pick(with_chart, 4) if quick else with_chart
    loos: list[float] = []
    ppm_errs: list[float] = []
    corner_errs: list[float] = []
    accepted = 0
    times: list[float] = []
    lights: set[str] = set()
    for p in chosen:
        rgb = load_rgb(SAMPLE_DIR / p["file"])
        linear = srgb_to_linear(rgb)
        t0 = time.perf_counter()
        chart = find_chart(rgb, linear)
        times.append((time.perf_counter() - t0) * 1000)
        if chart is None:
            continue
        truth = p["truth"]
        lights.add(truth["illuminant"])
        _m, loo, _fit = fit_colour_correction(chart.patch_linear, _REF, chart.usable)
        loos.append(loo)
        accepted += loo <= 3.0
        ppm_errs.append(abs(chart.px_per_mm(DEFAULT_PATCH_PITCH_MM) / truth["px_per_mm"] - 1.0))
        corner_errs.append(float(np.abs(chart.corners - np.asarray(truth["chart"]["grid_corners"])).max()))
    numbers = {
        "demo_frames": float(len(chosen)),
        "demo_detect_rate": len(loos) / len(chosen),
        "demo_accept_rate": accepted / len(chosen),
        "demo_loo_de00_mean": float(np.mean(loos)) if loos else float("nan"),
        "demo_loo_de00_max": max(loos) if loos else float("nan"),
        "px_per_mm_rel_err_max": max(ppm_errs) if ppm_errs else float("nan"),
        "demo_corner_err_px_max": max(corner_errs) if corner_errs else float("nan"),
        "demo_ms_with_chart_median": float(np.median(times)),
    }
    md = (
        f"{len(chosen)} chart frame(s) of the demo set ({', '.join(sorted(lights))}; 1600×1200 JPEG, "
        "charts rotated by a few degrees): "
        f"detected {len(loos)}/{len(chosen)}, accepted (LOO ≤ 3) {accepted}; leave-one-out mean ΔE00 "
        f"mean {numbers['demo_loo_de00_mean']:.2f}, max {numbers['demo_loo_de00_max']:.2f}; px/mm "
        f"error vs truth at most {100 * numbers['px_per_mm_rel_err_max']:.3f} %; grid corners within "
        f"{numbers['demo_corner_err_px_max']:.2f} px of truth (cv2.mcc's own box is 10–20 px off; "
        "the grid is refitted on the patch squares). Median time with a chart "
        f"{numbers['demo_ms_with_chart_median']:.0f} ms.\n"
    )
    if not quick:
        free = [p for p in photos if not p["truth"].get("chart")]
        false_hits = sum(find_chart(load_rgb(SAMPLE_DIR / p["file"])) is not None for p in free)
        numbers["demo_false_detect_rate"] = false_hits / len(free)
        md += f"\nChart-free frames: {false_hits}/{len(free)} false detections.\n"
    return md, numbers


def _no_chart(quick: bool) -> tuple[str, dict[str, float]]:
    r = render_scene("A", None)
    big = cv2.resize(r.rgb, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    find_chart(big)  # warm-up (first call loads OpenCV's mcc code paths)
    times = []
    found = 0
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter()
        found += find_chart(big) is not None
        times.append((time.perf_counter() - t0) * 1000)
    linear = srgb_to_linear(r.rgb)
    cal = calibrate(r.rgb, linear, skin_mask=skin_mask(r.truth))
    # The backdrop is neutral fabric: after the fallback its colour should be grey again.
    backdrop = ~skin_mask(r.truth)
    bg = apply(cal, linear)[backdrop].astype(np.float64).mean(axis=0)
    bg_before = linear[backdrop].astype(np.float64).mean(axis=0)
    cast_before = float(np.abs(bg_before / bg_before[1] - 1).max())
    cast_after = float(np.abs(bg / bg[1] - 1).max())
    numbers = {
        "ms_no_chart_12mp": float(np.median(times)),
        "ms_no_chart_12mp_min": float(np.min(times)),
        "no_chart_false_detections": float(found),
        "fallback_is_shades_of_grey": float(cal.method == "shades_of_grey" and cal.uncalibrated),
        "sog_backdrop_cast_before": cast_before,
        "sog_backdrop_cast_after": cast_after,
    }
    md = (
        "A chart-free render (illuminant A, the same WB error) upscaled to 4000×3000: `find_chart` "
        f"returned a chart {found} time(s); median {numbers['ms_no_chart_12mp']:.0f} ms, fastest "
        f"{numbers['ms_no_chart_12mp_min']:.0f} ms (goal ≤ 60 ms; wall time, which "
        "varies with machine load). Detection runs on a ≤ 800 px copy with smaller-patch, "
        "fewer-window mcc parameters. `calibrate()` fell back to "
        f"`{cal.method}` (uncalibrated={cal.uncalibrated}); the neutral backdrop's largest channel "
        f"deviation from grey went {100 * cast_before:.1f} % → {100 * cast_after:.1f} %.\n"
    )
    return md, numbers


def run(quick: bool = False) -> Section:
    """All three experiments; ``quick`` uses 4 lights and 4 demo frames."""
    parts = [
        ("Chart under coloured light", _sweep(quick)),
        ("Demo set charts", _demo(quick)),
        ("No chart: cost and fallback", _no_chart(quick)),
    ]
    numbers: dict[str, float] = {}
    body = []
    for title, (md, nums) in parts:
        numbers.update(nums)
        body.append(f"#### {title}\n\n{md}")
    ok = (
        numbers["corrected_de00_mean_worst_illuminant"] <= 3.0
        and numbers["demo_detect_rate"] == 1.0
        and numbers["px_per_mm_rel_err_max"] <= 0.02
        and numbers["no_chart_false_detections"] == 0
    )
    verdict = (
        "**Verdict:** " + ("meets" if ok else "does NOT meet") + " the goals (corrected ΔE00 ≤ 3 under "
        "every light, every demo chart found, px/mm within 2 %, no false chart); the 12 MP no-chart "
        f"cost was {numbers['ms_no_chart_12mp']:.0f} ms (median) against a 60 ms budget."
    )
    return Section(
        title="Colour calibration and chart scale",
        markdown="\n".join(body) + "\n" + verdict + "\n",
        numbers={k: round(float(v), 4) for k, v in numbers.items()},
    )
