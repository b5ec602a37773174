"""What the benchmark scripts share: they time each goal against a baseline measured in the
same run (these machines are noisy, so only ratios are compared), never in a unit test."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
from sqlalchemy import select

from tracker.bootstrap import App
from tracker.store.models import Client


def elapsed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def client_list_query(app: App, clinic_id: int) -> Callable[[], object]:
    """The dashboard benchmarks' baseline: one clinic's client list read into a data frame,
    the least a dashboard page does."""

    def run() -> object:
        with app.engine.connect() as connection:
            return pd.read_sql(
                select(Client.id, Client.name).where(Client.clinic_id == clinic_id), connection
            )

    return run
