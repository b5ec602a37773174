"""Decide what a file is from its first bytes, never from its name.

Users rename files, phones send HEIC named .jpg, and an attacker can name anything
`.jpg`; the only trustworthy signal is the content. Known non-photo types get a message
that names what the file actually is, so the person knows what went wrong.
"""

from __future__ import annotations

import re
from enum import StrEnum

from tracker.errors import Refused

ACCEPTED_TEXT = "a JPEG, PNG, WebP or HEIC/HEIF photo"


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIF = "heif"

    @property
    def pillow_names(self) -> tuple[str, ...]:
        """Pillow plugin names allowed to decode this format (MPO is a multi-picture JPEG)."""
        return {
            ImageFormat.JPEG: ("JPEG", "MPO"),
            ImageFormat.PNG: ("PNG",),
            ImageFormat.WEBP: ("WEBP",),
            ImageFormat.HEIF: ("HEIF",),
        }[self]


# An upload refused for a reason the uploader can act on: the name ingest has always used,
# the same class as tracker.errors.Refused (the canonical place).
Rejected = Refused


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_GENERIC_BRANDS = {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff(head: bytes) -> ImageFormat:
    """Return the accepted format of `head` (the first bytes of a file) or raise Rejected."""
    if not head:
        raise Rejected("The file is empty (0 bytes).")
    if head.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(head)
    raise Rejected(_describe_unsupported(head))


def _sniff_isobmff(head: bytes) -> ImageFormat:
    box_size = int.from_bytes(head[:4], "big")
    end = min(len(head), box_size if box_size >= 16 else 16)
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _HEIF_BRANDS:
        return ImageFormat.HEIF
    if brands & _AVIF_BRANDS:
        raise Rejected(f"AVIF images are not supported. Please upload {ACCEPTED_TEXT}.")
    if brands & _HEIF_GENERIC_BRANDS:
        return ImageFormat.HEIF
    if brands & {b"crx "}:
        raise Rejected(f"This is a Canon raw photo (CR3). {_RAW_ADVICE} Please upload {ACCEPTED_TEXT}.")
    if brands & {b"jp2 ", b"jpx ", b"jpm "}:
        raise Rejected(f"JPEG 2000 images are not supported. Please upload {ACCEPTED_TEXT}.")
    if brands & {b"M4A ", b"M4B ", b"M4P "}:
        raise Rejected(f"This is an audio file, not a photo. Please upload {ACCEPTED_TEXT}.")
    if brands & {b"qt  ", b"isom", b"iso2", b"mp41", b"mp42", b"M4V ", b"3gp4", b"3gp5", b"3g2a", b"avc1"}:
        raise Rejected(f"This is a video, not a photo. Please upload {ACCEPTED_TEXT}.")
    raise Rejected(f"This file is not a recognised image. Please upload {ACCEPTED_TEXT}.")


_RAW_ADVICE = "Raw files are not supported: export the photo as JPEG from your camera or editor."

# Signatures of files people send by mistake, with what to call them: (prefix, words).
_KNOWN = (
    (b"FUJIFILMCCD-RAW", f"This is a Fujifilm raw photo (RAF). {_RAW_ADVICE}"),
    (b"IIRO\x08\x00", f"This is an Olympus raw photo (ORF). {_RAW_ADVICE}"),
    (b"IIU\x00", f"This is a Panasonic raw photo (RW2). {_RAW_ADVICE}"),
    (b"\x00MRM", f"This is a Minolta raw photo (MRW). {_RAW_ADVICE}"),
    (b"\xff\x0a", "JPEG XL images are not supported."),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL images are not supported."),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000 images are not supported."),
    (b"8BPS", "This is a Photoshop document (PSD), not a photo."),
    (b"%!PS", "This is a PostScript document, not a photo."),
    (b"\x00\x00\x01\x00", "This is an icon file (ICO), not a photo."),
    (b"PK\x03\x04", "This is a zip archive (or an office document), not a photo."),
    (b"Rar!", "This is a RAR archive, not a photo."),
    (b"7z\xbc\xaf\x27\x1c", "This is a 7-Zip archive, not a photo."),
    (b"\x1f\x8b", "This is a compressed (gzip) file, not a photo."),
    (b"\x1aE\xdf\xa3", "This is a video (Matroska or WebM), not a photo."),
    (b"ID3", "This is an audio file (MP3), not a photo."),
    (b"OggS", "This is an audio or video file (Ogg), not a photo."),
    (b"fLaC", "This is an audio file (FLAC), not a photo."),
    (b"MZ", "This is a Windows program, not a photo."),
    (b"\x7fELF", "This is a program, not a photo."),
    (b"\xd0\xcf\x11\xe0", "This is an old Microsoft Office document, not a photo."),
    (b"{\\rtf", "This is a rich-text document (RTF), not a photo."),
    (b"qoif", "QOI images are not supported."),
    (b"DDS ", "This is a texture file (DDS), not a photo."),
    (b"#?RADIANCE", "Radiance HDR images are not supported."),
    (b"v/1\x01", "OpenEXR images are not supported."),
)
_NETPBM = re.compile(rb"P[1-7][ \t\r\n]")


def _describe_unsupported(head: bytes) -> str:
    please = f"Please upload {ACCEPTED_TEXT}."
    for prefix, words in _KNOWN:
        if head.startswith(prefix):
            return f"{words} {please}"
    if _NETPBM.match(head):
        return f"Netpbm images (PPM, PGM, PBM) are not supported. {please}"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return f"This is an audio file (WAV), not a photo. {please}"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return f"This is a video (AVI), not a photo. {please}"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return f"GIF images are not accepted (they hold at most 256 colours). {please}"
    if head.startswith(b"%PDF"):
        return f"This is a PDF document, not a photo. {please}"
    if head.startswith(b"BM"):
        return f"BMP images are not supported. {please}"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return f"TIFF images (including camera raw files) are not supported. {please}"
    if head[:4] == b"RIFF":
        return f"This RIFF file is not a WebP image. {please}"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return f"This is an SVG drawing, not a photo. {please}"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")) or (
        text.startswith(b"<?xml") and (b"<html" in text or b"<!doctype html" in text)
    ):
        return f"This is a web page (HTML), not a photo. {please}"
    if _looks_like_text(head):
        return f"This is a text file, not a photo. {please}"
    return f"This file is not a recognised image. {please}"


def _looks_like_text(head: bytes) -> bool:
    sample = head[:1024]
    if b"\x00" in sample:
        return False
    decoded = sample.decode("utf-8", errors="replace")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in decoded)
    return printable >= 0.95 * len(decoded)
