"""fsck --repair and client deletion racing uploads of bytes already stored (issue 13, item 6).

A re-upload of the same content finds its files already there (a put is a no-op), so a
remover that judged them unused a moment before must not take them away from the new row.
"""

from __future__ import annotations

import threading

from tests import images
from tracker.app import consistency, courses, photos, records
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.ingest import ingest
from tracker.permissions import Actor
from tracker.store.models import Photo

ROUNDS = 50


def _files(count: int, offset: int = 0) -> list[bytes]:
    return [images.encode(images.noisy(320, 256, seed=offset + i), "JPEG") for i in range(count)]


def _missing_files(app: App) -> list[str]:
    with app.uow() as uow:
        keys = [key for p in uow.session.query(Photo).all() for key in p.blob_keys.values()]
    return [key for key in keys if not app.blobs.exists(key)]


def _upload(app: App, actor: Actor, client_id: int, files: list[bytes]) -> None:
    for i, data in enumerate(files):
        photos.import_photo(
            Context(app, actor), client_id, data, f"{i}.jpg", create_session=True, analyse=False
        )


def test_fsck_repair_racing_50_reuploads_loses_nothing(app: App, operator: Actor, client_id: int) -> None:
    files = _files(ROUNDS)
    for data in files:  # stored before, by an upload whose row is gone: old orphans now
        image = ingest(data, "x.jpg", app.limits)
        for blob in (image.original, image.display_jpeg, image.thumbnail_jpeg):
            app.blobs.put(blob)
    stop = threading.Event()
    runs: list[int] = []

    def fsck() -> None:
        while not stop.is_set():
            consistency.check(app, repair=True, min_age_seconds=0)
            runs.append(1)

    racer = threading.Thread(target=fsck)
    racer.start()
    try:
        _upload(app, operator, client_id, files)
    finally:
        stop.set()
        racer.join()
    assert runs, "fsck never ran"
    assert _missing_files(app) == []
    report = consistency.check(app)
    assert report.consistent, [p.describe() for p in report.problems]
    assert report.photos == ROUNDS


def test_client_deletion_racing_reuploads_of_her_files_loses_nothing(app: App, operator: Actor) -> None:
    ctx = Context(app, operator)
    for round_ in range(5):
        files = _files(10, offset=100 * round_)
        leaving = courses.create_client(ctx, f"Leaving {round_}")
        staying = courses.create_client(ctx, f"Staying {round_}")
        _upload(app, operator, leaving, files)  # the same files, uploaded again for another client
        deleter = threading.Thread(target=records.delete_client, args=(ctx, leaving, f"Leaving {round_}"))
        deleter.start()
        try:
            _upload(app, operator, staying, files)
        finally:
            deleter.join()
        assert _missing_files(app) == [], f"round {round_}"
    report = consistency.check(app)
    assert report.consistent, [p.describe() for p in report.problems]
