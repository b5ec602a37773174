"""MediaPipe's start-up chatter stays off stderr; everything else written there still arrives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.imaging import landmarks
from tracker.imaging.native_stderr import known_noise_dropped

ROOT = Path(__file__).resolve().parents[3]

NOISE = [
    b"AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'\n",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"W0000 00:00:1796142827.215342   26824 inference_feedback_manager.cc:114] Feedback manager "
    b"requires a model with a single signature inference. Disabling support for feedback tensors.\n",
    b"W0000 00:00:1796142827.289878   26825 landmark_projection_calculator.cc:186] Using NORM_RECT "
    b"without IMAGE_DIMENSIONS is only supported for the square ROI.\n",
]


def test_only_the_known_lines_are_dropped_and_the_rest_arrive_in_order(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with known_noise_dropped():
        os.write(2, NOISE[0] + b"E0000 00:00:1.0   1 graph.cc:1] a real error\n" + b"".join(NOISE[1:]))
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU. (not quite)\n")
    assert capfd.readouterr().err == (
        "E0000 00:00:1.0   1 graph.cc:1] a real error\n"
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU. (not quite)\n"
    )


def test_an_error_inside_still_restores_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), known_noise_dropped():
        os.write(2, b"said before failing\n")
        raise RuntimeError("boom")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "said before failing\nafter\n"


def test_finding_a_face_and_hands_prints_nothing_on_stderr() -> None:
    if not landmarks.available():
        pytest.fail("the landmark model is missing: ./run test installs requirements-landmarks.txt")
    code = (
        "import cv2, numpy as np\n"
        "from skimage import data\n"
        "from tracker.imaging import hands, landmarks\n"
        "rgb = np.asarray(data.astronaut())\n"
        "assert landmarks.available()\n"
        "assert landmarks.find_face(rgb) is not None\n"
        "assert hands.find_hands(rgb) == ()\n"
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "done\n", "")
