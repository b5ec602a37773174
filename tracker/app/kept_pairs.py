"""Aligned before/after pairs kept in memory, per photo pair and result (issue 12 item 11).

Why: aligning two photos decodes both display copies, warps one onto the other and, when a
photo has no trustworthy registration of its own, registers the two again (a second or more
of CPU). My progress shows the same pair on every visit, so without this any client could
keep a core busy by reloading. The key (tracker.app.photos.aligned_pair) holds everything a
pair is made of: the data folder, both photos' display files and sizes and a digest of
their latest results, so a new result or another photo makes a new entry, never a stale
one. The caller checks the actor's permission on both photos before asking, so a pair is
shared between staff and the client only after each passed that check for themselves.

Bounded by settings.compare_cache_mb, least recently used first out. Deleting photos drops
their pairs (the PhotoFilesDropped handler), so no copy of deleted pixels stays here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class KeptPairs(Generic[T]):
    """A thread-safe LRU of values with a size each, bounded by total bytes. Each value is
    stored with the blob keys it was made from, so a deletion can drop it."""

    def __init__(self) -> None:
        self._items: OrderedDict[Hashable, tuple[T, int, frozenset[str]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: T, size: int, blob_keys: frozenset[str], limit: int) -> None:
        """Keep `value` unless it alone is over `limit` bytes; older entries make room."""
        if size > limit:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size, blob_keys)
            self._bytes += size
            while self._bytes > limit:
                _, (_, dropped, _) = self._items.popitem(last=False)
                self._bytes -= dropped

    def forget(self, made_from: Callable[[frozenset[str]], bool]) -> None:
        with self._lock:
            for key in [k for k, (_, _, keys) in self._items.items() if made_from(keys)]:
                self._bytes -= self._items.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes


# The process's kept pairs (tracker.app.photos.aligned_pair puts and gets them). Here rather
# than in photos.py so that the deletion handler (tracker.bootstrap) can drop them without
# importing photos, which imports bootstrap.
KEPT: KeptPairs[Any] = KeptPairs()


def forget(blob_keys: set[str]) -> None:
    """Drop kept pairs made from these files (after photos or a client were deleted)."""
    KEPT.forget(lambda made_from: not made_from.isdisjoint(blob_keys))
