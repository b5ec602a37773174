"""Load the rendered demo data set (sample_photos/manifest.json) into a data folder.

Idempotent: clients, sessions and users are matched by name / number / email and photos
by content hash, so running it twice changes nothing. Everything goes through the same
services as real uploads, so the demo exercises the real ingest path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.app.courses import rate_session
from tracker.app.jobs import run_pending
from tracker.app.measurements import set_series_zones
from tracker.app.people import hash_password
from tracker.application import App
from tracker.domain import Concern, Intake, JsonObject, PhotoKind, Role
from tracker.errors import Refused
from tracker.imaging.zones import Zones
from tracker.permissions import Actor
from tracker.store.models import User

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_photos"
DEMO_PRACTITIONER_EMAIL = "practitioner@demo.test"
DEMO_PRACTITIONER_PASSWORD = "demo-practitioner"
DEMO_CLIENT_PASSWORD = "demo-client"
DEMO_ADMIN_EMAIL = "admin@demo.test"
DEMO_ADMIN_PASSWORD = "demo-admin"


@dataclass
class DemoResult:
    clinic_id: int
    clients: int = 0
    photos_imported: int = 0
    photos_present: int = 0
    rejected: list[str] | None = None


def load_manifest(source: Path = SAMPLE_DIR) -> JsonObject:
    path = source / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"No demo manifest at {path}; regenerate with `python -m tracker_dev.synth`.")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def demo_photo_count(manifest: JsonObject) -> int:
    return sum(len(c["photos"]) for c in manifest["clients"])


def build_demo(
    app: App,
    source: Path = SAMPLE_DIR,
    on_photo: Callable[[str, str], None] | None = None,
) -> DemoResult:
    """Import the demo set; `on_photo(file, outcome)` is called once per photo."""
    manifest = load_manifest(source)
    clinic_id = courses.ensure_clinic(app, manifest["clinic"]["name"], demo=True)
    actor = Actor.operator(clinic_id)
    result = DemoResult(clinic_id=clinic_id, rejected=[])
    _ensure_user(app, clinic_id, DEMO_ADMIN_EMAIL, "Demo Admin", Role.ADMIN)
    _ensure_user(app, clinic_id, DEMO_PRACTITIONER_EMAIL, "Demo Practitioner", Role.PRACTITIONER)
    for entry in manifest["clients"]:
        client_id = _ensure_client(app, actor, entry)
        _ensure_user(
            app,
            clinic_id,
            f"{entry['first_name'].lower()}@demo.test",
            entry["name"],
            Role.CLIENT,
            client_id,
        )
        result.clients += 1
        for session in entry["sessions"]:
            courses.record_session(
                Context(app, actor),
                client_id,
                int(session["number"]),
                _dt(session["at"]),
                device=session.get("device", ""),
                needle_depth_mm=session.get("needle_depth_mm"),
                passes=session.get("passes"),
                serum=session.get("serum", ""),
                price=session.get("price"),
                notes=session.get("notes", ""),
                replace=True,  # safe to repeat
                override_reason=_override_reason(entry),
            )
        _rate_sessions(app, actor, client_id, entry)
        for index, photo in enumerate(entry["photos"]):
            outcome = _import(app, actor, client_id, source, photo, result)
            if index == 0 and outcome == "imported":
                # The practitioner draws the zones on the baseline; here they come from the
                # renderer's truth, before any follow-up is measured against them.
                zones = photo["truth"]["zones"]
                set_series_zones(
                    Context(app, actor), client_id, Zones(zones["treated"], zones["reference"], "manual")
                )
            # A follow-up's chart that taught the series its scale queued the photos before
            # it: measure them again now, before more photos join the series (they are
            # measured with the scale already), as the server's background runner would.
            run_pending(app)
            if on_photo:
                on_photo(photo["file"], outcome)
    return result


def iter_demo_credentials(manifest: JsonObject) -> Iterator[tuple[str, str, str]]:
    """(role, email, password) of each demo account, for the sign-in page in demo mode."""
    yield "practitioner", DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD
    yield "admin", DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
    for entry in manifest["clients"]:
        yield "client", f"{entry['first_name'].lower()}@demo.test", DEMO_CLIENT_PASSWORD


def _import(
    app: App, actor: Actor, client_id: int, source: Path, photo: JsonObject, result: DemoResult
) -> str:
    path = source / photo["file"]
    try:
        photos.import_photo(
            Context(app, actor),
            client_id,
            path.read_bytes(),
            path.name,
            session_number=int(photo["session"]),
            kind=PhotoKind(photo["kind"]),
            taken_at=_dt(photo["taken_at"]),
        )
    except Refused as exc:
        if "already uploaded" in str(exc):
            result.photos_present += 1
            return "present"
        assert result.rejected is not None
        result.rejected.append(f"{photo['file']}: {exc}")
        return f"rejected: {exc}"
    result.photos_imported += 1
    return "imported"


def _rate_sessions(app: App, actor: Actor, client_id: int, entry: JsonObject) -> None:
    """Demo clients' own ratings, so the rating column has something to show: made up, like
    the clients themselves (a little better each session; the slow recoverer is less happy)."""
    slow = bool(entry.get("recovery", {}).get("slow"))
    for session in entry["sessions"]:
        number = int(session["number"])
        rate_session(Context(app, actor), client_id, number, min(9, (4 if slow else 5) + number))


def _override_reason(entry: JsonObject) -> str:
    """What the demo's practitioner wrote when treating a client with a contraindication on
    the intake (a session for such a client needs a reason; none is needed otherwise)."""
    if not (entry.get("intake") or {}).get("contraindications"):
        return ""
    return "Demo: reviewed at consultation (see the intake notes); treated with adapted settings."


def _ensure_client(app: App, actor: Actor, entry: JsonObject) -> int:
    existing = courses.find_client(Context(app, actor), entry["name"])
    if existing is not None:
        return existing.id
    course = entry["course"]
    intake = Intake.from_json(
        {
            "answered_at": entry["sessions"][0]["at"] if entry["sessions"] else None,
            **(entry.get("intake") or {}),
        }
    )
    first_session = entry["sessions"][0]["at"] if entry["sessions"] else None
    consent = {flag: first_session for flag in ("treatment", "photos_for_care", "photos_in_reports")}
    return courses.create_client(
        Context(app, actor),
        entry["name"],
        date_of_birth=date.fromisoformat(entry["date_of_birth"]) if entry.get("date_of_birth") else None,
        intake=intake,
        consent=consent,
        concern=Concern(course["concern"]),
        planned_sessions=int(course["planned_sessions"]),
        interval_weeks=int(course["interval_weeks"]),
        body_area=course.get("body_area", ""),
    )


def _ensure_user(
    app: App, clinic_id: int, email: str, name: str, role: Role, client_id: int | None = None
) -> None:
    with app.uow() as uow:
        if uow.repo.user_by_email(email) is not None:
            return
        password = {
            Role.CLIENT: DEMO_CLIENT_PASSWORD,
            Role.PRACTITIONER: DEMO_PRACTITIONER_PASSWORD,
            Role.ADMIN: DEMO_ADMIN_PASSWORD,
        }[role]
        uow.repo.add(
            User(
                clinic_id=clinic_id,
                email=email,
                display_name=name,
                role=role,
                client_id=client_id,
                password_hash=hash_password(password),
            )
        )
        uow.commit()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)
