"""Speed benchmark: analysis cost against decode cost, measured in the same run.

These machines are noisy, so absolute times mean little; ratios against a baseline taken
in the same process, interleaved and repeated, are what we compare. Goal (issue 3): the
whole analysis of a 12 MP photo takes at most 2× a plain full-resolution JPEG decode.

    .venv/bin/python scripts/benchmark.py [--repeat 7] [--threads 1]

The 12 MP photo is rendered by the physics renderer (needs the test requirements); the
follow-up is the same photo moved, rotated and re-lit, so registration has work to do.

Two encodings of the same follow-up are timed, because decode time grows with the file
size and analysis time does not: the render saved at quality 90 (about 1.5 MB: smoother
than any real photo) and a phone-like file (sensor noise of a small-pixel camera, quality
95: about 3–4 MB, as 12 MP phone JPEGs are). The follow-up is analysed "cold" (a new
series baseline every time: its reduced copy and pyramid prepared again) and "warm" (the
app keeps a series' prepared baseline, so the second and later photos of a batch, and
re-analyses, pay only for their own work). The full-resolution work grows with the zone's
area, so the first photo of a series without drawn zones (the automatic zone is all
visible skin) is timed too.

A 12 MP face photo is timed against its own decode (issue 9): the analysis then finds the
face's landmarks, its regions and verified skin, and the iris scale. By default it is
scikit-image's astronaut portrait enlarged to 12 MP with phone-like noise; `--face PATH`
times a real 12 MP photo instead (e.g. one of the development set's).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.imaging.analyze import Baseline, analyze
from tracker.imaging.zones import Zones
from tracker_dev.synth import Framing, PhotoSpec, SkinScene, render_photo

PX_PER_MM = 60.0  # a 12 MP phone close-up of a cheek


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _face_jpeg(path: Path | None, noise_dn: float) -> bytes:
    """The face photo's JPEG bytes: the given file, or the astronaut enlarged to 12 MP with
    phone-like sensor noise (an enlarged photo is smoother, so cheaper to decode, than a
    real one: the noise keeps the comparison honest)."""
    if path is not None:
        return path.read_bytes()
    from skimage import data

    big = cv2.resize(np.asarray(data.astronaut()), (3464, 3464), interpolation=cv2.INTER_CUBIC)
    noisy = np.random.default_rng(1).normal(0.0, noise_dn, big.shape)
    return _jpeg(np.clip(big + noisy, 0, 255).astype(np.uint8), quality=95)


def _area_mm2(polygon: list[list[float]]) -> float:
    points = np.asarray(polygon, dtype=np.float32).reshape(-1, 1, 2)
    return float(cv2.contourArea(points)) / PX_PER_MM**2


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (1 = one core)")
    parser.add_argument("--noise", type=float, default=0.02, help="sensor noise of the render")
    parser.add_argument(
        "--phone-noise-dn", type=float, default=3.0, help="extra 8-bit noise, phone-like file"
    )
    parser.add_argument("--face", type=Path, help="a 12 MP face photo (default: the enlarged astronaut)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    face_jpeg = _face_jpeg(args.face, args.phone_noise_dn)
    face_rgb = np.asarray(Image.open(io.BytesIO(face_jpeg)).convert("RGB"))

    print("rendering a 12 MP photo (about 20 s)...", file=sys.stderr)
    scene = SkinScene(seed=3, skin_semi_axes_mm=(30.0, 22.0), blood_treated=0.03)
    framing = Framing(px_per_mm=PX_PER_MM, width=4000, height=3000)
    # Sensor noise of the render (the phone-like file adds more, in 8-bit, below).
    rendered = render_photo(PhotoSpec(scene=scene, framing=framing, seed=1, noise=args.noise))
    truth = rendered.truth["zones"]
    zones = Zones(truth["treated"], truth["reference"], "manual")
    moved = cv2.warpAffine(
        rendered.rgb,
        cv2.getRotationMatrix2D((2000, 1500), 3.0, 1.04) + np.array([[0, 0, 40.0], [0, 0, -25.0]]),
        (4000, 3000),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    moved = np.clip(moved.astype(np.float32) * 0.85, 0, 255).astype(np.uint8)
    jpeg = _jpeg(moved)
    noisy = np.random.default_rng(0).normal(0.0, args.phone_noise_dn, moved.shape)
    phone_jpeg = _jpeg(np.clip(moved + noisy, 0, 255).astype(np.uint8), quality=95)
    base_jpeg = _jpeg(rendered.rgb)

    decoded = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    base_rgb = np.asarray(Image.open(io.BytesIO(base_jpeg)).convert("RGB"))
    display = np.asarray(Image.fromarray(base_rgb).resize((2048, 1536), Image.Resampling.LANCZOS))
    first = analyze(base_rgb, zones=zones, px_per_mm=PX_PER_MM)
    baseline = Baseline(
        rgb=display, zones=zones, full_size=(4000, 3000), px_per_mm=PX_PER_MM, glcm_limits=first.glcm_limits
    )

    def decode(data: bytes) -> Callable[[], object]:
        return lambda: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    def decode_pillow() -> object:
        return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))

    def analyse_baseline() -> object:
        return analyze(base_rgb, zones=zones, px_per_mm=PX_PER_MM)

    def analyse_auto() -> object:  # no zones drawn yet: all visible skin is measured
        return analyze(base_rgb, px_per_mm=PX_PER_MM)

    def analyse_cold() -> object:
        return analyze(decoded, baseline=dataclasses.replace(baseline, cache={}))

    def analyse_warm() -> object:
        return analyze(decoded, baseline=baseline)

    def analyse_face() -> object:
        return analyze(face_rgb)

    # Interleave so that machine noise hits every measurement alike.
    steps: dict[str, Callable[[], object]] = {
        "cv2": decode(jpeg),
        "phone": decode(phone_jpeg),
        "pillow": decode_pillow,
        "base": analyse_baseline,
        "auto": analyse_auto,
        "cold": analyse_cold,
        "warm": analyse_warm,
        "face_decode": decode(face_jpeg),
        "face": analyse_face,
    }
    rounds: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeat):
        for name, step in steps.items():
            rounds[name].append(_median_ms(step, 1))
    ms = {k: statistics.median(v) for k, v in rounds.items()}
    check = analyze(decoded, baseline=baseline)
    print(f"12 MP photo, median of {args.repeat}, {args.threads} OpenCV thread(s)")
    for label, key in (
        (f"decode, OpenCV, render at q90 ({len(jpeg) / 1e6:.1f} MB)", "cv2"),
        (f"decode, OpenCV, phone-like at q95 ({len(phone_jpeg) / 1e6:.1f} MB)", "phone"),
        ("decode, Pillow, render at q90 (what ingest uses)", "pillow"),
    ):
        print(f"  {label:<50} {ms[key]:7.1f} ms")
    print(f"\n{'analysis':<44} {'ms':>7} {'× decode q90':>13} {'× decode phone-like':>20}")
    for key, label in (
        ("base", "baseline photo (zones given)"),
        ("auto", "baseline photo, automatic zone (all skin)"),
        ("warm", "follow-up, series baseline prepared (app)"),
        ("cold", "follow-up, baseline prepared from scratch"),
    ):
        print(f"  {label:<42} {ms[key]:7.1f} {ms[key] / ms['cv2']:12.2f}x {ms[key] / ms['phone']:19.2f}x")
    print("  goal: analysis <= 2.00x a plain full-resolution decode")
    face_check = analyze(face_rgb)
    print(
        f"\nface photo {face_rgb.shape[1]} × {face_rgb.shape[0]} ({len(face_jpeg) / 1e6:.1f} MB): "
        f"decode {ms['face_decode']:.1f} ms, analysis with landmarks {ms['face']:.1f} ms = "
        f"{ms['face'] / ms['face_decode']:.2f}x its decode (goal <= 2.00x); zones from "
        f"{face_check.zones.source}, scale from {face_check.quality.px_per_mm_source}"
    )
    print(
        f"  zone areas: given {_area_mm2(zones.treated):.0f} mm², automatic "
        f"{_area_mm2(analyze(base_rgb, px_per_mm=PX_PER_MM).zones.treated):.0f} mm²"
    )
    print(
        f"  follow-up registration ok={check.registration.ok if check.registration else None}, "
        f"quality {check.quality.score:.2f}"
    )


if __name__ == "__main__":
    main()
