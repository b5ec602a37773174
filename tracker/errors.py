"""The errors a person can be told about, in one place for every layer.

Services raise these; the pages' error boundary (tracker/ui/errors.py) shows them, and the
command line prints them. `str()` is a clear message for the person who asked, and may hold
what they typed (a name, a file name), so it is shown as text, never as markup. Anything
else that is raised is a fault of ours: it is logged, never shown."""

from __future__ import annotations


class TrackerError(Exception):
    """An outcome the person who asked can be told about."""


class Refused(TrackerError):
    """Bad input, or a rule says no. The message says what to do about it."""


class NotAllowed(TrackerError):
    """The actor may not do this (or see that)."""


class NotFound(TrackerError):
    """What was asked for does not exist (where saying so reveals nothing)."""


class SchemaNotCurrent(TrackerError):
    """The database is not at this version's schema, and this process may not migrate it
    (migrate_on_start is off): the operator runs `python -m tracker migrate`."""


__all__ = ["NotAllowed", "NotFound", "Refused", "SchemaNotCurrent", "TrackerError"]
