"""The committed demo set (sample_photos/): manifest, files, story and reproducibility."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from tracker.domain import Concern, Contraindication, PhotoKind
from tracker_dev.synth.camera import srgb_decode
from tracker_dev.synth.demo_set import clients, photo_plans, render_plan
from tracker_dev.synth.scene import polygon_mask

SAMPLE = Path(__file__).resolve().parents[2] / "sample_photos"
TODAY = datetime(2026, 11, 21)


@cache
def _manifest() -> dict[str, Any]:
    path = SAMPLE / "manifest.json"
    if not path.is_file():
        pytest.fail("sample_photos/manifest.json missing; run `python -m tracker_dev.synth sample_photos/`")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _photos() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(c, p) for c in _manifest()["clients"] for p in c["photos"]]


def _upright(photo: dict[str, Any]) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(SAMPLE / photo["file"]))


def _inside(polygon: Any, points: Any) -> bool:
    contour = np.asarray(polygon, np.float32).reshape(-1, 1, 2)
    return all(cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y in points)


def test_manifest_has_the_agreed_shape() -> None:
    m = _manifest()
    assert set(m) == {"version", "generator", "white_point", "clinic", "clients"}
    assert (m["version"], m["generator"], m["white_point"]) == (1, "tracker_dev.synth", "D65")
    assert m["clinic"] == {"name": "Demo Skin Clinic"}
    client_keys = {
        "key",
        "name",
        "first_name",
        "date_of_birth",
        "skin_tone",
        "intake",
        "course",
        "recovery",
        "sessions",
        "photos",
    }
    truth_keys = {
        "blood_treated",
        "blood_reference",
        "melanin_treated",
        "melanin_reference",
        "texture",
        "illuminant",
        "exposure",
        "wb_error",
        "camera",
        "px_per_mm",
        "width",
        "height",
        "zones",
        "skin_region",
        "chart",
        "pose_to_baseline",
        "exif_orientation",
        "ita_deg_reference",
    }
    for c in m["clients"]:
        assert set(c) == client_keys
        assert set(c["intake"]) == {"contraindications", "notes"}
        assert set(c["course"]) == {"concern", "planned_sessions", "interval_weeks", "body_area"}
        assert set(c["recovery"]) == {"tau_hours", "peak_extra_blood", "slow"}
        for s in c["sessions"]:
            assert set(s) == {
                "number",
                "at",
                "device",
                "needle_depth_mm",
                "passes",
                "serum",
                "price",
                "notes",
            }
        for p in c["photos"]:
            assert set(p) == {"file", "session", "kind", "taken_at", "hours_since_session", "truth"}
            assert truth_keys <= set(p["truth"])
            assert set(p["truth"]["zones"]) == {"treated", "reference"}


def test_every_photo_decodes_and_matches_its_truth() -> None:
    for _client, p in _photos():
        t = p["truth"]
        img = Image.open(SAMPLE / p["file"])
        img.load()
        exif = img.getexif()
        assert exif.get_ifd(0x8769)[0x9003] == datetime.fromisoformat(p["taken_at"]).strftime(
            "%Y:%m:%d %H:%M:%S"
        ), p["file"]
        assert exif[0x0132] == exif.get_ifd(0x8769)[0x9003]
        assert exif.get(0x0112, 1) == t["exif_orientation"]
        upright = ImageOps.exif_transpose(img)
        assert upright.size == (t["width"], t["height"]), p["file"]
        assert t["px_per_mm"] >= 20.0
        w, h = t["width"], t["height"]
        skin = t["skin_region"]["polygon"]
        for zone in ("treated", "reference"):
            pts = np.asarray(t["zones"][zone])
            assert pts.shape[1] == 2 and len(pts) >= 3
            assert (pts >= 0).all() and (pts[:, 0] <= w - 1).all() and (pts[:, 1] <= h - 1).all(), p["file"]
            assert _inside(skin, pts), (p["file"], zone)
            if t["chart"]:
                assert not _inside(t["chart"]["corners"], pts[:1]) and not any(
                    _inside(t["chart"]["corners"], [q]) for q in pts
                ), (p["file"], zone)
        if t["chart"]:
            corners = np.asarray(t["chart"]["corners"])
            assert corners.shape == (4, 2) and len(t["chart"]["size_mm"]) == 2
            assert (corners >= 0).all() and (corners[:, 0] < w).all() and (corners[:, 1] < h).all()


def test_total_size_is_within_budget() -> None:
    total = sum(f.stat().st_size for f in SAMPLE.rglob("*") if f.is_file())
    assert total <= 25_000_000, total


def test_clients_cover_tones_courses_and_intake() -> None:
    m = _manifest()
    tones = {c["skin_tone"] for c in m["clients"]}
    assert tones == {"light", "medium", "dark"}
    assert len({c["name"] for c in m["clients"]}) == len(m["clients"]) >= 3
    assert len({c["first_name"].lower() for c in m["clients"]}) == len(m["clients"])
    assert any(any(ord(ch) > 255 for ch in c["name"]) for c in m["clients"])  # beyond Latin-1
    assert any(c["intake"]["contraindications"] for c in m["clients"])
    for c in m["clients"]:
        date.fromisoformat(c["date_of_birth"])
        assert all(Contraindication(x) for x in c["intake"]["contraindications"])
        Concern(c["course"]["concern"])
        sessions = c["sessions"]
        assert 4 <= len(sessions) == c["course"]["planned_sessions"] <= 6
        assert 4 <= c["course"]["interval_weeks"] <= 6
        assert [s["number"] for s in sessions] == list(range(1, len(sessions) + 1))
        times = [datetime.fromisoformat(s["at"]) for s in sessions]
        gaps = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(times)]
        assert all(27 <= g <= 43 for g in gaps), (c["key"], gaps)
        assert times[0].year == 2026 and times[-1].month == 11 and times[-1].day <= 15
        for s in sessions:
            assert s["device"] and s["serum"] and s["passes"] > 0
            assert 0.25 <= s["needle_depth_mm"] <= 2.5 and 100 <= s["price"] <= 900


def test_each_session_has_before_after_and_checkins() -> None:
    for c in _manifest()["clients"]:
        by_session: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for p in c["photos"]:
            by_session[p["session"]].append(p)
            assert datetime.fromisoformat(p["taken_at"]) < TODAY
        assert sorted(by_session) == [s["number"] for s in c["sessions"]]
        for number, photos in by_session.items():
            kinds = [PhotoKind(p["kind"]) for p in photos]
            befores = kinds.count(PhotoKind.BEFORE)
            assert (2 <= befores <= 3) if number == 1 else befores == 1
            assert kinds.count(PhotoKind.AFTER) == 1
            hours = sorted(p["hours_since_session"] for p in photos if p["kind"] == "checkin")
            assert len(hours) == 3
            assert all(abs(h - target) <= 6 for h, target in zip(hours, (24, 72, 168), strict=True))
            after = next(p for p in photos if p["kind"] == "after")
            assert 0.2 <= after["hours_since_session"] <= 0.55
            assert all(p["hours_since_session"] < 0 for p in photos if p["kind"] == "before")
            session_at = datetime.fromisoformat(c["sessions"][number - 1]["at"])
            for p in photos:
                lag = (datetime.fromisoformat(p["taken_at"]) - session_at).total_seconds() / 3600
                assert abs(lag - p["hours_since_session"]) < 0.01


def test_ita_truth_matches_the_skin_tone_labels() -> None:
    bands = {"light": (41.0, 90.0), "medium": (10.0, 41.0), "dark": (-90.0, -10.0)}
    for c, p in _photos():
        lo, hi = bands[c["skin_tone"]]
        assert lo < p["truth"]["ita_deg_reference"] < hi, (p["file"], p["truth"]["ita_deg_reference"])


def _delta_ei(photo: dict[str, Any]) -> float:
    """Paired erythema index (treated − reference medians) measured on the JPEG pixels."""
    lin = srgb_decode(np.asarray(_upright(photo).convert("RGB")))
    ei = 100 * np.log10(np.maximum(lin[..., 0], 1e-4) / np.maximum(lin[..., 1], 1e-4))
    t = photo["truth"]
    medians = []
    for zone in ("treated", "reference"):
        mask = polygon_mask(t["zones"][zone], t["height"], t["width"]) > 0.5
        medians.append(float(np.median(ei[mask])))
    return medians[0] - medians[1]


def test_exactly_one_slow_recoverer_and_redness_fades_in_the_pixels() -> None:
    m = _manifest()
    slow = [c for c in m["clients"] if c["recovery"]["slow"]]
    assert len(slow) == 1
    for c in m["clients"]:
        tau, peak = c["recovery"]["tau_hours"], c["recovery"]["peak_extra_blood"]
        assert (60 <= tau <= 80) if c["recovery"]["slow"] else (10 <= tau <= 16)
        photos = {p["file"].split("/")[-1]: p for p in c["photos"] if p["session"] == 1}
        after, day1, day3, day7 = (photos[f"s1_{k}.jpg"] for k in ("after", "day1", "day3", "day7"))
        assert after["truth"]["blood_treated"] - after["truth"]["blood_reference"] > 0.9 * peak
        ei = {k: _delta_ei(p) for k, p in (("after", after), ("day1", day1), ("day3", day3), ("day7", day7))}
        assert ei["after"] > 8.0, (c["key"], ei)
        assert ei["after"] > ei["day1"] > ei["day7"], (c["key"], ei)
        if c["recovery"]["slow"]:
            assert ei["day3"] > 0.2 * ei["after"], (c["key"], ei)  # still clearly red at 72 h
        else:
            assert ei["day3"] < 0.1 * ei["after"], (c["key"], ei)


def test_texture_improves_and_charts_appear_in_some_frames() -> None:
    photos = _photos()
    with_chart = sum(1 for _c, p in photos if p["truth"]["chart"])
    assert 0.1 <= with_chart / len(photos) <= 0.3
    for c in _manifest()["clients"]:
        befores: dict[int, float] = {}
        for p in c["photos"]:
            if p["kind"] == "before":
                befores.setdefault(p["session"], p["truth"]["texture"]["depth_factor"])
        factors = [befores[n] for n in sorted(befores)]
        assert all(b < a for a, b in itertools.pairwise(factors))
        assert 0.82 <= factors[1] / factors[0] <= 0.92
        assert np.allclose(c["photos"][0]["truth"]["pose_to_baseline"], [[1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("file", ["linh/s2_day3.jpg", "adaeze/s4_before.jpg"])
def test_regenerating_a_photo_reproduces_truth_and_pixels(file: str) -> None:
    key = file.split("/")[0]
    entry = next(c for c in _manifest()["clients"] if c["key"] == key)
    stored = next(p for p in entry["photos"] if p["file"] == file)
    plan = next(p for p in photo_plans(next(c for c in clients() if c.key == key)) if p.file == file)
    rgb, truth = render_plan(plan)
    assert truth == stored["truth"]
    assert plan.taken_at.isoformat(timespec="seconds") == stored["taken_at"]
    decoded = np.asarray(_upright(stored).convert("RGB"), dtype=np.float64)
    assert decoded.shape == rgb.shape
    # JPEG drops sensor noise and chroma detail; compare at a scale where the content lives.
    blur_decoded = cv2.GaussianBlur(decoded, (0, 0), 2.0)
    blur_rendered = cv2.GaussianBlur(rgb.astype(np.float64), (0, 0), 2.0)
    assert np.abs(blur_decoded - blur_rendered).mean() < 1.0


def test_opencv_mcc_finds_every_chart_in_the_set() -> None:
    for _c, p in _photos():
        chart = p["truth"]["chart"]
        if not chart:
            continue
        bgr = cv2.cvtColor(np.asarray(_upright(p).convert("RGB")), cv2.COLOR_RGB2BGR)
        detector = cv2.mcc.CCheckerDetector.create()
        detector.setColorChartType(cv2.mcc.MCC24)
        assert detector.process(bgr, 1), p["file"]
        box = np.asarray(detector.getBestColorChecker().getBox())
        grid = np.asarray(chart["grid_corners"])
        # mcc's box is approximate: centre within a few px, corners within ~0.2 patch pitch.
        assert np.abs(box.mean(axis=0) - grid.mean(axis=0)).max() < 5.0, p["file"]
        assert np.abs(box - grid).max() < 20.0, p["file"]
