"""Key material for encryption at rest: master keys and the store's own secrets.

Two levels, so that changing the master key never changes anything the database points at:

- A master key (32 random bytes) lives outside the store: a key file (mode 0600) or the
  environment. Its id is a hash of it, so a header or a keyring row can name the key it
  needs without revealing it.
- The store's secrets (an address secret and a column key, 32 random bytes each) are made
  once, when the store is first encrypted, and kept in the database sealed (AES-GCM) by
  each master key allowed to open it (table encryption_key). Blob addresses are keyed by
  the address secret and column values are encrypted with the column key, so a rotation
  re-seals this row and re-wraps each photo's data key, and leaves every address and every
  column value as it was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from tracker.errors import Refused

KEY_BYTES = 32
NONCE_BYTES = 12
_SECRETS_AAD = b"tracker keyring v1"


class EncryptionKeyProblem(Refused):
    """The configured key cannot open this store (missing, wrong, unreadable): said at start,
    before anything is read or written."""


class KeyNotAvailable(EncryptionKeyProblem):
    """A blob is sealed under a master key this process was not given."""


@dataclass(frozen=True)
class MasterKey:
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise EncryptionKeyProblem(f"An encryption key must be {KEY_BYTES} bytes (base64 of them)")

    @property
    def key_id(self) -> str:
        """16 hex digits naming the key in headers, rows and messages."""
        return hashlib.sha256(b"tracker master key id\0" + self.material).hexdigest()[:16]

    def wrap(self, data_key: bytes) -> bytes:
        """RFC 3394 key wrap: 40 bytes, authenticated."""
        return aes_key_wrap(self.material, data_key)

    def unwrap(self, wrapped: bytes) -> bytes:
        return aes_key_unwrap(self.material, wrapped)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    def to_text(self) -> str:
        return base64.b64encode(self.material).decode("ascii")


def key_from_text(text: str, where: str) -> MasterKey:
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionKeyProblem(f"{where} is not base64 (make one: `python -m tracker new-key`)") from None
    if len(material) != KEY_BYTES:
        raise EncryptionKeyProblem(
            f"{where} holds {len(material)} bytes; an encryption key is {KEY_BYTES} bytes (base64)"
        )
    return MasterKey(material)


def key_from_file(path: Path) -> MasterKey:
    """Refuses a file others can read: the key is what keeps every photo private."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise EncryptionKeyProblem(f"The encryption key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EncryptionKeyProblem(f"The encryption key file {path} cannot be read ({exc})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise EncryptionKeyProblem(
            f"The encryption key file {path} is open to other users (mode {stat.S_IMODE(mode):04o}): "
            f"chmod 600 {path}"
        )
    return key_from_text(text, f"The encryption key file {path}")


def write_key_file(path: Path, key: MasterKey) -> None:
    """A new key file, readable by its owner only; never replaces one (that would lose a key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.to_text() + "\n")


@dataclass(frozen=True)
class StoreSecrets:
    address_secret: bytes = field(repr=False)
    column_key: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> StoreSecrets:
        return cls(secrets.token_bytes(KEY_BYTES), secrets.token_bytes(KEY_BYTES))

    def seal(self, master: MasterKey) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = _SECRETS_AAD + master.key_id.encode()
        return nonce + AESGCM(master.material).encrypt(nonce, self.address_secret + self.column_key, aad)

    @classmethod
    def open(cls, sealed: bytes, master: MasterKey) -> StoreSecrets:
        """Raises EncryptionKeyProblem when `master` is not the key these were sealed with:
        the AES-GCM tag is the key-check value."""
        aad = _SECRETS_AAD + master.key_id.encode()
        try:
            plain = AESGCM(master.material).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            raise EncryptionKeyProblem(
                f"The encryption key does not match this store (key id {master.key_id})"
            ) from None
        return cls(plain[:KEY_BYTES], plain[KEY_BYTES:])


@dataclass(frozen=True)
class Keys:
    """What a process holds: the master key new objects are wrapped with, every master key
    it may read with (the current one and, during a rotation, the old one), and the store's
    secrets."""

    current: MasterKey
    readable: dict[str, MasterKey]
    secrets: StoreSecrets

    def master(self, key_id: str) -> MasterKey:
        try:
            return self.readable[key_id]
        except KeyError:
            raise KeyNotAvailable(
                f"A photo file is sealed with the encryption key {key_id}, which is not configured "
                "(set TRACKER_ENCRYPTION_OLD_KEY_FILE to it until `rotate-key` has finished)"
            ) from None


__all__ = [
    "EncryptionKeyProblem",
    "InvalidUnwrap",
    "KeyNotAvailable",
    "Keys",
    "MasterKey",
    "StoreSecrets",
    "key_from_file",
    "key_from_text",
    "write_key_file",
]
