"""Blobs in an S3-compatible bucket (design §7: a clinic chain keeps its photos in object
storage), behind the same five verbs as the local folder.

Kept from the local store: content addressing (`<prefix>/ab/cd/<key>`) and never
replacing an object: a write is a conditional PUT (`If-None-Match: *`), so a second
writer of the same content is refused by the server and nothing is overwritten, even by
two replicas at once. The bucket stays private: objects are written without an ACL (the
bucket's, private, applies), and the app streams bytes itself, never handing out a bucket
or presigned URL.

Memory: a 30 MB photo is never held twice. A write sends the caller's bytes through a
BytesIO that shares them (no copy) in one PUT, never multipart (so a crash leaves no
incomplete upload behind to clean up); a read collects the body in chunks into one
growing buffer whose bytes are returned without a final copy.

Failures a person can act on (no such bucket, credentials refused, endpoint unreachable)
become BlobStoreUnavailable with a plain message: never a botocore traceback on a page.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from tracker.store.blobs import BlobInfo, BlobNotFound, BlobStore, BlobStoreUnavailable, check_key, sha256_hex
from tracker.store.quarantine import Quarantined

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_RELATIVE_KEY = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_ALREADY_THERE = {"412", "PreconditionFailed"}
_IN_FLIGHT = {"409", "ConditionalRequestConflict"}
_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "403",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or "some/prefix/" (always ending in a slash)

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """`s3://bucket` or `s3://bucket/some/prefix`; anything else is refused with the reason."""
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise ValueError(
                f"blob store URL {url!r}: expected s3://bucket[/prefix] (or empty for the data folder)"
            )
        if not _BUCKET.match(parts.netloc):
            raise ValueError(f"blob store URL {url!r}: {parts.netloc!r} is not a valid bucket name")
        if parts.query or parts.fragment:
            raise ValueError(f"blob store URL {url!r}: no query or fragment allowed")
        prefix = parts.path.strip("/")
        if any(p in ("", ".", "..") for p in prefix.split("/")) and prefix:
            raise ValueError(f"blob store URL {url!r}: the prefix has an empty or relative part")
        return cls(parts.netloc, f"{prefix}/" if prefix else "")

    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def make_client(
    *,
    endpoint_url: str = "",
    region: str = "",
    access_key_id: str = "",
    secret_access_key: str = "",
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
) -> Any:
    """A boto3 S3 client. Empty credentials fall back to boto3's own chain (the standard
    AWS_* variables, a profile, an instance role). A custom endpoint (MinIO, Ceph, moto)
    gets path-style addressing, which every S3-compatible server understands."""
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        # Checksums only where S3 requires them: a streamed trailer is not understood by
        # every S3-compatible server, and the content address proves integrity anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    credentials = {}
    if access_key_id or secret_access_key:
        credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        config=config,
        **credentials,
    )


class S3BlobStore:
    """Objects under `s3://bucket/<prefix>ab/cd/<key>`, never replaced once written."""

    def __init__(self, client: Any, location: S3Location, *, page_size: int = 1000) -> None:
        self.client = client
        self.location = location
        self.page_size = page_size  # objects per listing request (S3's most is 1,000)

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.location.prefix}{key[:2]}/{key[2:4]}/{key}"

    def address(self, data: bytes) -> str:
        return sha256_hex(data)

    def put(self, data: bytes) -> str:
        key = sha256_hex(data)
        self.put_at(key, data)
        return key

    def put_at(self, key: str, data: bytes, *, replace: bool = False) -> None:
        """Write `data` as `key` unless an object of that key exists already (then the
        server refuses the write and nothing changes). For a store that wraps this one and
        names blobs itself (an encrypting store's keyed hash). With `replace` the object is
        overwritten in one PUT, which S3 makes visible whole (key rotation rewrites headers)."""
        if replace:
            with self._plain_errors():
                self.client.put_object(
                    Bucket=self.location.bucket,
                    Key=self.object_key(key),
                    Body=io.BytesIO(data),
                    ContentLength=len(data),
                    ContentType="application/octet-stream",
                )
            return
        for _ in range(3):
            try:
                with self._plain_errors():
                    self.client.put_object(
                        Bucket=self.location.bucket,
                        Key=self.object_key(key),
                        Body=io.BytesIO(data),  # shares the bytes, no copy
                        ContentLength=len(data),
                        ContentType="application/octet-stream",
                        IfNoneMatch="*",
                    )
                return
            except ClientError as exc:
                code = _code(exc)
                if code in _ALREADY_THERE:
                    return  # stored before: the same bytes, kept as they are
                if code not in _IN_FLIGHT:
                    raise
                # 409: another write of this key is in flight and may yet fail: ask again.
        raise BlobStoreUnavailable("the photo storage is busy", f"{key}: conditional writes kept conflicting")

    def get(self, key: str) -> bytes:
        with self._plain_errors(key):
            response = self.client.get_object(Bucket=self.location.bucket, Key=self.object_key(key))
        size = int(response.get("ContentLength") or 0)
        buffer = io.BytesIO()
        if size:  # one buffer of the final size, filled chunk by chunk: never regrown
            buffer.seek(size - 1)
            buffer.write(b"\0")
            buffer.seek(0)
        for chunk in self._chunks(key, response["Body"], CHUNK):
            buffer.write(chunk)
        buffer.truncate()  # had the body been shorter than announced
        # getvalue() hands over the buffer's own bytes (CPython: no copy when nothing else
        # refers to the buffer), so the photo is in memory once.
        return buffer.getvalue()

    def read_chunks(self, key: str, size: int = CHUNK) -> Iterator[bytes]:
        """The object's bytes in pieces of at most `size`: for a caller that passes them on
        (a download) without holding the whole file."""
        with self._plain_errors(key):
            body = self.client.get_object(Bucket=self.location.bucket, Key=self.object_key(key))["Body"]
        yield from self._chunks(key, body, size)

    def _chunks(self, key: str, body: Any, size: int) -> Iterator[bytes]:
        try:
            while True:
                with self._plain_errors(key):
                    chunk = body.read(size)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            with self._plain_errors(key):
                self.client.head_object(Bucket=self.location.bucket, Key=self.object_key(key))
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._plain_errors():  # deleting a missing object is not an error in S3
            self.client.delete_object(Bucket=self.location.bucket, Key=self.object_key(key))

    def iterate(self) -> Iterator[BlobInfo]:
        for entry in self.list_objects(self.location.prefix):
            match = _RELATIVE_KEY.match(entry["Key"][len(self.location.prefix) :])
            if match and match.group(1) == match.group(3)[:2] and match.group(2) == match.group(3)[2:4]:
                yield BlobInfo(key=match.group(3), size=int(entry["Size"]), modified_at=entry["LastModified"])

    def list_objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under `prefix`, page by page."""
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            with self._plain_errors():
                page = self.client.list_objects_v2(
                    Bucket=self.location.bucket, Prefix=prefix, MaxKeys=self.page_size, **extra
                )
            yield from page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def check(self) -> None:
        """Raise BlobStoreUnavailable unless the bucket is there and these credentials reach it."""
        with self._plain_errors():
            self.client.head_bucket(Bucket=self.location.bucket)

    def _plain_errors(self, key: str | None = None) -> _PlainErrors:
        return _PlainErrors(self, key)


class _PlainErrors:
    """Turns the client's failures into what a person (or a caller) can act on: BlobNotFound
    for a missing object, BlobStoreUnavailable for a store that cannot serve at all."""

    def __init__(self, store: S3BlobStore, key: str | None) -> None:
        self.store = store
        self.key = key

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            return
        where = f"S3 bucket {self.store.location.bucket!r} at {self.store.client.meta.endpoint_url}"
        if isinstance(exc, ClientError):
            code = _code(exc)
            if code in _NOT_FOUND and self.key is not None:
                raise BlobNotFound(self.key) from None
            if code == "NoSuchBucket" or (code in _NOT_FOUND and self.key is None):
                raise _unavailable("the photo storage is not set up", f"{where}: no such bucket")
            if code in _CREDENTIALS:
                raise _unavailable("the photo storage refused this server", f"{where}: {code}")
            return  # e.g. 412 on a conditional put: the caller decides
        if isinstance(exc, NoCredentialsError):
            raise _unavailable("the photo storage refused this server", f"{where}: no credentials configured")
        if isinstance(exc, BotoCoreError):  # EndpointConnectionError, timeouts, ...
            raise _unavailable("the photo storage cannot be reached", f"{where}: {type(exc).__name__}")
        return


def _unavailable(reason: str, detail: str) -> BlobStoreUnavailable:
    log.warning("photo storage unavailable: %s", detail)
    error = BlobStoreUnavailable(reason, detail)
    error.__suppress_context__ = True  # the library's traceback stays out of the log too
    return error


QUARANTINE = "quarantine/"
_QUARANTINED = re.compile(r"^[^/]+/([0-9a-f]{64})$")


class S3Quarantine:
    """`<prefix>quarantine/<run>/<key>` in the store's bucket (tracker.store.quarantine)."""

    def __init__(self, store: S3BlobStore) -> None:
        self.store = store
        self.prefix = f"{store.location.prefix}{QUARANTINE}"

    def keep(self, run: str, key: str, blobs: BlobStore) -> str:
        """A server-side copy, then the blob's deletion: the bytes stay in the bucket."""
        bucket = self.store.location.bucket
        target = f"{self.prefix}{run}/{check_key(key)}"
        with self.store._plain_errors(key):
            self.store.client.copy_object(
                Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": self.store.object_key(key)}
            )
        self.store.delete(key)
        return f"s3://{bucket}/{self.prefix}{run}/"

    def entries(self) -> list[Quarantined]:
        found = []
        for entry in self.store.list_objects(self.prefix):
            match = _QUARANTINED.match(entry["Key"][len(self.prefix) :])
            if match:
                found.append(Quarantined(Path(entry["Key"]), match.group(1), entry["LastModified"]))
        return sorted(found, key=lambda e: str(e.path))

    def remove(self, entry: Quarantined) -> None:
        with self.store._plain_errors():
            self.store.client.delete_object(Bucket=self.store.location.bucket, Key=str(entry.path))

    def remove_keys(self, keys: set[str]) -> int:
        gone = [e for e in self.entries() if e.key in keys]
        for entry in gone:
            self.remove(entry)
        return len(gone)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


__all__ = ["S3BlobStore", "S3Location", "S3Quarantine", "make_client"]
