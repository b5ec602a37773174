"""`python -m tracker_dev.validation faces --dir DIR [--overlays OUT] [--docs FILE]`: real face
photos, measured per tone group.

Why: the engine had only met our renderer; on real faces its zones landed on lips, beards
and backgrounds, worst on dark skin (issue 9). This command reads a folder of real photos
with a `manifest.csv` (`file`, `tone`: light / medium / dark), which stays outside the
repository (the photos' licences are their sources'), measures every photo exactly as an
upload is measured (ingest, then `analyze` with the default treated regions, the cheeks),
draws each photo's zones and verified skin into a contact sheet per tone group for a person
to look at, and reports per group: faces found, zones made, treated zones on clear skin
(skin share ≥ 0.6), quality verdicts and their reasons, the iris scale and the
interpupillary distance it implies (54–72 mm in adults), ITA and time per photo.

With `--docs FILE` the report replaces the "Real face photos" section of that file (normally
docs/validation.md), which the main validation command keeps when it rewrites the rest.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from tracker.config import Settings
from tracker.errors import Refused
from tracker.imaging import landmarks
from tracker.imaging.analyze import Analysis, NoZones, analyze
from tracker.imaging.face_regions import MAX_COVERED_SHARE, MIN_SKIN_SHARE
from tracker.imaging.zones import Zones
from tracker.ingest import Limits, ingest

IPD_RANGE_MM = (54.0, 72.0)  # adults
TONES = ("light", "medium", "dark")
SECTION_START = "<!-- faces: begin (python -m tracker_dev.validation faces) -->"
SECTION_END = "<!-- faces: end -->"
TILE_HEIGHT = 360


@dataclass
class Group:
    photos: int = 0
    refused: int = 0
    found: int = 0
    frontal: int = 0  # |yaw| ≤ the iris scale's limit
    zoned: int = 0  # zones made by the analysis
    clear: int = 0  # treated zone on clear skin and a reference found
    usable: int = 0
    large_irises: int = 0
    eligible: int = 0  # near-frontal with irises ≥ 20 px
    scaled: int = 0
    ipd_ok: int = 0
    ipds: list[float] = field(default_factory=list)
    skin_shares: list[float] = field(default_factory=list)
    itas: list[float] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    tiles: list[NDArray[np.uint8]] = field(default_factory=list)


def measure(folder: Path, *, overlays: bool = False) -> dict[str, Group]:
    """Each photo of the manifest through ingest (orientation, colour profile) and the whole
    analysis."""
    limits = Limits.from_settings(Settings())
    groups: dict[str, Group] = defaultdict(Group)
    with (folder / "manifest.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        group = groups[row["tone"]]
        group.photos += 1
        name = row["file"]
        try:
            image = ingest((folder / name).read_bytes(), name, limits)
        except (Refused, OSError) as exc:
            group.refused += 1
            group.problems.append(f"{name}: refused ({exc})")
            continue
        _measure_one(group, name, image.rgb, image.camera, overlays)
    return dict(groups)


def _measure_one(group: Group, name: str, rgb: NDArray[np.uint8], camera: str, overlays: bool) -> None:
    face = landmarks.find_face(_small(rgb))
    if face is not None:
        group.found += 1
        frontal = abs(face.yaw_deg) <= landmarks.MAX_SCALE_YAW_DEG
        large = min(face.iris_diameters_px) / _scale_of(rgb) >= landmarks.MIN_IRIS_PX
        group.frontal += frontal
        group.large_irises += large
        group.eligible += frontal and large
    else:
        group.problems.append(f"{name}: no face found")
    started = time.perf_counter()
    try:
        result: Analysis | None = analyze(rgb, camera=camera or None)
        failure = ""
    except NoZones as exc:
        result, failure = None, str(exc)
    group.ms.append((time.perf_counter() - started) * 1e3)
    if result is None:
        group.problems.append(f"{name}: no zones ({failure})")
        group.reasons["no zones: " + failure.split(";")[0].split(":")[0]] += 1
        if overlays:
            group.tiles.append(_tile(rgb, None, name, "refused"))
        return
    group.zoned += 1
    q = result.quality
    shares = q.skin_share or {}
    treated_regions = result.zones.treated_regions
    treated_share = min((shares.get(r, 0.0) for r in treated_regions), default=None)
    if treated_share is not None:
        group.skin_shares.append(treated_share)
    clear = (
        treated_share is not None
        and treated_share >= MIN_SKIN_SHARE
        and bool(result.zones.reference)
        and not q.zone_problems
    )
    group.clear += clear
    group.usable += q.usable_for_trends
    for reason in q.reasons:
        group.reasons[reason.split(" (")[0].split(":")[0]] += 1
    if not clear and q.usable_for_trends:
        group.problems.append(f"{name}: zone not on clear skin but scored usable ({list(q.reasons)})")
    ita = result.metrics.get("ita_deg")
    if ita is not None:
        group.itas.append(float(ita))
    if q.px_per_mm_source == "iris" and q.px_per_mm is not None and face is not None:
        group.scaled += 1
        ipd = _ipd_mm(face, rgb, q.px_per_mm)
        group.ipds.append(ipd)
        if IPD_RANGE_MM[0] <= ipd <= IPD_RANGE_MM[1]:
            group.ipd_ok += 1
        else:
            group.problems.append(
                f"{name}: iris scale implies an interpupillary distance of {ipd:.1f} mm "
                f"(yaw {face.yaw_deg:.0f}°)"
            )
    if overlays:
        verdict = "usable" if q.usable_for_trends else "unusable"
        group.tiles.append(_tile(rgb, result.zones, name, verdict))


def _small(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    k = _scale_of(rgb)
    if k >= 1.0:
        return rgb
    h, w = rgb.shape[:2]
    return np.asarray(cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA))


def _scale_of(rgb: NDArray[np.uint8]) -> float:
    return float(min(1.0, 1024 / max(rgb.shape[:2])))


def _ipd_mm(face: landmarks.Face, rgb: NDArray[np.uint8], px_per_mm: float) -> float:
    """The face was found on the ≤ 1024 px copy; px/mm is in full-resolution pixels."""
    return float(face.interpupillary_px / _scale_of(rgb) / px_per_mm)


_TREATED = (255, 255, 255)
_REFERENCE = (60, 170, 255)


def _tile(rgb: NDArray[np.uint8], zones: Zones | None, name: str, verdict: str) -> NDArray[np.uint8]:
    """The photo around its zones, with the treated zone in white and the reference in blue."""
    h, w = rgb.shape[:2]
    k = TILE_HEIGHT * 2.5 / h if zones is None else 1.0
    if zones is not None:
        points = np.concatenate([np.asarray(p) for p in zones.all_polygons()])
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = 0.35 * (hi - lo).max()
        x0, y0 = (np.maximum(lo - pad, 0)).astype(int)
        x1, y1 = (np.minimum(hi + pad, [w, h])).astype(int)
    else:
        x0, y0, x1, y1 = 0, 0, w, h
    crop = rgb[y0:y1, x0:x1]
    k = TILE_HEIGHT / crop.shape[0]
    tile = np.ascontiguousarray(
        cv2.resize(crop, (max(1, round(crop.shape[1] * k)), TILE_HEIGHT), interpolation=cv2.INTER_AREA)
    )
    if zones is not None:
        for polygons, colour in (
            (zones.treated_polygons(), _TREATED),
            (zones.reference_polygons(), _REFERENCE),
        ):
            for polygon in polygons:
                pts = ((np.asarray(polygon) - [x0, y0]) * k).round().astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(tile, [pts], True, (0, 0, 0), 3)
                cv2.polylines(tile, [pts], True, colour, 1)
    label = f"{name.rsplit('.', 1)[0]} {verdict}"
    cv2.putText(tile, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3)
    cv2.putText(tile, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
    return tile


def write_sheets(groups: dict[str, Group], out: Path, per_row: int = 6, rows: int = 3) -> list[Path]:
    """Contact sheets of the overlays, per tone group, for a person to look at."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    width = 300
    for tone, group in groups.items():
        tiles = [_fit(t, width) for t in group.tiles]
        per_sheet = per_row * rows
        for i in range(0, len(tiles), per_sheet):
            chunk = tiles[i : i + per_sheet]
            chunk += [np.zeros_like(chunk[0])] * (-len(chunk) % per_row)
            sheet = np.vstack([np.hstack(chunk[j : j + per_row]) for j in range(0, len(chunk), per_row)])
            path = out / f"faces-{tone}-{i // per_sheet + 1}.png"
            Image.fromarray(sheet).save(path)
            written.append(path)
    return written


def _fit(tile: NDArray[np.uint8], width: int) -> NDArray[np.uint8]:
    out = np.zeros((TILE_HEIGHT, width, 3), np.uint8)
    w = min(width, tile.shape[1])
    x = (width - w) // 2
    src = (tile.shape[1] - w) // 2
    out[:, x : x + w] = tile[:, src : src + w]
    return out


def report(groups: dict[str, Group]) -> str:
    ordered = sorted(groups, key=lambda t: TONES.index(t) if t in TONES else 9)
    lines = [
        "| tone | photos | face found | zones made | treated zone on clear skin, reference found "
        "| usable for trends | median skin share of the treated zone |",
        "|---|---|---|---|---|---|---|",
    ]
    for tone in ordered:
        g = groups[tone]
        share = f"{statistics.median(g.skin_shares):.2f}" if g.skin_shares else "–"
        measured = g.photos - g.refused
        lines.append(
            f"| {tone} | {g.photos} | {g.found} ({_pct(g.found, measured)}) | {g.zoned} "
            f"| {g.clear} ({_pct(g.clear, measured)}) | {g.usable} ({_pct(g.usable, measured)}) | {share} |"
        )
    lines += [
        "",
        f"| tone | near-frontal (yaw ≤ {landmarks.MAX_SCALE_YAW_DEG:.0f}°) | irises ≥ 20 px | both "
        "| iris scale used | implied IPD 54–72 mm | median IPD | ITA median (range) "
        "| ms per photo (median, max) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for tone in ordered:
        g = groups[tone]
        median_ipd = f"{statistics.median(g.ipds):.1f} mm" if g.ipds else "–"
        ita = f"{statistics.median(g.itas):.0f}° ({min(g.itas):.0f}° … {max(g.itas):.0f}°)" if g.itas else "–"
        ms = f"{statistics.median(g.ms):.0f}, {max(g.ms):.0f}" if g.ms else "–"
        lines.append(
            f"| {tone} | {g.frontal} | {g.large_irises} | {g.eligible} | {g.scaled} "
            f"| {g.ipd_ok} ({_pct(g.ipd_ok, g.scaled)}) | {median_ipd} | {ita} | {ms} |"
        )
    lines += ["", "Reasons that lowered quality (photos per tone group):", ""]
    reasons = sorted({r for g in groups.values() for r in g.reasons})
    lines += ["| reason | " + " | ".join(ordered) + " |", "|---|" + "---|" * len(ordered)]
    for reason in reasons:
        lines.append(f"| {reason} | " + " | ".join(str(groups[t].reasons[reason]) for t in ordered) + " |")
    problems = [p for t in ordered for p in groups[t].problems]
    if problems:
        lines += ["", "Photos to look at:", "", *(f"- {p}" for p in problems)]
    return "\n".join(lines)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def replace_section(document: str, section: str) -> str:
    """`document` with its faces section (between the markers) replaced by `section`, or
    with it appended when there is none."""
    block = f"{SECTION_START}\n{section.strip()}\n{SECTION_END}"
    if SECTION_START in document and SECTION_END in document:
        head, rest = document.split(SECTION_START, 1)
        _, tail = rest.split(SECTION_END, 1)
        return head + block + tail
    return document.rstrip("\n") + "\n\n" + block + "\n"


def kept_section(document: str) -> str:
    """The faces section of `document` with its markers, or "" (for the main command)."""
    if SECTION_START in document and SECTION_END in document:
        _, rest = document.split(SECTION_START, 1)
        inner, _ = rest.split(SECTION_END, 1)
        return f"{SECTION_START}{inner}{SECTION_END}"
    return ""


def docs_section(groups: dict[str, Group], folder: Path, sources: str) -> str:
    return "\n".join(
        [
            "## Real face photos",
            "",
            f"{sum(g.photos for g in groups.values())} real photos of faces from public repositories' "
            f"test and example folders ({sources}), skin tone grouped by eye. The photos are not in the "
            "repository; their sources are listed in the set's manifest. Produced by:",
            "",
            "```bash",
            f".venv/bin/python -m tracker_dev.validation faces --dir {folder} "
            "--overlays test-artifacts/faces --docs docs/validation.md",
            "```",
            "",
            "Every photo goes through ingest and the whole analysis with the default treated regions "
            '(both cheeks) and an automatically chosen reference. "Clear skin" means the treated '
            f"regions are at least {MIN_SKIN_SHARE:.0%} verified skin, no hand covers more than "
            f"{MAX_COVERED_SHARE:.0%} of them (a hand has the skin's colour: MediaPipe's hand model "
            "finds it) and untreated reference skin was found; the overlays (contact sheets per tone "
            "group) were looked at one by one.",
            "",
            report(groups),
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracker_dev.validation faces", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="folder with the photos and manifest.csv")
    parser.add_argument("--overlays", type=Path, help="write contact sheets of the zones to this folder")
    parser.add_argument("--docs", type=Path, help="replace the faces section of this Markdown file")
    args = parser.parse_args(argv)
    if not (args.dir / "manifest.csv").exists():
        parser.error(f"{args.dir} has no manifest.csv (columns: file, tone)")
    if not landmarks.available():
        print(
            "face landmarks are not installed on this machine (requirements-landmarks.txt)", file=sys.stderr
        )
        return 1
    groups = measure(args.dir, overlays=bool(args.overlays))
    print(report(groups))
    if args.overlays:
        for path in write_sheets(groups, args.overlays):
            print(f"wrote {path}", file=sys.stderr)
    if args.docs:
        sources = _sources(args.dir)
        text = args.docs.read_text(encoding="utf-8") if args.docs.exists() else ""
        args.docs.write_text(replace_section(text, docs_section(groups, args.dir, sources)), encoding="utf-8")
        print(f"wrote the faces section of {args.docs}", file=sys.stderr)
    return 0


def _sources(folder: Path) -> str:
    with (folder / "manifest.csv").open(encoding="utf-8") as f:
        repos = sorted({row.get("source_repo", "") for row in csv.DictReader(f)} - {""})
    return ", ".join(repos) if repos else "sources in the manifest"


__all__ = ["Group", "kept_section", "main", "measure", "replace_section", "report"]
