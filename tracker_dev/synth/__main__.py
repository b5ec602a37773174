"""``python -m tracker_dev.synth [OUT_DIR]``: regenerate the demo data set deterministically."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tracker_dev.synth.demo_set import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracker_dev.synth", description=__doc__)
    parser.add_argument(
        "out_dir",
        nargs="?",
        default="sample_photos",
        type=Path,
        help="output folder (default: sample_photos)",
    )
    parser.add_argument("--only", nargs="*", default=None, help="client keys to render")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    manifest = generate(args.out_dir, only=args.only, jobs=args.jobs)
    photos = sum(len(c["photos"]) for c in manifest["clients"])
    size = sum(p.stat().st_size for p in args.out_dir.rglob("*") if p.is_file())
    print(
        f"wrote {photos} photos for {len(manifest['clients'])} clients to {args.out_dir} "
        f"({size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
