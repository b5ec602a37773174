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

from tracker.ingest.container import MAX_IFD_ENTRIES, MAX_TEXT_TOTAL_BYTES, Layout, TooMuchMetadata, layout
from tracker.ingest.sniff import ImageFormat

GPS_IFD_TAG = 0x8825
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")

# Location property names in XMP. Found with one linear pass; what surrounds each name (an
# attribute's quotes, an element's end tag) is then found with searches that never look
# at the same bytes twice, so no input makes this quadratic (a regex with `.*?` per
# unclosed tag did: 13.6 s for a 206 KB file).
# The search starts at the colon (a literal the regex engine skips to quickly: a pattern
# that starts with an alternation of prefixes costs ~25 ms per MB of text), and the
# prefix before it is checked afterwards.
_XMP_LOCAL_NAME = re.compile(rb":(GPS\w*|City|State|Country|CountryCode|Location\w*)(?![\w:])")
_XMP_PREFIXES = {
    b"exif": re.compile(rb"GPS\w*"),
    b"exifEX": re.compile(rb"GPS\w*"),
    b"photoshop": re.compile(rb"City|State|Country"),
    b"Iptc4xmpCore": re.compile(rb"Location|CountryCode"),
    b"Iptc4xmpExt": re.compile(rb"Location\w*"),
}
_LONGEST_PREFIX = max(map(len, _XMP_PREFIXES))

# IPTC-IIM record 2 datasets that name a place: content location code and name (26, 27),
# city (90), sub-location (92), province/state (95), country code and name (100, 101).
_IPTC_LOCATION_DATASETS = frozenset({26, 27, 90, 92, 95, 100, 101})
_IPTC_RESOURCE = b"8BIM\x04\x04"  # Photoshop image resource 0x0404: the IPTC-NAA record
MAX_IPTC_RESOURCES = 64

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_RAW_PROFILE = b"Raw profile type "
# Decompressed: Pillow itself refuses a text chunk over 1 MB, and no camera writes one.
MAX_TEXT_CHUNK_BYTES = 1024 * 1024
# Location names in the XMP of one file: real files have a handful; each costs Python work.
MAX_XMP_LOCATION_FIELDS = 256


class LocationScrubError(Exception):
    pass


# (start, end, fill byte): zeros for binary EXIF directories, spaces for text (XMP, IPTC)
Span = tuple[int, int, bytes]
_ZERO, _SPACE = b"\x00", b" "


def strip_location(
    data: bytes, fmt: ImageFormat, pillow_exif: bytes | None, found: Layout | None = None
) -> bytes:
    """Return `data` with GPS/location metadata removed and the image data unchanged.

    Only the places the container gives for metadata are looked at (tracker.ingest.
    container), and nothing after the image's end is kept: the preview pictures of a
    multi-picture JPEG (MPO) and data appended to a file are dropped, and the MPF index
    that pointed at those pictures is blanked. `pillow_exif` (the EXIF block Pillow found)
    is only a fallback for a HEIF file whose items we could not place. `found` is the
    container's layout when the caller parsed it already.
    """
    found = found or layout(data, fmt)
    image = data[: found.end]
    buf = bytearray(image)
    if found.mpf is not None:
        buf[found.mpf.start : found.mpf.end] = bytes(found.mpf.end - found.mpf.start)
    _blank(buf, [span for spans in _location_spans(buf, found, fmt, pillow_exif).values() for span in spans])
    if fmt is ImageFormat.PNG:
        return _clean_png_chunks(bytes(buf), original=image)
    return bytes(buf)


def remaining_location(data: bytes, fmt: ImageFormat, pillow_exif: bytes | None) -> list[str]:
    """What location metadata `data` still holds, in words; [] when there is none.

    Looks with our own parsers (EXIF GPS entries, XMP and IPTC location fields, inside
    PNG text chunks too) and, as a second opinion, asks Pillow for the GPS directory."""
    found_at = layout(data, fmt)
    buf = bytearray(data[: found_at.end])
    words = {"exif": "GPS position in EXIF", "xmp": "location in XMP", "iptc": "location in IPTC"}
    found = {words[kind] for kind, spans in _location_spans(buf, found_at, fmt, pillow_exif).items() if spans}
    if fmt is ImageFormat.PNG:
        budget = _TextBudget()
        for chunk in _png_chunks(bytes(buf)):
            if chunk.kind in _PNG_TEXT_CHUNKS:
                text = _decode_text_chunk(chunk, budget)
                if text is not None and _content_spans(text.payload):
                    found.add(f"location in the PNG text chunk '{text.keyword.decode('latin-1')}'")
    try:
        with Image.open(io.BytesIO(bytes(buf))) as image:
            if image.getexif().get_ifd(GPS_IFD_TAG):
                found.add("GPS position in EXIF (as Pillow reads it)")
    except Exception:  # the decode step already judged the file; this is only a second look
        pass
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Finding location fields (same-length edits)


def _location_spans(
    buf: bytearray, found: Layout, fmt: ImageFormat, pillow_exif: bytes | None
) -> dict[str, list[Span]]:
    """Location spans by where they were found: "exif", "xmp" and "iptc"."""
    spans: dict[str, list[Span]] = {"exif": [], "xmp": [], "iptc": []}
    tiffs = [
        (s.start, s.end) for s in found.of_kind("exif") if bytes(buf[s.start : s.start + 4]) in _TIFF_MAGIC
    ]
    if fmt is ImageFormat.HEIF and not tiffs and pillow_exif:
        tiff = pillow_exif[6:] if pillow_exif.startswith(b"Exif\x00\x00") else pillow_exif
        at = buf.find(tiff) if tiff[:4] in _TIFF_MAGIC else -1
        if at != -1:
            tiffs.append((at, at + len(tiff)))
    for tiff_at, end in tiffs:
        spans["exif"].extend(_gps_spans(buf, tiff_at, end))
    for seg in found.of_kind("xmp"):
        spans["xmp"].extend(_xmp_spans(buf, seg.start, seg.end))
    for seg in found.of_kind("iptc"):
        spans["iptc"].extend(_iptc_spans(buf, seg.start, seg.end))
    return spans


def _content_spans(payload: bytes) -> list[Span]:
    """Location spans in a metadata payload on its own (a decoded PNG text chunk): EXIF
    with or without its "Exif\\0\\0" header, XMP, or IPTC with or without its 8BIM wrapper."""
    buf = bytearray(payload)
    spans: list[Span] = []
    tiff = 0
    while payload.startswith(b"Exif\x00\x00", tiff) and tiff < 12:  # converters may repeat the header
        tiff += 6
    if payload[tiff : tiff + 4] in _TIFF_MAGIC:
        spans.extend(_gps_spans(buf, tiff, len(buf)))
    spans.extend(_xmp_spans(buf, 0, len(buf)))
    if payload[:1] == b"\x1c":  # bare IPTC-IIM datasets
        spans.extend(_iptc_dataset_spans(buf, 0, len(buf)))
    else:
        spans.extend(_iptc_spans(buf, 0, len(buf)))
    return spans


def _blank(buf: bytearray, spans: list[Span]) -> None:
    for start, end, fill in spans:
        buf[start:end] = fill * (end - start)


def _gps_entries(buf: bytearray, tiff: int, end: int) -> list[tuple[int, int, int, int]]:
    """(entry offset, type, count, value offset) of each GPS IFD entry; [] if none."""
    located = _locate_gps_ifd(buf, tiff, end)
    if located is None:
        return []
    order, gps_at, count = located
    entries = []
    for i in range(count):
        entry = gps_at + 2 + 12 * i
        _tag, typ, n, value = struct.unpack_from(order + "HHII", buf, entry)
        entries.append((entry, typ, n, value))
    return entries


def _locate_gps_ifd(buf: bytearray, tiff: int, end: int) -> tuple[str, int, int] | None:
    order = {b"II": "<", b"MM": ">"}.get(bytes(buf[tiff : tiff + 2]))
    if order is None or tiff + 8 > end:
        return None
    ifd0 = tiff + struct.unpack_from(order + "I", buf, tiff + 4)[0]
    if ifd0 + 2 > end:
        raise LocationScrubError("EXIF directory points outside its block")
    (count,) = struct.unpack_from(order + "H", buf, ifd0)
    _check_entries(count)
    for i in range(count):
        entry = ifd0 + 2 + 12 * i
        if entry + 12 > end:
            raise LocationScrubError("EXIF directory is truncated")
        tag, _typ, _n, value = struct.unpack_from(order + "HHII", buf, entry)
        if tag == GPS_IFD_TAG:
            gps_at = tiff + value
            if gps_at + 2 > end:
                raise LocationScrubError("EXIF GPS directory points outside its block")
            (gps_count,) = struct.unpack_from(order + "H", buf, gps_at)
            _check_entries(gps_count)
            if gps_at + 2 + 12 * gps_count + 4 > end:
                raise LocationScrubError("EXIF GPS directory is truncated")
            return order, gps_at, gps_count
    return None


def _check_entries(count: int) -> None:
    if count > MAX_IFD_ENTRIES:
        raise TooMuchMetadata(f"an EXIF directory has {count:,} entries; cameras write at most a few hundred")


def _gps_spans(buf: bytearray, tiff: int, end: int) -> list[Span]:
    """The GPS directory (count, entries, next pointer) and its out-of-line values: zeroing
    them leaves a valid, empty directory. Every offset must stay inside the EXIF block
    [tiff, end): one that points elsewhere in the file is damage (or an attack)."""
    entries = _gps_entries(buf, tiff, end)
    if not entries:
        return []
    spans = []
    for _entry, typ, n, value in entries:
        size = _TYPE_SIZES.get(typ, 1) * n
        if size > 4:
            start = tiff + value
            if start + size > end:
                raise LocationScrubError("EXIF GPS value points outside its block")
            spans.append((start, start + size, _ZERO))
    gps_at = entries[0][0] - 2
    spans.append((gps_at, gps_at + 2 + 12 * len(entries) + 4, _ZERO))
    return spans


class _Next:
    """`find` for positions that only grow: a search never re-reads bytes an earlier search
    for the same needle already read, which keeps many unclosed tags linear."""

    def __init__(self, buf: bytearray, end: int) -> None:
        self.buf, self.end = buf, end
        self.last: dict[bytes, tuple[int, int]] = {}

    def find(self, needle: bytes, pos: int) -> int:
        known = self.last.get(needle)
        if known is not None and pos >= known[0] and (known[1] == -1 or known[1] >= pos):
            return known[1]
        hit = self.buf.find(needle, pos, self.end)
        self.last[needle] = (pos, hit)
        return hit


def _xmp_names(buf: bytearray, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each location property name (prefix:local) in [start, end)."""
    for match in _XMP_LOCAL_NAME.finditer(buf, start, end):
        colon = begin = match.start()
        while begin > max(start, colon - _LONGEST_PREFIX) and chr(buf[begin - 1]).isalnum():
            begin -= 1
        rule = _XMP_PREFIXES.get(bytes(buf[begin:colon]))
        if rule is None or not rule.fullmatch(match.group(1)):
            continue
        if begin > start and (chr(buf[begin - 1]).isalnum() or buf[begin - 1] in b"_:"):
            continue  # part of a longer name
        yield begin, match.end()


def _xmp_spans(buf: bytearray, start: int, end: int) -> list[Span]:
    """Location attributes (`exif:GPSLatitude="…"`) and elements (`<photoshop:City>…</…>` or
    self-closing) in the XMP between `start` and `end`."""
    spans: list[Span] = []
    after = _Next(buf, end)
    for count, (s, e) in enumerate(_xmp_names(buf, start, end)):
        if count >= MAX_XMP_LOCATION_FIELDS:
            raise TooMuchMetadata(f"the XMP metadata names a place more than {MAX_XMP_LOCATION_FIELDS} times")
        before = buf[s - 1] if s > start else 0
        if before == ord("<"):  # an element
            gt = after.find(b">", e)
            if gt == -1:
                continue
            if buf[gt - 1] == ord("/"):
                spans.append((s - 1, gt + 1, _SPACE))
                continue
            close_tag = b"</" + bytes(buf[s:e]) + b">"
            close = after.find(close_tag, gt)
            if close != -1:
                spans.append((s - 1, close + len(close_tag), _SPACE))
        elif chr(before).isspace() and buf[e : e + 1] == b"=" and bytes(buf[e + 1 : e + 2]) in (b'"', b"'"):
            quote = bytes(buf[e + 1 : e + 2])
            closing = after.find(quote, e + 2)
            if closing != -1:
                spans.append((s - 1, closing + 1, _SPACE))
    return spans


def _iptc_spans(buf: bytearray, start: int, end: int) -> list[Span]:
    """Location datasets inside every Photoshop IPTC resource (JPEG APP13, or a raw
    profile). A resource whose datasets do not chain up is left alone: it is not IPTC."""
    spans: list[Span] = []
    at = buf.find(_IPTC_RESOURCE, start, end)
    seen = 0
    while at != -1:
        seen += 1
        if seen > MAX_IPTC_RESOURCES:
            raise TooMuchMetadata(f"more than {MAX_IPTC_RESOURCES} IPTC records")
        name_len = buf[at + 6] if at + 6 < end else 0
        size_at = at + 6 + ((1 + name_len + 1) & ~1)  # Pascal name padded to an even length
        if size_at + 4 <= end:
            (size,) = struct.unpack_from(">I", buf, size_at)
            begin, stop = size_at + 4, min(end, size_at + 4 + size)
            spans.extend(_iptc_dataset_spans(buf, begin, stop))
        at = buf.find(_IPTC_RESOURCE, at + 1, end)
    return spans


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


class _TextBudget:
    """All PNG text of one file together, once inflated: many chunks of a few MB each must
    not add up to an unbounded decompression."""

    def __init__(self) -> None:
        self.used = 0

    def left(self) -> int:
        return MAX_TEXT_TOTAL_BYTES - self.used

    def spend(self, size: int) -> None:
        self.used += size
        if self.used > MAX_TEXT_TOTAL_BYTES:
            raise TooMuchMetadata(
                f"the PNG text chunks hold more than {MAX_TEXT_TOTAL_BYTES // 2**20} MB of text together"
            )


def _decode_text_chunk(chunk: _Chunk, budget: _TextBudget) -> _Text | None:
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
            # never inflate past what the whole file may still hold
            body = inflater.decompress(body, min(MAX_TEXT_CHUNK_BYTES, budget.left() + 1))
        except zlib.error as exc:
            raise LocationScrubError(f"a compressed PNG text chunk is damaged ({exc})") from None
        if inflater.unconsumed_tail and len(body) > budget.left():
            budget.spend(len(body))  # raises: over the total
        if inflater.unconsumed_tail:
            raise TooMuchMetadata(
                f"a compressed PNG text chunk is larger than {MAX_TEXT_CHUNK_BYTES // 2**20} MB"
            )
    budget.spend(len(body))
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
    budget = _TextBudget()
    for old, chunk in zip(old_chunks, new_chunks, strict=True):
        payload = chunk.data
        if chunk.kind in _PNG_TEXT_CHUNKS:
            payload = _clean_text_chunk(chunk, budget) or payload
        if payload == old.data:
            out.append(old.raw)  # untouched: byte for byte as uploaded (IDAT always)
            continue
        crc = zlib.crc32(chunk.kind + payload) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(payload)) + chunk.kind + payload + struct.pack(">I", crc))
    return b"".join(out)


def _clean_text_chunk(chunk: _Chunk, budget: _TextBudget) -> bytes | None:
    """The chunk's data with location removed from its decoded text; None if it had none."""
    text = _decode_text_chunk(chunk, budget)
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
