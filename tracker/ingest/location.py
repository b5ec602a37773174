"""Remove location metadata from an image file without touching its pixels.

The stored original is our provenance record, so it must keep the exact compressed
image data the camera produced; re-encoding would alter pixels and lose the proof.
Instead we edit metadata and leave the image data byte for byte as it was:

- EXIF: the GPS IFD is emptied (entry count 0, its entries and out-of-line values
  zeroed). The pointer to it stays and now points at an empty directory.
- XMP: location properties (exif:GPS*, city/country, IPTC locations) are overwritten with
  spaces; XMP packets are whitespace-padded by design, so the packet stays valid.
- IPTC (the Photoshop resource that Lightroom and Photoshop write): the city, region,
  country and sub-location datasets are overwritten with spaces.

These edits keep every length, so they work in place for JPEG (incl. the secondary
pictures of MPO files), WebP and HEIF, where offsets must stay valid. PNG also keeps
metadata where an in-place edit cannot reach it: compressed text chunks (zTXt, iTXt)
and the hex-encoded "Raw profile type exif/iptc/xmp" chunks that ImageMagick writes, which
Pillow and other readers decode. Those chunks are decoded, cleaned the same way and
written back; PNG chunks carry their own length, so nothing else moves, and IDAT (the
image data) is copied unchanged.

`remaining_location` looks again, independently of what the scrub reported, so ingest
can refuse a file rather than store a location it could not remove.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image

from tracker.ingest.sniff import ImageFormat

GPS_IFD_TAG = 0x8825
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

_XMP_LOCATION_NAMES = (
    rb"(?:exif|exifEX):GPS\w*|photoshop:(?:City|State|Country)"
    rb"|Iptc4xmpCore:(?:Location|CountryCode)|Iptc4xmpExt:Location\w*"
)
_XMP_PATTERNS = (
    re.compile(rb"\s(?:" + _XMP_LOCATION_NAMES + rb')="[^"]*"'),
    re.compile(rb"\s(?:" + _XMP_LOCATION_NAMES + rb")='[^']*'"),
    re.compile(rb"<(" + _XMP_LOCATION_NAMES + rb")\b[^>]*/>"),
    re.compile(rb"<(" + _XMP_LOCATION_NAMES + rb")\b[^>]*>.*?</\1>", re.DOTALL),
)
# An XMP packet, or a bare RDF block (some writers leave out the x:xmpmeta wrapper).
_XMP_PACKET = re.compile(rb"<x:xmpmeta\b.*?</x:xmpmeta>|<rdf:RDF\b.*?</rdf:RDF>", re.DOTALL)

# IPTC-IIM record 2 datasets that name a place: content location code and name (26, 27),
# city (90), sub-location (92), province/state (95), country code and name (100, 101).
_IPTC_LOCATION_DATASETS = frozenset({26, 27, 90, 92, 95, 100, 101})
_IPTC_RESOURCE = b"8BIM\x04\x04"  # Photoshop image resource 0x0404: the IPTC-NAA record

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_RAW_PROFILE = b"Raw profile type "
MAX_TEXT_CHUNK_BYTES = 8 * 1024 * 1024  # decompressed; more is not metadata a camera writes


class LocationScrubError(Exception):
    pass


# (start, end, fill byte): zeros for binary EXIF directories, spaces for text (XMP, IPTC)
Span = tuple[int, int, bytes]
_ZERO, _SPACE = b"\x00", b" "


def strip_location(data: bytes, fmt: ImageFormat, pillow_exif: bytes | None) -> bytes:
    """Return `data` with GPS/location metadata removed and the image data unchanged.

    `pillow_exif` is the EXIF block Pillow found (it tells us where a container such as
    HEIF or PNG keeps it); all other EXIF blocks are found by their "Exif\\0\\0" marker.
    Same length for every format except PNG, whose cleaned text chunks may change size.
    """
    buf = bytearray(data)
    _blank(buf, _location_spans(buf, pillow_exif))
    if fmt is ImageFormat.PNG:
        return _clean_png_chunks(bytes(buf), original=data)
    return bytes(buf)


def remaining_location(data: bytes, fmt: ImageFormat, pillow_exif: bytes | None) -> list[str]:
    """What location metadata `data` still holds, in words; [] when there is none.

    Looks with our own parsers (EXIF GPS entries, XMP and IPTC location fields, inside
    PNG text chunks too) and, as a second opinion, asks Pillow for the GPS directory."""
    found: set[str] = set()
    buf = bytearray(data)
    if _gps_entries_anywhere(buf, pillow_exif):
        found.add("GPS position in EXIF")
    if any(True for _ in _xmp_spans(buf)):
        found.add("location in XMP")
    if any(True for _ in _iptc_spans(buf)):
        found.add("location in IPTC")
    if fmt is ImageFormat.PNG:
        for chunk in _png_chunks(data):
            if chunk.kind in _PNG_TEXT_CHUNKS:
                text = _decode_text_chunk(chunk)
                if text is not None and _content_spans(text.payload):
                    found.add(f"location in the PNG text chunk '{text.keyword.decode('latin-1')}'")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.getexif().get_ifd(GPS_IFD_TAG):
                found.add("GPS position in EXIF (as Pillow reads it)")
    except Exception:  # the decode step already judged the file; this is only a second look
        pass
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Finding location fields in a buffer (same-length edits)


def _location_spans(buf: bytearray, pillow_exif: bytes | None) -> list[Span]:
    spans: list[Span] = []
    for tiff in _tiff_blocks(buf, pillow_exif):
        spans.extend(_gps_spans(buf, tiff))
    spans.extend(_xmp_spans(buf))
    spans.extend(_iptc_spans(buf))
    return spans


def _content_spans(payload: bytes) -> list[Span]:
    """Location spans in a metadata payload on its own (a decoded PNG text chunk): EXIF
    with or without its "Exif\\0\\0" header, XMP, or IPTC with or without its 8BIM wrapper."""
    buf = bytearray(payload)
    spans = _location_spans(buf, payload)
    if payload[:1] == b"\x1c":  # bare IPTC-IIM datasets
        spans.extend(_iptc_dataset_spans(buf, 0, len(buf)))
    return spans


def _blank(buf: bytearray, spans: list[Span]) -> None:
    for start, end, fill in spans:
        buf[start:end] = fill * (end - start)


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


def _gps_entries_anywhere(buf: bytearray, pillow_exif: bytes | None) -> int:
    return sum(len(_gps_entries(buf, start)) for start in _tiff_blocks(buf, pillow_exif))


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


def _gps_spans(buf: bytearray, tiff: int) -> list[Span]:
    """The GPS directory (count, entries, next pointer) and its out-of-line values: zeroing
    them leaves a valid, empty directory."""
    entries = _gps_entries(buf, tiff)
    if not entries:
        return []
    spans = []
    for _entry, typ, n, value in entries:
        size = _TYPE_SIZES.get(typ, 1) * n
        if size > 4:
            start = tiff + value
            if start + size > len(buf):
                raise LocationScrubError("EXIF GPS value points outside the file")
            spans.append((start, start + size, _ZERO))
    gps_at = entries[0][0] - 2
    spans.append((gps_at, gps_at + 2 + 12 * len(entries) + 4, _ZERO))
    return spans


def _xmp_spans(buf: bytearray) -> Iterator[Span]:
    for packet in _XMP_PACKET.finditer(buf):
        for pattern in _XMP_PATTERNS:
            for match in pattern.finditer(buf, packet.start(), packet.end()):
                yield match.start(), match.end(), _SPACE


def _iptc_spans(buf: bytearray) -> Iterator[Span]:
    """Location datasets inside every Photoshop IPTC resource (JPEG APP13, or a raw
    profile). A resource whose datasets do not chain up is left alone: it is not IPTC."""
    at = buf.find(_IPTC_RESOURCE)
    while at != -1:
        name_len = buf[at + 6] if at + 6 < len(buf) else 0
        size_at = at + 6 + ((1 + name_len + 1) & ~1)  # Pascal name padded to an even length
        if size_at + 4 <= len(buf):
            (size,) = struct.unpack_from(">I", buf, size_at)
            start, end = size_at + 4, min(len(buf), size_at + 4 + size)
            yield from _iptc_dataset_spans(buf, start, end)
        at = buf.find(_IPTC_RESOURCE, at + 1)


def _iptc_dataset_spans(buf: bytearray, start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    pos = start
    while pos + 5 <= end and buf[pos] == 0x1C:
        record, dataset = buf[pos + 1], buf[pos + 2]
        (length,) = struct.unpack_from(">H", buf, pos + 3)
        head = 5
        if length & 0x8000:  # extended dataset: the next (length & 0x7FFF) bytes hold the length
            n = length & 0x7FFF
            if n > 4 or pos + 5 + n > end:
                return []
            length, head = int.from_bytes(buf[pos + 5 : pos + 5 + n], "big"), 5 + n
        data_at = pos + head
        if data_at + length > end:
            return []  # does not chain up: not IPTC after all, edit nothing
        if record == 2 and dataset in _IPTC_LOCATION_DATASETS and buf[data_at : data_at + length].strip(b" "):
            spans.append((data_at, data_at + length, _SPACE))
        pos = data_at + length
    return spans


# --------------------------------------------------------------------------------------------
# PNG text chunks


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    data: bytes
    raw: bytes  # the whole chunk as it was: length, type, data, CRC


@dataclass(frozen=True)
class _Text:
    """A decoded tEXt/zTXt/iTXt chunk: `header` is everything before the text,
    `compressed` whether the text is zlib-compressed in the chunk, and `hexed` whether the
    payload was hex text (a raw profile) that must be hex again when written back."""

    keyword: bytes
    header: bytes
    payload: bytes
    compressed: bool
    hexed: bool


def _png_chunks(data: bytes) -> list[_Chunk]:
    chunks = []
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise LocationScrubError("a PNG chunk runs past the end of the file")
        chunks.append(_Chunk(data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length], data[pos:end]))
        pos = end
    return chunks


def _decode_text_chunk(chunk: _Chunk) -> _Text | None:
    keyword, sep, rest = chunk.data.partition(b"\x00")
    if not sep:
        return None
    if chunk.kind == b"tEXt":
        header, body, compressed = keyword + b"\x00", rest, False
    elif chunk.kind == b"zTXt":
        header, body, compressed = keyword + b"\x00" + rest[:1], rest[1:], True
    else:  # iTXt: flag, method, language\0, translated keyword\0, text
        if len(rest) < 2:
            return None
        parts = rest[2:].split(b"\x00", 2)
        if len(parts) < 3:
            return None
        compressed = rest[0] == 1
        header = keyword + b"\x00" + rest[:2] + parts[0] + b"\x00" + parts[1] + b"\x00"
        body = parts[2]
    if compressed:
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, MAX_TEXT_CHUNK_BYTES)
        except zlib.error as exc:
            raise LocationScrubError(f"a compressed PNG text chunk is damaged ({exc})") from None
        if inflater.unconsumed_tail:
            raise LocationScrubError(
                f"a compressed PNG text chunk is larger than {MAX_TEXT_CHUNK_BYTES // 2**20} MB"
            )
    profile = _raw_profile_bytes(body) if keyword.startswith(_RAW_PROFILE) else None
    if profile is not None:
        return _Text(keyword, header, profile, compressed, hexed=True)
    return _Text(keyword, header, body, compressed, hexed=False)


def _raw_profile_bytes(text: bytes) -> bytes | None:
    """ImageMagick's raw profile text — "\\n<name>\\n<length>\\n<hex lines>" — as bytes."""
    lines = text.split(b"\n")
    if len(lines) < 4:
        return None
    try:
        return bytes.fromhex(b"".join(lines[3:]).decode("ascii"))
    except ValueError:
        return None


def _raw_profile_text(original: bytes, payload: bytes) -> bytes:
    lines = original.split(b"\n")
    hexed = payload.hex().encode("ascii")
    body = b"\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    return b"\n".join(lines[:3]) + b"\n" + body + b"\n"


def _clean_png_chunks(data: bytes, *, original: bytes) -> bytes:
    """Rewrite the text chunks that still hold location once decoded, and give every
    chunk edited in place (by `strip_location`'s first pass) a correct CRC again."""
    out = [_PNG_SIGNATURE]
    old_chunks = _png_chunks(original)
    new_chunks = _png_chunks(data)
    for old, chunk in zip(old_chunks, new_chunks, strict=True):
        payload = chunk.data
        if chunk.kind in _PNG_TEXT_CHUNKS:
            payload = _clean_text_chunk(chunk) or payload
        if payload == old.data:
            out.append(old.raw)  # untouched: byte for byte as uploaded (IDAT always)
            continue
        crc = zlib.crc32(chunk.kind + payload) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(payload)) + chunk.kind + payload + struct.pack(">I", crc))
    return b"".join(out)


def _clean_text_chunk(chunk: _Chunk) -> bytes | None:
    """The chunk's data with location removed from its decoded text; None if it had none."""
    text = _decode_text_chunk(chunk)
    if text is None:
        return None
    spans = _content_spans(text.payload)
    if not spans:
        return None
    cleaned = bytearray(text.payload)
    _blank(cleaned, spans)
    body = bytes(cleaned)
    if text.hexed:
        raw = chunk.data[len(text.header) :]
        plain = zlib.decompress(raw) if text.compressed else raw
        body = _raw_profile_text(plain, body)
    if text.compressed:
        body = zlib.compress(body, 9)
    return text.header + body
