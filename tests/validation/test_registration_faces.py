"""The real-photo registration command (`python -m tracker_dev.validation registration --faces DIR`),
on a folder made here: scikit-image's public-domain astronaut portrait (a face the landmark
model finds) and a demo-set photo of bare skin (no face: the error is measured on the centre)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from tracker.imaging import landmarks
from tracker_dev.validation import registration
from tracker_dev.validation.registration import SAMPLE_DIR, demo_manifest


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faces")
    portrait = cv2.resize(np.asarray(data.astronaut()), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    Image.fromarray(portrait).save(out / "astronaut.jpg", quality=92)
    shutil.copy(SAMPLE_DIR / demo_manifest()["clients"][2]["photos"][0]["file"], out / "cheek.jpg")
    (out / "manifest.csv").write_text("file,tone\nastronaut.jpg,light\ncheek.jpg,dark\n", encoding="utf-8")
    return out


def test_every_tone_and_resolution_is_measured_and_aligned(folder: Path) -> None:
    if not landmarks.available():
        pytest.fail("the landmark model is missing: ./run test installs requirements-landmarks.txt")
    results = registration.measure_faces(folder, (0.5, 0.25), use_landmarks=True)
    assert (results.photos, results.with_face) == (2, 1)
    assert set(results.tallies) == {(r, t) for r in (0.5, 0.25) for t in ("light", "dark")}
    for tally in results.tallies.values():
        assert all(tally.ok)
        assert max(tally.means) <= 1.0  # baseline px
    # the face gave a landmark pose to start from; the bare cheek did not
    assert set(results.landmark_means) == {(0.5, "light"), (0.25, "light")}
    assert not results.problems

    text = registration.faces_report(results)
    assert "| 1/2 | light | 1 |" in text and "| 1/4 | dark | 1 |" in text
    assert text.index("| 1/2 | light") < text.index("| 1/2 | dark") < text.index("| 1/4 | light")
    assert "landmark pose alone" in text


def test_command_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert registration.main(["--faces", str(folder), "--resolutions", "1/3"]) == 0
    out = capsys.readouterr().out
    assert "| 1/3 | light | 1 |" in out and "| 1/3 | dark | 1 |" in out
    assert "landmark pose alone" not in out
    with pytest.raises(SystemExit):
        registration.main(["--faces", str(folder / "missing")])
    with pytest.raises(SystemExit):
        registration.main(["--faces", str(folder), "--resolutions", "half"])
