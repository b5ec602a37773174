"""The store's keyring in the database, and the one decision made at start: is this store
encrypted, and does the configured key open it?

Checked before anything else reads or writes, so a wrong or missing key is one clear
message and nothing changed. The rows (model EncryptionKey) hold the store's secrets sealed
by each master key allowed to open it; the seal's tag is the key-check value.
"""

from __future__ import annotations

import base64
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, exists, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.store.blobs import BlobStore, KeyedBlobStore
from tracker.store.encrypted_blobs import EncryptingBlobStore
from tracker.store.encrypted_columns import ColumnCipher, attach
from tracker.store.encryption_keys import (
    EncryptionKeyProblem,
    Keys,
    MasterKey,
    StoreSecrets,
    key_from_file,
    key_from_text,
)
from tracker.store.models import Client, EncryptionKey, Photo

NOT_SET = "This store is encrypted: set TRACKER_ENCRYPTION_KEY_FILE (or TRACKER_ENCRYPTION_KEY) to its key"
NOT_ENCRYPTED_YET = (
    "An encryption key is configured but this store holds unencrypted records and photos: "
    "run `python -m tracker encrypt-store` once to encrypt them in place"
)


def configured_keys(key_file: Path | None, key_text: str, old_key_file: Path | None) -> list[MasterKey]:
    """The master keys from the settings: the current one first, then the old one (read only)."""
    keys: list[MasterKey] = []
    if key_file is not None:
        keys.append(key_from_file(key_file))
    elif key_text:
        keys.append(key_from_text(key_text, "TRACKER_ENCRYPTION_KEY"))
    if old_key_file is not None:
        if not keys:
            raise EncryptionKeyProblem("TRACKER_ENCRYPTION_OLD_KEY_FILE is set without a current key")
        keys.append(key_from_file(old_key_file))
    return keys


def open_keys(engine: Engine, masters: list[MasterKey], *, begin: bool = False) -> Keys | None:
    """The keys of an encrypted store, or None for a plaintext one (no key, no keyring).

    A new store (no client, no photo) with a key configured is made an encrypted store here;
    an existing plaintext one only with `begin` (encrypt-store), so it is never half
    encrypted by accident. Raises EncryptionKeyProblem, having written nothing, when the key
    is missing or does not open the store."""
    with Session(engine) as session:
        rows = {row.key_id: row.sealed for row in session.scalars(select(EncryptionKey))}
        if not rows:
            if not masters:
                return None
            has_data = session.scalar(select(exists().where(Client.id.is_not(None)))) or session.scalar(
                select(exists().where(Photo.id.is_not(None)))
            )
            if has_data and not begin:
                raise EncryptionKeyProblem(NOT_ENCRYPTED_YET)
            return _create(engine, masters)
    if not masters:
        raise EncryptionKeyProblem(NOT_SET)
    current = masters[0]
    secrets: StoreSecrets | None = None
    for master in masters:
        if master.key_id in rows:
            secrets = StoreSecrets.open(base64.b64decode(rows[master.key_id]), master)
            break
    if secrets is None:
        raise EncryptionKeyProblem(
            f"The encryption key does not match this store (key id {current.key_id}; "
            f"the store opens with key id {', '.join(sorted(rows))})"
        )
    if current.key_id not in rows:  # the new key of a rotation: it can open the store too
        add_master(engine, secrets, current)
    return Keys(current=current, readable={m.key_id: m for m in masters}, secrets=secrets)


def check_database(database: Path, masters: list[MasterKey]) -> None:
    """Raise EncryptionKeyProblem unless `masters` open the SQLite database at `database` as
    open_app would (a restore checks the archive's database before moving it in). Reads only."""
    engine = create_engine(f"sqlite:///{database}")
    try:
        if not inspect(engine).has_table(EncryptionKey.__tablename__):
            if masters:  # a backup from before encryption existed: a plaintext store
                raise EncryptionKeyProblem(NOT_ENCRYPTED_YET)
            return
        with Session(engine) as session:
            rows = {row.key_id: row.sealed for row in session.scalars(select(EncryptionKey))}
            has_data = session.scalar(select(exists().where(Client.id.is_not(None))))
        if not rows:
            if masters and has_data:
                raise EncryptionKeyProblem(NOT_ENCRYPTED_YET)
            return
        if not masters:
            raise EncryptionKeyProblem(NOT_SET)
        for master in masters:
            if master.key_id in rows:
                StoreSecrets.open(base64.b64decode(rows[master.key_id]), master)
                return
        raise EncryptionKeyProblem(
            f"The encryption key does not match this store (key id {masters[0].key_id}; "
            f"the store opens with key id {', '.join(sorted(rows))})"
        )
    finally:
        engine.dispose()


def _create(engine: Engine, masters: list[MasterKey]) -> Keys:
    current = masters[0]
    secrets = StoreSecrets.generate()
    try:
        add_master(engine, secrets, current)
    except IntegrityError:  # another process made the keyring first: open theirs
        keys = open_keys(engine, masters)
        assert keys is not None
        return keys
    return Keys(current=current, readable={m.key_id: m for m in masters}, secrets=secrets)


def add_master(engine: Engine, secrets: StoreSecrets, master: MasterKey) -> None:
    with Session(engine) as session, session.begin():
        if session.get(EncryptionKey, master.key_id) is None:
            sealed = base64.b64encode(secrets.seal(master)).decode("ascii")
            session.add(EncryptionKey(key_id=master.key_id, sealed=sealed))


def keep_only(engine: Engine, master: MasterKey) -> int:
    """Drop every other master key's row (the end of a rotation); returns how many."""
    with Session(engine) as session, session.begin():
        result = session.execute(delete(EncryptionKey).where(EncryptionKey.key_id != master.key_id))
        return int(getattr(result, "rowcount", 0) or 0)


def key_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(EncryptionKey.key_id).order_by(EncryptionKey.key_id)))


def protect(
    engine: Engine, blobs: KeyedBlobStore, masters: list[MasterKey], *, begin: bool = False
) -> BlobStore:
    """The blob store to use: `blobs` itself for a plaintext store, or wrapped to encrypt,
    with the engine's encrypted columns given their key. bootstrap.open_app calls this."""
    if not inspect(engine).has_table(EncryptionKey.__tablename__):
        # Opened without migrating (`init`, `migrate`): nothing to protect or check yet; the
        # schema is brought up to date, and the key checked, by the next open.
        attach(engine, None)
        return blobs
    keys = open_keys(engine, masters, begin=begin)
    if keys is None:
        attach(engine, None)
        return blobs
    attach(engine, ColumnCipher(keys.secrets.column_key))
    return EncryptingBlobStore(blobs, keys)


__all__ = [
    "NOT_ENCRYPTED_YET",
    "NOT_SET",
    "add_master",
    "check_database",
    "configured_keys",
    "keep_only",
    "open_keys",
    "protect",
]
