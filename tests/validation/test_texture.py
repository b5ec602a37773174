"""The texture experiment behind docs/validation.md: the acceptance numbers come from
``tracker_dev.validation.texture.run(quick=True)`` (physics renders of one surface at several
resolutions, noise levels, exposures and roughness steps), the same code that writes the
report, so the report and the tests cannot disagree. The metrics' contract is in
tests/unit/imaging/test_texture.py.
"""

from __future__ import annotations

import pytest

from tracker_dev.validation import Section
from tracker_dev.validation import texture as validation


@pytest.fixture(scope="module")
def section() -> Section:
    return validation.run(quick=True)


def test_resolution_invariance(section: Section) -> None:
    n = section.numbers
    assert n["dog_rel_diff_40_vs_20_max"] <= 0.03
    assert n["glcm_contrast_rel_diff_40_vs_20_max"] <= 0.05
    assert n["lbp_entropy_rel_diff_40_vs_20_max"] <= 0.02
    # the naive per-pixel GLCM is what the canonical pitch fixes (design §3.3: 1.6–1.9×)
    assert n["naive_glcm_ratio_min"] >= 1.5


def test_sensor_noise_does_not_depend_on_the_source_resolution(section: Section) -> None:
    """One surface at 40 and 20 px/mm with the same per-pixel noise (1.4 and 4.6 DN)."""
    n = section.numbers
    for level in validation.QUICK_NOISE_LEVELS:
        for key in ("texture_dog", "glcm_contrast", "glcm_homogeneity", "glcm_entropy", "lbp_entropy"):
            assert n[f"noise{level:g}_{key}_rel_diff_max"] <= 0.03, (level, key)
    # the case is a real one: uncorrected, the 20 px/mm photo reads its extra noise as texture
    assert n["noise0.02_texture_dog_rel_diff_max_uncorrected"] > 0.03
    assert n["noise0.02_glcm_contrast_rel_diff_max_uncorrected"] > 0.05


def test_counts_are_withheld_rather_than_inflated_by_noise(section: Section) -> None:
    n = section.numbers
    for key in ("line_density", "pore_density"):
        assert n[f"noise0.006_{key}_withheld_40"] == 0.0
        assert n[f"noise0.006_{key}_withheld_20"] == 0.0
        # 4.6 DN: fine from a 40 px/mm source, too noisy from a 20 px/mm one
        assert n[f"noise0.02_{key}_withheld_40"] == 0.0
        assert n[f"noise0.02_{key}_withheld_20"] == 1.0
    for level in validation.QUICK_NOISE_LEVELS:
        assert n[f"noise{level:g}_count_drift_max"] <= 0.08, level  # vs the noise-free render
    assert n["noise0.02_count_drift_max_uncorrected"] > 0.15  # what the withheld counts would say


def test_noise_estimate_matches_the_injected_noise(section: Section) -> None:
    assert section.numbers["noise_sigma_ratio_min"] >= 0.8
    assert section.numbers["noise_sigma_ratio_max"] <= 1.2


def test_noise_correction_leaves_a_noise_free_photo_alone(section: Section) -> None:
    assert section.numbers["noise_free_rel_change_max"] <= 0.01


def test_rougher_skin_scores_higher(section: Section) -> None:
    assert section.numbers["dog_monotonic"] == 1.0
    assert section.numbers["dog_monotonic_all_conditions"] == 1.0


def test_exposure_barely_matters(section: Section) -> None:
    n = section.numbers
    assert n["exposure_rel_change_max"] <= 0.03
    # …and far less than one step of roughness
    assert n["exposure_rel_change_max"] < n["dog_step_rel_min"] / 4


def test_glare_mask_is_honoured(section: Section) -> None:
    n = section.numbers
    assert n["glare_excluded_rel_change"] <= 0.02
    assert n["glare_included_rel_change"] >= 0.04


def test_demo_course_trend(section: Section) -> None:
    assert section.numbers["demo_spearman_mean"] >= 0.6
    assert section.numbers["demo_spearman_pooled"] >= 0.6


def test_speed_is_reported(section: Section) -> None:
    """The report states the time per zone against its 60 ms goal; no test asserts a time (a
    loaded machine fails it, a fast one hides a regression): scripts/benchmark.py times the
    whole analysis against a decode in the same run."""
    ms = section.numbers["ms_per_zone"]
    assert ms > 0
    assert f"median {ms:.1f} ms CPU" in section.markdown and "(target ≤ 60 ms)" in section.markdown
