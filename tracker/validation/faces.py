"""`python -m tracker.validation faces --dir DIR`: real face photos, measured per tone group.

Why: the engine had only met our renderer; on real faces its zones landed on lips, beards
and backgrounds, worst on dark skin (issue 9). This command reads a folder of real photos
with a `manifest.csv` (`file`, `tone`: light / medium / dark), which stays outside the
repository (the photos' licences are their sources'), and reports per tone group what the
landmark step achieves: faces found, near-frontal faces, irises large enough for a scale,
the scale given, and whether the interpupillary distance it implies is human (54–72 mm).

First step of issue 9: the zones, skin verification, quality and overlays come next and
will be added to this report.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tracker.config import Settings
from tracker.imaging import landmarks
from tracker.ingest import Limits, Rejected, ingest

IPD_RANGE_MM = (54.0, 72.0)  # adults


@dataclass
class Group:
    photos: int = 0
    refused: int = 0
    found: int = 0
    frontal: int = 0
    large_irises: int = 0
    scaled: int = 0
    ipd_ok: int = 0
    ipds: list[float] = field(default_factory=list)
    ms_per_mp: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def measure(folder: Path) -> dict[str, Group]:
    """Each photo of the manifest through ingest (orientation, colour profile) and the
    landmark step."""
    limits = Limits.from_settings(Settings())
    groups: dict[str, Group] = defaultdict(Group)
    with (folder / "manifest.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        group = groups[row["tone"]]
        group.photos += 1
        try:
            rgb = ingest((folder / row["file"]).read_bytes(), row["file"], limits).rgb
        except (Rejected, OSError) as exc:
            group.refused += 1
            group.problems.append(f"{row['file']}: refused ({exc})")
            continue
        started = time.perf_counter()
        face = landmarks.find_face(rgb)
        group.ms_per_mp.append((time.perf_counter() - started) * 1e3 / (rgb.shape[0] * rgb.shape[1] / 1e6))
        if face is None:
            group.problems.append(f"{row['file']}: no face found")
            continue
        group.found += 1
        group.frontal += abs(face.yaw_deg) <= landmarks.MAX_SCALE_YAW_DEG
        group.large_irises += min(face.iris_diameters_px) >= landmarks.MIN_IRIS_PX
        if face.px_per_mm is None:
            continue
        group.scaled += 1
        ipd = face.interpupillary_px / face.px_per_mm
        group.ipds.append(ipd)
        if IPD_RANGE_MM[0] <= ipd <= IPD_RANGE_MM[1]:
            group.ipd_ok += 1
        else:
            group.problems.append(
                f"{row['file']}: iris scale implies an interpupillary distance of {ipd:.1f} mm "
                f"(irises {face.iris_diameters_px[0]:.0f} and {face.iris_diameters_px[1]:.0f} px, "
                f"yaw {face.yaw_deg:.0f}°)"
            )
    return dict(groups)


def report(groups: dict[str, Group]) -> str:
    lines = [
        "| tone | photos | face found | near-frontal (yaw ≤ 20°) | irises ≥ 20 px | iris scale given "
        "| implied IPD 54–72 mm | median IPD | ms per MP |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for tone in sorted(
        groups, key=lambda t: ("light", "medium", "dark").index(t) if t in "light medium dark" else 9
    ):
        g = groups[tone]
        median_ipd = f"{statistics.median(g.ipds):.1f} mm" if g.ipds else "–"
        ms = f"{statistics.median(g.ms_per_mp):.0f}" if g.ms_per_mp else "–"
        lines.append(
            f"| {tone} | {g.photos} | {g.found} ({_pct(g.found, g.photos - g.refused)}) | {g.frontal} "
            f"| {g.large_irises} | {g.scaled} | {g.ipd_ok} ({_pct(g.ipd_ok, g.scaled)}) "
            f"| {median_ipd} | {ms} |"
        )
    problems = [p for g in groups.values() for p in g.problems]
    if problems:
        lines += ["", "Photos to look at:", "", *(f"- {p}" for p in problems)]
    return "\n".join(lines)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracker.validation faces", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="folder with the photos and manifest.csv")
    args = parser.parse_args(argv)
    if not (args.dir / "manifest.csv").exists():
        parser.error(f"{args.dir} has no manifest.csv (columns: file, tone)")
    if not landmarks.available():
        print(
            "face landmarks are not installed on this machine (requirements-landmarks.txt)", file=sys.stderr
        )
        return 1
    print(report(measure(args.dir)))
    return 0


__all__ = ["Group", "main", "measure", "report"]
