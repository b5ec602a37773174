"""Hostile files against normal photos of the same byte size, timed in the same run.

    .venv/bin/python scripts/benchmark_hostile.py [--repeat 5]

Each file of tests/hostile.py is ingested (accepted or refused, whichever it is) and so is
a plain photo (noise, JPEG quality 90) of about the same number of bytes; the ratio of the
two median times is printed. Goal (issue 8): every hostile file ≤ 2× its normal photo.
Ratios, not seconds: these machines are noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import hostile
from tracker.config import Settings
from tracker.ingest import Limits, Rejected, ingest


def _time(limits: Limits, data: bytes, repeat: int) -> tuple[float, str]:
    times, outcome = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            ingest(data, "photo", limits)
            outcome = "accepted"
        except Rejected as exc:
            outcome = f"refused: {str(exc)[:70]}"
        times.append(time.perf_counter() - start)
    return statistics.median(times), outcome


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    limits = Limits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    worst = 0.0
    print(f"{'file':44} {'bytes':>10} {'hostile ms':>10} {'normal ms':>10} {'ratio':>6}  outcome")
    for name, build in hostile.CORPUS.items():
        maker: Callable[[], bytes] = build
        data = maker()
        normal = hostile.normal_jpeg_of_size(len(data))
        bad_s, outcome = _time(limits, data, args.repeat)
        good_s, _ = _time(limits, normal, args.repeat)
        ratio = bad_s / good_s
        worst = max(worst, ratio)
        print(
            f"{name:44} {len(data):>10,} {bad_s * 1e3:>10.1f} {good_s * 1e3:>10.1f} {ratio:>6.2f}  {outcome}"
        )
    print(f"worst ratio {worst:.2f} (goal ≤ 2)")
    return 0 if worst <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
