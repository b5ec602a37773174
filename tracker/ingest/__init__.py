"""Upload → validated, upright, location-free image. See decode.ingest."""

from tracker.ingest.decode import Ingested, Limits, clean_filename, ingest
from tracker.ingest.sniff import ACCEPTED_TEXT, ImageFormat, Rejected

__all__ = [
    "ACCEPTED_TEXT",
    "ImageFormat",
    "Ingested",
    "Limits",
    "Rejected",
    "clean_filename",
    "ingest",
]
