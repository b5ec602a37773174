"""What a committed unit of work changed, told to the handlers that keep derived state in
step (the dashboard's cached rows, the baselines kept in memory).

Plain values, because handlers run after the commit, when the session that saw the change
is gone; and no imports beyond the standard library, because the store raises them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientInputsChanged:
    """A row that the client's progress is computed from (the client, its course, a session,
    a photo, an analysis result, the photo series) was added, changed or deleted."""

    clinic_id: int
    client_id: int


@dataclass(frozen=True)
class PhotoFilesDropped:
    """Photos were deleted with their files: nothing may keep their pixels in memory."""

    blob_keys: frozenset[str]


Event = ClientInputsChanged | PhotoFilesDropped
