"""The few EXIF tags the product needs, read from a TIFF block and written into a new one.

Why an allow-list: a list of location field names to remove always misses one (a drone's,
a phone's cell tower, an editor's address). So nothing of the uploaded EXIF is kept
except what the product reads — capture time, orientation, camera — copied into a fresh,
minimal TIFF block; every other tag, maker note, GPS, interoperability and thumbnail
directory simply is not copied.

Reading is bounded: two directories (IFD0 and the Exif sub-directory), each capped in
entries, every offset checked against the block.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tracker.ingest.container import MAX_IFD_ENTRIES, TooMuchMetadata
from tracker.ingest.sniff import Rejected

EXIF_IFD = 0x8769
ORIENTATION = 0x0112
# IFD0: make, model, software (the product's "camera": a change of phone or of its
# software changes colours), date/time (a fallback capture time), orientation.
KEEP_IFD0_TEXT = (0x010F, 0x0110, 0x0131, 0x0132)
# Exif sub-directory: date/time original and digitized, and the original's UTC offset.
KEEP_EXIF_TEXT = (0x9003, 0x9004, 0x9011)
ALLOWED_IFD0 = frozenset({*KEEP_IFD0_TEXT, ORIENTATION, EXIF_IFD})
ALLOWED_EXIF = frozenset(KEEP_EXIF_TEXT)
MAX_TEXT_BYTES = 64  # a camera's make or a date fits many times over
_ASCII, _SHORT, _LONG = 2, 3, 4
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


class ExifDamaged(Rejected):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"The photo's EXIF metadata is damaged ({what}), so it could not be reduced safely. "
            "Please export the photo again and retry."
        )


@dataclass(frozen=True)
class KeptExif:
    """Tag -> value for IFD0 and the Exif sub-directory: bytes for text, int for orientation."""

    ifd0: dict[int, bytes | int]
    exif: dict[int, bytes]

    def __bool__(self) -> bool:
        return bool(self.ifd0 or self.exif)


def is_tiff(block: bytes) -> bool:
    return block[:4] in _TIFF_MAGIC


def read_kept(block: bytes) -> KeptExif:
    """The allowed tags of a TIFF block (no "Exif\\0\\0" header); empty when it is not TIFF."""
    if not is_tiff(block) or len(block) < 8:
        return KeptExif({}, {})
    order = "<" if block[:2] == b"II" else ">"
    (ifd0_at,) = struct.unpack_from(order + "I", block, 4)
    ifd0: dict[int, bytes | int] = {}
    exif: dict[int, bytes] = {}
    sub_at = None
    for tag, typ, count, raw in _entries(block, order, ifd0_at):
        if tag in KEEP_IFD0_TEXT and typ == _ASCII:
            text = _text(block, order, count, raw)
            if text:
                ifd0[tag] = text
        elif tag == ORIENTATION and typ == _SHORT and count == 1:
            (value,) = struct.unpack_from(order + "H", raw)
            if 1 <= value <= 8:
                ifd0[tag] = value
        elif tag == EXIF_IFD and typ in (_LONG, 13) and count == 1:
            (sub_at,) = struct.unpack_from(order + "I", raw)
    if sub_at is not None:
        for tag, typ, count, raw in _entries(block, order, sub_at):
            if tag in KEEP_EXIF_TEXT and typ == _ASCII:
                text = _text(block, order, count, raw)
                if text:
                    exif[tag] = text
    return KeptExif(ifd0, exif)


def _entries(block: bytes, order: str, at: int) -> list[tuple[int, int, int, bytes]]:
    """(tag, type, count, the 4 value/offset bytes) of each entry of the directory at `at`."""
    if at + 2 > len(block):
        raise ExifDamaged("a directory points outside its block")
    (count,) = struct.unpack_from(order + "H", block, at)
    if count > MAX_IFD_ENTRIES:
        raise TooMuchMetadata(f"an EXIF directory has {count:,} entries; cameras write at most a few hundred")
    if at + 2 + 12 * count > len(block):
        raise ExifDamaged("a directory is cut short")
    out = []
    for i in range(count):
        entry = at + 2 + 12 * i
        tag, typ, n = struct.unpack_from(order + "HHI", block, entry)
        out.append((tag, typ, n, block[entry + 8 : entry + 12]))
    return out


def _text(block: bytes, order: str, count: int, raw: bytes) -> bytes:
    """An ASCII value without its NUL and trailing spaces; b"" when absent, too long or
    pointing outside the block (then it is simply not kept)."""
    if count > MAX_TEXT_BYTES:
        return b""
    if count <= 4:
        value = raw[:count]
    else:
        (offset,) = struct.unpack_from(order + "I", raw)
        if offset + count > len(block):
            return b""
        value = block[offset : offset + count]
    value = value.split(b"\x00", 1)[0].rstrip(b" ")
    return value if all(32 <= b < 127 for b in value) else b""


def write_tiff(kept: KeptExif) -> bytes:
    """A little-endian TIFF block holding only `kept`: IFD0, then the Exif sub-directory,
    then the text values. b"" when nothing is kept."""
    if not kept:
        return b""
    ifd0 = dict(kept.ifd0)
    if kept.exif:
        ifd0[EXIF_IFD] = 0  # the offset is filled in below
    ifd0_size = 2 + 12 * len(ifd0) + 4
    exif_at = 8 + ifd0_size
    exif_size = 2 + 12 * len(kept.exif) + 4 if kept.exif else 0
    values = bytearray()
    values_at = exif_at + exif_size

    def directory(tags: dict[int, bytes | int]) -> bytes:
        out = struct.pack("<H", len(tags))
        for tag in sorted(tags):
            value = tags[tag]
            if tag == ORIENTATION:
                out += struct.pack("<HHIHH", tag, _SHORT, 1, int(value), 0)
            elif tag == EXIF_IFD:
                out += struct.pack("<HHII", tag, _LONG, 1, exif_at)
            else:
                text = value + b"\x00" if isinstance(value, bytes) else b"\x00"
                if len(text) <= 4:
                    out += struct.pack("<HHI", tag, _ASCII, len(text)) + text.ljust(4, b"\x00")
                else:
                    out += struct.pack("<HHII", tag, _ASCII, len(text), values_at + len(values))
                    values.extend(text + b"\x00" * (len(text) & 1))
        return out + struct.pack("<I", 0)

    head = b"II*\x00" + struct.pack("<I", 8) + directory(ifd0)
    if kept.exif:
        head += directory(dict(kept.exif))
    return head + bytes(values)
