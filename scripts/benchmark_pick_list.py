"""Speed of the client pick list (issue 10): a name selectbox must not load every client's
sessions and photos.

    .venv/bin/python scripts/benchmark_pick_list.py [--repeat 10] [--clients 1000]

On a generated clinic (tracker_dev.synth.clinic: clients × 6 sessions × 4 photos), prints
the median time of `courses.client_names` (what the pages' pick lists use), of
`courses.client_overview` (the one client the record page shows) and of `courses.overview`
(what the pages used before: every client with sessions and photos), each
also as a ratio against a baseline measured in the same run, interleaved: one bare query
of the clinic's (id, name) on a connection, no unit of work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.app import courses
from tracker.app.context import Context
from tracker.bootstrap import open_app
from tracker.config import Settings
from tracker.permissions import Actor
from tracker.store.models import Client
from tracker_dev.synth.clinic import build_big_clinic
from tracker_dev.timing import elapsed_ms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--clients", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        app = open_app(Settings(data_dir=Path(tmp), _env_file=None))  # type: ignore[call-arg]
        built = build_big_clinic(app, clients=args.clients)
        print(f"generated clinic: {built.clients} clients, {built.photos} photos")
        ctx = Context(app, Actor.operator(built.clinic_id))

        def baseline() -> object:
            with app.engine.connect() as connection:
                query = select(Client.id, Client.name).where(Client.clinic_id == built.clinic_id)
                return connection.execute(query).all()

        runs = {"baseline: (id, name) query": baseline, "client_names": lambda: courses.client_names(ctx)}
        one = courses.client_names(ctx)[0].id
        runs["client_overview (one client)"] = lambda: courses.client_overview(ctx, one)
        runs["overview"] = lambda: courses.overview(ctx)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeat):  # interleaved, so each sees the same machine
            for name, fn in runs.items():
                times[name].append(elapsed_ms(fn))
        app.close()
    base = statistics.median(times["baseline: (id, name) query"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:28} {median:9.1f} ms  {median / base:7.1f}× baseline")


if __name__ == "__main__":
    main()
