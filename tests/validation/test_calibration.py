"""The colour calibration experiment behind docs/validation.md, quick run: chart fits under
every illuminant, the demo set's charts, px/mm, no false charts, the shades-of-grey fallback.
Calibration's behaviour is in tests/unit/imaging/test_calibration.py.
"""

from __future__ import annotations

from tracker_dev.validation import calibration as vcal


def test_validation_quick_meets_goals() -> None:
    section = vcal.run(quick=True)
    n = section.numbers
    assert n["corrected_de00_mean_worst_illuminant"] <= 3.0
    assert n["sweep_loo_de00_max"] <= 3.0
    assert n["sweep_loo_scrambled_min"] > 10.0
    assert n["demo_detect_rate"] == 1.0
    assert n["demo_loo_de00_max"] <= 3.0
    assert n["px_per_mm_rel_err_max"] <= 0.02
    assert n["no_chart_false_detections"] == 0
    assert n["fallback_is_shades_of_grey"] == 1.0
    assert n["sog_backdrop_cast_after"] < 0.02
    assert "Verdict" in section.markdown
