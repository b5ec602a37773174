"""Speed benchmark of the practitioners' views (issues 5 and 10), in one run.

Goals: the dashboard's data for a clinic of 1,000 clients × 6 sessions × 4 photos in < 1 s
with a warm cache, and ≤ 2,000× the baseline below with a cold one (every row stale); a
client-review page's data (`course_progress`) in < 0.5 s.

    .venv/bin/python scripts/benchmark_dashboard.py [--repeat 5] [--clients 1000] [--cold-repeat 1]

Prints median times of:
- `clinic_dashboard` on the demo clinic (built with tracker.app.demo.build_demo in a temporary
  folder, ~30 s: it imports and measures the demo photos),
- `clinic_dashboard` on the generated clinic (tracker_dev.synth.clinic), warm (every row fresh)
  and cold (first view after every client changed: each client's `input_version` is bumped,
  as a unit of work's commit does after a change, so every row is recomputed; one
  repetition by default),
- `course_progress` of one generated client and of the demo's largest client.

These machines are noisy, so each time is also given as a ratio against a baseline
measured in the same run, interleaved with the others: the bare minimum any clinic-wide
view must do — one query listing the clinic's clients (id and name) into a DataFrame. A
ratio near 1 says the cache costs little on top of listing the clients at all.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import func, select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.app.context import Context
from tracker.app.courses import course_progress
from tracker.app.dashboard import clinic_dashboard, dashboard_counts
from tracker.app.demo import build_demo
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.permissions import Actor
from tracker.store.models import ClientStatus, Photo
from tracker_dev.synth.clinic import build_big_clinic
from tracker_dev.timing import client_list_query, elapsed_ms

DEMO_TODAY = date(2026, 11, 21)  # the demo's photos end around this day


def _open(folder: Path) -> App:
    return open_app(Settings(data_dir=folder, _env_file=None))


def _make_cold(app: App, clinic_id: int) -> None:
    with app.uow() as uow:
        uow.session.execute(
            update(ClientStatus)
            .where(ClientStatus.clinic_id == clinic_id)
            .values(input_version=ClientStatus.input_version + 1)
        )
        uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--cold-repeat", type=int, default=1, help="cold views of the big clinic (~5 ms/client)"
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--skip-demo", action="store_true", help="skip the demo clinic (saves ~30 s)")
    args = parser.parse_args()
    today = date.today()
    results: dict[str, list[float]] = {}
    baseline: list[float] = []

    def measure(name: str, fn: Callable[[], object], repeat: int, base: Callable[[], object]) -> None:
        for _ in range(repeat):  # interleaved with the baseline, so both see the same machine
            baseline.append(elapsed_ms(base))
            results.setdefault(name, []).append(elapsed_ms(fn))

    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        big = _open(Path(tmp) / "big")
        started = time.perf_counter()
        built = build_big_clinic(big, clients=args.clients, today=today)
        print(
            f"generated clinic: {built.clients} clients, {built.sessions} sessions, {built.photos} photos "
            f"in {time.perf_counter() - started:.1f} s"
        )
        actor = Actor.operator(built.clinic_id)
        base = client_list_query(big, built.clinic_id)
        started = time.perf_counter()
        df = clinic_dashboard(Context(big, actor), today)  # first view ever: fills the cache
        print(
            f"first view (empty cache): {time.perf_counter() - started:.1f} s; counts {dashboard_counts(df)}"
        )
        measure(
            f"dashboard, {built.clients} clients, warm",
            lambda: clinic_dashboard(Context(big, actor), today),
            args.repeat,
            base,
        )
        for _ in range(args.cold_repeat):
            _make_cold(big, built.clinic_id)
            baseline.append(elapsed_ms(base))
            results.setdefault(f"dashboard, {built.clients} clients, cold", []).append(
                elapsed_ms(lambda: clinic_dashboard(Context(big, actor), today))
            )
        with big.uow() as uow:
            one = int(uow.session.scalar(select(func.min(Photo.client_id))) or 0)
        measure(
            "client review (course_progress), generated client, 6 sessions × 4 photos",
            lambda: course_progress(Context(big, actor), one, today),
            args.repeat,
            base,
        )

        if not args.skip_demo:
            demo = _open(Path(tmp) / "demo")
            started = time.perf_counter()
            loaded = build_demo(demo)
            print(f"demo clinic loaded in {time.perf_counter() - started:.0f} s")
            demo_actor = Actor.operator(loaded.clinic_id)
            clinic_dashboard(Context(demo, demo_actor), DEMO_TODAY)  # fills the cache
            measure(
                "dashboard, demo clinic (4 clients), warm",
                lambda: clinic_dashboard(Context(demo, demo_actor), DEMO_TODAY),
                args.repeat,
                base,
            )
            with demo.uow() as uow:
                largest = uow.session.execute(
                    select(Photo.client_id, func.count(Photo.id))
                    .group_by(Photo.client_id)
                    .order_by(func.count(Photo.id).desc())
                    .limit(1)
                ).one()
            measure(
                f"client review (course_progress), demo client with {largest[1]} photos",
                lambda: course_progress(Context(demo, demo_actor), int(largest[0]), DEMO_TODAY),
                args.repeat,
                base,
            )
            demo.close()
        big.close()

    unit = statistics.median(baseline)
    print(f"\nbaseline: list {built.clients} clients into a DataFrame: median {unit:.1f} ms\n")
    print(f"{'what':<72} {'median ms':>10} {'× baseline':>11} {'runs':>5}")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{name:<72} {median:>10.1f} {median / unit:>11.1f} {len(times):>5}")
    warm = statistics.median(results[f"dashboard, {built.clients} clients, warm"])
    cold = statistics.median(results[f"dashboard, {built.clients} clients, cold"]) / unit
    review = max(statistics.median(v) for k, v in results.items() if k.startswith("client review"))
    print(
        f"\ngoals: dashboard warm {warm:.0f} ms < 1000 ms: {'met' if warm < 1000 else 'MISSED'}; "
        f"dashboard cold {cold:.0f}× baseline ≤ 2000×: {'met' if cold <= 2000 else 'MISSED'}; "
        f"client review {review:.0f} ms < 500 ms: {'met' if review < 500 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
