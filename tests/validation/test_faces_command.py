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
from tracker_dev.validation import faces


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

    groups = faces.measure(tmp_path, overlays=True)
    light, dark = groups["light"], groups["dark"]
    assert (light.photos, light.found, light.scaled, light.ipd_ok) == (1, 1, 1, 1)
    assert (light.zoned, light.clear) == (1, 1)  # zones made, on clear skin, with a reference
    assert light.skin_shares[0] >= 0.6
    assert 54 <= light.ipds[0] <= 72
    assert (dark.photos, dark.found) == (1, 0)
    text = faces.report(groups)
    assert "| light | 1 | 1 (100 %) |" in text and "| dark | 1 | 0 (0 %) |" in text
    assert "noise.png: no face found" in text
    assert text.index("| light") < text.index("| dark")

    sheets = faces.write_sheets(groups, tmp_path / "sheets")
    assert {p.name for p in sheets} == {"faces-light-1.png", "faces-dark-1.png"}
    assert Image.open(sheets[0]).size[1] == faces.TILE_HEIGHT


def test_the_faces_section_replaces_its_old_self_and_survives_the_main_report() -> None:
    doc = "# Validation\n\n## Texture\n\nnumbers\n"
    once = faces.replace_section(doc, "## Real face photos\n\nfirst")
    twice = faces.replace_section(once, "## Real face photos\n\nsecond")
    assert twice.count(faces.SECTION_START) == 1 and "second" in twice and "first" not in twice
    assert twice.startswith(doc.rstrip("\n"))
    kept = faces.kept_section(twice)
    assert kept.startswith(faces.SECTION_START) and kept.endswith(faces.SECTION_END) and "second" in kept
    assert faces.kept_section(doc) == ""
