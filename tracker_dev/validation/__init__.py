"""Validation experiments for the measurement engine, run on the physics-based renderer
(tracker_dev.synth) and on public test images with known truth.

Each topic module exposes `run(quick: bool = False) -> Section`. The tests call
`run(quick=True)` and assert the acceptance thresholds on `Section.numbers`;
`python -m tracker_dev.validation` runs the full versions and writes docs/validation.md, so
the report and the tests come from the same code. Needs the test requirements
(colour-science, via tracker_dev.synth).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    title: str
    markdown: str  # body of the report section: method, a table of numbers, verdict
    numbers: dict[str, float] = field(default_factory=dict)  # what the tests assert on
