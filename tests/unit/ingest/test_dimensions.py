"""Header sizes read before decoding, for the import memory budget (tracker.worker)."""

from __future__ import annotations

import pytest

from tests import images
from tracker.ingest.dimensions import claimed_size


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_the_claimed_size_is_the_images_size(fmt: str) -> None:
    data = images.encode(images.quadrants(640, 480), fmt)
    assert claimed_size(data) == (640, 480)


def test_a_lossless_webp_and_a_progressive_jpeg() -> None:
    from io import BytesIO

    image = images.quadrants(321, 257)
    out = BytesIO()
    image.save(out, "WEBP", lossless=True)
    assert claimed_size(out.getvalue()) == (321, 257)
    out = BytesIO()
    image.save(out, "JPEG", progressive=True)
    assert claimed_size(out.getvalue()) == (321, 257)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8",
        b"\xff\xd8" + b"\xff\xe1\x00\x01" * 4,
        b"\xff\xd8\xff\xda\x00\x02",
        b"ftypheic" * 4,
        b"GIF89a",
    ],
)
def test_a_header_that_says_nothing_gives_none(data: bytes) -> None:
    assert claimed_size(data) is None
