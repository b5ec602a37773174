"""Fairness: the skin mask and the automatic zones must work as well on dark skin as on
light skin (public skin detectors are known to lose recall on dark skin).

For every photo of the light, medium and dark demo clients (different lights, exposures,
white-balance errors, poses, charts in frame), the automatic skin mask and the automatic
zone (no face in these close-ups, so: all visible skin, eroded) are compared with the
renderer's exact skin outline. Coverage = share of the true skin area they cover;
precision = share of what they mark that is truly skin.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from tracker.imaging.analyze import ANALYSIS_SIDE, SKIN_MASK_SIDE, _downscale
from tracker.imaging.colour import srgb_to_linear
from tracker.imaging.masks import polygon_mask, skin_mask
from tracker.imaging.zones import propose
from tracker_dev.validation import Section

SAMPLES = Path(__file__).resolve().parents[2] / "sample_photos"


def run(quick: bool = False) -> Section:
    manifest = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
    stats: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for client in manifest["clients"]:
        photos = client["photos"][:: 6 if quick else 1]
        tone = client["skin_tone"]
        for photo in photos:
            rgb = np.asarray(ImageOps.exif_transpose(Image.open(SAMPLES / photo["file"])).convert("RGB"))
            truth = polygon_mask(photo["truth"]["skin_region"]["polygon"], rgb.shape[:2])
            small, factor = _downscale(rgb, ANALYSIS_SIDE)
            skin_small = skin_mask(srgb_to_linear(small), max_side=SKIN_MASK_SIDE)
            full = skin_mask(srgb_to_linear(rgb), max_side=SKIN_MASK_SIDE)
            zones = propose(small, skin_small, 1.0 / factor)
            zone = polygon_mask(zones.treated, rgb.shape[:2]) if zones else np.zeros_like(truth)
            for name, mask in (("mask", full), ("zone", zone)):
                hit = float((mask & truth).sum())
                stats[tone][f"{name}_coverage"].append(hit / truth.sum())
                stats[tone][f"{name}_precision"].append(hit / max(1.0, float(mask.sum())))
    numbers: dict[str, float] = {}
    rows = []
    for tone in ("light", "medium", "dark"):
        s = stats[tone]
        for key, values in s.items():
            numbers[f"{tone}_{key}_min"] = float(np.min(values))
            numbers[f"{tone}_{key}_mean"] = float(np.mean(values))
        rows.append(
            f"| {tone} | {len(s['mask_coverage'])} | {np.mean(s['mask_coverage']):.3f} "
            f"({np.min(s['mask_coverage']):.3f}) | {np.mean(s['mask_precision']):.3f} "
            f"({np.min(s['mask_precision']):.3f}) | {np.mean(s['zone_coverage']):.3f} "
            f"({np.min(s['zone_coverage']):.3f}) | {np.mean(s['zone_precision']):.3f} "
            f"({np.min(s['zone_precision']):.3f}) |"
        )
    numbers["coverage_min"] = min(
        numbers[f"{t}_{k}_coverage_min"] for t in ("light", "medium", "dark") for k in ("mask", "zone")
    )
    body = "\n".join(
        [
            __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
            "",
            "| tone | photos | skin mask coverage mean (min) | mask precision mean (min) "
            "| auto zone coverage mean (min) | zone precision mean (min) |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "Lowest coverage of any photo, mask or zone, any tone: "
            f"**{numbers['coverage_min']:.3f}** (goal ≥ 0.90).",
        ]
    )
    return Section(
        title="Fairness: skin mask and automatic zones by skin tone", markdown=body, numbers=numbers
    )
