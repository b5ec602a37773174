"""Charts: the Vega-Lite specs carry the noise band, session rules and the quality gate,
and render to PNG offline. Run on the demo clinic, whose courses are known."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from PIL import Image

from tracker.app.charts import NOT_USED, chart_png, metric_chart, recovery_chart
from tracker.app.context import Context
from tracker.app.courses import course_progress
from tracker.app.demo import DemoResult
from tracker.bootstrap import App
from tracker.permissions import Actor
from tracker.progress.assessment import CourseProgress

TODAY = date(2026, 11, 21)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def linh(demo_loaded: tuple[App, DemoResult]) -> CourseProgress:
    app, demo = demo_loaded
    actor = Actor.operator(demo.clinic_id)
    with app.uow() as uow:
        (client,) = uow.repo.clients_named(demo.clinic_id, "Linh Nguyễn")
    return course_progress(Context(app, actor), client.id, TODAY)


def layers(chart: Any) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each named layer's spec and its data rows (Altair moves inline data to `datasets`)."""
    spec = chart.to_dict()
    out = {}
    for layer in spec["layer"]:
        data = layer.get("data", {})
        rows = spec["datasets"][data["name"]] if "name" in data else data.get("values", [])
        out[layer["name"]] = (layer, rows)
    return out


def mark(layer: dict[str, Any]) -> dict[str, Any]:
    m = layer["mark"]
    return m if isinstance(m, dict) else {"type": m}


def test_chart_png_is_a_readable_png_rendered_offline(linh: CourseProgress) -> None:
    for chart in (metric_chart(linh, "delta_ei"), recovery_chart(linh)):
        png = chart_png(chart, scale=1)
        assert png.startswith(PNG_MAGIC)
        with Image.open(io.BytesIO(png)) as img:
            img.load()
            assert 600 < img.width <= 800  # readable at 800 px wide without scaling down
        with Image.open(io.BytesIO(chart_png(chart))) as img:
            assert img.width > 1200  # scale 2 for print


def test_metric_chart_has_the_noise_band_session_rules_and_unit(linh: CourseProgress) -> None:
    summary = linh.to_json()["metrics"]["delta_ei"]
    base, sdc = summary["baseline"], summary["noise_band"]["sdc"]
    chart = metric_chart(linh, "delta_ei")
    named = layers(chart)

    band, (band_row,) = named["noise_band"]
    assert mark(band)["type"] == "rect" and {"y", "y2"} <= set(band["encoding"])
    assert (band_row["lo"], band_row["hi"]) == pytest.approx((base - sdc, base + sdc))

    rules, rule_rows = named["session_rules"]
    assert mark(rules)["type"] == "rule" and rules["encoding"]["x"]["field"] == "days"
    assert [r["label"] for r in rule_rows] == [f"S{s.number}" for s in linh.sessions]
    assert rule_rows[0]["days"] == 0.0
    _, label_rows = named["session_labels"]
    assert [r["label"] for r in label_rows] == ["S1", "S2", "S3", "S4"]

    line, line_rows = named["before_line"]
    assert mark(line)["type"] == "line"
    assert {r["kind"] for r in line_rows} == {"before"}
    assert line["encoding"]["y"]["title"] == "Redness, points"  # plain words: tracker/glossary.py
    tooltip_fields = {t["field"] for t in line["encoding"]["tooltip"]}
    assert {"photo_id", "taken", "value", "quality"} <= tooltip_fields
    _, other_rows = named["other_kinds"]
    assert {r["kind"] for r in other_rows} == {"after", "checkin"}

    before_only = layers(metric_chart(linh, "delta_ei", other_kinds=False))
    assert before_only["other_kinds"][1] == []


def test_points_under_the_quality_gate_are_hollow_grey_and_left_out_of_the_line(
    linh: CourseProgress,
) -> None:
    photos = linh.photos
    blurry = int(photos.photo_id[photos.kind == "before"][-1])
    hit = photos.photo_id == blurry
    usable, quality = photos.usable.copy(), photos.quality.copy()
    usable[hit], quality[hit] = False, 0.3
    named = layers(
        metric_chart(replace(linh, photos=replace(photos, usable=usable, quality=quality)), "texture_dog")
    )

    hollow, rows = named["not_used"]
    assert mark(hollow)["type"] == "point" and mark(hollow)["filled"] is False
    assert [(r["photo_id"], r["series"]) for r in rows] == [(blurry, NOT_USED)]
    assert blurry not in {r["photo_id"] for r in named["before_line"][1]}
    colours = dict(
        zip(
            hollow["encoding"]["color"]["scale"]["domain"],
            hollow["encoding"]["color"]["scale"]["range"],
            strict=True,
        )
    )
    assert colours[NOT_USED] == "#9e9e9e"


def test_recovery_chart_has_each_sessions_curve_and_the_normal_window(linh: CourseProgress) -> None:
    named = layers(recovery_chart(linh))
    window, (window_row,) = named["normal_window"]
    assert mark(window)["type"] == "rect" and (window_row["start"], window_row["end"]) == (0.0, 48.0)

    _, curve_rows = named["fitted_curves"]
    assert {r["session_label"] for r in curve_rows} == {"S1", "S2", "S3", "S4"}
    s1 = linh.sessions[0].recovery
    assert s1 is not None and s1.pre_level is not None
    start = next(r for r in curve_rows if r["session_label"] == "S1" and r["hours"] == 0.0)
    assert start["value"] == pytest.approx(s1.excess_at(0.0) + s1.pre_level)  # type: ignore[operator]

    _, point_rows = named["points"]
    assert point_rows and {r["kind"] for r in point_rows} == {"after", "checkin"}
    assert all(r["hours"] >= 0 for r in point_rows)

    only_two = layers(recovery_chart(linh, sessions=[2]))
    assert {r["session_label"] for r in only_two["fitted_curves"][1]} == {"S2"}
    assert {r["session"] for r in only_two["points"][1]} == {2}
