"""Re-analysis throughput of the worker pool with 1, 2 and 4 worker processes (issue 13,
item 8), on PostgreSQL, in one run.

    .venv/bin/python scripts/benchmark_workers.py [--database-url URL] [--workers 1 2 4] [--repeat 1]

Without `--database-url` a throwaway PostgreSQL cluster is started as the tests do
(tests/postgres.py: Debian's server binaries, a free local port). The store is the demo
(tracker.app.demo.build_demo: the real photos of sample_photos/, imported and measured once,
~1 min). Then, for each worker count, every photo is queued again (`reanalyze --all`:
per-client jobs) and `worker --processes N --until-idle` runs them; the rounds are
interleaved (1, 2, 4, 1, 2, 4, ...) so a slow moment of this shared machine does not land
on one count only.

Reported per count: photos per second over the jobs' own span (first claim to last end,
from the job rows: what the pool does once running) and over the whole command (with the
workers' start-up, ~2 s of imports each), and both as a ratio to the single worker's
throughput measured in the same run. On a 2-core machine 2 workers should approach 2x
and 4 workers cannot do better than 2 workers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker import worker_pool
from tracker.app import job_queue
from tracker.app.demo import build_demo
from tracker.bootstrap import open_app
from tracker.config import Settings
from tracker.store.models import Job, Photo


def _round(settings: Settings, workers: int) -> tuple[float, float, int]:
    """(photos/s over the jobs' span, photos/s over the whole run, photos)."""
    app = open_app(settings, migrate=False)
    try:
        batch = job_queue.enqueue_reanalysis(app, everything=True)
    finally:
        app.close()
    start = time.perf_counter()
    failed = worker_pool.run(settings, workers, until_idle=True)
    wall = time.perf_counter() - start
    if failed:
        raise SystemExit(f"{failed} worker processes failed")
    app = open_app(settings, migrate=False)
    try:
        with app.uow() as uow:
            first, last, states = uow.session.execute(
                select(func.min(Job.started_at), func.max(Job.finished_at), func.count(Job.id)).where(
                    Job.id.in_(batch.ids), Job.state == "done"
                )
            ).one()
        if states != len(batch.ids):
            raise SystemExit(f"only {states} of {len(batch.ids)} jobs ended done")
        span = (last - first).total_seconds()
    finally:
        app.close()
    return batch.photos / span, batch.photos / wall, batch.photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    server = None
    url = args.database_url
    if not url:
        from tests.postgres import start_server

        server = start_server()
        url = server.create_database()
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                data_dir=Path(folder) / "data",
                database_url=url,
                _env_file=None,  # type: ignore[call-arg]
            )
            app = open_app(settings)
            try:
                started = time.perf_counter()
                build_demo(app)
                with app.uow() as uow:
                    photos = uow.session.scalar(select(func.count(Photo.id)))
                print(f"store: the demo, {photos} photos, built in {time.perf_counter() - started:.0f} s")
            finally:
                app.close()
            span: dict[int, list[float]] = {n: [] for n in args.workers}
            whole: dict[int, list[float]] = {n: [] for n in args.workers}
            for round_ in range(args.repeat):
                for n in args.workers:
                    in_span, in_wall, count = _round(settings, n)
                    span[n].append(in_span)
                    whole[n].append(in_wall)
                    print(
                        f"round {round_ + 1}, {n} workers: {count} photos, "
                        f"{in_span:.2f} photos/s (jobs), {in_wall:.2f} photos/s (whole run)"
                    )
            base_span = statistics.median(span[args.workers[0]])
            base_whole = statistics.median(whole[args.workers[0]])
            print(f"\nre-analysis throughput on PostgreSQL, medians of {args.repeat} round(s):")
            print("workers  photos/s (jobs)  ratio   photos/s (whole run)  ratio")
            for n in args.workers:
                s, w = statistics.median(span[n]), statistics.median(whole[n])
                print(f"{n:>7}  {s:>15.2f}  {s / base_span:>5.2f}x  {w:>20.2f}  {w / base_whole:>5.2f}x")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
