"""What only the S3 store has to prove, against a real S3-protocol server (moto's, started
by the test run): objects are never replaced (a versioned bucket would show a second
version), the bucket stays private, listings are paged, the failures a person can act on
read plainly, and a 30 MB photo is never held twice in memory."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.s3_server import S3Server
from tracker.store.blobs import BlobStoreUnavailable, sha256_hex
from tracker.store.s3_blobs import S3BlobStore, S3Location, S3Quarantine

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(s3_server: S3Server, s3_bucket: str) -> S3BlobStore:
    return S3BlobStore(s3_server.client(), S3Location.parse(f"s3://{s3_bucket}/clinic-a"))


def _versions(store: S3BlobStore) -> list[str]:
    listing = store.client.list_object_versions(Bucket=store.location.bucket)
    return [v["Key"] for v in listing.get("Versions", [])]


def test_an_object_is_never_replaced_even_by_racing_writers(store: S3BlobStore) -> None:
    store.client.put_bucket_versioning(
        Bucket=store.location.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    data = b"one photo" * 100_000
    key = store.put(data)
    threads = [threading.Thread(target=store.put, args=(data,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.put(data)
    # Every write after the first was refused by the server (If-None-Match: *): one version.
    assert _versions(store) == [store.object_key(key)]


def test_objects_are_private_and_anonymous_reads_are_refused(store: S3BlobStore, s3_server: S3Server) -> None:
    key = store.put(b"a face")
    object_key = store.object_key(key)
    grants = store.client.get_object_acl(Bucket=store.location.bucket, Key=object_key)["Grants"]
    assert [g["Grantee"].get("Type") for g in grants] == ["CanonicalUser"]  # the owner only
    assert all("URI" not in g["Grantee"] for g in grants)  # no AllUsers / AuthenticatedUsers
    url = f"{s3_server.endpoint_url}/{store.location.bucket}/{object_key}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403
    assert store.get(key) == b"a face"  # signed requests still read it


def test_keys_sit_under_the_prefix_in_the_two_level_layout(store: S3BlobStore) -> None:
    key = store.put(b"layout")
    listed = [o["Key"] for o in store.list_objects("")]
    assert listed == [f"clinic-a/{key[:2]}/{key[2:4]}/{key}"]


def test_iterate_pages_through_the_listing_and_skips_foreign_objects(store: S3BlobStore) -> None:
    paged = S3BlobStore(store.client, store.location, page_size=2)
    keys = {paged.put(f"blob {i}".encode()) for i in range(5)}
    bucket = store.location.bucket
    store.client.put_object(Bucket=bucket, Key="clinic-a/notes.txt", Body=b"not a blob")
    store.client.put_object(Bucket=bucket, Key=f"other-clinic/{next(iter(keys))[:2]}/x", Body=b"x")
    S3Quarantine(paged).keep("run", paged.put(b"quarantined"), paged)
    assert {info.key for info in paged.iterate()} == keys


def test_quarantine_is_a_prefix_in_the_same_bucket(store: S3BlobStore) -> None:
    quarantine = S3Quarantine(store)
    key = store.put(b"an orphan")
    where = quarantine.keep("20261202T000000Z", key, store)
    assert where == f"s3://{store.location.bucket}/clinic-a/quarantine/20261202T000000Z/"
    assert not store.exists(key)
    [entry] = quarantine.entries()
    assert entry.key == key
    copied = store.client.get_object(Bucket=store.location.bucket, Key=str(entry.path))["Body"].read()
    assert copied == b"an orphan"
    assert quarantine.remove_keys({key}) == 1
    assert quarantine.entries() == []


def test_a_missing_bucket_is_reported_plainly(s3_server: S3Server) -> None:
    store = S3BlobStore(s3_server.client(), S3Location.parse("s3://no-such-bucket-here/x"))
    for action in (store.check, lambda: store.put(b"x"), lambda: store.get(sha256_hex(b"x")), store.iterate):
        with pytest.raises(BlobStoreUnavailable, match="the photo storage is not set up") as info:
            result = action()
            if result is not None:
                list(result)
        assert "S3 bucket 'no-such-bucket-here'" in info.value.detail
        assert info.value.detail.endswith("no such bucket")
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_an_unreachable_endpoint_is_reported_plainly(s3_bucket: str) -> None:
    server = S3Server("http://127.0.0.1:9")  # discard port: nothing listens
    store = S3BlobStore(server.client(connect_timeout=1), S3Location.parse(f"s3://{s3_bucket}"))
    with pytest.raises(BlobStoreUnavailable, match="the photo storage cannot be reached") as info:
        store.get(sha256_hex(b"x"))
    assert info.value.detail == f"S3 bucket {s3_bucket!r} at http://127.0.0.1:9: EndpointConnectionError"
    assert "127.0.0.1" not in str(info.value)  # a page names nothing internal


def test_wrong_credentials_are_reported_plainly(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto import settings as moto_settings

    # moto checks signatures against its own IAM users once this many requests are past.
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    store = S3BlobStore(
        s3_server.client(secret_access_key="not-the-secret"), S3Location.parse(f"s3://{s3_bucket}")
    )
    with pytest.raises(BlobStoreUnavailable, match="the photo storage refused this server") as info:
        store.put(b"x")
    assert info.value.detail.endswith("InvalidAccessKeyId")
    assert "not-the-secret" not in str(info.value) + info.value.detail


@pytest.mark.parametrize(
    "url", ["s3://", "s3://UPPER/x", "http://bucket/x", "s3://bucket/../x", "s3://b/x?y"]
)
def test_bad_store_urls_are_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ValueError, match="blob store URL"):
        S3Location.parse(url)


_MEMORY_PROBE = """
import json, sys, tracemalloc
from tests.s3_server import S3Server
from tracker.store.s3_blobs import S3BlobStore, S3Location
store = S3BlobStore(S3Server(sys.argv[1]).client(), S3Location.parse(sys.argv[2]))
data = bytes(30 * 1024 * 1024)
tracemalloc.start()
tracemalloc.reset_peak()
key = store.put(data)
put_peak = tracemalloc.get_traced_memory()[1]
del data
tracemalloc.reset_peak()
got = store.get(key)
get_peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"put": put_peak, "get": get_peak, "size": len(got)}))
"""


def test_a_30_mb_photo_is_never_held_twice(s3_server: S3Server, s3_bucket: str) -> None:
    """Measured in a process of its own: the server here runs in this process's threads."""
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, s3_server.endpoint_url, f"s3://{s3_bucket}/m"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    peaks = json.loads(done.stdout.strip().splitlines()[-1])
    size = 30 * 1024 * 1024
    assert peaks["size"] == size
    assert peaks["put"] < 0.5 * size  # the caller's bytes are sent, not copied
    assert peaks["get"] < 1.25 * size  # one buffer (and a chunk), never two copies
