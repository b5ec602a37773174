"""The Streamlit entry page, driven by AppTest against a real data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import images
from tracker.cli import main

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_empty_data_folder_explains_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "d"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "python -m tracker demo" in at.info[0].value


def test_lists_clients_sessions_and_photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(images.encode(images.noisy(seed=3), "JPEG"))
    assert main(["--data-dir", str(tmp_path / "d"), "import", str(photo), "--client", "Dana Roe"]) == 0
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "d"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "1 clients · 1 photos" in at.caption[0].value
    assert at.expander[0].label.startswith("Dana Roe")
    assert "Session 1" in at.markdown[0].value
