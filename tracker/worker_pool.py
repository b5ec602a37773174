"""`python -m tracker worker`: N processes that run the job queue (tracker.app.job_queue).

Why processes: measuring a photo is CPU-bound Python and native code, so threads of one
process would share one core; each worker is its own process with its own connection to
the database, and may run on any machine that reaches the database and the blob store.
They are started with `spawn` (a fresh interpreter: no threads, sockets or database
connections inherited from the parent). SIGTERM or Ctrl-C asks each to stop: a worker
gives its current job back to the queue at the next photo and exits.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from typing import Any

from tracker.config import Settings


def start(settings: Settings, processes: int, *, until_idle: bool = False) -> list[Any]:
    """Start `processes` worker processes; the caller joins them (or calls `stop`)."""
    ctx = multiprocessing.get_context("spawn")
    started = []
    for _ in range(processes):
        process = ctx.Process(target=_main, args=(settings.to_json(), until_idle), daemon=False)
        process.start()
        started.append(process)
    return started


def stop(processes: list[Any], timeout: float = 60.0) -> None:
    """Ask the workers to stop and wait for them (a worker stops at its next photo)."""
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: handled, see _main
    for process in processes:
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()


def run(settings: Settings, processes: int, *, until_idle: bool = False) -> int:
    """Run the workers until they stop (with `until_idle`: once no job is left); the number
    of workers that did not exit cleanly."""
    workers = start(settings, processes, until_idle=until_idle)
    try:
        for process in workers:
            process.join()
    except KeyboardInterrupt:
        stop(workers)
    return sum(1 for p in workers if p.exitcode not in (0, -signal.SIGTERM))


def _main(settings_json: str, until_idle: bool) -> None:
    from tracker.app import job_queue
    from tracker.bootstrap import open_app

    halt = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: halt.set())
    app = open_app(Settings.model_validate_json(settings_json), migrate=False)
    try:
        job_queue.work(app, job_queue.worker_name(), stop=halt, until_idle=until_idle)
    finally:
        app.close()


__all__ = ["run", "start", "stop"]
