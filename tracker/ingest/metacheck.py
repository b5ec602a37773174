"""What metadata a stored file holds beyond the allow-list, in words: the check after the
scrub, written apart from it.

Why separate: a check that reuses the scrubber's parser and rules can only confirm what
the scrubber already believes. This one walks the stored file again with its own code,
lists every segment, chunk or item by what it is, and reads the EXIF with Pillow (not
with tracker.ingest.exif): anything that is not an allowed block, or an EXIF tag that is
not allowed, is reported, whatever its name or content. Ingest refuses a file for which
this returns anything.
"""

from __future__ import annotations

import io
import re
import struct

from PIL import Image

from tracker.ingest.sniff import ImageFormat

# The tags the product reads (tracker.ingest.exif keeps exactly these).
_IFD0_TAGS = frozenset({0x010F, 0x0110, 0x0112, 0x0131, 0x0132, 0x8769})
_EXIF_TAGS = frozenset({0x9003, 0x9004, 0x9011})
_PNG_CHUNKS = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT"}
    | {b"acTL", b"fcTL", b"fdAT", b"eXIf"}
)
_WEBP_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP", b"EXIF"})
_JPEG_APP = {0xE0: b"JFIF\x00", 0xE1: b"Exif\x00\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # a marker that ends entropy-coded data
# What Pillow puts in `info` for a file holding only allowed metadata.
_PILLOW_INFO = frozenset(
    {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "exif", "icc_profile", "adobe"}
    | {"adobe_transform", "progressive", "progression", "gamma", "chromaticity", "srgb", "transparency"}
    | {"loop", "duration", "background", "timestamp", "bbox", "default_image", "disposal", "blend"}
    | {"mode", "bit_depth", "primary", "thumbnails", "depth_images", "aux", "original_orientation"}
    | {"nclx_profile", "icc_profile_type", "chroma", "xmp", "metadata"}
)


def foreign_metadata(data: bytes, fmt: ImageFormat) -> list[str]:
    """Each kind of metadata outside the allow-list that `data` holds; [] when none."""
    found = {
        ImageFormat.JPEG: _jpeg,
        ImageFormat.PNG: _png,
        ImageFormat.WEBP: _webp,
        ImageFormat.HEIF: _heif,
    }[fmt](data)
    found |= _pillow(data)
    return sorted(found)


def _exif(block: bytes) -> set[str]:
    exif = Image.Exif()
    try:
        exif.load(block)
        ifd0 = set(exif)
        sub = set(exif.get_ifd(0x8769))
        others = {ifd for ifd in (0x8825, 0xA005, 0x927C) if exif.get_ifd(ifd)}
    except Exception:
        return {"EXIF that cannot be read"}
    found = {f"EXIF tag 0x{tag:04X}" for tag in (ifd0 - _IFD0_TAGS) | (sub - _EXIF_TAGS)}
    found |= {f"EXIF directory 0x{ifd:04X}" for ifd in others}
    if _has_next_ifd(block):
        found.add("a second EXIF directory (thumbnail)")
    return found


def _has_next_ifd(block: bytes) -> bool:
    tiff = block[6:] if block.startswith(b"Exif\x00\x00") else block
    if tiff[:2] not in (b"II", b"MM") or len(tiff) < 10:
        return False
    order = "<" if tiff[:2] == b"II" else ">"
    (at,) = struct.unpack_from(order + "I", tiff, 4)
    if at + 2 > len(tiff):
        return False
    (count,) = struct.unpack_from(order + "H", tiff, at)
    link = at + 2 + 12 * count
    return link + 4 <= len(tiff) and int(struct.unpack_from(order + "I", tiff, link)[0]) != 0


def _jpeg(data: bytes) -> set[str]:
    found: set[str] = set()
    pos, n = 2, len(data)
    while pos + 2 <= n:
        if data[pos] != 0xFF:  # not at a marker: skip to the next one
            hit = _MARKER.search(data, pos)
            if hit is None:
                break
            pos = hit.start()
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x00, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            if pos + 2 < n:
                found.add("data after the end of the image")
            return found
        if pos + 4 > n:
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        body = data[pos + 4 : pos + 2 + length]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            header = _JPEG_APP.get(marker)
            if header is None or not body.startswith(header):
                found.add("a comment" if marker == 0xFE else f"an APP{marker - 0xE0} segment")
            elif marker == 0xE1:
                found |= _exif(body)
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data follows
            hit = _MARKER.search(data, pos)
            pos = hit.start() if hit else n
    return found


def _png(data: bytes) -> set[str]:
    found: set[str] = set()
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        if kind not in _PNG_CHUNKS:
            found.add(f"a PNG {kind.decode('latin-1')!r} chunk")
        elif kind == b"eXIf":
            found |= _exif(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
        if kind == b"IEND":
            if pos < len(data):
                found.add("data after the end of the image")
            break
    return found


def _webp(data: bytes) -> set[str]:
    found: set[str] = set()
    (size,) = struct.unpack_from("<I", data, 4)
    if 8 + size < len(data):
        found.add("data after the end of the image")
    pos = 12
    while pos + 8 <= min(len(data), 8 + size):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack_from("<I", data, pos + 4)
        if kind not in _WEBP_CHUNKS:
            found.add(f"a WebP {kind.decode('latin-1')!r} chunk")
        elif kind == b"EXIF":
            found |= _exif(data[pos + 8 : pos + 8 + length])
        pos += 8 + length + (length & 1)
    return found


def _heif(data: bytes) -> set[str]:
    """libheif's own reading of the file (through pillow_heif): its EXIF, XMP and any
    other metadata item."""
    found: set[str] = set()
    try:
        with Image.open(io.BytesIO(data), formats=["HEIF"]) as image:
            info = dict(image.info)
    except Exception:
        return found  # the decode step says what is wrong with the file
    if isinstance(info.get("exif"), bytes) and info["exif"].strip(b"\x00"):
        found |= _exif(info["exif"])
    if isinstance(info.get("xmp"), bytes) and info["xmp"].strip(b" \x00"):
        found.add("XMP")
    for block in info.get("metadata") or []:
        if isinstance(block, dict) and bytes(block.get("data") or b"").strip(b" \x00"):
            found.add(f"a HEIF {block.get('type', 'metadata')!s} item")
    return found


def _pillow(data: bytes) -> set[str]:
    """A second opinion: what Pillow's own reader puts in `info` beyond the allowed keys
    (an XMP packet, a comment, IPTC, text chunks under any keyword)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            keys = set(image.info)
            xmp = image.info.get("xmp")
    except Exception:
        return set()  # the decode step says what is wrong with the file
    found = {f"metadata Pillow reads as {key!r}" for key in keys - _PILLOW_INFO}
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if isinstance(xmp, bytes) and xmp.strip(b" \x00"):
        found.add("XMP")
    return found


__all__ = ["foreign_metadata"]
