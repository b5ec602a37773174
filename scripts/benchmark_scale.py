"""Scale benchmark of a clinic chain on PostgreSQL (issue 13, item 8, the dashboard part).

Goal: the warm dashboard of one clinic of 1,000 clients in ≤ 200 ms server time when the
database holds a whole chain: 10 clinics × 1,000 clients × 24 photos' results (240,000
photos and analysis results).

    .venv/bin/python scripts/benchmark_scale.py [--clinics 10] [--clients 1000] [--repeat 7]
        [--database-url postgresql+psycopg://…]   (default: a throwaway server, tests/postgres.py)

The rows are generated in bulk (tracker_dev.synth.clinic: clients, courses, 6 sessions × 4
analysed photos each with plausible numbers and a known few clients who need a look; fake
blob keys, the dashboard reads no photo), clinic by clinic; each clinic's `client_status`
rows are then made by its first dashboard view, as in use. What is timed is the use case
the Dashboard page calls, `clinic_dashboard`, in this process (server time, no browser).

It is timed twice: with the first clinic alone in the database, and again after the other
clinics were added, so the ratio says what the rest of the chain costs one clinic's view.
Each time is also given as a ratio against a baseline measured in the same run, interleaved
with the others: listing the clinic's clients (id and name) into a DataFrame, the least any
clinic-wide view must do.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.app.context import Context
from tracker.app.dashboard import clinic_dashboard, dashboard_counts
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.permissions import Actor
from tracker_dev.synth.clinic import build_big_clinic
from tracker_dev.timing import client_list_query, elapsed_ms

GOAL_MS = 200.0


def _vacuum(app: App) -> None:
    """VACUUM ANALYZE, as autovacuum does soon after a bulk load: fresh statistics, and the
    visibility map that lets the signatures' index-only scans skip the tables."""
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def _counts(app: App) -> str:
    with app.engine.connect() as connection:
        found = {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("clinic", "client", "treatment_session", "photo", "analysis_result", "client_status")
        }
    return ", ".join(f"{n:,} {t}" for t, n in found.items())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clinics", type=int, default=10)
    parser.add_argument("--clients", type=int, default=1000, help="clients per clinic")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--database-url", default="", help="an empty PostgreSQL database (default: a throwaway server)"
    )
    args = parser.parse_args()
    server = None
    url = args.database_url
    if not url:
        from tests.postgres import start_server

        server = start_server()
        url = server.create_database()
    today = date.today()
    results: dict[str, list[float]] = {}
    baseline: list[float] = []

    def measure(name: str, fn: Callable[[], object], base: Callable[[], object]) -> None:
        for _ in range(args.repeat):  # interleaved with the baseline: both see the same machine
            baseline.append(elapsed_ms(base))
            results.setdefault(name, []).append(elapsed_ms(fn))

    try:
        with tempfile.TemporaryDirectory(prefix="tracker-scale-") as tmp:
            app = open_app(Settings(data_dir=Path(tmp), database_url=url, _env_file=None))
            print(f"database: {app.engine.dialect.name} {app.engine.dialect.server_version_info}")
            first = None
            for number in range(1, args.clinics + 1):
                started = time.perf_counter()
                built = build_big_clinic(
                    app,
                    clients=args.clients,
                    seed=number,
                    today=today,
                    clinic_name=f"Chain clinic {number:02d}",
                )
                _vacuum(app)
                generated = time.perf_counter() - started
                started = time.perf_counter()
                frame = clinic_dashboard(Context(app, Actor.operator(built.clinic_id)), today)
                print(
                    f"clinic {number:2d}: {built.clients} clients, {built.sessions} sessions, {built.photos} "
                    f"photos generated in {generated:.1f} s; first view (fills client_status) "
                    f"{time.perf_counter() - started:.1f} s; counts {dashboard_counts(frame)}"
                )
                if first is None:
                    first = built
                    ctx = Context(app, Actor.operator(first.clinic_id))
                    base = client_list_query(app, first.clinic_id)
                    measure(
                        f"dashboard, clinic 1 ({args.clients} clients), alone, warm",
                        functools.partial(clinic_dashboard, ctx, today),
                        base,
                    )
            assert first is not None
            print(f"\nin the database: {_counts(app)}")
            measure(
                f"dashboard, clinic 1 ({args.clients} clients) in a chain of {args.clinics}, warm",
                functools.partial(clinic_dashboard, ctx, today),
                base,
            )
            app.close()
    finally:
        if server is not None:
            server.stop()

    unit = statistics.median(baseline)
    print(f"\nbaseline: list {args.clients} clients of one clinic into a DataFrame: median {unit:.1f} ms\n")
    print(f"{'what':<62} {'median ms':>10} {'× baseline':>11} {'runs':>5}")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{name:<62} {median:>10.1f} {median / unit:>11.1f} {len(times):>5}")
    alone, chain = (statistics.median(v) for v in results.values())
    print(f"\nthe rest of the chain costs one clinic's view {chain / alone:.2f}× its time alone")
    verdict = "met" if chain <= GOAL_MS else "MISSED"
    print(f"goal: warm dashboard of one clinic in a chain {chain:.0f} ms ≤ {GOAL_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
