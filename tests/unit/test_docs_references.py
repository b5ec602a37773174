"""Every design section and issue the code cites is written down in docs/.

Comments and docstrings explain a rule by pointing at "design §3.3" or "issue 9"; a pointer
that resolves nowhere explains nothing, so a citation without its heading in docs/design.md or
docs/issues.md fails here, naming the file and line that cites it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"
ISSUES = ROOT / "docs" / "issues.md"

# "§3.4", also both ends of a range such as "§3.1–3.2". Any § in the code cites the design
# rules (the code used to say "design §N", the document is now docs/design.md).
SECTION = re.compile(r"§\s*(\d+(?:\.\d+)*)(?:\s*[–-]\s*(\d+(?:\.\d+)*))?")
ISSUE = re.compile(r"\bissues?\s+(\d+)\b", re.IGNORECASE)
SECTION_HEADING = re.compile(r"^#{1,6}\s+§(\d+(?:\.\d+)*)\s", re.MULTILINE)
ISSUE_HEADING = re.compile(r"^#{1,6}\s+Issue\s+(\d+)\b", re.MULTILINE)
SKIPPED_DIRS = {"__pycache__", "data", "node_modules", "test-artifacts", "sample_photos"}


def _code_files() -> list[Path]:
    """Every Python file of the project, wherever a package moves to; this file excepted,
    because its own docstring and patterns are not citations."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return sorted(p for p in found if p.resolve() != Path(__file__).resolve())


def _citations(pattern: re.Pattern[str]) -> dict[str, list[str]]:
    """Cited number → the places ("path:line") that cite it."""
    cited: dict[str, list[str]] = {}
    for path in _code_files():
        text = path.read_text(encoding="utf-8")
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            for number in match.groups():
                if number:
                    cited.setdefault(number, []).append(where)
    return cited


def test_every_cited_design_section_is_a_heading_of_docs_design() -> None:
    cited = _citations(SECTION)
    headings = set(SECTION_HEADING.findall(DESIGN.read_text(encoding="utf-8")))
    assert {"1", "3.3", "3.6", "8"} <= cited.keys()  # the scan finds the code's citations
    missing = {number: places for number, places in cited.items() if number not in headings}
    assert not missing, f"sections cited but not in docs/design.md: {missing}"


def test_every_cited_issue_is_a_heading_of_docs_issues() -> None:
    cited = _citations(ISSUE)
    headings = set(ISSUE_HEADING.findall(ISSUES.read_text(encoding="utf-8")))
    assert {"3", "9"} <= cited.keys()
    missing = {number: places for number, places in cited.items() if number not in headings}
    assert not missing, f"issues cited but not in docs/issues.md: {missing}"


def test_design_sections_keep_the_numbers_the_code_was_written_against() -> None:
    """The code's numbering is the original one; a renumbered heading would make every
    citation point at the wrong rule while still resolving."""
    headings = SECTION_HEADING.findall(DESIGN.read_text(encoding="utf-8"))
    subsections = [f"3.{n}" for n in range(1, 9)]
    assert headings == ["1", "2", "3", *subsections, "4", "5", "6", "7", "8"]
