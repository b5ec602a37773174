"""The SQL of the encryption commands (tracker/app/encryption.py): which blobs the photo
rows name, moving those names to the encrypted copies, and re-writing the encrypted
columns so plain values become encrypted ones."""

from __future__ import annotations

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from tracker.store.models import Client, ClientNote, FlagReview, Photo, TreatmentSession

_KEY_COLUMNS = (Photo.original_sha256, Photo.display_sha256, Photo.thumbnail_sha256)


def photo_keys(engine: Engine) -> list[tuple[int, list[str]]]:
    """Every photo's blob keys (original, display, thumbnail), oldest photo first."""
    with Session(engine) as session:
        rows = session.execute(select(Photo.id, *_KEY_COLUMNS).order_by(Photo.id))
        return [(row[0], [row[1], row[2], row[3]]) for row in rows]


def referenced_keys(engine: Engine) -> set[str]:
    with Session(engine) as session:
        found: set[str] = set()
        for column in _KEY_COLUMNS:
            found.update(session.scalars(select(column)))
        return found


def rename_keys(engine: Engine, renames: dict[str, str]) -> None:
    """Point every photo row at the new keys, in one transaction: the rows never name a mix
    of one photo's old and new files."""
    with Session(engine) as session, session.begin():
        for column in _KEY_COLUMNS:
            for old, new in renames.items():
                session.execute(update(Photo).where(column == old).values({column.key: new}))


def is_referenced(engine: Engine, key: str) -> bool:
    with Session(engine) as session:
        query = select(Photo.id).where(or_(*(column == key for column in _KEY_COLUMNS))).limit(1)
        return session.scalar(query) is not None


_BATCH = 200


def reseal_columns(engine: Engine) -> int:
    """Read and write back every encrypted column's values through their column types: a
    plain value is read as it is and written encrypted (the engine's cipher is attached).
    Batches of rows per transaction; repeating it is harmless. Returns the rows written."""
    written = 0
    for entity, columns in (
        (Client, (Client.date_of_birth, Client.intake)),
        (ClientNote, (ClientNote.text,)),
        (TreatmentSession, (TreatmentSession.notes,)),
        (FlagReview, (FlagReview.note,)),
    ):
        last = 0
        while True:
            with Session(engine) as session, session.begin():
                id_column = entity.id
                rows = session.execute(
                    select(id_column, *columns).where(id_column > last).order_by(id_column).limit(_BATCH)
                ).all()
                for row in rows:
                    values = {column.key: value for column, value in zip(columns, row[1:], strict=True)}
                    session.execute(update(entity).where(id_column == row[0]).values(values))
            written += len(rows)
            if len(rows) < _BATCH:
                break
            last = rows[-1][0]
    return written
