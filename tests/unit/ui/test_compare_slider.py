"""The in-browser before/after slider's HTML (the browser side is in tests/e2e)."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from PIL import Image

from tracker.ui.compare_slider import SLIDER_LABEL, slider_html


def _pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (300, 400, 3), dtype=np.uint8),
        rng.integers(0, 256, (300, 400, 3), dtype=np.uint8),
    )


def test_the_same_pair_gives_the_same_widget_and_another_pair_another_id() -> None:
    a, b = _pair(1)
    first, again = slider_html(a, b, "before", "after"), slider_html(a, b, "before", "after")
    assert first == again  # a rerun keeps the widget where it was
    other = slider_html(*_pair(2), "before", "after")
    ids = {re.search(r'id="(cmp-[0-9a-f]+)"', html).group(1) for html in (first, other)}  # type: ignore[union-attr]
    assert len(ids) == 2


def test_both_photos_are_inline_and_labels_are_escaped() -> None:
    a, b = _pair(3)
    html = slider_html(a, b, "<b>S1</b> & before", 'after "aligned"')
    uris = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(uris) == 2
    for uri in uris:
        with Image.open(io.BytesIO(base64.b64decode(uri))) as img:
            assert img.size == (400, 300)
    assert "<b>S1</b>" not in html and "&lt;b&gt;S1&lt;/b&gt; &amp; before" in html
    assert f'aria-label="{SLIDER_LABEL}"' in html and "aspect-ratio: 400 / 300" in html
    assert "http" not in html  # nothing is fetched from anywhere
