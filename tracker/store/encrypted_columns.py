"""Column types that encrypt when the store is encrypted, so the rest of the code is unchanged.

A value is written as `enc1:` + base64(nonce | AES-256-GCM ciphertext + tag) under the
store's column key (tracker.store.encryption_keys.StoreSecrets), with the column's name as
associated data: a value copied into another column is refused, not misread. Without a
key the value is written as plain text (JSON, ISO date, the text itself), which is what
these columns held before; a plain value is always read as it is, so a store half-way
through `encrypt-store` reads both.

The cipher belongs to an engine (it is set on the engine's dialect by attach), not to the
process: two apps in one process, one encrypted and one not, stay apart.

Nothing filters or sorts on these columns in SQL (date of birth, intake answers and notes
are only read and shown); an encrypted column could not be compared in SQL.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from tracker.store.encryption_keys import NONCE_BYTES

PREFIX = "enc1:"
_ATTRIBUTE = "tracker_column_cipher"


class ColumnUnreadable(Exception):
    """A stored value failed its check (changed in the database, or another key)."""


class ColumnCipher:
    def __init__(self, column_key: bytes) -> None:
        self._aead = AESGCM(column_key)

    def seal(self, text: str, column: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, text.encode("utf-8"), column.encode())
        return PREFIX + base64.b64encode(sealed).decode("ascii")

    def open(self, value: str, column: str) -> str:
        sealed = base64.b64decode(value[len(PREFIX) :])
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], column.encode()).decode()
        except InvalidTag:
            raise ColumnUnreadable(f"{column}: a stored value does not match its check") from None


def attach(engine: Engine, cipher: ColumnCipher | None) -> None:
    setattr(engine.dialect, _ATTRIBUTE, cipher)


def _cipher(dialect: Dialect) -> ColumnCipher | None:
    cipher: ColumnCipher | None = getattr(dialect, _ATTRIBUTE, None)
    return cipher


class _Encrypted(TypeDecorator[Any]):
    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def to_text(self, value: Any) -> str:
        raise NotImplementedError

    def from_text(self, text: str) -> Any:
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = self.to_text(value)
        cipher = _cipher(dialect)
        return cipher.seal(text, self.column) if cipher else text

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a PostgreSQL json or date column not migrated yet
            return value
        if value.startswith(PREFIX):
            cipher = _cipher(dialect)
            if cipher is None:
                raise ColumnUnreadable(
                    f"{self.column} is encrypted: set TRACKER_ENCRYPTION_KEY_FILE to read it"
                )
            value = cipher.open(value, self.column)
        return self.from_text(value)


class EncryptedText(_Encrypted):
    cache_ok = True

    def to_text(self, value: Any) -> str:
        return str(value)

    def from_text(self, text: str) -> Any:
        return text


class EncryptedDate(_Encrypted):
    cache_ok = True

    def to_text(self, value: Any) -> str:
        if not isinstance(value, date):
            raise TypeError(f"{self.column}: a date, not {type(value).__name__}")
        return value.isoformat()

    def from_text(self, text: str) -> Any:
        return date.fromisoformat(text)


class EncryptedJSON(_Encrypted):
    cache_ok = True

    def to_text(self, value: Any) -> str:
        return json.dumps(value)

    def from_text(self, text: str) -> Any:
        return json.loads(text)


__all__ = ["ColumnCipher", "ColumnUnreadable", "EncryptedDate", "EncryptedJSON", "EncryptedText", "attach"]
