"""The App (database, blob store) the routes use: one per configuration and process.

Opened without migrating: `python -m tracker serve` brings the schema up to date before the
server starts, and the pages' App (tracker/ui/context.py) does it again on first use."""

from __future__ import annotations

import functools

from tracker.bootstrap import App, open_app
from tracker.config import Settings


def current_app() -> App:
    return _app_for(Settings().to_json())


@functools.cache
def _app_for(settings_json: str) -> App:
    return open_app(Settings.model_validate_json(settings_json), migrate=False)


__all__ = ["current_app"]
