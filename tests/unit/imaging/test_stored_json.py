"""The typed results and the JSON stored in rows: read back, written again, key for key.

Rows, exports and the CLI's output hold this JSON, so a round trip must give the same keys
and values, and the trend verdict must be the stored one, never worked out again."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracker.imaging.analyze import Baseline, Measurement, analyze
from tracker.imaging.calibration import Calibration
from tracker.imaging.quality import TREND_THRESHOLD, Quality, QualityCheck, assess
from tracker.imaging.registration import Registration
from tracker.imaging.zones import Zones
from tracker_dev.synth import ChartPlacement, Framing, PhotoSpec, SkinScene, render_photo

SCENE = SkinScene(
    seed=5, blood_reference=0.015, blood_treated=0.035, melanin_reference=0.03, melanin_treated=0.03
)
FRAMING = Framing(px_per_mm=21.0, width=1100, height=820)

QUALITY_KEYS = [
    "px_per_mm",
    "px_per_mm_source",
    "blur",
    "clipped_pct",
    "glare_pct",
    "shadow_pct",
    "exposure",
    "calibration_method",
    "calibration_residual_de00",
    "ita_uncertain",
    "registration_score",
    "pose_rotation_deg",
    "pose_scale",
    "skin_share",
    "zone_problems",
    "zone_notes",
    "face_yaw_deg",
    "face_roll_deg",
    "yaw_change_deg",
    "lighting_asymmetry",
    "lighting_change",
    "camera",
    "camera_changed_from",
    "texture_noise",
    "texture_notes",
    "score",
    "usable_for_trends",
    "reasons",
]


def _through_a_row(data: dict) -> dict:  # type: ignore[type-arg]
    """What a JSON column gives back."""
    return json.loads(json.dumps(data))  # type: ignore[no-any-return]


def _checked_quality() -> Quality:
    check = QualityCheck(
        px_per_mm=20.123456,
        px_per_mm_source="iris",
        blur=0.00123456789,
        clipped_pct=2.345,
        exposure=0.123456,
        calibration_method="shades_of_grey",
        skin_share={"left_cheek": 0.912, "forehead": 0.7},
        zone_notes=["no untreated skin: the whole face is treated"],
        face_yaw_deg=3.14159,
        lighting_asymmetry=-0.41234,
        camera="Apple iPhone 13",
        texture_notes=["pores: scale too coarse"],
    )
    return assess(check, zone_pixels=1000, zone_valid_pixels=900, has_reference=False).result()


def test_quality_is_stored_rounded_and_read_back_unchanged() -> None:
    quality = _checked_quality()
    stored = quality.to_json()
    assert list(stored) == QUALITY_KEYS
    assert stored["px_per_mm"] == 20.123 and stored["blur"] == 0.001235 and stored["face_yaw_deg"] == 3.1
    assert stored["ita_uncertain"] is True and stored["skin_share"] == {"left_cheek": 0.912, "forehead": 0.7}
    assert any("uneven light" in r for r in stored["reasons"])
    assert any("no untreated reference skin" in r for r in stored["reasons"])
    back = Quality.from_json(_through_a_row(stored))
    assert back == quality
    assert back.to_json() == stored


def test_the_trend_verdict_is_decided_once_on_the_unrounded_score() -> None:
    check = QualityCheck(score=TREND_THRESHOLD - 0.0004)  # stored as 0.5, yet below the threshold
    quality = check.result()
    assert quality.score == 0.5 and quality.usable_for_trends is False
    assert Quality.from_json(quality.to_json()).usable_for_trends is False
    assert QualityCheck(score=TREND_THRESHOLD).result().usable_for_trends is True


def test_a_quality_with_fewer_keys_reads_with_defaults() -> None:
    """Rows written before a key existed (and the synthetic clinic's) hold fewer keys."""
    older = {"px_per_mm": 20.0, "score": 0.3, "usable_for_trends": False, "reasons": ["too blurry"]}
    quality = Quality.from_json(older)
    assert quality.score == 0.3 and not quality.usable_for_trends and quality.reasons == ("too blurry",)
    assert quality.px_per_mm == 20.0 and quality.skin_share is None and quality.zone_problems == ()
    assert quality.calibration_method == "none" and quality.clipped_pct == 0.0


def test_calibration_round_trip_keeps_the_matrix_and_corners() -> None:
    calibration = Calibration(
        method="chart",
        matrix=np.array([[1.1, 0.02, -0.01], [0.03, 0.97, 0.0], [0.0, -0.05, 1.2]]),
        residual_de00=1.234,
        px_per_mm=21.05,
        px_per_mm_source="chart",
        chart_corners=[[10.5, 20.25], [110.0, 20.0], [110.0, 90.0], [10.0, 90.0]],
        uncalibrated=False,
        fit_de00=0.9,
        notes=("chart geometry kept",),
    )
    stored = calibration.to_json()
    back = Calibration.from_json(_through_a_row(stored))
    assert back.to_json() == stored
    assert np.array_equal(back.matrix, calibration.matrix) and back.chart_corners == calibration.chart_corners
    assert back.method == "chart" and back.notes == ("chart geometry kept",) and back.fit_de00 == 0.9


def test_registration_round_trip() -> None:
    registration = Registration(
        matrix=np.array([[1.01, -0.02, 3.5], [0.02, 1.01, -7.25]]), score=0.8123, method="search+ecc", ok=True
    )
    stored = registration.to_json()
    back = Registration.from_json(_through_a_row(stored))
    assert back.to_json() == stored
    assert np.array_equal(back.matrix, registration.matrix)
    assert (back.score, back.method, back.ok) == (0.8123, "search+ecc", True)


def test_zones_round_trip() -> None:
    zones = Zones(
        treated=[[10.0, 10.0], [50.0, 10.0], [50.0, 40.0]],
        reference=[[60.0, 10.0], [90.0, 10.0], [90.0, 40.0]],
        source="landmarks",
        treated_more=([[10.0, 60.0], [50.0, 60.0], [50.0, 90.0]],),
        treated_regions=("left_cheek", "right_cheek"),
        reference_regions=("forehead",),
    )
    stored = zones.to_json()
    back = Zones.from_json(_through_a_row(stored))
    assert back == zones and back.to_json() == stored


@pytest.fixture(scope="module")
def measured() -> tuple[Measurement, Measurement]:
    """A baseline with a chart (calibration with corners) and a moved follow-up (registration)."""
    spec = PhotoSpec(scene=SCENE, framing=FRAMING, chart=ChartPlacement(centre_px=(850.0, 410.0)), seed=3)
    base = render_photo(spec)
    zones = Zones(base.truth["zones"]["treated"], base.truth["zones"]["reference"], "manual")
    first = analyze(base.rgb, zones=zones)
    moved = FRAMING.follow_up(rotation_deg=3.0, scale=1.03, shift_mm=(1.0, -1.0))
    follow = render_photo(PhotoSpec(scene=SCENE, framing=moved, baseline=FRAMING, seed=4))
    baseline = Baseline(
        rgb=base.rgb,
        zones=zones,
        full_size=(FRAMING.width, FRAMING.height),
        px_per_mm=first.quality.px_per_mm,
        glcm_limits=first.glcm_limits,
    )
    return first, analyze(follow.rgb, baseline=baseline)


def test_a_measurement_reads_back_from_its_row_unchanged(measured: tuple[Measurement, Measurement]) -> None:
    for result in measured:
        stored = _through_a_row(result.to_json())
        back = Measurement.from_json(stored)
        assert back.to_json() == stored
        assert json.dumps(back.to_json()) == json.dumps(result.to_json())  # same keys, same order
        assert back.quality == result.quality and back.zones.to_json() == result.zones.to_json()
        assert back.metrics == result.metrics and back.metric_version == result.metric_version
    first, follow = measured
    assert first.calibration.method == "chart" and first.calibration.chart_corners
    assert follow.registration is not None  # ok or not, it is stored and read back as it was
    back = Measurement.from_json(_through_a_row(follow.to_json()))
    assert back.registration is not None
    assert np.array_equal(back.registration.matrix, follow.registration.matrix)
    assert (back.registration.score, back.registration.ok) == (
        follow.registration.score,
        follow.registration.ok,
    )
