"""Issue 12 item 11: the aligned pair (and its maps) a client sees is kept per photo pair and
result, so reloading My progress does not align the same two photos again.

Counted with the module's own counter of pairs aligned (tracker.app.photos.pairs_aligned),
which the real aligning function increments: no mock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import copy_demo
from tracker.app import courses, photo_admin, photos
from tracker.app.context import Context
from tracker.app.demo import DemoResult
from tracker.bootstrap import App
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AnalysisResult, User


@pytest.fixture
def demo_copy(demo_loaded: tuple[App, DemoResult], tmp_path: Path) -> Iterator[tuple[App, dict[str, Actor]]]:
    app = copy_demo(demo_loaded, tmp_path / "data")
    with app.uow() as uow:
        users = {u.email: u for u in uow.session.scalars(select(User))}
    actors = {
        name: Actor(u.email, u.role, u.clinic_id, u.id, u.client_id)
        for name, u in (
            ("ava", users["ava@demo.test"]),
            ("linh", users["linh@demo.test"]),
            ("staff", users["practitioner@demo.test"]),
        )
    }
    yield app, actors
    app.close()


def test_the_same_pair_is_aligned_once_until_a_result_changes(
    demo_copy: tuple[App, dict[str, Actor]],
) -> None:
    app, actors = demo_copy
    ava = Context(app, actors["ava"])
    assert actors["ava"].client_id is not None
    table = courses.course_progress(ava, actors["ava"].client_id).table
    pair = photos.default_comparison(table)
    assert pair is not None
    first, second = pair
    start = photos.pairs_aligned

    shown = photos.aligned_pair(ava, first, second)  # My progress, first visit
    assert photos.pairs_aligned == start + 1
    again = photos.aligned_pair(ava, first, second)  # a reload
    assert again is shown and photos.pairs_aligned == start + 1
    assert again.redness_map() is again.redness_map()  # the maps are made once too

    # The practitioner passes her own permission check and shares it; another client is
    # refused before anything kept is looked at.
    assert photos.aligned_pair(Context(app, actors["staff"]), first, second) is shown
    with pytest.raises(PermissionDenied):
        photos.aligned_pair(Context(app, actors["linh"]), first, second)
    assert photos.pairs_aligned == start + 1

    # Another pair is aligned on its own.
    other = next(int(p) for p in table["photo_id"] if int(p) not in (first, second))
    photos.aligned_pair(ava, first, other)
    assert photos.pairs_aligned == start + 2

    # A new result (here: the second photo measured under a newer metric version) is a new pair.
    with app.uow() as uow:
        uow.session.execute(
            update(AnalysisResult).where(AnalysisResult.photo_id == second).values(metric_version="next")
        )
        uow.session.commit()
    renewed = photos.aligned_pair(ava, first, second)
    assert renewed is not shown and photos.pairs_aligned == start + 3

    # Deleting a photo drops the pairs made from it: no copy of its pixels stays kept.
    kept = len(photos.KEPT_PAIRS)
    photo_admin.delete_photo(Context(app, actors["staff"]), second, "test: taken by mistake")
    assert len(photos.KEPT_PAIRS) == kept - 2  # the old and the renewed pair with it


def test_the_kept_pairs_stay_within_their_memory_limit() -> None:
    from tracker.app.kept_pairs import KeptPairs

    kept: KeptPairs[str] = KeptPairs()
    for i in range(10):
        kept.put(i, f"pair {i}", 40, frozenset({f"blob{i}"}), limit=100)
    assert len(kept) == 2 and kept.bytes == 80  # the two most recent
    assert kept.get(9) == "pair 9" and kept.get(0) is None
    kept.put("huge", "too big", 101, frozenset(), limit=100)  # over the limit alone: not kept
    assert kept.get("huge") is None and len(kept) == 2
