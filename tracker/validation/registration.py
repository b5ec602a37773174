"""Validation of photo registration (tracker.imaging.registration, brief §3.5).

Four experiments:

1. Known warps of scikit-image's astronaut photo (public domain), upscaled ×3 to 1536 px: random
   similarity warps (rotation ±8°, scale 0.9–1.1, shift ±60 px) with a tone-curve change (gamma
   0.75–1.3) and a colour cast (channel gains 0.85–1.15). The error is the mean distance, over a
   20×20 grid on the face, between where the true and the estimated map put each point.
2. The demo set: every follow-up of a client registered to that client's first photo, compared
   with the renderer's ``pose_to_baseline`` over a grid in the treated zone; once on the whole
   frame (the default call) and once restricted to the baseline's skin region, which is what a
   real photo without a static backdrop offers.
3. Negative controls that must come back ``ok=False``: noise, a blank frame, another client's
   photo with the same framing.
4. Time for two 12 MP photos on one core.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps
from skimage import data as skdata
from skimage.feature import Cascade

from tracker.imaging.registration import OK_SCORE, register, transform_points
from tracker.validation import Section

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_photos"
UPSCALE = 3
#: Face box (x, y, w, h) in the 512-px astronaut, used if the LBP cascade ever finds nothing; it is
#: what ``skimage.feature.Cascade`` with scikit-image's frontal-face file detects (0.26).
FALLBACK_FACE = (175, 70, 93, 93)
#: Acceptance goals.
GOAL_ASTRONAUT_PX = 1.0  # worst warp's mean face error
GOAL_DEMO_MEDIAN_PX = 1.0
GOAL_DEMO_MAX_PX = 2.0
GOAL_MS_12MP = 150.0
_SEED = 20260503


@contextmanager
def _one_thread() -> Iterator[None]:
    """Time on one core, as the budget is stated (OpenCV would otherwise use every core)."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def load_rgb(path: Path) -> NDArray[np.uint8]:
    """Upright RGB uint8 of a demo JPEG (EXIF orientation applied; the truth is for upright)."""
    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"), dtype=np.uint8)


def _timed(baseline: NDArray[np.uint8], follow_up: NDArray[np.uint8], **kw: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    reg = register(baseline, follow_up, **kw)
    return reg, (time.perf_counter() - t0) * 1000


# --------------------------------------------------------------------------------------------
# 1. Astronaut


@lru_cache(maxsize=1)
def face_box() -> tuple[int, int, int, int]:
    """Face (x, y, w, h) in the 512-px astronaut from scikit-image's LBP frontal-face cascade."""
    detector = Cascade(skdata.lbp_frontal_face_cascade_filename())
    found = detector.detect_multi_scale(
        img=skdata.astronaut(), scale_factor=1.2, step_ratio=1, min_size=(60, 60), max_size=(300, 300)
    )
    if not found:
        return FALLBACK_FACE
    best = max(found, key=lambda d: d["width"] * d["height"])
    return int(best["c"]), int(best["r"]), int(best["width"]), int(best["height"])


def face_grid(n: int = 20) -> NDArray[np.float64]:
    """n×n points over the face box, in the upscaled image's pixel coordinates."""
    x, y, w, h = face_box()
    # pixel centres: small pixel i covers big pixels around (i + 0.5)·UPSCALE − 0.5
    xs = (np.linspace(x, x + w - 1, n) + 0.5) * UPSCALE - 0.5
    ys = (np.linspace(y, y + h - 1, n) + 0.5) * UPSCALE - 0.5
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


@dataclass(frozen=True)
class Warp:
    image: NDArray[np.uint8]
    to_warped: NDArray[np.float64]  # original px → warped px (what cv2.warpAffine was given)
    rotation_deg: float
    scale: float
    gamma: float


def astronaut() -> NDArray[np.uint8]:
    """The astronaut upscaled ×3 (1536 px) with bicubic interpolation: the baseline."""
    big: NDArray[np.uint8] = cv2.resize(
        skdata.astronaut(), None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC
    )
    return big


def astronaut_warps(n: int, seed: int = _SEED) -> list[Warp]:
    """``n`` random similarity warps with a tone-curve change and a colour cast.

    The border is filled by reflection rather than black: like a re-take, the follow-up then
    shows content the baseline does not have at those places, instead of a sharp black edge.
    """
    base = astronaut()
    h, w = base.shape[:2]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        rot, scale = float(rng.uniform(-8, 8)), float(rng.uniform(0.9, 1.1))
        shift = rng.uniform(-60, 60, 2)
        gamma, gains = float(rng.uniform(0.75, 1.3)), rng.uniform(0.85, 1.15, 3)
        m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), rot, scale)
        m[:, 2] += shift
        warped = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
        graded = np.clip(255.0 * gains * (warped / 255.0) ** gamma, 0, 255).round().astype(np.uint8)
        out.append(Warp(graded, m.astype(np.float64), rot, scale, gamma))
    return out


def _astronaut(quick: bool) -> tuple[str, dict[str, float]]:
    base = astronaut()
    grid = face_grid()
    means, maxes, times, oks = [], [], [], 0
    for wp in astronaut_warps(6 if quick else 24):
        reg, ms = _timed(base, wp.image)
        est = transform_points(reg.matrix, transform_points(wp.to_warped, grid))
        err = np.linalg.norm(est - grid, axis=1)
        means.append(float(err.mean()))
        maxes.append(float(err.max()))
        times.append(ms)
        oks += reg.ok
    x, y, w, h = face_box()
    numbers = {
        "astronaut_warps": float(len(means)),
        "astronaut_mean_px_mean": float(np.mean(means)),
        "astronaut_mean_px_max": float(np.max(means)),
        "astronaut_point_px_max": float(np.max(maxes)),
        "astronaut_ok_share": oks / len(means),
        "astronaut_ms_median": float(np.median(times)),
    }
    md = (
        f"{len(means)} warps of the 1536-px astronaut; face box ({x}, {y}, {w}×{h}) in the 512-px "
        f"original from scikit-image's LBP cascade, 20×20 grid.\n\n"
        "| warps | mean error (mean of warps) | worst warp's mean | worst point | ok | ms / registration |\n"
        "|---|---|---|---|---|---|\n"
        f"| {len(means)} | {numbers['astronaut_mean_px_mean']:.3f} px | "
        f"{numbers['astronaut_mean_px_max']:.3f} px | {numbers['astronaut_point_px_max']:.3f} px | "
        f"{oks}/{len(means)} | {numbers['astronaut_ms_median']:.0f} |\n"
    )
    return md, numbers


# --------------------------------------------------------------------------------------------
# 2. Demo set


@lru_cache(maxsize=1)
def demo_manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def polygon_points(polygon: Any, step: float = 8.0) -> NDArray[np.float64]:
    """Grid points (``step`` px apart) inside a polygon given as (x, y) vertices."""
    poly = np.asarray(polygon, dtype=np.float64)
    (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
    gx, gy = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    inside = [cv2.pointPolygonTest(contour, (float(px), float(py)), False) > 0 for px, py in pts]
    out: NDArray[np.float64] = pts[np.asarray(inside, dtype=bool)]
    return out


def polygon_fill(polygon: Any, height: int, width: int) -> NDArray[np.bool_]:
    """Boolean mask of a polygon (pixel centres inside), e.g. the baseline's skin region."""
    mask = np.zeros((height, width), np.uint8)
    pts = np.round(np.asarray(polygon, dtype=np.float64) * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
    out: NDArray[np.bool_] = mask.astype(bool)
    return out


def zone_error(matrix: NDArray[Any], truth: dict[str, Any]) -> float:
    """Mean distance (baseline px) between estimated and true maps over the treated zone."""
    pts = polygon_points(truth["zones"]["treated"])
    true = transform_points(np.asarray(truth["pose_to_baseline"], dtype=np.float64), pts)
    return float(np.linalg.norm(transform_points(matrix, pts) - true, axis=1).mean())


def _pick(photos: list[dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    """All follow-ups, or in quick mode the first one and the first with a colour chart."""
    follow = photos[1:]
    if not quick:
        return follow
    chart = [p for p in follow if p["truth"].get("chart")]
    return [follow[0], *chart[:1]] if chart else follow[:2]


def _demo(quick: bool) -> tuple[str, dict[str, float]]:
    rows = []
    all_err: dict[str, list[float]] = {"frame": [], "skin": []}
    oks = {"frame": 0, "skin": 0}
    times: list[float] = []
    for client in demo_manifest()["clients"]:
        photos = client["photos"]
        base = load_rgb(SAMPLE_DIR / photos[0]["file"])
        bt = photos[0]["truth"]
        skin = polygon_fill(bt["skin_region"]["polygon"], bt["height"], bt["width"])
        errs: dict[str, list[float]] = {"frame": [], "skin": []}
        chosen = _pick(photos, quick)
        for p in chosen:
            follow = load_rgb(SAMPLE_DIR / p["file"])
            for key, mask in (("frame", None), ("skin", skin)):
                reg, ms = _timed(base, follow, baseline_mask=mask)
                errs[key].append(zone_error(reg.matrix, p["truth"]))
                oks[key] += reg.ok
                if key == "frame":
                    times.append(ms)
        for key in errs:
            all_err[key] += errs[key]
        rows.append(
            f"| {client['key']} ({client['skin_tone']}) | {len(chosen)} | "
            f"{np.median(errs['frame']):.2f} / {np.max(errs['frame']):.2f} | "
            f"{np.median(errs['skin']):.2f} / {np.max(errs['skin']):.2f} |"
        )
    n = len(all_err["frame"])
    numbers = {
        "demo_photos": float(n),
        "demo_zone_err_px_median": float(np.median(all_err["frame"])),
        "demo_zone_err_px_max": float(np.max(all_err["frame"])),
        "demo_ok_share": oks["frame"] / n,
        "demo_skin_zone_err_px_median": float(np.median(all_err["skin"])),
        "demo_skin_zone_err_px_max": float(np.max(all_err["skin"])),
        "demo_skin_ok_share": oks["skin"] / n,
        "demo_ms_median": float(np.median(times)),
    }
    md = (
        f"{n} follow-up photo(s) against each client's first photo (1152×864 home photos and "
        "1600×1200 clinic photos with a colour chart covering part of the frame; light direction, "
        "exposure, white balance, redness after treatment and pose all change). Treated-zone error "
        "in baseline px (≈ 22 px/mm), median / max:\n\n"
        "| client | photos | whole frame | skin region only |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n| all | {n} | {numbers['demo_zone_err_px_median']:.2f} / "
        f"{numbers['demo_zone_err_px_max']:.2f} | {numbers['demo_skin_zone_err_px_median']:.2f} / "
        f"{numbers['demo_skin_zone_err_px_max']:.2f} |\n\n"
        f"ok: {oks['frame']}/{n} (whole frame), {oks['skin']}/{n} (skin only); median "
        f"{numbers['demo_ms_median']:.0f} ms per registration. On skin alone the error is larger: "
        "the renderer shades pores, lines and scars by the light direction, which changes between "
        "photos and moves their apparent position by a fraction of their width; at the estimate the "
        "fine-level correlation is as high as (or higher than) at the true pose, so what remains is "
        "in the images, not the optimiser. The static backdrop has no relief and pins the pose.\n"
    )
    return md, numbers


# --------------------------------------------------------------------------------------------
# 3. Negative controls


def _negatives(quick: bool) -> tuple[str, dict[str, float]]:
    clients = demo_manifest()["clients"]
    base = load_rgb(SAMPLE_DIR / clients[0]["photos"][0]["file"])
    rng = np.random.default_rng(_SEED)
    cases: list[tuple[str, NDArray[np.uint8], NDArray[np.uint8]]] = [
        ("noise", base, rng.integers(0, 256, base.shape, dtype=np.uint8)),
        ("blank", base, np.full_like(base, 128)),
    ]
    if not quick:
        cases.append(("astronaut vs skin", base, cv2.resize(skdata.astronaut(), base.shape[1::-1])))
    others = clients[1:2] if quick else clients[1:]
    for other in others:  # another client's photo, same framing and backdrop style
        cases.append(
            (
                f"{other['key']} vs {clients[0]['key']}",
                base,
                load_rgb(SAMPLE_DIR / other["photos"][1]["file"]),
            )
        )
    lines, false_ok, scores = [], 0, []
    for name, b, f in cases:
        reg = register(b, f)
        false_ok += reg.ok
        scores.append(reg.score)
        lines.append(f"{name}: ok={reg.ok}, score {reg.score:.2f}, {reg.method}")
    numbers = {
        "negatives": float(len(cases)),
        "negatives_false_ok": float(false_ok),
        "negatives_score_max": float(max(scores)),
    }
    md = f"Must fail (`ok` needs score ≥ {OK_SCORE}): " + "; ".join(lines) + ".\n"
    return md, numbers


# --------------------------------------------------------------------------------------------
# 4. Speed


def _speed(quick: bool) -> tuple[str, dict[str, float]]:
    photos = demo_manifest()["clients"][0]["photos"]
    pair = [load_rgb(SAMPLE_DIR / p["file"]) for p in (photos[0], photos[5])]
    big = [cv2.resize(img, (4000, 3000), interpolation=cv2.INTER_LINEAR) for img in pair]
    register(*big)  # warm-up
    times = [_timed(*big)[1] for _ in range(3 if quick else 9)]
    numbers = {
        "ms_per_registration_12mp": float(np.median(times)),
        "ms_per_registration_12mp_min": min(times),
    }
    median, fastest = numbers["ms_per_registration_12mp"], numbers["ms_per_registration_12mp_min"]
    md = (
        "Two demo photos upscaled to 4000×3000 (already decoded), OpenCV on one thread: median "
        f"{median:.0f} ms, fastest {fastest:.0f} ms over {len(times)} runs (goal ≤ {GOAL_MS_12MP:.0f} ms; "
        "wall time, which varies with machine load). About a quarter is the two 12 MP reductions; "
        "the rest runs on ≤ 1000×750 working images. Hard pairs (score below 0.6 after the first "
        "try, e.g. a large rotation) also run the feature and plain starts, which roughly doubles "
        "or triples the time.\n"
    )
    return md, numbers


def run(quick: bool = False) -> Section:
    """All four experiments; ``quick`` uses 6 warps, 2 photos per client and fewer timing runs."""
    with _one_thread():
        parts = [
            ("Known warps of a public photo", _astronaut(quick)),
            ("Demo set against the renderer's pose", _demo(quick)),
            ("Negative controls", _negatives(quick)),
            ("Speed at 12 MP", _speed(quick)),
        ]
    numbers: dict[str, float] = {}
    body = [
        "Method: both photos are reduced to ≤ 1024 px and turned into a pyramid of band-passed, "
        "robustly normalised log-green images (insensitive to exposure, white balance, tone curve "
        "and uneven light). A rotation × scale grid with cross-correlation for the shift gives the "
        "rough pose (ORB features + RANSAC when that does not convince), `cv2.findTransformECC` "
        "refines it on the coarse levels without regions that disagree, block matching and a "
        "robust Gauss-Newton on the ECC criterion finish on the fine levels. Scored by the ECC "
        "correlation at the working resolution.\n"
    ]
    for title, (md, nums) in parts:
        numbers.update(nums)
        body.append(f"#### {title}\n\n{md}")
    ok = (
        numbers["astronaut_mean_px_max"] <= GOAL_ASTRONAUT_PX
        and numbers["demo_zone_err_px_median"] <= GOAL_DEMO_MEDIAN_PX
        and numbers["demo_zone_err_px_max"] <= GOAL_DEMO_MAX_PX
        and numbers["demo_ok_share"] == 1.0
        and numbers["negatives_false_ok"] == 0
    )
    verdict = (
        "**Verdict:** "
        + ("meets" if ok else "does NOT meet")
        + f" the goals (every astronaut warp ≤ {GOAL_ASTRONAUT_PX:.0f} px mean face error, demo "
        f"treated-zone error median ≤ {GOAL_DEMO_MEDIAN_PX:.0f} px and max ≤ {GOAL_DEMO_MAX_PX:.0f} px "
        "with every follow-up ok, no negative control ok); 12 MP registration took "
        f"{numbers['ms_per_registration_12mp']:.0f} ms (median) against a {GOAL_MS_12MP:.0f} ms budget."
    )
    return Section(
        title="Registration of follow-ups to the baseline",
        markdown="\n".join(body) + "\n" + verdict + "\n",
        numbers={k: round(float(v), 4) for k, v in numbers.items()},
    )
