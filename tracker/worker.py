"""Uploads from the app are checked, stored and measured in a child process with limits.

Why: the app serves every browser from one process. One hostile 206 KB file once held the
GIL for 13.6 s and froze every user's page (and the health check). Parsing is now linear
and capped (tracker.ingest.container), but decoders and analysis are big native code that
we do not control, so each upload runs in its own short-lived child with a CPU-time limit
(RLIMIT_CPU), an address-space limit (RLIMIT_AS) and a wall-clock limit. A child that goes
over is ended; the upload is refused with a plain message, and if it had already stored the
photo, that photo is removed again, so a refused file leaves nothing behind.

Children are forked from a `forkserver` that imported the imaging stack once, so a child
starts in milliseconds instead of paying ~2 s of imports, and never inherits the server's
threads. At most `upload_workers` run at once per server process; further uploads wait.

Slots alone do not bound memory: two 64 MP photos need ~2.6 GB, two 12 MP ones ~0.5 GB. So
each upload also reserves its estimated cost (from the pixel count its header claims, read
before anything is decoded) from a per-process memory budget (`import_memory_budget_mb`);
an upload that does not fit waits for others to finish, and is refused as busy after
`import_budget_wait_seconds`.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tracker.config import MB, Settings
from tracker.errors import Refused
from tracker.ingest.dimensions import claimed_size

log = logging.getLogger(__name__)

_PRELOAD = ["tracker.uploads"]  # the imaging stack, imported once by the forkserver
_context: Any = None
_context_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


class OverLimit(Refused):
    """The file needed more computing time or memory than an upload may use."""


class Busy(Refused):
    """The process's import memory is taken by other uploads for longer than a wait."""


# Measured: a 64 MP photo takes about 1.3 GB from decoding to its measurement (~20 bytes
# a pixel: the decode, its float copies in analysis, the display copy), plus a fixed part.
BYTES_PER_PIXEL = 20
BASE_COST = 64 * MB


def import_cost(data: bytes, max_pixels: int) -> int:
    """Estimated peak memory of importing `data`; a header that says nothing (HEIF) counts
    as the largest image allowed."""
    size = claimed_size(data)
    pixels = size[0] * size[1] if size else max_pixels
    return BASE_COST + BYTES_PER_PIXEL * min(pixels, max_pixels)


class MemoryBudget:
    """Memory that concurrent imports of one process may take together."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, cost: int, wait_seconds: float) -> Iterator[None]:
        """Hold `cost` of the budget (an import larger than the whole budget runs alone),
        waiting up to `wait_seconds` for it; Busy after that."""
        cost = min(cost, self.total)
        deadline = time.monotonic() + wait_seconds
        with self._changed:
            while self.used + cost > self.total:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Busy(
                        "The server is busy importing other large photos. Please try again in a few minutes."
                    )
                self._changed.wait(left)
            self.used += cost
        try:
            yield
        finally:
            with self._changed:
                self.used -= cost
                self._changed.notify_all()


_budgets: dict[int, MemoryBudget] = {}
_budgets_lock = threading.Lock()


def memory_budget(settings: Settings) -> MemoryBudget:
    """This process's budget for the configured size (one per size: tests use several)."""
    total = settings.import_memory_budget_mb * MB
    with _budgets_lock:
        return _budgets.setdefault(total, MemoryBudget(total))


@dataclass(frozen=True)
class WorkLimits:
    cpu_seconds: int
    memory_bytes: int  # address space the child may add to what it starts with
    wall_seconds: float
    at_once: int

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkLimits:
        return cls(
            cpu_seconds=settings.upload_cpu_seconds,
            memory_bytes=settings.upload_memory_mb * MB,
            wall_seconds=settings.upload_wall_seconds,
            at_once=settings.upload_workers,
        )


Report = Callable[[Any], None]


def run_limited(
    task: Callable[..., Any],
    args: tuple[Any, ...],
    limits: WorkLimits,
    *,
    on_report: Callable[[Any], None] | None = None,
) -> Any:
    """`task(*args, report)` in a child under `limits`; its return value, or its Refused
    raised again here, or OverLimit. `report` lets the child tell the parent something
    before it finishes (an upload's photo id, to be removed if the child is then ended)."""
    slot = _slots.setdefault(limits.at_once, threading.BoundedSemaphore(limits.at_once))
    with slot:
        parent, child = _ctx().Pipe(duplex=False)
        process = _ctx().Process(target=_child, args=(child, limits, task, args), daemon=True)
        process.start()
        child.close()
        try:
            return _wait(process, parent, limits, on_report)
        finally:
            parent.close()
            if process.is_alive():
                process.kill()
            process.join(5)


def _wait(
    process: Any,
    conn: multiprocessing.connection.Connection,
    limits: WorkLimits,
    on_report: Callable[[Any], None] | None,
) -> Any:
    deadline = time.monotonic() + limits.wall_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            process.kill()
            raise OverLimit(
                f"Checking this file took longer than {limits.wall_seconds:.0f} s, so it was not stored. "
                "Please send a smaller photo, or the photo as your phone saved it."
            )
        try:
            ready = conn.poll(min(left, 0.5))
            message = conn.recv() if ready else None
        except (EOFError, OSError):
            message = ("died", None)
        if message is None:
            if not process.is_alive() and not conn.poll(0):
                message = ("died", None)
            else:
                continue
        kind, value = message
        if kind == "report":
            if on_report is not None:
                on_report(value)
            continue
        if kind == "ok":
            return value
        if kind == "rejected":
            raise Refused(value)
        if kind == "memory":
            raise OverLimit(_memory_message(limits))
        if kind == "error":  # the child logged the details
            raise OverLimit(
                "The file could not be processed, so it was not stored. Please try another photo."
            )
        process.join(5)
        raise OverLimit(_death_message(process.exitcode, limits))


def _memory_message(limits: WorkLimits) -> str:
    return (
        f"Processing this file needed more than {limits.memory_bytes / MB:,.0f} MB of memory, so it was "
        "not stored. Please send a smaller photo."
    )


def _death_message(exitcode: int | None, limits: WorkLimits) -> str:
    if exitcode == -signal.SIGXCPU or exitcode == -signal.SIGKILL:
        return (
            f"Checking this file needed more than {limits.cpu_seconds} s of computing, so it was not "
            "stored. Please send the photo as your phone saved it."
        )
    if exitcode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
        return _memory_message(limits)  # native code that ran out of memory aborts
    return "The file could not be processed, so it was not stored. Please try another photo."


def _child(
    conn: multiprocessing.connection.Connection,
    limits: WorkLimits,
    task: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    # Limits relative to what the child starts with: the preloaded libraries already take
    # address space and the forkserver may have used CPU time.
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + limits.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + limits.memory_bytes,) * 2)
    try:
        result = task(*args, lambda value: conn.send(("report", value)))
        conn.send(("ok", result))
    except Refused as exc:
        conn.send(("rejected", str(exc)))
    except MemoryError:
        conn.send(("memory", None))
    except Exception as exc:
        log.exception("upload task failed")
        text = str(exc)
        if "memory" in text.lower():  # OpenCV reports a failed allocation as cv2.error
            conn.send(("memory", None))
        else:
            conn.send(("error", type(exc).__name__))
    finally:
        conn.close()


def _address_space() -> int:
    with open("/proc/self/statm") as f:  # noqa: PTH123 — a kernel file, read once
        pages = int(f.read().split()[0])
    return pages * resource.getpagesize()


def _ctx() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


__all__ = ["Busy", "MemoryBudget", "OverLimit", "WorkLimits", "import_cost", "memory_budget", "run_limited"]
