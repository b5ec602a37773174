"""The whole pipeline on rendered photos with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.imaging.analyze import METRIC_KEYS, Baseline, NoZones, analyze
from tracker.imaging.version import METRIC_VERSION
from tracker.imaging.zones import Zones
from tracker_dev.synth import ChartPlacement, Framing, PhotoSpec, SkinScene, render_photo

SCENE = SkinScene(
    seed=5, blood_reference=0.015, blood_treated=0.035, melanin_reference=0.03, melanin_treated=0.03
)
FRAMING = Framing(px_per_mm=20.0, width=1100, height=820)


@pytest.fixture(scope="module")
def baseline_photo():  # type: ignore[no-untyped-def]
    return render_photo(PhotoSpec(scene=SCENE, framing=FRAMING, seed=1))


def _zones(truth: dict) -> Zones:  # type: ignore[type-arg]
    return Zones(truth["zones"]["treated"], truth["zones"]["reference"], "manual")


def test_result_has_every_interface_key_and_its_provenance(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    result = analyze(baseline_photo.rgb, zones=_zones(baseline_photo.truth), px_per_mm=20.0)
    assert set(result.metrics) == set(METRIC_KEYS)
    assert all(result.metrics[k] is not None for k in METRIC_KEYS if k not in ("spot_area_pct",))
    assert result.metric_version == METRIC_VERSION and result.white_point == "D65"
    assert result.metrics["delta_ei"] > 5  # 2 % extra blood in the treated zone
    assert result.zones.source == "manual"
    assert result.calibration.method in ("shades_of_grey", "chart", "none")
    assert 0 <= result.quality.score <= 1 and result.quality.px_per_mm == 20.0
    assert result.glcm_limits is not None


def test_without_reference_the_paired_metrics_are_null(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    zones = Zones(baseline_photo.truth["zones"]["treated"], None, "manual")
    result = analyze(baseline_photo.rgb, zones=zones, px_per_mm=20.0)
    for key in ("delta_ei", "delta_a_star", "delta_l_star", "red_area_pct"):
        assert result.metrics[key] is None, key
    assert result.metrics["ei"] is not None
    assert any("reference" in reason for reason in result.quality.reasons)


def test_without_scale_texture_is_null_not_guessed(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    result = analyze(baseline_photo.rgb, zones=_zones(baseline_photo.truth))
    for key in ("texture_dog", "glcm_contrast", "lbp_entropy", "line_density", "pore_density"):
        assert result.metrics[key] is None, key
    assert result.metrics["delta_ei"] is not None
    assert any("scale unknown" in reason for reason in result.quality.reasons)


def test_low_resolution_makes_pores_unmeasurable(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    result = analyze(baseline_photo.rgb, zones=_zones(baseline_photo.truth), px_per_mm=12.0)
    assert result.metrics["pore_density"] is None
    assert result.metrics["texture_dog"] is not None


def test_zones_are_carried_to_a_moved_follow_up(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    moved = FRAMING.follow_up(rotation_deg=4.0, scale=1.05, shift_mm=(2.0, -1.5))
    follow = render_photo(PhotoSpec(scene=SCENE, framing=moved, baseline=FRAMING, seed=2, illuminant="A"))
    first = analyze(baseline_photo.rgb, zones=_zones(baseline_photo.truth), px_per_mm=20.0)
    base = Baseline(
        rgb=baseline_photo.rgb,
        zones=_zones(baseline_photo.truth),
        full_size=(FRAMING.width, FRAMING.height),
        px_per_mm=20.0,
        glcm_limits=first.glcm_limits,
    )
    result = analyze(follow.rgb, baseline=base)
    assert result.zones.source == "series"
    carried = np.array(result.zones.treated)
    truth = np.array(follow.truth["zones"]["treated"])
    assert np.abs(carried - truth).max() < 2.0
    assert result.registration is not None and result.registration.ok
    assert result.quality.px_per_mm_source == "series"
    assert result.quality.px_per_mm == pytest.approx(21.0, rel=0.02)
    assert abs(result.metrics["delta_ei"] - first.metrics["delta_ei"]) < 2.0  # other light, same skin


def test_a_chart_gives_the_scale(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    framing = Framing(px_per_mm=21.0, width=1600, height=1200)
    spec = PhotoSpec(scene=SCENE, framing=framing, chart=ChartPlacement(centre_px=(1250.0, 600.0)), seed=3)
    rendered = render_photo(spec)
    result = analyze(rendered.rgb, zones=_zones(rendered.truth))
    assert result.calibration.method == "chart"
    assert result.quality.px_per_mm_source == "chart"
    assert result.quality.px_per_mm == pytest.approx(21.0, rel=0.02)


def test_automatic_zones_without_a_face_cover_the_skin(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    result = analyze(baseline_photo.rgb, px_per_mm=20.0)
    assert result.zones.source == "auto-skin" and result.zones.reference is None
    assert result.metrics["ei"] is not None and result.metrics["delta_ei"] is None


def test_a_photo_without_skin_has_no_zones() -> None:
    grey = np.full((600, 800, 3), 90, np.uint8)
    with pytest.raises(NoZones):
        analyze(grey)


def test_a_prepared_baseline_gives_the_same_result_as_a_fresh_one(baseline_photo) -> None:  # type: ignore[no-untyped-def]
    moved = FRAMING.follow_up(rotation_deg=-3.0, scale=0.97, shift_mm=(-1.0, 2.0))
    follow = render_photo(PhotoSpec(scene=SCENE, framing=moved, baseline=FRAMING, seed=4))

    def fresh() -> Baseline:
        return Baseline(
            rgb=baseline_photo.rgb,
            zones=_zones(baseline_photo.truth),
            full_size=(FRAMING.width, FRAMING.height),
            px_per_mm=20.0,
        )

    kept = fresh()
    first = analyze(follow.rgb, baseline=kept)
    assert kept.cache  # the reduced copy and the pyramid were kept with the baseline
    second = analyze(follow.rgb, baseline=kept)
    cold = analyze(follow.rgb, baseline=fresh())
    registrations = [r.registration.to_json() if r.registration else None for r in (first, second, cold)]
    assert registrations[0] is not None and registrations[0] == registrations[1] == registrations[2]
    assert second.metrics == cold.metrics and second.zones == cold.zones
