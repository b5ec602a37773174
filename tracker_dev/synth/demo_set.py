"""The committed demo data set: one clinic, four clients, full micro-needling courses.

Why it exists: there are no real client photos, yet the product, its dashboards and the metric
validation need realistic series — several skin tones, before/after/check-in photos, varying
light and auto-white-balance, occasional colour charts, pose changes, exact ground truth. Every
value here is a deliberate, seeded choice, so ``python -m tracker_dev.synth sample_photos/``
reproduces the committed files bit for bit on the same library versions.

Story per client: a course of sessions 4–6 weeks apart (the last in November 2026). Each session
has a clinic *before* photo (session 1: three repeats minutes apart, for the noise band), an
*after* photo ~20 min later with strong redness in the treated zone, and home *check-ins* at
about day 1, 3 and 7 while the extra blood fades as ``peak·exp(−t/τ)``. One client (rosacea at
intake) recovers slowly. Scar, pore and line depth shrink ~13 % per session.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tracker.domain import Concern, Contraindication, PhotoKind
from tracker_dev.synth.scene import (
    ChartPlacement,
    Framing,
    Glare,
    PhotoSpec,
    SkinScene,
    Spot,
    TextureParams,
    apply_affine,
    rectangle,
    render_photo,
    skin_polygon_mm,
)

CLINIC_NAME = "Demo Skin Clinic"
JPEG_QUALITY = 86
#: Per-session shrink of scar/pore/line depth (collagen remodelling), multiplicative.
DEPTH_FACTOR_PER_SESSION = 0.87

_EXIF_IFD = 0x8769
_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_SOFTWARE = 0x0131

_CLINIC_SIZE = (1152, 864)
_CHART_SIZE = (1600, 1200)
_CHART_PX_PER_MM = 21.0


@dataclass(frozen=True)
class SessionPlan:
    """Treatment settings of one session (as the practitioner would record them)."""

    device: str
    needle_depth_mm: float
    passes: int
    serum: str
    price: float
    notes: str = ""


@dataclass(frozen=True)
class ClientPlan:
    """One demo client: identity, intake, course, skin physiology and recovery."""

    key: str
    name: str
    first_name: str
    date_of_birth: str
    skin_tone: str
    concern: Concern
    planned_sessions: int
    interval_weeks: int
    #: The course is laid out backwards from its last session (early/mid November 2026).
    last_session: datetime
    blood_reference: float
    melanin_reference: float
    tau_hours: float
    peak_extra_blood: float
    slow: bool
    texture: TextureParams
    sessions: tuple[SessionPlan, ...]
    contraindications: tuple[Contraindication, ...] = ()
    intake_notes: str = ""
    body_area: str = "left cheek"
    clinic_illuminant: str = "LED-B3"
    px_per_mm: float = 22.0
    seed: int = 0
    spots: tuple[Spot, ...] = ()
    #: Post-inflammatory hyperpigmentation: relative melanin rise in the treated zone after
    #: sessions >= ``pih_from_session`` (0 = none).
    pih_relative: float = 0.0
    pih_from_session: int = 0


@dataclass
class PhotoPlan:
    """One photo to render: its manifest fields, its render spec and what to add to the truth."""

    client: str
    file: str
    session: int
    kind: PhotoKind
    taken_at: datetime
    hours_since_session: float
    spec: PhotoSpec
    exif_orientation: int = 1
    extra_truth: dict[str, Any] = field(default_factory=dict)


_TREATED = rectangle(-7.0, -1.0, 16.0, 12.0)
_REFERENCE = rectangle(12.5, 4.0, 7.0, 6.0)


def clients() -> tuple[ClientPlan, ...]:
    """The four demo clients (light, medium, dark and a slow-recovering light client)."""
    derma = "Dermapen 4"
    return (
        ClientPlan(
            key="ava",
            name="Ava Lindqvist",
            first_name="Ava",
            date_of_birth="1990-04-12",
            skin_tone="light",
            concern=Concern.ACNE_SCARS,
            planned_sessions=5,
            interval_weeks=5,
            last_session=datetime(2026, 11, 9, 10, 0),
            blood_reference=0.012,
            melanin_reference=0.015,
            tau_hours=12.0,
            peak_extra_blood=0.040,
            slow=False,
            texture=TextureParams(
                seed=101,
                pore_density_per_cm2=55.0,
                n_lines=3,
                n_scars=16,
                scar_radius_mm=(1.0, 2.6),
                scar_depth_mm=0.22,
            ),
            sessions=(
                SessionPlan(derma, 1.25, 3, "hyaluronic acid", 280.0, "Baseline session; pinpoint bleeding."),
                SessionPlan(derma, 1.5, 3, "hyaluronic acid", 280.0),
                SessionPlan(derma, 1.5, 4, "PRP", 450.0, "PRP added for scar remodelling."),
                SessionPlan(derma, 1.5, 4, "PRP", 450.0),
                SessionPlan(derma, 1.5, 3, "hyaluronic acid", 280.0, "Scars visibly softer."),
            ),
            clinic_illuminant="LED-B3",
            px_per_mm=22.0,
            seed=1,
        ),
        ClientPlan(
            key="linh",
            name="Linh Nguyễn",
            first_name="Linh",
            date_of_birth="1985-09-30",
            skin_tone="medium",
            concern=Concern.ENLARGED_PORES,
            planned_sessions=4,
            interval_weeks=6,
            last_session=datetime(2026, 11, 12, 14, 30),
            blood_reference=0.013,
            melanin_reference=0.040,
            tau_hours=14.0,
            peak_extra_blood=0.035,
            slow=False,
            texture=TextureParams(
                seed=202, pore_density_per_cm2=95.0, pore_radius_mm=(0.15, 0.4), pore_depth_mm=0.07, n_lines=2
            ),
            sessions=(
                SessionPlan(derma, 0.75, 3, "hyaluronic acid", 220.0),
                SessionPlan(derma, 1.0, 3, "growth-factor serum", 260.0),
                SessionPlan(derma, 1.0, 3, "growth-factor serum", 260.0),
                SessionPlan(derma, 1.0, 3, "hyaluronic acid", 220.0, "Course complete; review in 3 months."),
            ),
            clinic_illuminant="FL11",
            px_per_mm=24.0,
            seed=2,
        ),
        ClientPlan(
            key="adaeze",
            name="Adaeze Okafor",
            first_name="Adaeze",
            date_of_birth="1979-01-22",
            skin_tone="dark",
            concern=Concern.UNEVEN_TONE,
            planned_sessions=6,
            interval_weeks=4,
            last_session=datetime(2026, 11, 4, 11, 0),
            blood_reference=0.012,
            melanin_reference=0.17,
            tau_hours=11.0,
            peak_extra_blood=0.030,
            slow=False,
            texture=TextureParams(seed=303, pore_density_per_cm2=50.0, n_lines=3),
            sessions=(
                SessionPlan(derma, 0.5, 2, "hyaluronic acid", 240.0, "Conservative depth for PIH risk."),
                SessionPlan(derma, 0.5, 2, "hyaluronic acid", 240.0),
                SessionPlan(derma, 0.75, 3, "tranexamic acid serum", 260.0),
                SessionPlan(
                    derma,
                    0.75,
                    3,
                    "tranexamic acid serum",
                    260.0,
                    "Slight darkening at the treated edge; watch for PIH.",
                ),
                SessionPlan(derma, 0.5, 2, "hyaluronic acid", 240.0, "Depth reduced after PIH signs."),
                SessionPlan(derma, 0.5, 2, "hyaluronic acid", 240.0),
            ),
            clinic_illuminant="D50",
            px_per_mm=22.0,
            seed=3,
            spots=(
                Spot(-10.0, -3.0, 1.6, 0.05),
                Spot(-4.0, 2.5, 1.1, 0.04),
                Spot(-2.5, -4.0, 0.8, 0.035),
                Spot(-12.5, 3.0, 0.9, 0.04),
            ),
            pih_relative=0.10,
            pih_from_session=4,
        ),
        ClientPlan(
            key="niamh",
            name="Niamh O'Sullivan",
            first_name="Niamh",
            date_of_birth="1968-07-03",
            skin_tone="light",
            concern=Concern.FINE_LINES_WRINKLES,
            planned_sessions=4,
            interval_weeks=6,
            last_session=datetime(2026, 11, 13, 9, 15),
            blood_reference=0.018,
            melanin_reference=0.010,
            tau_hours=70.0,
            peak_extra_blood=0.045,
            slow=True,
            texture=TextureParams(
                seed=404,
                pore_density_per_cm2=45.0,
                n_lines=10,
                line_depth_mm=0.05,
                line_width_mm=0.15,
                line_angle_deg=15.0,
            ),
            sessions=(
                SessionPlan(
                    derma, 0.5, 2, "hyaluronic acid", 250.0, "Rosacea: cleared by GP; gentle settings."
                ),
                SessionPlan(
                    derma, 0.5, 2, "peptide serum", 250.0, "Redness lasted beyond day 3 after session 1."
                ),
                SessionPlan(derma, 0.5, 2, "peptide serum", 250.0),
                SessionPlan(derma, 0.5, 2, "hyaluronic acid", 250.0),
            ),
            contraindications=(Contraindication.ROSACEA,),
            intake_notes="Mild rosacea on both cheeks; GP letter on file.",
            clinic_illuminant="FL2",
            px_per_mm=23.0,
            seed=4,
        ),
    )


def _session_time(c: ClientPlan, n: int) -> datetime:
    rng = np.random.default_rng([c.seed, n, 1])
    minutes = int(rng.integers(-60, 61)) // 5 * 5
    return (
        c.last_session
        - timedelta(weeks=c.interval_weeks * (c.planned_sessions - n))
        + timedelta(minutes=minutes)
    )


def _extra_blood(c: ClientPlan, at: datetime) -> float:
    """Extra dermal blood in the treated zone at ``at``: sum of decaying session responses."""
    total = 0.0
    for n in range(1, c.planned_sessions + 1):
        hours = (at - _session_time(c, n)).total_seconds() / 3600.0
        if hours >= 0:
            total += c.peak_extra_blood * math.exp(-hours / c.tau_hours)
    return total


def _pih(c: ClientPlan, session: int, hours: float) -> float:
    """Relative melanin rise in the treated zone (appears over days, lingers for weeks)."""
    if not c.pih_relative or session < c.pih_from_session:
        return 0.0
    carried = c.pih_relative * 0.6 if session > c.pih_from_session else 0.0
    if hours <= 0:
        return carried
    rise = c.pih_relative * (1 - math.exp(-hours / 96.0))
    return max(carried, rise)


def _baseline_framing(c: ClientPlan) -> Framing:
    return Framing(c.px_per_mm, *_CLINIC_SIZE)


def _plan_photo(c: ClientPlan, n: int, kind: PhotoKind, tag: str, at: datetime, index: int) -> PhotoPlan:
    """Choose light, pose, chart and physiology of one photo (all seeded by client/session/tag)."""
    rng = np.random.default_rng([c.seed, n, index, 7])
    session_at = _session_time(c, n)
    hours = (at - session_at).total_seconds() / 3600.0
    at_clinic = kind is not PhotoKind.CHECKIN
    # Chart: the clinic photographs every before (from session 2) and the first after with a chart.
    with_chart = at_clinic and ((kind is PhotoKind.BEFORE and n >= 2) or (kind is PhotoKind.AFTER and n == 1))
    base = _baseline_framing(c)
    day_rng = np.random.default_rng([c.seed, at.toordinal(), 3])
    blood_ref = c.blood_reference * (1.0 + 0.04 * float(day_rng.standard_normal()))
    extra = _extra_blood(c, at)
    pih = _pih(c, n, hours)
    depth = DEPTH_FACTOR_PER_SESSION ** (n - 1)
    spot_fade = 0.85 ** (n - 1)
    spots = tuple(Spot(s.x_mm, s.y_mm, s.radius_mm, round(s.extra_melanin * spot_fade, 6)) for s in c.spots)
    scene = SkinScene(
        seed=c.seed,
        treated_zone_mm=_TREATED,
        reference_zone_mm=_REFERENCE,
        blood_reference=round(blood_ref, 6),
        blood_treated=round(blood_ref + extra, 6),
        melanin_reference=c.melanin_reference,
        melanin_treated=round(c.melanin_reference * (1.0 + pih), 6),
        spots=spots,
        texture=TextureParams(**{**_texture_kwargs(c.texture), "depth_factor": round(depth, 6)}),
    )
    if at_clinic:
        illuminant = c.clinic_illuminant if rng.random() < 0.85 else "D65"
        exposure = float(rng.uniform(0.75, 1.0))
        wb = (float(rng.uniform(0.97, 1.03)), 1.0, float(rng.uniform(0.97, 1.03)))
        pose = (
            float(rng.uniform(-2, 2)),
            float(rng.uniform(0.97, 1.03)),
            (float(rng.uniform(-1.5, 1.5)), float(rng.uniform(-1.5, 1.5))),
        )
        noise, gradient = 0.005, float(rng.uniform(0.0, 0.05))
    else:
        illuminant = str(rng.choice(["A", "FL2", "LED-B3", "D65", "D65", "FL11"]))
        exposure = float(rng.uniform(0.5, 0.95))
        wb = (float(rng.uniform(0.9, 1.1)), 1.0, float(rng.uniform(0.9, 1.1)))
        pose = (
            float(rng.uniform(-5, 5)),
            float(rng.uniform(0.95, 1.05)),
            (float(rng.uniform(-2.5, 2.5)), float(rng.uniform(-2.5, 2.5))),
        )
        noise, gradient = 0.009, float(rng.uniform(0.03, 0.12))
    if index == 0 and n == 1:  # the series baseline itself
        pose = (0.0, 1.0, (0.0, 0.0))
    framing = base.follow_up(rotation_deg=pose[0], scale=pose[1], shift_mm=pose[2])
    chart = None
    if with_chart:
        framing = Framing(
            _CHART_PX_PER_MM * pose[1],
            *_CHART_SIZE,
            rotation_deg=pose[0],
            shift_mm=(-18.0 + pose[2][0], pose[2][1]),
        )
        chart = ChartPlacement(
            centre_px=(float(rng.uniform(1192, 1202)), float(rng.uniform(560, 640))),
            rotation_deg=float(rng.uniform(-4, 4)),
        )
    glare = None
    if rng.random() < 0.2:
        skin = apply_affine(framing.scene_to_px(), skin_polygon_mm(scene) * 0.6)
        centre = skin[int(rng.integers(0, len(skin)))]
        glare = Glare(
            (float(centre[0]), float(centre[1])),
            radius_mm=float(rng.uniform(0.8, 2.0)),
            strength=float(rng.uniform(0.4, 1.0)),
        )
    spec = PhotoSpec(
        scene=scene,
        framing=framing,
        baseline=base,
        illuminant=illuminant,
        exposure=round(exposure, 4),
        wb_error=(round(wb[0], 4), 1.0, round(wb[2], 4)),
        light_azimuth_deg=round(float(rng.uniform(-160, -100)), 2),
        light_elevation_deg=round(float(rng.uniform(40, 65)), 2),
        illumination_gradient=round(gradient, 4),
        gradient_angle_deg=round(float(rng.uniform(0, 360)), 2),
        chart=chart,
        glare=glare,
        noise=noise,
        seed=int(rng.integers(0, 2**31 - 1)),
    )
    orientation = 6 if (c.key, n, tag) in {("linh", 2, "day3"), ("niamh", 3, "day1")} else 1
    extra_truth = {
        "extra_blood_treated": round(extra, 6),
        "pih_relative": round(pih, 6),
        "tau_hours": c.tau_hours,
        "depth_factor": round(depth, 6),
        "location": "clinic" if at_clinic else "home",
    }
    return PhotoPlan(
        c.key, f"{c.key}/s{n}_{tag}.jpg", n, kind, at, round(hours, 3), spec, orientation, extra_truth
    )


def _texture_kwargs(t: TextureParams) -> dict[str, Any]:
    return {k: getattr(t, k) for k in t.__dataclass_fields__}


def photo_plans(c: ClientPlan) -> list[PhotoPlan]:
    """Every photo of a client's course, in time order."""
    plans: list[PhotoPlan] = []
    for n in range(1, c.planned_sessions + 1):
        at = _session_time(c, n)
        rng = np.random.default_rng([c.seed, n, 2])
        shots: list[tuple[PhotoKind, str, datetime]] = []
        if n == 1:
            for k, tag in enumerate("abc"):
                shots.append((PhotoKind.BEFORE, f"before_{tag}", at - timedelta(minutes=25 - 3 * k)))
        else:
            shots.append((PhotoKind.BEFORE, "before", at - timedelta(minutes=20)))
        shots.append((PhotoKind.AFTER, "after", at + timedelta(minutes=int(rng.integers(15, 31)))))
        for tag, hours in (("day1", 24.0), ("day3", 72.0), ("day7", 168.0)):
            jitter = float(rng.uniform(-3.0, 3.0))
            shots.append((PhotoKind.CHECKIN, tag, at + timedelta(hours=hours + jitter)))
        for index, (kind, tag, when) in enumerate(shots):
            when = when.replace(second=0, microsecond=0)
            plans.append(_plan_photo(c, n, kind, tag, when, index))
    return plans


def render_plan(plan: PhotoPlan) -> tuple[np.ndarray[Any, np.dtype[np.uint8]], dict[str, Any]]:
    """Render a planned photo: upright pixels and the full truth record (JSON round-tripped)."""
    rendered = render_photo(plan.spec)
    truth = {**rendered.truth, **plan.extra_truth, "exif_orientation": plan.exif_orientation}
    if plan.exif_orientation == 6:
        truth["exif_note"] = (
            "pixels are stored rotated 90° counter-clockwise with EXIF "
            "Orientation 6; all coordinates are for the upright image"
        )
    return rendered.rgb, json.loads(json.dumps(truth))


def write_jpeg(
    path: Path, rgb: np.ndarray[Any, np.dtype[np.uint8]], taken_at: datetime, orientation: int = 1
) -> None:
    """Save as a phone would: JPEG with DateTimeOriginal/DateTime and an orientation tag.

    With orientation 6 the stored pixels are the upright image rotated 90° counter-clockwise
    (a viewer rotates them clockwise back), exactly like a phone held in portrait.
    """
    stored = np.ascontiguousarray(np.rot90(rgb, 1)) if orientation == 6 else rgb
    img = Image.fromarray(stored, "RGB")
    exif = Image.Exif()
    stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    exif[_TAG_MAKE] = "tracker_dev.synth"
    exif[_TAG_MODEL] = "simulated camera (Nikon 5100 NPL sensitivities)"
    exif[_TAG_SOFTWARE] = "tracker_dev.synth"
    exif[_TAG_DATETIME] = stamp
    exif[_TAG_ORIENTATION] = orientation
    exif.get_ifd(_EXIF_IFD)[_TAG_DATETIME_ORIGINAL] = stamp
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=exif)


def client_entry(c: ClientPlan) -> dict[str, Any]:
    """Manifest entry of a client without photos."""
    return {
        "key": c.key,
        "name": c.name,
        "first_name": c.first_name,
        "date_of_birth": c.date_of_birth,
        "skin_tone": c.skin_tone,
        "intake": {"contraindications": [str(x) for x in c.contraindications], "notes": c.intake_notes},
        "course": {
            "concern": str(c.concern),
            "planned_sessions": c.planned_sessions,
            "interval_weeks": c.interval_weeks,
            "body_area": c.body_area,
        },
        "recovery": {"tau_hours": c.tau_hours, "peak_extra_blood": c.peak_extra_blood, "slow": c.slow},
        "sessions": [
            {
                "number": n,
                "at": _session_time(c, n).isoformat(timespec="seconds"),
                "device": s.device,
                "needle_depth_mm": s.needle_depth_mm,
                "passes": s.passes,
                "serum": s.serum,
                "price": s.price,
                "notes": s.notes,
            }
            for n, s in enumerate(c.sessions, start=1)
        ],
        "photos": [],
    }


def photo_entry(plan: PhotoPlan, truth: dict[str, Any]) -> dict[str, Any]:
    """Manifest entry of one photo."""
    return {
        "file": plan.file,
        "session": plan.session,
        "kind": str(plan.kind),
        "taken_at": plan.taken_at.isoformat(timespec="seconds"),
        "hours_since_session": plan.hours_since_session,
        "truth": truth,
    }


def generate_client(c: ClientPlan, out_dir: Path) -> dict[str, Any]:
    """Render and write all photos of one client; return its manifest entry."""
    entry = client_entry(c)
    for plan in photo_plans(c):
        rgb, truth = render_plan(plan)
        write_jpeg(out_dir / plan.file, rgb, plan.taken_at, plan.exif_orientation)
        entry["photos"].append(photo_entry(plan, truth))
    return entry


def _generate_key(args: tuple[str, str]) -> dict[str, Any]:
    key, out = args
    return generate_client(next(c for c in clients() if c.key == key), Path(out))


def generate(out_dir: Path, only: Sequence[str] | None = None, jobs: int = 1) -> dict[str, Any]:
    """Write the demo set (JPEGs + manifest.json) into ``out_dir``; return the manifest.

    ``only`` restricts to some client keys (the manifest then lists just those). ``jobs`` > 1
    renders clients in parallel processes; the output is identical either way.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = [c.key for c in clients() if only is None or c.key in only]
    work = [(k, str(out_dir)) for k in keys]
    entries: Iterable[dict[str, Any]]
    if jobs > 1 and len(work) > 1:
        from multiprocessing import get_context

        with get_context("spawn").Pool(min(jobs, len(work))) as pool:
            entries = pool.map(_generate_key, work)
    else:
        entries = [_generate_key(w) for w in work]
    manifest = {
        "version": 1,
        "generator": "tracker_dev.synth",
        "white_point": "D65",
        "clinic": {"name": CLINIC_NAME},
        "clients": list(entries),
    }
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
