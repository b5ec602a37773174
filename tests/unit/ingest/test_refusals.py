"""Every refusal names what the file really is, or says plainly that it is damaged, and
never shows an internal representation (a Python object, a decoder's plugin name)."""

from __future__ import annotations

import io
import re
import struct

import pytest
from PIL import Image

from tests import images
from tracker.config import Settings
from tracker.ingest import Limits, Rejected, ingest


@pytest.fixture
def limits() -> Limits:
    return Limits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]


def _ppm() -> bytes:
    out = io.BytesIO()
    images.quadrants(320, 256).save(out, format="PPM")  # binary P6
    return out.getvalue()


def _damaged_jpeg() -> bytes:
    """Whole structure, but the frame header's sampling factors are impossible: the decoder
    itself must give up."""
    good = bytearray(images.encode(images.noisy(), "JPEG", gps=False))
    sof = good.index(b"\xff\xc0")
    good[sof + 11] = 0x00  # first component: 0×0 sampling
    return bytes(good)


XHTML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
    b"<head><title>x</title></head><body>photo</body></html>"
)
CR3 = struct.pack(">I", 24) + b"ftypcrx \x00\x00\x00\x01crx isom" + b"\x00" * 400


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_ppm(), "Netpbm images (PPM, PGM, PBM) are not supported"),
        (XHTML, "This is a web page (HTML)"),
        (CR3, "This is a Canon raw photo (CR3)"),
        (b"FUJIFILMCCD-RAW 0201" + b"\x00" * 200, "Fujifilm raw photo (RAF)"),
        (b"PK\x03\x04" + b"\x00" * 200, "zip archive"),
        (b"RIFF\x00\x01\x00\x00WAVEfmt " + b"\x00" * 100, "audio file (WAV)"),
        (b"\x1aE\xdf\xa3" + b"\x00" * 100, "video (Matroska or WebM)"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00" * 6, "PNG file is damaged"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 5 + b"garbage" * 50, "JPEG file is damaged"),
        (_damaged_jpeg(), "JPEG photo but its image data is damaged"),
    ],
)
def test_refusals_say_what_the_file_is(data: bytes, words: str, limits: Limits) -> None:
    with pytest.raises(Rejected) as refused:
        ingest(data, "upload.jpg", limits)
    message = str(refused.value)
    assert words in message, message
    assert not re.search(r"object at 0x|_io\.|'MPO'|BytesIO|Error\b|\(\)", message), message


def test_a_multi_picture_jpeg_from_a_camera_is_accepted_not_called_animated(limits: Limits) -> None:
    out = io.BytesIO()
    frames = [images.quadrants(640, 480), images.noisy(640, 480)]
    frames[0].save(out, format="MPO", save_all=True, append_images=frames[1:])  # a preview after the photo
    with Image.open(io.BytesIO(out.getvalue())) as mpo:
        assert mpo.format == "MPO" and getattr(mpo, "is_animated", False)  # what Pillow makes of it
    result = ingest(out.getvalue(), "P1000123.JPG", limits)
    assert (result.width, result.height) == (640, 480)
