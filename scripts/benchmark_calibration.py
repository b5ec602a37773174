"""Speed benchmark: looking for a colour chart in a 12 MP photo that has none, against a
plain decode of the same photo, measured in the same run.

Every photo is searched for a chart, and most have none, so that search must stay cheap
(issue 3: about 60 ms on an idle machine). Absolute times mean little on a shared machine,
so the search is timed interleaved with the decode and their ratio is printed; the test
suite only checks what makes it cheap (the detector sees a small copy), never a time.

    .venv/bin/python scripts/benchmark_calibration.py [--repeat 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.imaging import calibration as cal
from tracker_dev.validation import calibration as vcal


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (1 = one core)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)

    scene = vcal.render_scene("A", None)  # the same chart-free scene the test uses
    big = cv2.resize(scene.rgb, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    if cal.find_chart(big) is not None:
        sys.exit("the chart-free scene was taken for a chart")

    decode_ms: list[float] = []
    search_ms: list[float] = []
    for _ in range(args.repeat):  # interleaved, so both see the same load
        start = time.perf_counter()
        cv2.imdecode(np.frombuffer(encoded.tobytes(), np.uint8), cv2.IMREAD_COLOR)
        decode_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        cal.find_chart(big)
        search_ms.append(1000 * (time.perf_counter() - start))

    decode, search = statistics.median(decode_ms), statistics.median(search_ms)
    print(f"12 MP JPEG decode (baseline)   {decode:7.1f} ms")
    print(f"chart search, no chart         {search:7.1f} ms   {search / decode:.2f}x the decode")


if __name__ == "__main__":
    main()
