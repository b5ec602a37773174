"""Analysis as a use case: on import, per series, re-analysis, failures."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from tests import images
from tracker.app import courses, jobs, measurements, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.domain import PhotoStatus, Role
from tracker.imaging.zones import Zones
from tracker.ingest import Rejected
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AnalysisResult, Photo, PhotoSeries, RemeasureJob
from tracker_dev.synth import ChartPlacement, Framing, PhotoSpec, SkinScene, render_photo

SCENE = SkinScene(
    seed=9, blood_reference=0.015, blood_treated=0.02, melanin_reference=0.03, melanin_treated=0.03
)
BASE = Framing(px_per_mm=21.0, width=1000, height=750)


def _jpeg(rgb: np.ndarray, when: str) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def renders() -> dict[str, dict]:  # type: ignore[type-arg]
    follow = BASE.follow_up(rotation_deg=-3.0, scale=1.03, shift_mm=(1.0, 1.0))
    wide = Framing(px_per_mm=21.0, width=1500, height=1000)
    specs = {
        "baseline": PhotoSpec(scene=SCENE, framing=BASE, seed=1),
        "followup": PhotoSpec(scene=SCENE, framing=follow, baseline=BASE, seed=2),
        "chart": PhotoSpec(
            scene=SCENE, framing=wide, baseline=BASE, chart=ChartPlacement(centre_px=(1180.0, 500.0)), seed=3
        ),
    }
    out = {}
    for name, spec in specs.items():
        rendered = render_photo(spec)
        out[name] = {"rgb": rendered.rgb, "truth": rendered.truth}
    return out


WHEN = {"baseline": "2026:06:01 09:40:00", "followup": "2026:06:02 09:40:00", "chart": "2026:06:03 09:40:00"}


def _upload(app: App, actor: Actor, client_id: int, renders: dict, name: str) -> photos.Imported:  # type: ignore[type-arg]
    rgb = renders[name]["rgb"]
    return photos.import_photo(
        Context(app, actor), client_id, _jpeg(rgb, WHEN[name]), f"{name}.jpg", create_session=True
    )


def _baseline_with_true_zones(app: App, actor: Actor, client_id: int, renders: dict) -> dict:  # type: ignore[type-arg]
    """Upload the baseline render and draw the renderer's own zones on it; → those zones."""
    _upload(app, actor, client_id, renders, "baseline")
    truth: dict = renders["baseline"]["truth"]["zones"]  # type: ignore[type-arg]
    measurements.set_series_zones(
        Context(app, actor), client_id, Zones(truth["treated"], truth["reference"], "x")
    )
    return truth


def _results(app: App) -> dict[int, AnalysisResult]:
    with app.uow() as uow:
        return {r.photo_id: r for r in uow.session.scalars(select(AnalysisResult))}


def test_import_measures_the_photo_and_starts_a_series(
    app: App, operator: Actor, client_id: int, renders
) -> None:  # type: ignore[no-untyped-def]
    done = _upload(app, operator, client_id, renders, "baseline")
    assert done.analysis is not None and done.analysis.ok
    result = _results(app)[done.photo_id]
    assert result.metrics["ei"] is not None and result.zones["source"] == "auto-skin"
    with app.uow() as uow:
        series = uow.session.scalars(select(PhotoSeries)).one()
        assert series.baseline_photo_id == done.photo_id and series.zones["source"] == "auto-skin"
        assert uow.session.get(Photo, done.photo_id).status is PhotoStatus.ANALYSED  # type: ignore[union-attr]
    # Read back typed: the same JSON as the row, and the verdict the analysis decided.
    ctx = Context(app, operator)
    typed = measurements.latest_result(ctx, done.photo_id)
    assert typed is not None and typed.to_json() == result.to_json()
    assert done.analysis.analysis is not None
    assert typed.quality.usable_for_trends == done.analysis.analysis.quality.usable_for_trends
    info = measurements.series_info(ctx, client_id)
    assert info is not None and info.baseline_photo_id == done.photo_id
    assert info.zones is not None and info.zones.to_json() == result.zones


def test_zones_drawn_on_the_baseline_are_carried_and_the_chart_sets_the_scale(
    app: App,
    operator: Actor,
    client_id: int,
    renders,  # type: ignore[no-untyped-def]
) -> None:
    ids = {}
    ids["baseline"] = _upload(app, operator, client_id, renders, "baseline").photo_id
    truth = renders["baseline"]["truth"]["zones"]
    assert (
        measurements.set_series_zones(
            Context(app, operator), client_id, Zones(truth["treated"], truth["reference"], "x")
        )
        == 1
    )
    ids["followup"] = _upload(app, operator, client_id, renders, "followup").photo_id
    results = _results(app)
    assert results[ids["baseline"]].metrics["delta_ei"] is not None
    assert results[ids["baseline"]].metrics["texture_dog"] is None  # no scale known yet
    carried = np.array(results[ids["followup"]].zones["treated"])
    assert np.abs(carried - np.array(renders["followup"]["truth"]["zones"]["treated"])).max() < 2.0

    ids["chart"] = _upload(app, operator, client_id, renders, "chart").photo_id
    # The upload returned once its own photo was measured; the others wait in a job.
    waiting = jobs.progress(Context(app, operator), client_id)
    assert waiting is not None and not waiting.running
    assert _results(app)[ids["baseline"]].metrics["texture_dog"] is None
    assert jobs.run_pending(app) == 1
    assert jobs.progress(Context(app, operator), client_id) is None
    with app.uow() as uow:
        job = uow.session.scalars(select(RemeasureJob)).one()
        assert (job.done, job.total, job.error) == (2, 2, "") and job.finished_at is not None
    with app.uow() as uow:
        series = uow.session.scalars(select(PhotoSeries)).one()
        assert series.px_per_mm == pytest.approx(21.0, rel=0.03)
        assert series.px_per_mm_source.startswith(f"chart in photo {ids['chart']}")
        assert series.glcm_limits is not None
    results = _results(app)
    for name, pid in ids.items():  # the earlier photos were measured again with the scale
        assert results[pid].metrics["texture_dog"] is not None, name
        assert results[pid].quality["px_per_mm"] == pytest.approx(
            21.0 * (1.03 if name == "followup" else 1), rel=0.03
        )


def test_a_photo_without_skin_is_kept_with_the_reason(app: App, operator: Actor, client_id: int) -> None:
    data = images.encode(images.quadrants(800, 600), "JPEG")
    done = photos.import_photo(Context(app, operator), client_id, data, "wall.jpg", create_session=True)
    assert done.analysis is not None and not done.analysis.ok
    assert "no skin" in done.analysis.message
    with app.uow() as uow:
        photo = uow.session.get(Photo, done.photo_id)
        assert photo is not None and photo.status is PhotoStatus.ANALYSIS_FAILED
        assert "no skin" in photo.status_detail


def test_reanalyze_recomputes_only_older_versions_unless_all(
    app: App,
    operator: Actor,
    client_id: int,
    renders,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    _upload(app, operator, client_id, renders, "baseline")
    assert measurements.reanalyze(app) == (0, [])
    assert measurements.reanalyze(app, everything=True)[0] == 1
    monkeypatch.setattr(measurements, "METRIC_VERSION", "9999.1")
    count, failures = measurements.reanalyze(app)
    assert (count, failures) == (1, [])


def test_results_are_out_of_reach_for_another_clinic(app: App, operator: Actor, client_id: int) -> None:
    courses.record_session(Context(app, operator), client_id, 1, datetime(2026, 5, 4, 10))
    data = images.encode(images.noisy(), "JPEG")
    done = photos.import_photo(
        Context(app, operator), client_id, data, "x.jpg", session_number=1, analyse=False
    )
    stranger = Actor.operator(courses.ensure_clinic(app, "Elsewhere"))
    with pytest.raises(PermissionDenied):
        measurements.latest_result(Context(app, stranger), done.photo_id)
    with pytest.raises(PermissionDenied):
        measurements.analyze_photo(Context(app, stranger), done.photo_id)


def test_redrawn_zones_reach_follow_ups_measured_with_a_kept_baseline(
    app: App,
    operator: Actor,
    client_id: int,
    renders,  # type: ignore[no-untyped-def]
) -> None:
    truth = _baseline_with_true_zones(app, operator, client_id, renders)
    follow_id = _upload(app, operator, client_id, renders, "followup").photo_id  # keeps the baseline
    before = np.array(_results(app)[follow_id].zones["treated"])
    shifted = [[x + 40.0, y] for x, y in truth["treated"]]
    measurements.set_series_zones(Context(app, operator), client_id, Zones(shifted, truth["reference"], "x"))
    after = np.array(_results(app)[follow_id].zones["treated"])
    moved = (after - before)[:, 0]
    assert np.all(np.abs(moved - moved.mean()) < 1.0) and 35.0 < moved.mean() < 45.0  # 40 px / scale


def test_zones_that_cannot_measure_are_refused_and_the_old_ones_kept(
    app: App,
    operator: Actor,
    client_id: int,
    renders,  # type: ignore[no-untyped-def]
) -> None:
    truth = _baseline_with_true_zones(app, operator, client_id, renders)
    with app.uow() as uow:
        kept = uow.session.scalars(select(PhotoSeries)).one().zones
    overlapping = Zones(truth["treated"], truth["treated"], "manual")
    with pytest.raises(Rejected, match="reference zone overlaps the treated zone"):
        measurements.set_series_zones(Context(app, operator), client_id, overlapping)
    outside = Zones([[-50.0, 10.0], [300.0, 10.0], [300.0, 200.0]], truth["reference"], "manual")
    with pytest.raises(Rejected, match="treated zone reaches outside the photo"):
        measurements.set_series_zones(Context(app, operator), client_id, outside)
    with app.uow() as uow:
        assert uow.session.scalars(select(PhotoSeries)).one().zones == kept


def test_a_known_length_on_the_baseline_gives_the_scale_and_texture(
    app: App,
    operator: Actor,
    client_id: int,
    renders,  # type: ignore[no-untyped-def]
) -> None:
    base_id = _upload(app, operator, client_id, renders, "baseline").photo_id
    follow_id = _upload(app, operator, client_id, renders, "followup").photo_id
    truth = renders["baseline"]["truth"]["zones"]
    measurements.set_series_zones(
        Context(app, operator), client_id, Zones(truth["treated"], truth["reference"], "x")
    )
    assert _results(app)[base_id].metrics["texture_dog"] is None  # no chart: no scale yet
    with pytest.raises(Rejected, match="only 40 px apart"):
        measurements.set_series_scale(
            Context(app, operator), client_id, ((100.0, 375.0), (140.0, 375.0)), 2.0
        )
    own = Actor(label="me@y", role=Role.CLIENT, clinic_id=operator.clinic_id, client_id=client_id)
    with pytest.raises(PermissionDenied):
        measurements.set_series_scale(Context(app, own), client_id, ((100.0, 375.0), (900.0, 375.0)), 38.1)
    with app.uow() as uow:
        assert uow.session.scalars(select(PhotoSeries)).one().px_per_mm is None  # refused: nothing changed

    # the render is 21 px/mm: 800 px is 38.1 mm
    ends = ((100.0, 375.0), (900.0, 375.0))
    assert measurements.set_series_scale(Context(app, operator), client_id, ends, 800 / 21) == 2
    with app.uow() as uow:
        series = uow.session.scalars(select(PhotoSeries)).one()
        assert series.px_per_mm == pytest.approx(21.0)
        assert series.px_per_mm_source == f"measured: {800 / 21:g} mm on photo {base_id}"
    results = _results(app)
    assert results[base_id].metrics["texture_dog"] is not None
    assert results[follow_id].metrics["texture_dog"] is not None  # carried by registration
    assert results[follow_id].quality["px_per_mm"] == pytest.approx(21.0 * 1.03, rel=0.02)
