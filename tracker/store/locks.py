"""Named locks in the database, held until the transaction ends; first of all the one
that makes "is this file free to remove?" a safe question.

Why: files are addressed by content, so a re-upload of bytes already stored finds the file
there and writes nothing; a remover (fsck --repair, a client's deletion) that judged the
file unused a moment earlier would then take away a file the new photo row points at
(issue 13: fsck racing a re-upload left a row pointing at quarantined files). File times
cannot tell (the file is old), and an object store has none worth trusting.

Both sides take the key's lock in the database, in the transaction that decides:
- an upload locks its keys before it writes the files and keeps the lock until its photo
  row is committed;
- a remover locks the key, checks that no row refers to the file, removes it, then commits.
Either the upload comes first (the remover then sees its row and keeps the file) or the
removal does (the upload's write, after its lock, finds no file and stores it again).

PostgreSQL: a transaction-scoped advisory lock on the name's hash. SQLite: any write takes
the database's single write lock until the transaction ends. The job queue uses the same
locks (tracker/store/job_queue.py) so that two `reanalyze` runs enqueue one set of jobs.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from tracker.store.models import BlobPurge


def lock(session: Session, keys: Iterable[str]) -> None:
    """Hold these names' locks until the session's transaction ends. Sorted: two sessions
    locking overlapping names take them in the same order, so neither waits on the other."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for key in sorted(set(keys)):
        if postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
        else:  # a write that changes nothing still takes SQLite's write lock
            session.execute(delete(BlobPurge).where(BlobPurge.key == key, text("0 = 1")))
            return
