"""The command line starts without the heavy libraries: `--help` or a usage error must not
pay seconds of CPU for pandas, scipy, OpenCV or MediaPipe. Checked by what a fresh
interpreter has loaded, not by timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Top-level packages that neither importing tracker.cli nor building its parser needs.
HEAVY = [
    "altair",
    "cv2",
    "fpdf",
    "mediapipe",
    "matplotlib",
    "numpy",
    "pandas",
    "PIL",
    "pydantic",
    "pydantic_settings",
    "scipy",
    "skimage",
    "sqlalchemy",
    "streamlit",
    "tqdm",
]

REPORT = "import json, sys; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"


def _loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import tracker.cli")
    assert "tracker" in loaded  # the probe itself works
    assert sorted(loaded & set(HEAVY)) == []


@pytest.mark.parametrize("argv", [["--help"], ["analyze", "--help"], ["demo", "--help"], ["analyze"]])
def test_help_and_usage_errors_load_no_heavy_library(argv: list[str]) -> None:
    code = (
        "import contextlib, io\n"
        "from tracker.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), "
        f"contextlib.suppress(SystemExit): main({argv!r})\n"
        "assert out.getvalue().startswith('usage: python -m tracker'), out.getvalue()"
    )
    assert sorted(_loaded_after(code) & set(HEAVY)) == []
