"""A real S3-protocol server for tests: moto's ThreadedMotoServer on a free local port,
one per test run (design §4: no MinIO package here; moto speaks the same HTTP API).

`s3_server` (session) is the server; `s3_bucket` (per test) is a fresh private bucket on
it, and `s3_settings` the environment that points an app (and any command it runs) at
that bucket through TRACKER_BLOB_STORE_URL. Nothing here reaches the internet: the
endpoint is 127.0.0.1 and the credentials are dummies moto accepts.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self, **overrides: Any) -> Any:
        from tracker.store.s3_blobs import make_client

        options = {
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            **overrides,
        }
        return make_client(**options)

    def create_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "photos") -> dict[str, str]:
        """The settings (as environment variables) of an app that keeps its photos there."""
        return {
            "TRACKER_BLOB_STORE_URL": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
            "TRACKER_S3_ENDPOINT_URL": self.endpoint_url,
            "TRACKER_S3_REGION": REGION,
            "TRACKER_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "TRACKER_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    return s3_server.create_bucket()


@pytest.fixture
def s3_settings(s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """TRACKER_BLOB_STORE_URL and friends set for this test: every app it opens (and every
    command it runs) keeps its photos in the test's bucket."""
    env = s3_server.env(s3_bucket)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
