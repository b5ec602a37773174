"""What the camera component hands to Python is checked before anything is decoded."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tracker.errors import Refused
from tracker.ui.ghost_camera import CameraPhoto, decode_shot, ghost_uri


def test_a_good_picture_is_decoded() -> None:
    jpeg = b"\xff\xd8\xff\xe0fake jpeg body"
    value = {"jpeg": base64.b64encode(jpeg).decode(), "width": 640, "height": 480}
    assert decode_shot(value, max_bytes=1_000_000) == jpeg
    assert CameraPhoto("camera-x.jpg", jpeg).getvalue() == jpeg


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "sent no picture"),
        ({"width": 3}, "sent no picture"),
        ({"jpeg": 12}, "sent no picture"),
        ({"jpeg": "not base64!!"}, "arrived damaged"),
        ({"jpeg": "A" * 2_000_000}, "larger than 1 MB"),
    ],
)
def test_bad_values_get_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(Refused, match=message):
        decode_shot(value, max_bytes=1_000_000)


def test_the_outline_is_an_inline_jpeg_of_bounded_size() -> None:
    uri = ghost_uri(np.full((3000, 4000, 3), 128, np.uint8))
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) < 200_000
