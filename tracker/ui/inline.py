"""Images inlined into the page as data URIs: nothing for the browser to fetch later."""

from __future__ import annotations

import base64
import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image


def jpeg_data_uri(rgb: NDArray[np.uint8], max_side: int, quality: int) -> str:
    """`rgb` reduced to at most `max_side` px and encoded as a JPEG data URI."""
    img = Image.fromarray(rgb)
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
