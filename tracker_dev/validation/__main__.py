"""`python -m tracker_dev.validation [--quick] [--out docs/validation.md]`: run every
validation experiment and write the report. `python -m tracker_dev.validation faces --dir DIR`
measures a folder of real face photos (tracker_dev/validation/faces.py); `python -m
tracker_dev.validation registration --faces DIR` registers synthetic re-takes of them at other
resolutions (tracker_dev/validation/registration.py)."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from datetime import date
from pathlib import Path

from tracker.imaging.version import METRIC_VERSION

TOPICS = ("redness", "texture", "registration", "calibration", "fairness")
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "validation.md"


def main() -> int:
    if sys.argv[1:2] == ["faces"]:  # real face photos from a folder outside the repository
        from tracker_dev.validation import faces

        return faces.main(sys.argv[2:])
    if sys.argv[1:2] == ["registration"]:  # the same folder, registered across resolutions
        from tracker_dev.validation import registration

        return registration.main(sys.argv[2:])
    parser = argparse.ArgumentParser(prog="python -m tracker_dev.validation", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the smaller runs the tests use")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    parts = [
        "# Validation of the measurement engine",
        "",
        f"Metric version `{METRIC_VERSION}`, generated {date.today().isoformat()} on Python "
        f"{platform.python_version()} by:",
        "",
        "```bash",
        f".venv/bin/python -m tracker_dev.validation{' --quick' if args.quick else ''}",
        "```",
        "",
        "Every number below comes from the same code the tests run (`tests/validation`, "
        "`tests/unit/imaging`), on photos rendered by the physics model in `tracker_dev/synth` (known "
        "blood, melanin, texture, light, pose and scale) and on scikit-image's public-domain "
        "astronaut photo. The thresholds are the acceptance goals of issue 3. Speed is measured "
        "separately by `scripts/benchmark.py` (see the end).",
    ]
    for topic in TOPICS:
        started = time.perf_counter()
        print(f"running {topic}...", file=sys.stderr)
        section = importlib.import_module(f"tracker_dev.validation.{topic}").run(quick=args.quick)
        took = time.perf_counter() - started
        parts += ["", f"## {section.title}", "", section.markdown.strip(), "", f"_({took:.0f} s)_"]
    parts += ["", "## Speed", "", _speed_note()]
    # The real-photo section comes from `faces --docs` (its photos are not in the repository):
    # keep it as it was.
    from tracker_dev.validation.faces import kept_section

    kept = kept_section(args.out.read_text(encoding="utf-8")) if args.out.exists() else ""
    if kept:
        parts += ["", kept]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _speed_note() -> str:
    return (
        "`.venv/bin/python scripts/benchmark.py` renders a 12 MP photo and prints, in one run, "
        "a plain full-resolution JPEG decode, the whole analysis of a baseline photo and of a "
        "registered follow-up, and their ratios. The latest figures are quoted in the issue's "
        "closing note; they are not stored here because absolute times depend on the machine."
    )


if __name__ == "__main__":
    sys.exit(main())
