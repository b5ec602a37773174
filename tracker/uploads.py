"""The app's upload of one file: ingest, store and measure in a limited child process
(tracker.worker), so one file can never stall the server for everyone else.

The CLI imports in its own process and calls services.import_photo directly.
"""

from __future__ import annotations

from dataclasses import replace

from tracker import services
from tracker.analysis import analyze_photo
from tracker.bootstrap import App, open_app
from tracker.client_data import discard_upload
from tracker.config import Settings
from tracker.domain import PhotoKind
from tracker.events import ClientInputsChanged
from tracker.permissions import Actor
from tracker.worker import OverLimit, Report, WorkLimits, run_limited


def upload_photo(
    app: App,
    actor: Actor,
    client_id: int,
    data: bytes,
    filename: str,
    *,
    session_number: int | None = None,
    kind: PhotoKind | None = None,
) -> services.Imported:
    """Import one uploaded file under the configured CPU, memory and time limits, or raise
    Rejected (OverLimit when a limit was met) having stored nothing."""
    stored: list[int] = []
    try:
        imported: services.Imported = run_limited(
            _import_in_child,
            (app.settings.model_dump_json(), actor, client_id, data, filename, session_number, kind),
            WorkLimits.from_settings(app.settings),
            on_report=stored.append,
        )
    except OverLimit:
        for photo_id in stored:  # stored, then ended while being measured: take it out again
            discard_upload(app, actor, photo_id, "over the upload limits")
        raise
    # The child ran no handlers (their time must not count against its limits): run them here.
    app.publish([ClientInputsChanged(actor.clinic_id, imported.client_id)])
    return imported


def _import_in_child(
    settings_json: str,
    actor: Actor,
    client_id: int,
    data: bytes,
    filename: str,
    session_number: int | None,
    kind: PhotoKind | None,
    report: Report,
) -> services.Imported:
    app = open_app(Settings.model_validate_json(settings_json), migrate=False)
    app.handlers = {}  # upload_photo runs them in the parent
    try:
        imported = services.import_photo(
            app, actor, client_id, data, filename, session_number=session_number, kind=kind, analyse=False
        )
        report(imported.photo_id)
        outcome = analyze_photo(app, actor, imported.photo_id, image=imported.ingested)
        return replace(imported, ingested=None, analysis=outcome)  # the pixels stay in the child
    finally:
        app.close()


__all__ = ["upload_photo"]
