"""Analysis use cases: measure stored photos and keep their series consistent.

A series (one per treatment course) holds what makes weeks comparable: the baseline photo,
the zones drawn on it, the scale (px/mm) and the texture quantisation limits. When one of
those facts changes — zones redrawn, or the scale learnt from a chart in a later photo —
every photo of the series is measured again, so a trend never mixes two definitions.

The zone geometry the editor draws (Zones, Polygon, from_points, LANDMARKS) is named here
with `import x as x`, so that the ui imports only tracker.app.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image

from tracker.app import audit
from tracker.app.context import Context, one_publication
from tracker.application import App
from tracker.domain import DEFAULT_TREATED_REGIONS, Concern, PhotoStatus
from tracker.errors import Refused
from tracker.imaging.analyze import Analysis, Baseline, Measurement, NoZones, Options, analyze
from tracker.imaging.calibration import Calibration
from tracker.imaging.colour import ita_group, representative_ita
from tracker.imaging.face_regions import RegionChoice
from tracker.imaging.quality import Quality
from tracker.imaging.scale import scale_from_length
from tracker.imaging.version import METRIC_VERSION
from tracker.imaging.zones import LANDMARKS as LANDMARKS
from tracker.imaging.zones import Polygon as Polygon
from tracker.imaging.zones import Zones as Zones
from tracker.imaging.zones import check_zones
from tracker.imaging.zones import from_points as from_points
from tracker.ingest import Ingested, ingest
from tracker.permissions import Actor, require_client_access, require_staff
from tracker.regions import regions_for
from tracker.store.models import Photo, PhotoSeries
from tracker.store.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    photo_id: int
    ok: bool
    message: str  # the failure, in words for the uploader; "" when ok
    analysis: Analysis | None = None


@dataclass(frozen=True)
class SeriesInfo:
    """A client's current series as the zone and region editors show it."""

    baseline_photo_id: int | None
    zones: Zones | None  # in baseline pixels
    px_per_mm: float | None
    px_per_mm_source: str


def analyze_photo(
    ctx: Context,
    photo_id: int,
    *,
    image: Ingested | None = None,
    cascade: bool = True,
) -> Outcome:
    """Measure one stored photo and store the result under the current metric version.

    `image` is the decode from ingest when the photo was just uploaded; otherwise the stored
    original is decoded again. Never raises for a bad photo: the failure is recorded on the
    photo (status analysis_failed) and returned, because the upload itself must not be lost.
    """
    app, actor = ctx.app, ctx.actor
    with ctx.uow() as uow:
        photo = _photo_for(uow, actor, photo_id)
        series = _series_for(uow, actor, photo)
        is_baseline = uow.repo.claim_baseline(series, photo.id)
        baseline = None if is_baseline else _baseline_context(app, uow, actor.clinic_id, series)
        # Only zones a person drew are kept as they are; automatic ones are found again (from
        # the face's landmarks and the course's regions, which may have changed since).
        drawn = _manual_zones(series)
        zones = drawn if is_baseline else None
        px_per_mm = series.px_per_mm if is_baseline else None
        regions = _region_choice(uow, actor.clinic_id, series.course_id)
        original = photo.original_sha256
        uow.commit()

    try:
        decoded = image if image is not None else ingest(app.blobs.get(original), "original", app.limits)
        result = analyze(
            decoded.rgb,
            zones=zones,
            baseline=baseline,
            px_per_mm=px_per_mm,
            options=_options(app),
            regions=regions,
            camera=decoded.camera or None,
        )
    except (NoZones, Refused) as exc:
        return _record_failure(ctx, photo_id, str(exc))
    except Exception as exc:  # an analysis bug must not lose the upload; log it loudly
        log.exception("analysis of photo %s failed", photo_id)
        return _record_failure(ctx, photo_id, f"analysis failed ({type(exc).__name__}); the photo is kept")

    series_changed = False
    with ctx.uow() as uow:
        photo = _photo_for(uow, actor, photo_id)
        series = _series_for(uow, actor, photo)
        if is_baseline:
            if _manual_zones(series) is None:
                # Proposed zones become the series' zones; landmark zones are found again on
                # every photo, and the baseline's are what a practitioner sees and can redraw.
                series.zones = result.zones.to_json()
            if result.glcm_limits and series.glcm_limits != list(result.glcm_limits):
                series.glcm_limits = list(result.glcm_limits)
                series_changed = True
            if not series.px_per_mm and result.baseline_px_per_mm:
                series.px_per_mm = result.baseline_px_per_mm
                series.px_per_mm_source = f"chart in photo {photo.id}"
        elif not series.px_per_mm and result.baseline_px_per_mm:
            series.px_per_mm = result.baseline_px_per_mm
            series.px_per_mm_source = f"chart in photo {photo.id}, via registration"
            series_changed = True
        uow.repo.save_result(actor.clinic_id, photo.id, result.to_json())
        photo.status = PhotoStatus.ANALYSED
        photo.status_detail = ""
        _update_skin_tone(uow, actor, photo.client_id)
        series_id = series.id
        if cascade and series_changed:
            # This photo was measured with the new facts already; the others were not. They
            # are measured again off the request path (tracker.app.jobs), queued with the change.
            uow.repo.queue_remeasure(actor.clinic_id, series.course_id, skip={photo_id})
        uow.commit()

    log.debug("analysed photo %s in series %s", photo_id, series_id)
    return Outcome(photo_id=photo_id, ok=True, message="", analysis=result)


@one_publication
def set_series_zones(
    ctx: Context,
    client_id: int,
    zones: Zones,
    *,
    px_per_mm: float | None = None,
) -> int:
    """Zones drawn (or corrected) on the baseline photo of the client's current course.
    Every photo of the series is measured again. Returns the number of photos analysed."""
    actor = ctx.actor
    with ctx.uow() as uow:
        series, baseline = _current_series(uow, actor, client_id, "drawing zones")
        try:
            check_zones(zones, (baseline.width, baseline.height), px_per_mm or series.px_per_mm)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        series.zones = Zones(zones.treated, zones.reference, "manual").to_json()
        series.glcm_limits = None  # re-derived from the baseline's new zone
        if px_per_mm:
            series.px_per_mm, series.px_per_mm_source = px_per_mm, "given"
        audit.record(uow, actor, "set_zones", "photo_series", series.id)
        course_id = series.course_id
        uow.commit()
    return reanalyze_series(ctx, course_id)


@one_publication
def set_series_scale(
    ctx: Context,
    client_id: int,
    ends: tuple[tuple[float, float], tuple[float, float]],
    length_mm: float,
) -> int:
    """The series' scale from a known length measured on the baseline photo (its full-
    resolution pixels). It replaces any scale the series had, a chart's included: a person
    measured it on purpose. Every photo is measured again; returns how many."""
    actor = ctx.actor
    with ctx.uow() as uow:
        series, baseline = _current_series(uow, actor, client_id, "measuring its scale")
        try:
            px_per_mm = scale_from_length(ends[0], ends[1], length_mm, (baseline.width, baseline.height))
        except ValueError as exc:
            raise Refused(str(exc)) from None
        if series.zones:
            try:
                check_zones(Zones.from_json(series.zones), (baseline.width, baseline.height), px_per_mm)
            except ValueError as exc:
                raise Refused(f"At this scale the zones no longer fit: {exc}") from None
        series.px_per_mm = px_per_mm
        series.px_per_mm_source = f"measured: {length_mm:g} mm on photo {baseline.id}"
        series.glcm_limits = None  # re-derived at the new pitch
        audit.record(uow, actor, "set_scale", "photo_series", series.id)
        course_id = series.course_id
        uow.commit()
    return reanalyze_series(ctx, course_id)


def _current_series(uow: UnitOfWork, actor: Actor, client_id: int, doing: str) -> tuple[PhotoSeries, Photo]:
    """Staff only: the series of the client's current course and its baseline photo."""
    require_staff(actor)
    client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
    course = uow.repo.current_course(client.id)
    if course is None:
        raise Refused("This client has no treatment course yet.")
    series = _series_by_course(uow, actor.clinic_id, course.id)
    baseline = uow.repo.photo(actor.clinic_id, series.baseline_photo_id) if series.baseline_photo_id else None
    if baseline is None:
        raise Refused(f"Upload a baseline photo before {doing}.")
    return series, baseline


@one_publication
def reanalyze_series(
    ctx: Context,
    course_id: int,
    *,
    skip: set[int] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Measure every photo of a series again, baseline first (it fixes the series facts).
    `on_progress(done, total)` is called before the first photo and after each. Staff of
    the course's clinic only (the series row it may create belongs to that clinic)."""
    actor = ctx.actor
    clinic_id = actor.clinic_id
    require_staff(actor)
    with ctx.uow() as uow:
        course = uow.repo.course(clinic_id, course_id)
        require_client_access(actor, uow.repo.client(clinic_id, course.client_id) if course else None)
        series = _series_by_course(uow, clinic_id, course_id)
        ids = uow.repo.course_photo_ids(clinic_id, course_id)
        baseline_id = series.baseline_photo_id
        uow.commit()
    if baseline_id in ids:
        ids.remove(baseline_id)
        ids.insert(0, baseline_id)
    todo = [pid for pid in ids if not (skip and pid in skip)]
    if on_progress is not None:
        on_progress(0, len(todo))
    for done, pid in enumerate(todo, start=1):
        analyze_photo(ctx, pid, cascade=False)
        if on_progress is not None:
            on_progress(done, len(todo))
    return len(todo)


def stale_photo_groups(app: App, *, everything: bool = False) -> list[tuple[int, int, list[int]]]:
    """(clinic id, client id, photo ids in series order) of the photos `stale_photos`
    picks, one group per client: a chunk of re-analysis one worker runs (a series'
    baseline must be measured before its follow-ups)."""
    with app.uow() as uow:
        rows = uow.repo.photos_for_measuring()
        current = uow.repo.photo_ids_measured(METRIC_VERSION)
    groups: dict[tuple[int, int], list[tuple[bool, datetime, int]]] = {}
    for clinic_id, photo_id, client_id, baseline_id, taken_at in rows:
        if everything or photo_id not in current:
            groups.setdefault((clinic_id, client_id), []).append(
                (photo_id != baseline_id, taken_at, photo_id)
            )
    return [
        (clinic, client, [pid for *_, pid in sorted(items)])
        for (clinic, client), items in sorted(groups.items())
    ]


def stale_photos(app: App, *, everything: bool = False) -> list[tuple[int, int]]:
    """(clinic id, photo id) of photos without a result of the current metric version, in
    series order (baseline first). With `everything`, all photos."""
    with app.uow() as uow:
        rows = uow.repo.photos_for_measuring()
        current = uow.repo.photo_ids_measured(METRIC_VERSION)
    chosen = [r for r in rows if everything or r[1] not in current]

    def series_order(row: tuple[int, int, int, int | None, datetime]) -> tuple[int, bool, datetime, int]:
        _clinic_id, photo_id, client_id, baseline_id, taken_at = row
        return client_id, photo_id != baseline_id, taken_at, photo_id  # baseline first per client

    return [(clinic_id, photo_id) for clinic_id, photo_id, *_ in sorted(chosen, key=series_order)]


def reanalyze(
    app: App, *, everything: bool = False, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
) -> tuple[int, list[str]]:
    """Recompute stored photos whose results are older than the current metric version.
    Returns (photos analysed, failure messages)."""
    todo = stale_photos(app, everything=everything)
    failures: list[str] = []
    wrap = progress or (lambda items: items)
    for clinic_id, photo_id in wrap(todo):
        outcome = analyze_photo(Context(app, Actor.operator(clinic_id)), photo_id, cascade=False)
        if not outcome.ok:
            failures.append(f"photo {photo_id}: {outcome.message}")
    return len(todo), failures


def latest_result(ctx: Context, photo_id: int) -> Measurement | None:
    """The photo's most recent result, whatever its metric version."""
    actor = ctx.actor
    with ctx.uow() as uow:
        photo = _photo_for(uow, actor, photo_id)
        row = uow.repo.latest_result(actor.clinic_id, photo.id)
        return Measurement.from_json(row.to_json()) if row is not None else None


def series_info(ctx: Context, client_id: int) -> SeriesInfo | None:
    """The client's current series: baseline photo, its zones (baseline pixels), scale."""
    actor = ctx.actor
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        course = uow.repo.current_course(client.id)
        if course is None:
            return None
        series = uow.repo.series_of_course(actor.clinic_id, course.id)
        if series is None:
            return None
        return SeriesInfo(
            baseline_photo_id=series.baseline_photo_id,
            zones=Zones.from_json(series.zones) if series.zones else None,
            px_per_mm=series.px_per_mm,
            px_per_mm_source=series.px_per_mm_source,
        )


# Helpers ------------------------------------------------------------------------------------


def _options(app: App) -> Options:
    return Options(patch_pitch_mm=app.settings.chart_patch_pitch_mm)


def _region_choice(uow: UnitOfWork, clinic_id: int, course_id: int) -> RegionChoice:
    """The face regions the course treats (the default for its concern until a practitioner
    records others) and the reference the practitioner chose, if any."""
    course = uow.repo.course(clinic_id, course_id)
    if course is None:
        return RegionChoice(treated=DEFAULT_TREATED_REGIONS[Concern.OTHER])
    treated, reference = regions_for(course)
    return RegionChoice(treated=treated, reference=reference or None)


def _photo_for(uow: UnitOfWork, actor: Actor, photo_id: int) -> Photo:
    photo = uow.repo.photo(actor.clinic_id, photo_id)
    client = uow.repo.client(actor.clinic_id, photo.client_id) if photo else None
    require_client_access(actor, client)
    assert photo is not None
    return photo


def _series_for(uow: UnitOfWork, actor: Actor, photo: Photo) -> PhotoSeries:
    course_id = uow.repo.course_id_of_session(photo.session_id)
    assert course_id is not None
    return _series_by_course(uow, actor.clinic_id, course_id)


def _series_by_course(uow: UnitOfWork, clinic_id: int, course_id: int) -> PhotoSeries:
    return uow.repo.series_made_for(clinic_id, course_id)


def _manual_zones(series: PhotoSeries) -> Zones | None:
    """The series' zones when a person drew them (kept as they are, never found again)."""
    zones = Zones.from_json(series.zones) if series.zones else None
    return zones if zones is not None and zones.source == "manual" else None


def _baseline_context(app: App, uow: UnitOfWork, clinic_id: int, series: PhotoSeries) -> Baseline | None:
    """The baseline's display copy (≤ 2048 px) is enough to register against and is far
    cheaper to decode than the original. Prepared Baselines are kept (a few, per process):
    a client uploads a day's photos together and a re-analysis walks a whole series, so
    decoding the display copy and building its registration pyramid once per series saves
    ~25 ms on every later photo. The key holds everything the Baseline is made of, so a
    redrawn zone or a new scale gives a new entry, never a stale one."""
    if series.baseline_photo_id is None or not series.zones:
        return None
    base = uow.repo.photo(clinic_id, series.baseline_photo_id)
    if base is None:
        return None
    glcm = (float(series.glcm_limits[0]), float(series.glcm_limits[1])) if series.glcm_limits else None
    facts = _baseline_facts(uow, clinic_id, base.id)
    key = (
        str(app.settings.data_dir),
        base.display_sha256,
        json.dumps(series.zones, sort_keys=True),
        (base.width, base.height),
        series.px_per_mm,
        glcm,
        facts,
    )
    with _BASELINES_LOCK:
        cached = _BASELINES.get(key)
        if cached is not None:
            _BASELINES.move_to_end(key)
            return cached
    with Image.open(io.BytesIO(app.blobs.get(base.display_sha256))) as img:
        display = np.asarray(img.convert("RGB"))
    display.setflags(write=False)  # shared between threads: nobody may change it
    prepared = Baseline(
        rgb=display,
        zones=Zones.from_json(series.zones),
        full_size=(base.width, base.height),
        px_per_mm=series.px_per_mm,
        glcm_limits=glcm,
        face_yaw_deg=facts[0],
        lighting_asymmetry=facts[1],
        camera=facts[2],
    )
    with _BASELINES_LOCK:
        _BASELINES[key] = prepared
        while len(_BASELINES) > KEPT_BASELINES:
            _BASELINES.popitem(last=False)
    return prepared


def _baseline_facts(
    uow: UnitOfWork, clinic_id: int, photo_id: int
) -> tuple[float | None, float | None, str | None]:
    """(head yaw, lighting asymmetry, camera) of the baseline's current analysis: what the
    quality of a later photo is compared with."""
    row = uow.repo.result(clinic_id, photo_id, METRIC_VERSION)
    if row is None or not row.quality:
        return None, None, None
    quality = Quality.from_json(row.quality)
    return quality.face_yaw_deg, quality.lighting_asymmetry, quality.camera or None


KEPT_BASELINES = 4  # ~20 MB each (display copy and pyramid)
_BASELINES: OrderedDict[tuple[Any, ...], Baseline] = OrderedDict()
_BASELINES_LOCK = threading.Lock()


def forget_baselines(blob_keys: set[str]) -> None:
    """Drop kept baselines made from these files (after a client's data is deleted)."""
    with _BASELINES_LOCK:
        for key in [k for k in _BASELINES if k[1] in blob_keys]:
            del _BASELINES[key]


def _update_skin_tone(uow: UnitOfWork, actor: Actor, client_id: int) -> None:
    """The client's ITA (and its group) from their usable photos, chart-calibrated ones
    first (see `representative_ita`). It picks the stricter PIH threshold for darker skin,
    so one odd home photo must not move it. Stored on the client, so that progress, lists
    and exports read one agreed value."""
    samples = [
        (metrics["ita_deg"], Calibration.from_json(calibration or {}).method == "chart")
        for metrics, quality, calibration in uow.repo.client_results(
            actor.clinic_id, client_id, METRIC_VERSION
        )
        if metrics.get("ita_deg") is not None and Quality.from_json(quality).usable_for_trends
    ]
    ita = representative_ita(samples)
    client = uow.repo.client(actor.clinic_id, client_id)
    if client is None or ita is None:
        return
    ita = round(ita, 1)
    calibrated = any(chart for _, chart in samples)  # representative_ita prefers chart photos
    if client.ita_deg != ita or client.ita_calibrated != calibrated:
        client.ita_deg, client.skin_tone, client.ita_calibrated = ita, ita_group(ita), calibrated


def _record_failure(ctx: Context, photo_id: int, message: str) -> Outcome:
    with ctx.uow() as uow:
        photo = uow.repo.photo(ctx.actor.clinic_id, photo_id)
        if photo is not None:
            photo.status = PhotoStatus.ANALYSIS_FAILED
            photo.status_detail = message[:500]
            uow.commit()
    return Outcome(photo_id=photo_id, ok=False, message=message)
