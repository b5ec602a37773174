"""Remove location metadata from an image file without touching its pixels.

The stored original is our provenance record, so it must keep the exact compressed
image data the camera produced; re-encoding would alter pixels and lose the proof.
Instead we edit metadata in place and keep every byte offset valid:

- EXIF: the GPS IFD is emptied (entry count 0, its entries and out-of-line values
  zeroed). The pointer to it stays and now points at an empty directory.
- XMP: location properties (exif:GPS*, city/country, IPTC locations) are overwritten with
  spaces; XMP packets are whitespace-padded by design, so the packet stays valid.

The same edits work for JPEG (incl. the secondary pictures of MPO files), PNG (chunk
CRCs recomputed), WebP and HEIF, because none of them changes a length.
Compressed XMP (PNG zTXt/iTXt with compression) is not inspected; such a file is
refused if any GPS remains by the verification in `decode`.
"""

from __future__ import annotations

import re
import struct
import zlib

from tracker.ingest.sniff import ImageFormat

GPS_IFD_TAG = 0x8825
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

_XMP_LOCATION_NAMES = (
    rb"(?:exif|exifEX):GPS\w*|photoshop:(?:City|State|Country)"
    rb"|Iptc4xmpCore:(?:Location|CountryCode)|Iptc4xmpExt:Location\w*"
)
_XMP_PATTERNS = (
    re.compile(rb"\s(?:" + _XMP_LOCATION_NAMES + rb')="[^"]*"'),
    re.compile(rb"<(" + _XMP_LOCATION_NAMES + rb")\b[^>]*/>"),
    re.compile(rb"<(" + _XMP_LOCATION_NAMES + rb")\b[^>]*>.*?</\1>", re.DOTALL),
)
_XMP_PACKET = re.compile(rb"<x:xmpmeta\b.*?</x:xmpmeta>", re.DOTALL)


class LocationScrubError(Exception):
    pass


def strip_location(data: bytes, fmt: ImageFormat, pillow_exif: bytes | None) -> bytes:
    """Return `data` with GPS/location metadata blanked; same length, same image data.

    `pillow_exif` is the EXIF block Pillow found (it tells us where a container such as
    HEIF or PNG keeps it); all other EXIF blocks are found by their "Exif\\0\\0" marker.
    """
    buf = bytearray(data)
    changed: list[tuple[int, int]] = []
    for start in _tiff_blocks(buf, pillow_exif):
        changed.extend(_blank_gps_ifd(buf, start))
    for packet in _XMP_PACKET.finditer(buf):
        changed.extend(_blank_xmp_location(buf, packet.start(), packet.end()))
    if fmt is ImageFormat.PNG and changed:
        _fix_png_crcs(buf, changed)
    return bytes(buf)


def gps_entry_count(data: bytes, pillow_exif: bytes | None) -> int:
    """Number of GPS entries left in any EXIF block: 0 after a successful scrub."""
    buf = bytearray(data)
    return sum(len(_gps_entries(buf, start)) for start in _tiff_blocks(buf, pillow_exif))


def _tiff_blocks(buf: bytearray, pillow_exif: bytes | None) -> list[int]:
    starts: set[int] = set()
    for match in re.finditer(rb"Exif\x00\x00(?=II\*\x00|MM\x00\*)", buf):
        starts.add(match.end())
    if pillow_exif:
        tiff = pillow_exif[6:] if pillow_exif.startswith(b"Exif\x00\x00") else pillow_exif
        if tiff[:4] in (b"II*\x00", b"MM\x00*"):
            at = buf.find(tiff)
            while at != -1:
                starts.add(at)
                at = buf.find(tiff, at + 1)
    return sorted(starts)


def _gps_entries(buf: bytearray, tiff: int) -> list[tuple[int, int, int, int]]:
    """(entry offset, type, count, value offset) of each GPS IFD entry; [] if none."""
    located = _locate_gps_ifd(buf, tiff)
    if located is None:
        return []
    order, gps_at, count = located
    entries = []
    for i in range(count):
        entry = gps_at + 2 + 12 * i
        _tag, typ, n, value = struct.unpack_from(order + "HHII", buf, entry)
        entries.append((entry, typ, n, value))
    return entries


def _locate_gps_ifd(buf: bytearray, tiff: int) -> tuple[str, int, int] | None:
    order = {b"II": "<", b"MM": ">"}.get(bytes(buf[tiff : tiff + 2]))
    if order is None or tiff + 8 > len(buf):
        return None
    ifd0 = tiff + struct.unpack_from(order + "I", buf, tiff + 4)[0]
    if ifd0 + 2 > len(buf):
        raise LocationScrubError("EXIF directory points outside the file")
    (count,) = struct.unpack_from(order + "H", buf, ifd0)
    for i in range(count):
        entry = ifd0 + 2 + 12 * i
        if entry + 12 > len(buf):
            raise LocationScrubError("EXIF directory is truncated")
        tag, _typ, _n, value = struct.unpack_from(order + "HHII", buf, entry)
        if tag == GPS_IFD_TAG:
            gps_at = tiff + value
            if gps_at + 2 > len(buf):
                raise LocationScrubError("EXIF GPS directory points outside the file")
            (gps_count,) = struct.unpack_from(order + "H", buf, gps_at)
            if gps_at + 2 + 12 * gps_count + 4 > len(buf):
                raise LocationScrubError("EXIF GPS directory is truncated")
            return order, gps_at, gps_count
    return None


def _blank_gps_ifd(buf: bytearray, tiff: int) -> list[tuple[int, int]]:
    entries = _gps_entries(buf, tiff)
    if not entries:
        return []
    changed = []
    for _entry, typ, n, value in entries:
        size = _TYPE_SIZES.get(typ, 1) * n
        if size > 4:
            start = tiff + value
            if start + size > len(buf):
                raise LocationScrubError("EXIF GPS value points outside the file")
            buf[start : start + size] = bytes(size)
            changed.append((start, start + size))
    gps_at = entries[0][0] - 2
    end = gps_at + 2 + 12 * len(entries) + 4
    buf[gps_at:end] = bytes(end - gps_at)
    changed.append((gps_at, end))
    return changed


def _blank_xmp_location(buf: bytearray, start: int, end: int) -> list[tuple[int, int]]:
    changed = []
    for pattern in _XMP_PATTERNS:
        for match in list(pattern.finditer(buf, start, end)):
            buf[match.start() : match.end()] = b" " * (match.end() - match.start())
            changed.append((match.start(), match.end()))
    return changed


def _fix_png_crcs(buf: bytearray, changed: list[tuple[int, int]]) -> None:
    pos = 8
    while pos + 12 <= len(buf):
        (length,) = struct.unpack_from(">I", buf, pos)
        data_start, data_end = pos + 8, pos + 8 + length
        if data_end + 4 > len(buf):
            break
        if any(a < data_end and b > data_start for a, b in changed):
            crc = zlib.crc32(buf[pos + 4 : data_end]) & 0xFFFFFFFF
            struct.pack_into(">I", buf, data_end, crc)
        pos = data_end + 4
