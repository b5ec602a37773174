"""Upload cost when the photo changes a series fact, against a plain upload of the same photo.

    .venv/bin/python scripts/benchmark_upload.py [--repeat 5] [--earlier 3]

A follow-up with a colour chart teaches a series without a scale its px/mm; every earlier
photo must then be measured again. Goal (issue 10): that upload returns in at most 1.5× the
time of a plain upload of the same photo (to a series that already knows its scale), because
the earlier photos are measured by a queued job (tracker.app.jobs) off the upload's path. Both
uploads go through photos.import_photo on a real SQLite database and blob folder, each
round with fresh clients, interleaved, and the medians compared in the same run. The job's
own cost (run afterwards, as the server's background thread would) is printed too.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.app import courses, jobs, measurements, photos
from tracker.app.context import Context
from tracker.bootstrap import open_app
from tracker.config import Settings
from tracker.imaging.zones import Zones
from tracker.permissions import Actor
from tracker_dev.synth import ChartPlacement, Framing, PhotoSpec, SkinScene, render_photo

SCENE = SkinScene(seed=9, blood_reference=0.015, blood_treated=0.02)
BASE = Framing(px_per_mm=21.0, width=1000, height=750)


def _jpeg(rgb: np.ndarray, day: int) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = f"2026:06:{day:02d} 09:40:00"
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--earlier", type=int, default=3, help="photos in the series before the chart")
    args = parser.parse_args()

    print("rendering…", file=sys.stderr)
    baseline = render_photo(PhotoSpec(scene=SCENE, framing=BASE, seed=1))
    follow_ups = [
        render_photo(
            PhotoSpec(
                scene=SCENE,
                framing=BASE.follow_up(rotation_deg=-2.0 + i, scale=1.02, shift_mm=(1.0, 0.5 * i)),
                baseline=BASE,
                seed=10 + i,
            )
        ).rgb
        for i in range(args.earlier - 1)
    ]
    chart = render_photo(
        PhotoSpec(
            scene=SCENE,
            framing=Framing(px_per_mm=21.0, width=1500, height=1000),
            baseline=BASE,
            chart=ChartPlacement(centre_px=(1180.0, 500.0)),
            seed=3,
        )
    ).rgb
    truth = baseline.truth["zones"]
    chart_jpeg = _jpeg(chart, 28)

    with tempfile.TemporaryDirectory() as tmp:
        app = open_app(Settings(data_dir=Path(tmp) / "data", _env_file=None))  # type: ignore[call-arg]
        actor = Actor.operator(courses.ensure_clinic(app, "Benchmark Clinic"))
        counter = iter(range(10_000))

        def series(scale: float | None) -> int:
            """A client whose series has its baseline (zones drawn) and follow-ups."""
            client_id = courses.create_client(Context(app, actor), f"Client {next(counter)}")
            photos.import_photo(
                Context(app, actor), client_id, _jpeg(baseline.rgb, 1), "b.jpg", create_session=True
            )
            zones = Zones(truth["treated"], truth["reference"], "manual")
            measurements.set_series_zones(Context(app, actor), client_id, zones, px_per_mm=scale)
            for day, rgb in enumerate(follow_ups, start=2):
                photos.import_photo(
                    Context(app, actor), client_id, _jpeg(rgb, day), f"f{day}.jpg", create_session=True
                )
            return client_id

        plain, teaching, job = [], [], []
        for _ in range(args.repeat):
            knows, learns = series(21.0), series(None)
            started = time.perf_counter()
            photos.import_photo(Context(app, actor), knows, chart_jpeg, "chart.jpg", create_session=True)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            photos.import_photo(Context(app, actor), learns, chart_jpeg, "chart.jpg", create_session=True)
            teaching.append(time.perf_counter() - started)
            assert jobs.progress(Context(app, actor), learns) is not None, (
                "the chart did not change the series"
            )
            started = time.perf_counter()
            jobs.run_pending(app)
            job.append(time.perf_counter() - started)
        app.close()

    p, t, j = (statistics.median(v) * 1e3 for v in (plain, teaching, job))
    print(f"upload of a chart photo, median of {args.repeat}, {args.earlier} earlier photos in the series")
    print(f"  plain upload (series knows its scale)        {p:7.1f} ms   1.00x")
    print(f"  upload that teaches the series its scale     {t:7.1f} ms   {t / p:.2f}x   (goal <= 1.50x)")
    print(f"  the queued job, run afterwards               {j:7.1f} ms   {j / p:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
