"""Reduce an uploaded file's metadata to what the product needs, keeping its pixels.

The stored original is our provenance record, so its compressed image data stays byte
for byte as uploaded. Its metadata is rebuilt from an allow-list instead of cleaned
from a deny-list (a list of place field names always misses one: Darwin Core, a phone's
cell tower, a drone's XMP, an address under another prefix, UTF-16 XMP):

- kept: capture time, orientation and camera (a new minimal EXIF, tracker.ingest.exif),
  the colour profile, and the markers that change decoding (JPEG JFIF and Adobe APP14,
  PNG gamma/chromaticity/sRGB/significant bits/transparency, WebP's VP8X/ALPH);
- dropped, unread: every XMP packet, IPTC/Photoshop block, comment, maker note, text
  chunk, unknown segment or chunk, and anything after the image's end.

JPEG, PNG and WebP are rebuilt (segments and chunks that carry image data are copied
unchanged). HEIF and the primary picture of an MPO keep their offsets: HEIF's EXIF item
is rewritten in place (a shorter minimal block, zero padded) and its XMP and other
metadata items are blanked at the same length; an MPO's secondary pictures are dropped
(tracker.ingest.container ends a JPEG at its first EOI) with the MPF index pointing at them.

What was written is checked afterwards by tracker.ingest.metacheck, a separate reader.
"""

from __future__ import annotations

import struct
import zlib

from tracker.ingest.container import _NEXT_MARKER, MAX_TEXT_TOTAL_BYTES, Layout, TooMuchMetadata
from tracker.ingest.exif import KeptExif, is_tiff, read_kept, write_tiff
from tracker.ingest.sniff import ImageFormat

_EXIF_HEADER = b"Exif\x00\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG chunks that are image data or change how it decodes; everything else is dropped.
# (acTL/fcTL/fdAT are kept so that an animated PNG is still recognised and refused.)
PNG_KEEP = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT"}
    | {b"acTL", b"fcTL", b"fdAT"}
)
# WebP chunks that are image data, its layout or its colour profile.
WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04
# ImageMagick keeps a PNG's EXIF as hex text under this keyword; Pillow reads it as EXIF.
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_RAW_EXIF_KEYWORDS = (b"Raw profile type exif", b"Raw profile type APP1")
MAX_TEXT_CHUNK_BYTES = 1024 * 1024  # inflated: Pillow refuses a bigger text chunk itself


def reduce_metadata(data: bytes, fmt: ImageFormat, found: Layout, heif_exif: bytes | None = None) -> bytes:
    """`data` up to the image's end with only the allowed metadata. `found` is the
    container's layout of `data`; `heif_exif` the EXIF libheif found (used only when
    our box parser could not place a HEIF's EXIF item)."""
    image = data[: found.end]
    if fmt is ImageFormat.JPEG:
        return _jpeg(image)
    if fmt is ImageFormat.PNG:
        return _png(image)
    if fmt is ImageFormat.WEBP:
        return _webp(image)
    return _heif(image, found, heif_exif)


def _minimal_exif(tiff: bytes) -> bytes:
    return write_tiff(read_kept(tiff))


# JPEG ---------------------------------------------------------------------------------------


def _jpeg_keep(marker: int, body: bytes) -> bool:
    if marker == 0xE0:
        return body.startswith(b"JFIF\x00")
    if marker == 0xE2:
        return body.startswith(b"ICC_PROFILE\x00")
    if marker == 0xEE:
        return body.startswith(b"Adobe")
    return False


def _app(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg(data: bytes) -> bytes:
    """Every marker segment and all entropy-coded data copied; APPn and COM segments only
    when allowed, the first EXIF replaced by a minimal one. The container already walked
    this structure and checked its lengths."""
    out = [data[:2]]
    pos, n = 2, len(data)
    exif_done = False
    while pos + 2 <= n:
        marker = data[pos + 1]
        if data[pos] != 0xFF or marker == 0xFF:  # fill bytes before a marker
            out.append(data[pos : pos + 1])
            pos += 1
            continue
        if marker == 0xD9 or marker in (0x01, *range(0xD0, 0xD8)):
            out.append(data[pos : pos + 2])
            pos += 2
            if marker == 0xD9:
                break
            continue
        if pos + 4 > n:
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        body = data[pos + 4 : end]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            if marker == 0xE1 and body.startswith(_EXIF_HEADER):
                if not exif_done:
                    exif_done = True
                    tiff = _minimal_exif(body[len(_EXIF_HEADER) :])
                    if tiff:
                        out.append(_app(0xE1, _EXIF_HEADER + tiff))
            elif _jpeg_keep(marker, body):
                out.append(data[pos:end])
            pos = end
            continue
        out.append(data[pos:end])
        pos = end
        if marker == 0xDA:  # SOS: entropy-coded data up to the next real marker
            found = _NEXT_MARKER.search(data, pos)
            stop = found.start() if found else n
            out.append(data[pos:stop])
            pos = stop
    out.append(data[pos:])  # a file cut short: as uploaded, the decoder judges it
    return b"".join(out)


# PNG ----------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png(data: bytes) -> bytes:
    """Allowed chunks copied byte for byte; one rebuilt eXIf after IHDR, from the eXIf
    chunk or else from ImageMagick's raw EXIF profile."""
    kept: list[bytes] = []
    exif: bytes | None = None
    raw_exif: bytes | None = None
    budget = [MAX_TEXT_TOTAL_BYTES]
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        payload = data[pos + 8 : pos + 8 + length]
        if kind in PNG_KEEP:
            kept.append(data[pos : pos + 12 + length])
        elif kind == b"eXIf" and exif is None:
            exif = payload[6:] if payload.startswith(_EXIF_HEADER) else payload
        elif (
            kind in (b"tEXt", b"zTXt", b"iTXt")
            and raw_exif is None
            and payload.startswith(_RAW_EXIF_KEYWORDS)
        ):
            raw_exif = _raw_profile(kind, payload, budget)
        pos += 12 + length
        if kind == b"IEND":
            break
    source = exif if exif is not None else raw_exif
    tiff = _minimal_exif(source) if source else b""
    if tiff:
        kept.insert(1, _png_chunk(b"eXIf", tiff))
    return _PNG_SIGNATURE + b"".join(kept)


def _raw_profile(kind: bytes, payload: bytes, budget: list[int]) -> bytes | None:
    """The bytes of an ImageMagick raw profile ("\\nexif\\n<length>\\n<hex lines>") in a
    text chunk, inflated no further than the caps allow; None when it is not one."""
    _keyword, _, rest = payload.partition(b"\x00")
    compressed = False
    if kind == b"zTXt":
        body, compressed = rest[1:], True
    elif kind == b"iTXt":
        parts = rest[2:].split(b"\x00", 2)
        if len(rest) < 2 or len(parts) < 3:
            return None
        body, compressed = parts[2], rest[0] == 1
    else:
        body = rest
    total = f"the PNG text chunks hold more than {MAX_TEXT_TOTAL_BYTES // 2**20} MB of text together"
    if compressed:
        limit = min(MAX_TEXT_CHUNK_BYTES, budget[0])
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, limit + 1)  # never past what the caps allow
        except zlib.error:
            return None  # not kept: nothing of it is stored either
        if len(body) > limit or inflater.unconsumed_tail:
            if limit < MAX_TEXT_CHUNK_BYTES:
                raise TooMuchMetadata(total)
            raise TooMuchMetadata(
                f"a compressed PNG text chunk is larger than {MAX_TEXT_CHUNK_BYTES // 2**20} MB"
            )
    budget[0] -= len(body)
    if budget[0] < 0:
        raise TooMuchMetadata(total)
    lines = body.split(b"\n")
    if len(lines) < 4:
        return None
    try:
        block = bytes.fromhex(b"".join(lines[3:]).decode("ascii"))
    except ValueError:
        return None
    while block.startswith(_EXIF_HEADER):
        block = block[len(_EXIF_HEADER) :]
    return block or None


# WebP ---------------------------------------------------------------------------------------


def _webp(data: bytes) -> bytes:
    chunks: list[tuple[bytes, bytes]] = []
    exif: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack_from("<I", data, pos + 4)
        payload = data[pos + 8 : pos + 8 + length]
        if kind in WEBP_KEEP:
            chunks.append((kind, payload))
        elif kind == b"EXIF" and exif is None:
            exif = payload[6:] if payload.startswith(_EXIF_HEADER) else payload
        pos += 8 + length + (length & 1)
    tiff = _minimal_exif(exif) if exif else b""
    has_vp8x = bool(chunks) and chunks[0][0] == b"VP8X"
    if has_vp8x:
        head = bytearray(chunks[0][1])
        head[0] = (head[0] & ~(_VP8X_EXIF | _VP8X_XMP)) | (_VP8X_EXIF if tiff else 0)
        chunks[0] = (b"VP8X", bytes(head))
        if tiff:
            chunks.append((b"EXIF", tiff))  # the EXIF chunk follows the image data
    body = b"".join(k + struct.pack("<I", len(p)) + p + b"\x00" * (len(p) & 1) for k, p in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


# HEIF ---------------------------------------------------------------------------------------


def _heif(data: bytes, found: Layout, heif_exif: bytes | None) -> bytes:
    """Same length, same offsets: the EXIF item becomes a minimal block padded with
    zeros; XMP and other metadata items become spaces/zeros."""
    buf = bytearray(data)
    exif_items = [(s.start, s.end) for s in found.of_kind("exif")]
    if not exif_items and heif_exif:
        tiff = heif_exif[6:] if heif_exif.startswith(_EXIF_HEADER) else heif_exif
        at = data.find(tiff) if is_tiff(tiff) else -1
        if at != -1:
            exif_items.append((at, at + len(tiff)))
    for start, end in exif_items:
        block = bytes(buf[start:end])
        tiff = _minimal_exif(block) if is_tiff(block) else b""
        if len(tiff) > end - start:
            tiff = b""  # cannot happen for a real camera block; then no EXIF at all
        buf[start:end] = tiff + bytes(end - start - len(tiff))
    for seg in found.of_kind("xmp", "iptc", "text"):
        buf[seg.start : seg.end] = b" " * (seg.end - seg.start)
    for seg in found.of_kind("other"):
        buf[seg.start : seg.end] = bytes(seg.end - seg.start)
    return bytes(buf)


__all__ = ["KeptExif", "reduce_metadata"]
