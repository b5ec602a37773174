"""A big synthetic clinic written straight into the database, for load tests of the views.

Rendering and measuring 24,000 photos would take hours; the dashboard and the progress code
only read rows, so this writes the rows a real clinic would have — clients, courses,
sessions, photos and their analysis results — with plausible numbers that follow simple
trends (redness recovering after each session, texture improving over the course) and a
known few clients who need a look (slow recovery, PIH, overdue, contraindication, a session
without a usable photo, worsening texture, a missed check-in). `BigClinic` says who they
are, so tests can check the flags against the truth.

**No image files are written**: photo rows carry fake blob keys, so `python -m tracker fsck`
reports every one of them missing and anything that opens a photo fails. Build it in a data
folder of its own, never in one with real photos.

    .venv/bin/python -m tracker_dev.synth.clinic DATA_DIR [--clients 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import time as clock
import typing
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Table, func, insert, select

from tracker.bootstrap import App
from tracker.domain import Concern, Contraindication, PhotoKind, PhotoStatus, client_name_key
from tracker.imaging.version import METRIC_VERSION
from tracker.progress.plans import OVERDUE_GRACE, default_plan
from tracker.progress.recovery import delinearise, linearise
from tracker.store.db import advance_sequences
from tracker.store.models import (
    AnalysisResult,
    AuditEvent,
    Client,
    Clinic,
    Photo,
    PhotoSeries,
    TreatmentCourse,
    TreatmentSession,
    utcnow,
)

# fmt: off
FIRST_NAMES = (
    "Ava", "Linh", "Adaeze", "Niamh", "Sofia", "Mei", "Amara", "Freya", "Yara", "Ines", "Chloe",
    "Priya", "Zara", "Hana", "Leila", "Maya", "Nora", "Aisha", "Elena", "Kiara", "Rosa", "Sana",
    "Ingrid", "Fatima", "Lucia", "Thandi", "Olga", "Keiko", "Ama", "Siobhan", "Tomas", "Luca",
    "Omar", "Kenji", "Mateo", "Arjun", "Kwame", "Liam", "Nikolai", "Diego",
)
LAST_NAMES = (
    "Lindqvist", "Nguyen", "Okafor", "O'Sullivan", "Rossi", "Chen", "Mensah", "Berg", "Haddad",
    "Silva", "Martin", "Sharma", "Khan", "Sato", "Rahimi", "Cohen", "Novak", "Ali", "Petrova",
    "Reddy", "Moreno", "Ahmed", "Larsen", "Diallo", "Garcia", "Dlamini", "Ivanova", "Tanaka",
    "Boateng", "Murphy", "Kowalski", "Bianchi", "Farouk", "Yamamoto", "Alvarez", "Patel", "Asante",
    "Walsh", "Sokolov", "Herrera",
)
# fmt: on
# What each photo slot of a session is, in the order a session's photos are taken up:
# (kind, hours after the session start, jitter in hours). With 4 photos per session a
# client takes the before-photo and the three recovery check-ins; the after-photo and a
# repeat before-photo (for the noise band) come with 5 and 6.
SLOTS = (
    (PhotoKind.BEFORE, -0.5, 0.15),
    (PhotoKind.CHECKIN, 24.0, 4.0),
    (PhotoKind.CHECKIN, 72.0, 8.0),
    (PhotoKind.CHECKIN, 168.0, 10.0),
    (PhotoKind.AFTER, 0.5, 0.2),
    (PhotoKind.BEFORE, -0.25, 0.05),
)
# The questions the generated clinic draws from: the first ten, as when it was written, so
# the same seed still makes the same clinic after new questions were added (issue 11).
_DRAWN_CONTRAINDICATIONS = list(Contraindication)[:10]
NOISE_EI = 0.1  # repeat-capture noise of delta_ei on these fake photos, EI
NOISE_L = 0.15  # of delta_l_star, L*
NOISE_TEXTURE = 0.015  # relative, of the texture metrics


@dataclass
class BigClinic:
    """What was written, and the truth about the clients who need a look (client ids)."""

    clinic_id: int
    today: date
    clients: int = 0
    sessions: int = 0
    photos: int = 0
    seconds: float = 0.0
    slow_recovery: set[int] = field(default_factory=set)
    pih: set[int] = field(default_factory=set)
    overdue: set[int] = field(default_factory=set)
    due_this_week: set[int] = field(default_factory=set)
    contraindication: set[int] = field(default_factory=set)
    no_usable_photo: set[int] = field(default_factory=set)
    texture_worse: set[int] = field(default_factory=set)
    missed_checkin: set[int] = field(default_factory=set)

    @property
    def act(self) -> set[int]:
        return self.slow_recovery | self.pih | self.contraindication


@dataclass
class _Plan:
    """One client's made-up course, drawn before any row is written."""

    client_id: int
    concern: Concern
    planned: int
    interval_weeks: int
    upkeep_weeks: int | None
    starts: list[datetime]
    ita: float
    tau_hours: float
    peak_ei: float
    ei0: float
    ei_step: float
    l0: float
    texture0: float
    texture_step: float
    pih_session: int | None = None
    bad_session: int | None = None
    late_day1_session: int | None = None
    contraindications: list[str] = field(default_factory=list)


def build_big_clinic(
    app: App,
    clients: int = 1000,
    sessions: int = 6,
    photos_per_session: int = 4,
    seed: int = 0,
    *,
    today: date | None = None,
    clinic_name: str = "Synthetic Clinic",
    rare: float = 0.01,
) -> BigClinic:
    """Write a clinic of `clients` clients, each with `sessions` sessions done and
    `photos_per_session` analysed photos per session (1–6), in a few bulk inserts.

    Deterministic for a seed and `today`. Refuses a clinic of that name that already has
    clients. A share `rare` of the clients (1 %) each recover slowly, show PIH, have a
    session without a usable photo, or skip a day-1 check-in; 3× `rare` answered yes to a
    contraindication at intake and 3× `rare` get worse texture; about 5 % are overdue (8 %
    of those still in their course). Small test clinics raise `rare` to have some of each."""
    if not 0 < rare <= 0.1:
        raise ValueError("rare must be in (0, 0.1]")
    if not 1 <= photos_per_session <= len(SLOTS):
        raise ValueError(f"photos_per_session must be 1–{len(SLOTS)}")
    if sessions < 1:
        raise ValueError("sessions must be at least 1")
    started = clock.perf_counter()
    today = today or date.today()
    rng = random.Random(seed)
    with app.uow() as uow:
        clinic = uow.repo.clinic_by_name(clinic_name)
        if clinic is None:
            clinic = Clinic(name=clinic_name)
            uow.repo.add(clinic)
            uow.repo.flush()
        elif uow.repo.clients(clinic.id):
            raise ValueError(f"Clinic {clinic_name!r} already has clients; use a fresh data folder.")
        clinic_id = clinic.id
        uow.commit()

    with app.uow() as uow:
        ids = {
            table: int(uow.session.scalar(select(func.coalesce(func.max(column), 0))) or 0)
            for table, column in (
                ("client", Client.id),
                ("course", TreatmentCourse.id),
                ("session", TreatmentSession.id),
                ("photo", Photo.id),
                ("result", AnalysisResult.id),
            )
        }
    truth = BigClinic(clinic_id=clinic_id, today=today)
    rows: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("client", "course", "session", "photo", "result", "series")
    }
    now = utcnow()
    for index in range(clients):
        plan = _draw_plan(rng, ids["client"] + index + 1, sessions, today, rare, truth)
        course_id = ids["course"] + index + 1
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} #{index + 1:04d}"
        rows["client"].append(
            {
                "id": plan.client_id,
                "clinic_id": clinic_id,
                "name": name,
                "name_key": client_name_key(name),
                "date_of_birth": date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28)),
                "ita_deg": round(plan.ita, 1),
                "skin_tone": "dark" if plan.ita < 28 else "light",
                "intake": {
                    "contraindications": plan.contraindications,
                    "answered_at": plan.starts[0].isoformat(),
                    "notes": "",
                },
                "consent": {"treatment": plan.starts[0].isoformat()},
                "created_at": now,
            }
        )
        rows["course"].append(
            {
                "id": course_id,
                "client_id": plan.client_id,
                "concern": plan.concern,
                "planned_sessions": plan.planned,
                "interval_weeks": plan.interval_weeks,
                "upkeep_interval_weeks": plan.upkeep_weeks,
                "body_area": "left cheek",
                "created_at": now,
            }
        )
        first_photo = ids["photo"] + 1
        for number, at in enumerate(plan.starts, start=1):
            ids["session"] += 1
            rows["session"].append(
                {
                    "id": ids["session"],
                    "course_id": course_id,
                    "number": number,
                    "at": at,
                    "device": "pen",
                    "needle_depth_mm": 0.5 + 0.25 * min(number, 4),
                    "passes": 3,
                    "serum": "hyaluronic acid",
                    "notes": "",
                    "client_rating": min(10, 4 + number + rng.randint(0, 1)) if rng.random() < 0.7 else None,
                    "client_rating_at": at + timedelta(days=7),
                }
            )
            for slot, (kind, hours, jitter) in enumerate(SLOTS[:photos_per_session]):
                if number == plan.late_day1_session and slot == 1:
                    hours, jitter = 56.0, 3.0  # the day-1 photo taken on day 2–3 instead
                taken = at + timedelta(hours=hours + rng.uniform(-jitter, jitter))
                ids["photo"] += 1
                ids["result"] += 1
                key = hashlib.sha256(f"synthetic {seed} photo {ids['photo']}".encode()).hexdigest()
                rows["photo"].append(
                    {
                        "id": ids["photo"],
                        "client_id": plan.client_id,
                        "session_id": ids["session"],
                        "kind": kind,
                        "taken_at": taken.replace(microsecond=0),
                        "taken_at_source": "exif",
                        "body_area": "left cheek",
                        "original_filename": f"IMG_{ids['photo']:06d}.jpg",
                        "original_format": "jpeg",
                        "original_size": 2_400_000,
                        "original_sha256": key,
                        "display_sha256": hashlib.sha256(f"{key} display".encode()).hexdigest(),
                        "thumbnail_sha256": hashlib.sha256(f"{key} thumbnail".encode()).hexdigest(),
                        "width": 4032,
                        "height": 3024,
                        "icc_profile": "sRGB",
                        "status": PhotoStatus.ANALYSED,
                        "status_detail": "",
                        "created_at": now,
                    }
                )
                metrics, quality = _measure(rng, plan, number, (taken - at).total_seconds() / 3600.0)
                rows["result"].append(
                    {
                        "id": ids["result"],
                        "photo_id": ids["photo"],
                        "client_id": plan.client_id,
                        "metric_version": METRIC_VERSION,
                        "metrics": metrics,
                        "quality": quality,
                        "zones": {"source": "synthetic"},
                        "calibration": {"method": "synthetic"},
                        "registration": None,
                        "white_point": "D65",
                        "created_at": now,
                    }
                )
        rows["series"].append(
            {
                "course_id": course_id,
                "baseline_photo_id": first_photo,
                "zones": {"treated": [[100, 100], [900, 100], [900, 700], [100, 700]], "source": "synthetic"},
                "px_per_mm": 20.0,
                "px_per_mm_source": "synthetic",
                "glcm_limits": [-0.25, 0.3],
                "updated_at": now,
            }
        )
        truth.sessions += len(plan.starts)
    truth.clients = clients
    truth.photos = len(rows["photo"])

    tables = (
        (Client, "client"),
        (TreatmentCourse, "course"),
        (TreatmentSession, "session"),
        (Photo, "photo"),
        (AnalysisResult, "result"),
        (PhotoSeries, "series"),
    )
    with app.uow() as uow:
        connection = uow.session.connection()
        for model, name in tables:
            for start in range(0, len(rows[name]), 5000):
                connection.execute(
                    insert(typing.cast(Table, model.__table__)), rows[name][start : start + 5000]
                )
        # The rows came with their ids: PostgreSQL's sequences must move past them.
        advance_sequences(connection, [typing.cast(Table, model.__table__) for model, _ in tables])
        connection.execute(
            insert(typing.cast(Table, AuditEvent.__table__)),
            [
                {
                    "at": now,
                    "actor": "synthetic",
                    "clinic_id": clinic_id,
                    "action": "build_synthetic_clinic",
                    "entity": "clinic",
                    "entity_id": clinic_id,
                    "detail": {"clients": clients, "sessions": sessions, "seed": seed},
                }
            ],
        )
        uow.commit()
    truth.seconds = clock.perf_counter() - started
    return truth


def _draw_plan(
    rng: random.Random, client_id: int, sessions: int, today: date, rare: float, truth: BigClinic
) -> _Plan:
    """Course, session dates and skin of one client, and which rare condition (if any)
    they get; the truth records every client with a condition."""
    concern = rng.choice([c for c in Concern if c is not Concern.OTHER])
    default = default_plan(concern)
    interval = default.interval_weeks
    in_course = rng.random() < 0.6 and sessions < 12
    planned = min(12, sessions + rng.randint(1, 2)) if in_course else sessions
    upkeep = default.upkeep_interval_weeks
    # When the next session falls due, relative to today (days); 8 % are overdue.
    if in_course:
        due_in = rng.randint(-40, -8) if rng.random() < 0.08 else rng.randint(-7, interval * 7 - 8)
        last_day = today + timedelta(days=due_in - 7 * interval)
    else:
        last_day = today - timedelta(days=rng.randint(8, 150))
    days = [last_day]
    for _ in range(sessions - 1):
        days.append(days[-1] - timedelta(days=7 * interval + rng.randint(-3, 3)))
    starts = [datetime.combine(d, time(rng.randint(9, 16), 5 * rng.randint(0, 11))) for d in reversed(days)]
    dark = rng.random() < 0.3
    plan = _Plan(
        client_id=client_id,
        concern=concern,
        planned=planned,
        interval_weeks=interval,
        upkeep_weeks=upkeep,
        starts=starts,
        ita=rng.uniform(-35.0, 25.0) if dark else rng.uniform(30.0, 58.0),
        tau_hours=rng.uniform(8.0, 16.0),
        peak_ei=rng.uniform(10.0, 16.0),
        ei0=rng.uniform(0.5, 4.0),
        ei_step=rng.choice((-0.4, -0.25, -0.1, 0.0)),
        l0=rng.uniform(-2.0, 0.5),
        texture0=rng.uniform(0.025, 0.05),
        texture_step=rng.choice((-0.04, -0.03, -0.02, 0.0)),
    )
    # Rare conditions, at most one per client so each flag has one clear cause.
    roll = rng.random() / rare
    if roll < 1:
        plan.tau_hours = rng.uniform(80.0, 110.0)
        truth.slow_recovery.add(client_id)
    elif roll < 2 and sessions >= 2:
        plan.pih_session = rng.randint(1, sessions - 1)
        truth.pih.add(client_id)
    elif roll < 3 and sessions >= 2:
        plan.bad_session = rng.randint(2, sessions)
        truth.no_usable_photo.add(client_id)
    elif roll < 4:
        plan.late_day1_session = rng.randint(1, sessions)
        truth.missed_checkin.add(client_id)
    elif roll < 7:
        plan.contraindications = [rng.choice(_DRAWN_CONTRAINDICATIONS).value]
        truth.contraindication.add(client_id)
    elif roll < 10 and sessions >= 3:
        plan.texture_step = 0.05
        truth.texture_worse.add(client_id)
    if in_course or upkeep:
        due = last_day + timedelta(weeks=interval if in_course else upkeep or 0)
        if today > due + OVERDUE_GRACE:
            truth.overdue.add(client_id)
        elif (due - today).days <= 7:
            truth.due_this_week.add(client_id)
    return plan


def _measure(
    rng: random.Random, plan: _Plan, session: int, hours: float
) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and quality of one photo taken `hours` after session `session` started."""
    step = session - 1
    excess = 0.0
    if hours > 0:
        z0 = float(linearise(np.asarray(plan.peak_ei)))
        excess = delinearise(z0 * math.exp(-hours / plan.tau_hours))
    delta_ei = plan.ei0 + plan.ei_step * step + excess + rng.gauss(0.0, NOISE_EI)
    darkening = 0.0
    if plan.pih_session is not None:
        # Darker at the day-7 check-in and still at the next session's before-photo.
        if session == plan.pih_session and hours > 120:
            darkening = 3.5
        elif session == plan.pih_session + 1 and hours < 0:
            darkening = 3.0
    delta_l = plan.l0 + 0.05 * step - darkening + rng.gauss(0.0, NOISE_L)
    texture = plan.texture0 * (1.0 + plan.texture_step * step) * (1.0 + rng.gauss(0.0, NOISE_TEXTURE))
    t_rel = texture / 0.035
    usable = session != plan.bad_session
    metrics = {
        "ei": round(20.0 + delta_ei, 4),
        "delta_ei": round(delta_ei, 4),
        "a_star": round(13.0 + 0.55 * delta_ei, 4),
        "delta_a_star": round(0.55 * delta_ei + rng.gauss(0.0, 0.1), 4),
        "hb_index": round(0.5 + 0.01 * delta_ei, 4),
        "mel_index": round(0.9 + 0.01 * (50.0 - plan.ita) + 0.05 * darkening, 4),
        "red_area_pct": round(max(0.0, 3.0 * excess + rng.gauss(0.0, 0.5)), 4),
        "ita_deg": round(plan.ita - 4.0 * darkening + rng.gauss(0.0, 1.0), 4),
        "delta_l_star": round(delta_l, 4),
        "spot_area_pct": round(max(0.0, 3.0 - 0.2 * step + rng.gauss(0.0, 0.3)), 4),
        "texture_dog": round(texture, 5),
        "glcm_contrast": round(2.4 * t_rel, 4),
        "glcm_homogeneity": round(0.55 / t_rel**0.2, 4),
        "glcm_entropy": round(5.5, 4),
        "lbp_entropy": round(3.26, 4),
        "line_density": round(70.0 * t_rel, 4),
        "pore_density": round(30.0 * t_rel, 4),
    }
    score = 0.9 if usable else 0.3
    quality = {
        "px_per_mm": 20.0,
        "px_per_mm_source": "series",
        "blur": 0.02 if usable else 0.0003,
        "clipped_pct": 0.0,
        "glare_pct": 0.0,
        "shadow_pct": 0.0,
        "exposure": 0.3,
        "calibration_method": "shades_of_grey",
        "score": score,
        "usable_for_trends": usable,
        "reasons": [] if usable else ["too blurry: hold the phone steady"],
    }
    return metrics, quality


def main() -> None:
    from tracker.bootstrap import open_app
    from tracker.config import Settings

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "data_dir", type=Path, help="a fresh data folder (fsck will report every photo missing)"
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--photos-per-session", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    app = open_app(Settings(data_dir=args.data_dir, _env_file=None))
    try:
        built = build_big_clinic(app, args.clients, args.sessions, args.photos_per_session, args.seed)
    finally:
        app.close()
    print(
        f"clinic {built.clinic_id}: {built.clients} clients, {built.sessions} sessions, "
        f"{built.photos} photos in {built.seconds:.1f} s (no image files: fsck reports them missing)"
    )


if __name__ == "__main__":
    main()
