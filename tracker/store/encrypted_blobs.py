"""A blob store that encrypts: wraps any store that can write under a given key.

Each object is sealed with its own random data key (AES-256-GCM); the data key is wrapped
(RFC 3394) by the master key and kept in the object's header:

    magic "TRKE" | version 1 | master key id (8 bytes) | wrapped data key (40) | nonce (12)
    | ciphertext + tag

The GCM tag covers the magic, the version and the object's address, so a flipped byte, a
truncated file or a file copied to another address is refused (BlobCorrupt), never returned
as garbage. The key id and wrapped key are not covered: a rotation replaces them and keeps
the ciphertext; a wrong wrapped key fails the unwrap or the tag all the same.

Addresses. A key must let the app find the same photo again (de-duplication, refusing the
same upload twice) without revealing it: the SHA-256 of a photo names it to anyone who has
the file. The address is HMAC-SHA256 of the plaintext under a MAC key derived (HKDF) from
the store's address secret. That secret is random, made once for the store and kept in the
database sealed by the master key (tracker.store.encryption_keys), NOT derived from the
master key: rotating the master key then changes no address, and no row that points at a
photo has to change. Who holds the address secret can test a guessed photo against the
store, which is why it is sealed like the rest.

Stores encrypted in place (`encrypt-store`) pass through a mixed state: a photo not reached
yet is still plaintext under its SHA-256. Such a blob is read as it is when it hashes to its
key, so a store whose encryption was interrupted still opens and checks clean; fsck and
`encrypt-store` count what is left.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap

from tracker.store.blobs import BlobCorrupt, BlobInfo, BlobStore, KeyedBlobStore, check_key, sha256_hex
from tracker.store.encryption_keys import KEY_BYTES, NONCE_BYTES, Keys, MasterKey

MAGIC = b"TRKE"
VERSION = 1
_ID_BYTES = 8
_WRAPPED_BYTES = KEY_BYTES + 8
HEADER_BYTES = len(MAGIC) + 1 + _ID_BYTES + _WRAPPED_BYTES + NONCE_BYTES


def address_key(address_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tracker blob address v1").derive(
        address_secret
    )


def is_sealed(raw: bytes) -> bool:
    return raw[: len(MAGIC)] == MAGIC and len(raw) >= HEADER_BYTES


def sealed_key_id(raw: bytes) -> str:
    start = len(MAGIC) + 1
    return raw[start : start + _ID_BYTES].hex()


class EncryptingBlobStore:
    """The BlobStore protocol over `inner`, which only ever sees ciphertext."""

    def __init__(self, inner: KeyedBlobStore, keys: Keys) -> None:
        self.inner = inner
        self.keys = keys
        self._mac_key = address_key(keys.secrets.address_secret)

    def address(self, data: bytes) -> str:
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def put(self, data: bytes) -> str:
        key = self.address(data)
        if not self.inner.exists(key):
            self.inner.put_at(key, self._seal(key, data))
        return key

    def get(self, key: str) -> bytes:
        """The plaintext, proven: the tag and the keyed hash both match, or BlobCorrupt."""
        raw = self.inner.get(key)
        if not is_sealed(raw):
            if sha256_hex(raw) != key:  # neither ours nor a plaintext blob left to encrypt
                raise BlobCorrupt(key)
            return raw
        data = self._open(key, raw)
        if self.address(data) != key:
            raise BlobCorrupt(key)
        return data

    def get_verified(self, key: str) -> bytes:
        return self.get(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def iterate(self) -> Iterator[BlobInfo]:
        return self.inner.iterate()

    # Maintenance (tracker/app/encryption.py)

    def raw(self, key: str) -> bytes:
        return self.inner.get(key)

    def rewrap(self, key: str, new: MasterKey) -> bool:
        """Re-wrap the object's data key with `new`, the ciphertext unchanged; False when it
        is already under `new`. The object is proven first (tag and address), so a damaged
        object is never given a fresh header; the replacement is one atomic write."""
        raw = self.inner.get(key)
        if not is_sealed(raw):
            return False
        if sealed_key_id(raw) == new.key_id:
            return False
        data_key = self._data_key(key, raw)
        data = self._decrypt(key, raw, data_key)
        if self.address(data) != key:
            raise BlobCorrupt(key)
        self.inner.put_at(key, _header(new, new.wrap(data_key), raw) + raw[HEADER_BYTES:], replace=True)
        return True

    def _seal(self, key: str, data: bytes) -> bytes:
        master = self.keys.current
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(NONCE_BYTES)
        head = MAGIC + bytes([VERSION]) + bytes.fromhex(master.key_id) + master.wrap(data_key) + nonce
        return head + AESGCM(data_key).encrypt(nonce, data, _aad(key))

    def _open(self, key: str, raw: bytes) -> bytes:
        return self._decrypt(key, raw, self._data_key(key, raw))

    def _data_key(self, key: str, raw: bytes) -> bytes:
        if raw[len(MAGIC)] != VERSION:
            raise BlobCorrupt(key)
        master = self.keys.master(sealed_key_id(raw))
        start = len(MAGIC) + 1 + _ID_BYTES
        try:
            return master.unwrap(raw[start : start + _WRAPPED_BYTES])
        except InvalidUnwrap:
            raise BlobCorrupt(key) from None

    def _decrypt(self, key: str, raw: bytes, data_key: bytes) -> bytes:
        nonce = raw[HEADER_BYTES - NONCE_BYTES : HEADER_BYTES]
        try:
            return AESGCM(data_key).decrypt(nonce, raw[HEADER_BYTES:], _aad(key))
        except InvalidTag:
            raise BlobCorrupt(key) from None


def stored_bytes(store: BlobStore, key: str) -> bytes:
    """The bytes as the store keeps them: ciphertext for an encrypting store, so what is
    copied out (fsck's quarantine) stays as private as the store; for others, the blob."""
    if isinstance(store, EncryptingBlobStore):
        return store.raw(key)
    return store.get(key)


def proven_stored_bytes(store: BlobStore, key: str) -> bytes:
    """The bytes as stored, once proven to be the blob of `key` (BlobCorrupt otherwise):
    what a backup copies, so a backup of an encrypted store is encrypted too."""
    if isinstance(store, EncryptingBlobStore):
        raw = store.raw(key)
        if is_sealed(raw):
            if store.address(store._open(key, raw)) != key:
                raise BlobCorrupt(key)
        elif sha256_hex(raw) != key:
            raise BlobCorrupt(key)
        return raw
    data = store.get(key)
    if store.address(data) != key:
        raise BlobCorrupt(key)
    return data


def _aad(key: str) -> bytes:
    return MAGIC + bytes([VERSION]) + bytes.fromhex(check_key(key))


def _header(master: MasterKey, wrapped: bytes, old: bytes) -> bytes:
    nonce = old[HEADER_BYTES - NONCE_BYTES : HEADER_BYTES]
    return MAGIC + bytes([VERSION]) + bytes.fromhex(master.key_id) + wrapped + nonce


__all__ = [
    "HEADER_BYTES",
    "EncryptingBlobStore",
    "is_sealed",
    "proven_stored_bytes",
    "sealed_key_id",
    "stored_bytes",
]
