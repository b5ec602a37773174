"""Decide what a file is from its first bytes, never from its name.

Users rename files, phones send HEIC named .jpg, and an attacker can name anything
`.jpg`; the only trustworthy signal is the content. Known non-photo types get a message
that names what the file actually is, so the person knows what went wrong.
"""

from __future__ import annotations

from enum import StrEnum

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


class Rejected(Exception):
    """An upload refused for a reason the uploader can act on. `str()` is the message."""


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
    if brands & {b"qt  ", b"isom", b"mp41", b"mp42", b"M4V "}:
        raise Rejected(f"This is a video, not a photo. Please upload {ACCEPTED_TEXT}.")
    raise Rejected(f"This file is not a recognised image. Please upload {ACCEPTED_TEXT}.")


def _describe_unsupported(head: bytes) -> str:
    please = f"Please upload {ACCEPTED_TEXT}."
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
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
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
