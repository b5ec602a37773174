"""Two app replicas, one database and one blob store: what a browser does on one replica
is there on the other.

Two servers (`python -m tracker serve`, as the deployment starts them) on two ports share
one PostgreSQL database (the run's own server, tests/postgres.py), one blob store and one
cookie secret. A real Chromium signs a client in on replica A and uploads a photo there.

What "seen from the other" can honestly mean: Streamlit keeps a browser tab's session (its
websocket, its widgets, its pending uploads) in the memory of the process it reached, which
is why the proxy keeps a browser on one replica (deploy/nginx, cookie affinity). What must
survive a move to another replica (a replica restarted, the affinity lost) is everything
else, and that is tested here:
- the same browser, its next page load on replica B: still signed in (the login session and
  its HttpOnly cookie are in the database, not in A's memory), and its own upload is listed
  there with its thumbnail (read from the shared blob store by B);
- a practitioner signed in on replica B sees the client's new photo with its measured photo
  quality in the client's timeline (the analysis result A's upload stored).
The one-time sign-in codes redeemed by another replica are tested without a browser
(tests/integration/test_replica_state.py): a page's code is posted to its own origin.

The blob store is a bucket on a real S3-protocol server (moto's, tests/s3_server.py), and
each replica has a data folder of its own: nothing passes between them but the database
and the bucket, as with replicas on two machines.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_browser import (  # noqa: F401 — the shared fixtures
    DESKTOP,
    ROOT,
    Watched,
    _go,
    _idle,
    _key,
    _rerun,
    _session_cookie,
    _sign_in,
    browser,
    playwright_api,
    serve,
)
from tests.postgres import PostgresServer
from tests.s3_server import S3Server, s3_server  # noqa: F401 — the shared fixture
from tracker.app.demo import (
    DEMO_CLIENT_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
    build_demo,
)
from tracker.bootstrap import open_app
from tracker.config import Settings

SECRET = "replicas-share-this-cookie-secret-" + "0" * 16
UPLOAD = ROOT / "sample_photos" / "ava" / "s1_before_b.jpg"


def _one_client_demo(target: Path) -> Path:
    """The demo's manifest cut to one client (Ava) with her first photo: a few seconds to
    import instead of the whole demo's ~40."""
    manifest = json.loads((ROOT / "sample_photos" / "manifest.json").read_text())
    ava = manifest["clients"][0]
    ava["photos"] = ava["photos"][:1]
    manifest["clients"] = [ava]
    target.mkdir()
    (target / "manifest.json").write_text(json.dumps(manifest))
    shutil.copytree(ROOT / "sample_photos" / "ava", target / "ava")
    return target


@pytest.fixture
def blob_store_env(s3_server: S3Server) -> dict[str, str]:  # noqa: F811
    """What both replicas are told about the blob store: one bucket of their own."""
    return s3_server.env(s3_server.create_bucket())


@pytest.fixture
def replicas(
    postgres: PostgresServer,
    blob_store_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, str]]:
    url = postgres.create_database()
    for name, value in {
        **blob_store_env,
        "TRACKER_DATABASE_URL": url,
        "TRACKER_COOKIE_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    data_a, data_b = tmp_path / "replica-a", tmp_path / "replica-b"
    app = open_app(Settings(data_dir=data_a))
    build_demo(app, source=_one_client_demo(tmp_path / "source"))
    app.close()
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(serve(data_a))
        b = stack.enter_context(serve(data_b))
        yield a, b
    postgres.drop_database(url)


def test_a_photo_uploaded_on_one_replica_is_seen_with_its_measurement_on_the_other(
    browser: object,  # noqa: F811
    replicas: tuple[str, str],
) -> None:
    a, b = replicas
    ava = Watched(browser, a, DESKTOP)
    _sign_in(ava, "ava@demo.test", DEMO_CLIENT_PASSWORD)
    page = ava.page
    page.get_by_role("heading", name="My course").wait_for(timeout=60_000)
    _session_cookie(ava, present=True)  # handed to the browser by replica A's route
    _go(ava, "Upload photos")
    _key(page, "upload_files").locator("input[type=file]").set_input_files(str(UPLOAD))
    upload = _key(page, "upload_go").locator("button")
    playwright_api.expect(upload).to_be_enabled(timeout=60_000)
    upload.click()
    said = page.get_by_text(re.compile(r"s1_before_b\.jpg\*?\*? saved.*photo quality \d+")).first
    said.wait_for(timeout=180_000)
    quality = re.search(r"photo quality (\d+)", said.inner_text())
    assert quality is not None
    ava.check()

    # The same browser's next page load reaches replica B (cookies are per host, not port).
    on_b = ava.context.new_page()
    on_b.goto(b)
    on_b.get_by_role("heading", name="My course").wait_for(timeout=60_000)  # signed in, no form
    assert _key(on_b, "sign_out").count() == 1
    _go_on(on_b, "My progress")
    on_b.get_by_role("heading", name="Your recent uploads").wait_for(timeout=60_000)
    on_b.get_by_text("s1_before_b.jpg").wait_for(timeout=60_000)
    thumbnail = on_b.get_by_test_id("stImage").locator("img").first
    thumbnail.wait_for(timeout=60_000)
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")  # the bytes, from B

    # Staff on replica B: the new photo and what was measured from it.
    staff = Watched(browser, b, DESKTOP)
    _sign_in(staff, DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD)
    spage = staff.page
    spage.get_by_role("heading", name="Dashboard").wait_for(timeout=60_000)
    spage.get_by_role("link", name="Client review").click()
    spage.get_by_role("heading", name=re.compile("^Ava")).wait_for(timeout=60_000)
    _idle(spage)
    _rerun(spage, spage.get_by_role("tab", name="Timeline").click)
    captions = spage.get_by_test_id("stImageCaption")
    playwright_api.expect(captions).to_have_count(2, timeout=60_000)  # the demo's photo and the upload
    texts = captions.all_inner_texts()
    assert any(f"photo quality {quality.group(1)}" in t for t in texts), (texts, quality.group(0))
    staff.shot("replica-b-timeline-desktop")
    staff.check()


def _go_on(page: object, title: str) -> None:
    page.get_by_role("link", name=title).click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)  # type: ignore[attr-defined]
