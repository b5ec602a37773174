"""Hostile files (tests/hostile.py): what cannot be timed is asserted — nothing after the
image's end is read or stored, every cap refuses with a plain message, and a multi-picture
JPEG is its primary picture. The time each file costs is in scripts/benchmark_hostile.py."""

from __future__ import annotations

import io
import re
import struct

import numpy as np
import pytest
from PIL import Image

from tests import hostile, images
from tracker.config import Settings
from tracker.ingest import Limits, Rejected, ingest
from tracker.ingest.container import layout
from tracker.ingest.sniff import ImageFormat


@pytest.fixture
def limits() -> Limits:
    return Limits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]


def _plain(message: str) -> None:
    assert not re.search(r"object at 0x|<[a-zA-Z_]|Traceback|\\\\x", message), message
    assert message.endswith("."), message


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (hostile.ifd_fan_out, "200 EXIF blocks; a camera writes one"),
        (hostile.huge_ifd, "65,535 entries"),
        (hostile.exif_pointing_past_its_block, "points outside its block"),
        (hostile.text_inflation_before_end, "more than 4 MB of text together"),
        (hostile.chunk_flood, "more than 256 metadata blocks"),
    ],
)
def test_caps_refuse_with_a_plain_message(build: object, expected: str, limits: Limits) -> None:
    data = build()  # type: ignore[operator]
    with pytest.raises(Rejected) as refused:
        ingest(data, "photo", limits)
    assert expected in str(refused.value)
    _plain(str(refused.value))


def test_nothing_after_a_jpeg_end_is_read_or_stored(limits: Limits) -> None:
    data = hostile.open_xmp_after_end()
    end = data.index(b"<x:xmpmeta")
    result = ingest(data, "photo.jpg", limits)
    assert result.original == data[:end]  # the picture as uploaded, the tail dropped
    # A tail that would be refused as damaged if anything read it: EXIF pointing nowhere.
    broken = b"\xff\xe1\x00\x20Exif\x00\x00II*\x00" + struct.pack("<I", 4_000_000) + b"\x00" * 14
    tailed = hostile.jpeg_with_tail(broken)
    assert ingest(tailed, "photo.jpg", limits).original == tailed[: -len(broken)]


def test_nothing_after_png_iend_is_inflated_or_stored(limits: Limits) -> None:
    data = hostile.text_after_iend()
    end = data.index(b"IEND") + 8
    assert len(data) > 2_000_000
    result = ingest(data, "photo.png", limits)  # a damaged zTXt after IEND: never read
    assert result.original == data[:end]


def test_nothing_after_a_webp_riff_is_stored(limits: Limits) -> None:
    webp = images.encode(images.quadrants(), "WEBP", gps=False)
    result = ingest(webp + b"<x:xmpmeta " * 1000, "photo.webp", limits)
    assert result.original == ingest(webp, "photo.webp", limits).original


def test_xmp_is_dropped_unread_however_it_is_written(limits: Limits) -> None:
    data = hostile.open_xmp_tags_in_metadata()  # unclosed place names in eight XMP segments
    result = ingest(data, "photo.jpg", limits)
    assert b"xmpmeta" not in result.original and b"GPS" not in result.original
    assert images.image_data(result.original, "JPEG") == images.image_data(data, "JPEG")


def test_a_multi_picture_jpeg_is_its_primary_picture(limits: Limits) -> None:
    data = hostile.mpo()
    with Image.open(io.BytesIO(data)) as original:
        assert original.format == "MPO" and getattr(original, "n_frames", 1) == 2
    result = ingest(data, "stereo.jpg", limits)
    found = layout(data, ImageFormat.JPEG)
    assert found.mpf is not None  # the index of the second picture
    primary = data[: found.end]
    assert images.image_data(result.original, "JPEG") == images.image_data(primary, "JPEG")
    assert b"MPF\x00" not in result.original and len(result.original) < len(primary)
    with Image.open(io.BytesIO(result.original)) as stored:
        assert stored.format == "JPEG"  # the MPF index to the dropped picture is gone
        assert (
            np.abs(np.asarray(stored.convert("RGB"), float) - np.asarray(images.quadrants(), float)).mean()
            < 4
        )
    assert (result.width, result.height) == (640, 480)
