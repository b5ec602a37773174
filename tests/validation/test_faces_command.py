"""The real-face validation command, on a folder made here: scikit-image's public-domain
astronaut portrait (enlarged so its irises give a scale) and a photo of noise."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from tracker.imaging import landmarks
from tracker.validation import faces


def test_faces_reports_each_tone_group_and_names_the_photos_to_look_at(tmp_path: Path) -> None:
    if not landmarks.available():
        pytest.fail("the landmark model is missing: ./run test installs requirements-landmarks.txt")
    portrait = cv2.resize(np.asarray(data.astronaut()), None, fx=6, fy=6, interpolation=cv2.INTER_CUBIC)
    Image.fromarray(portrait).save(tmp_path / "astronaut.jpg", quality=92)
    noise = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    (tmp_path / "manifest.csv").write_text(
        "file,tone\nastronaut.jpg,light\nnoise.png,dark\n", encoding="utf-8"
    )

    groups = faces.measure(tmp_path)
    light, dark = groups["light"], groups["dark"]
    assert (light.photos, light.found, light.scaled, light.ipd_ok) == (1, 1, 1, 1)
    assert 54 <= light.ipds[0] <= 72
    assert (dark.photos, dark.found) == (1, 0)
    text = faces.report(groups)
    assert "| light | 1 | 1 (100 %) |" in text and "| dark | 1 | 0 (0 %) |" in text
    assert "noise.png: no face found" in text
    assert text.index("| light") < text.index("| dark")
