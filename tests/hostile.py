"""Hostile image files, built in code: each one cost the old ingest seconds of CPU (or
hundreds of MB) while holding the GIL. Shared by tests/unit/ingest/test_hostile.py and
scripts/benchmark_hostile.py, which times each against a normal photo of the same size.

Every file here is a valid picture with something around it: the attack is in the
metadata or after the image's end, which is where a scanner wastes its time.
"""

from __future__ import annotations

import io
import struct
import zlib

from tests import images


def _jpeg(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    images.noisy(width, height).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _png(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    images.noisy(width, height).save(out, format="PNG")
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _app(marker: int, body: bytes) -> bytes:
    assert len(body) <= 65533
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def open_xmp_after_end(size: int = 206_000) -> bytes:
    """The 206 KB file that froze the server for 13.6 s: a photo, then after its end
    thousands of `<x:xmpmeta` that never close (each made the old regex rescan to the end)."""
    jpeg = _jpeg(320, 256)  # ~60 KB: most of the file is the tail
    tail = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'> "
    return jpeg + tail * max(1000, (size - len(jpeg)) // len(tail))


def open_xmp_tags_in_metadata(segments: int = 8, units: int | None = None) -> bytes:
    """XMP segments full of location names whose values and elements never close."""
    unit = b'<exif:GPSLatitude  exif:GPSLongitude=" <photoshop:City> '
    count = units or (65000 - 60) // len(unit)
    body = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + unit * count
    jpeg = _jpeg()
    return jpeg[:2] + _app(0xE1, body) * segments + jpeg[2:]


def ifd_fan_out(blocks: int = 200) -> bytes:
    """Many EXIF headers whose first directory claims 65,535 entries (31 s and 930 KB
    before: every "Exif" marker in the file was followed, each into the same directory)."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 65535) + b"\x00" * (65000 - 10)
    jpeg = _jpeg()
    return jpeg[:2] + _app(0xE1, b"Exif\x00\x00" + tiff[: 65533 - 6]) * blocks + jpeg[2:]


def huge_ifd() -> bytes:
    """One EXIF block whose directory claims 65,535 entries, more than fit in the block."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 65535) + b"\x00" * 60000
    jpeg = _jpeg()
    return jpeg[:2] + _app(0xE1, b"Exif\x00\x00" + tiff) + jpeg[2:]


def exif_pointing_past_its_block() -> bytes:
    """An EXIF block whose Exif sub-directory pointer leads outside the block, into the file."""
    tiff = (
        b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 900_000)
    )
    jpeg = _jpeg()
    return jpeg[:2] + _app(0xE1, b"Exif\x00\x00" + tiff + b"\x00" * 4) + jpeg[2:]


def text_after_iend(total: int = 2_400_000) -> bytes:
    """A PNG, then after IEND compressed text chunks that inflate ~1000× (46 s before: each
    was inflated, with no total cap). A damaged one is in there too: if anything after the
    end were read, the file would be refused as damaged."""
    bomb = zlib.compress(b" " * 8_000_000, 9)
    chunk = png_chunk(b"zTXt", b"Comment\x00\x00" + bomb)
    itxt = png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb)
    broken = png_chunk(b"zTXt", b"Comment\x00\x00not zlib at all")
    png = _png()
    tail = broken
    while len(png) + len(tail) < total:
        tail += chunk + itxt
    return png + tail


def text_inflation_before_end(chunks: int = 40) -> bytes:
    """Compressed raw EXIF profiles (the only PNG text that is inflated: the rest is dropped
    unread) before the image data, each just under the 1 MB per-chunk cap, together far
    over the total cap."""
    bomb = zlib.compress(b" " * 1_000_000, 9)
    png = _png()
    return png[:33] + png_chunk(b"zTXt", b"Raw profile type exif\x00\x00" + bomb) * chunks + png[33:]


def chunk_flood(count: int = 200_000) -> bytes:
    """200,000 tiny text chunks before the image data (6 s and 208 MB before)."""
    png = _png()
    return png[:33] + png_chunk(b"tEXt", b"a\x00b") * count + png[33:]


def jpeg_with_tail(tail: bytes) -> bytes:
    return _jpeg() + tail


def png_with_tail(tail: bytes) -> bytes:
    return _png() + tail


def normal_jpeg_of_size(size: int) -> bytes:
    """A plain photo (noise, quality 90) of about `size` bytes, for timing comparisons."""
    width = 640
    while True:
        data = _jpeg(width, width * 3 // 4)
        if len(data) >= size or width > 8000:
            return data
        width = int(width * max(1.05, (size / len(data)) ** 0.5))


def mpo(frames: int = 2) -> bytes:
    """A multi-picture JPEG, as stereo cameras (Nintendo 3DS) and Panasonic's preview write."""
    pictures = [images.quadrants(640, 480).rotate(180 * i) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, format="MPO", save_all=True, append_images=pictures[1:], quality=90)
    return out.getvalue()


CORPUS = {
    "open XMP packets after the end (206 KB)": open_xmp_after_end,
    "unclosed XMP location tags in metadata": open_xmp_tags_in_metadata,
    "200 EXIF headers, 65,535-entry directory": ifd_fan_out,
    "one EXIF directory of 65,535 entries": huge_ifd,
    "compressed text after IEND (2.4 MB)": text_after_iend,
    "text inflating past the total cap": text_inflation_before_end,
    "200,000 tiny text chunks": chunk_flood,
}

__all__ = ["CORPUS"]
