"""Images inlined into the page as data URIs: nothing for the browser to fetch later.

Why: Streamlit serves `st.image` bytes from /media URLs that it drops once a newer run no
longer shows them. When a practitioner switches client while images of the last client are
still to be fetched (e.g. thumbnails in a tab not yet opened), the browser asks for URLs
that are gone: broken images and 404s. A data URI cannot go stale."""

from __future__ import annotations

import base64
import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image


def jpeg_bytes_uri(jpeg: bytes) -> str:
    """An already encoded JPEG (a stored thumbnail) as a data URI."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def jpeg_data_uri(rgb: NDArray[np.uint8], max_side: int, quality: int) -> str:
    """`rgb` reduced to at most `max_side` px and encoded as a JPEG data URI."""
    img = Image.fromarray(rgb)
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return jpeg_bytes_uri(buf.getvalue())


def png_data_uri(image: Image.Image, colours: int = 32) -> str:
    """A drawn picture (flat colours and text, where JPEG would smear) as a PNG data URI,
    reduced to `colours` colours: a quarter of the bytes, and no visible change for a
    diagram."""
    buf = io.BytesIO()
    image.convert("RGB").quantize(colours).save(buf, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
