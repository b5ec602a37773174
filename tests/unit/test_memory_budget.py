"""The per-process import memory budget (tracker.worker.MemoryBudget): an upload's share is
estimated from the pixel count its header claims; one that does not fit waits, then is
refused as busy."""

from __future__ import annotations

import threading

import pytest

from tests import images
from tracker.config import MB
from tracker.worker import BASE_COST, BYTES_PER_PIXEL, Busy, MemoryBudget, import_cost


def test_the_cost_follows_the_pixel_count_and_an_unknown_size_counts_as_the_largest() -> None:
    small = images.encode(images.quadrants(640, 480), "PNG")
    assert import_cost(small, 64_000_000) == BASE_COST + BYTES_PER_PIXEL * 640 * 480
    assert import_cost(b"ftypheic-without-size", 64_000_000) == BASE_COST + BYTES_PER_PIXEL * 64_000_000
    assert 1200 * MB < import_cost(b"?", 64_000_000) < 1500 * MB  # 64 MP: about 1.3 GB


def test_an_upload_that_does_not_fit_is_refused_after_its_wait() -> None:
    budget = MemoryBudget(1000)
    with budget.reserve(600, 0):
        with pytest.raises(Busy, match="busy importing other large photos"), budget.reserve(600, 0.05):
            pass
        with budget.reserve(400, 0):  # what is left still fits
            assert budget.used == 1000
    assert budget.used == 0


def test_a_waiting_upload_goes_ahead_once_another_finishes() -> None:
    budget = MemoryBudget(1000)
    first_in, release, second_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with budget.reserve(800, 0):
            first_in.set()
            release.wait(10)

    def second() -> None:
        with budget.reserve(800, 30):
            second_done.set()

    a = threading.Thread(target=first)
    a.start()
    first_in.wait(10)
    b = threading.Thread(target=second)
    b.start()
    assert not second_done.wait(0.2)  # it waits while the first holds the memory
    release.set()
    a.join()
    b.join()
    assert second_done.is_set() and budget.used == 0


def test_an_upload_larger_than_the_whole_budget_runs_alone() -> None:
    budget = MemoryBudget(1000)
    with budget.reserve(5000, 0):
        assert budget.used == 1000
