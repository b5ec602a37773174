"""Issue 12 item 6: every public use case checks who is asking.

The use cases are enumerated (every public function of tracker/app/*.py whose first
parameter is a Context), and each has an entry in CASES below: how to call it with a real
target of clinic 1 (a client, photo, session, flag or account). A new use case without an
entry fails this test, so nobody adds one without deciding who may call it.

Each is called with wrong actors: staff of another clinic, another client of the same
clinic, a switched-off account (the Actor still in hand, the account switched off in the
database since), and, for staff-only use cases, the client herself. None may succeed or
write: PermissionDenied, and every table and the blob folder exactly as before.

Use cases without a target (they act on the actor's own clinic or account: the clinic
dashboard, a new client, one's own password) are legitimately used by another clinic's
staff; for those, the result must not hold clinic 1's client, and a switched-off account
is refused all the same.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import pkgutil
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

import tracker.app
from tests.conftest import copy_demo
from tracker.app import (
    account_links,
    audit,
    clinic,
    consent,
    courses,
    dashboard,
    downloads,
    flags,
    job_queue,
    jobs,
    measurements,
    notes,
    people,
    photo_admin,
    photos,
    records,
    reminders,
    reports,
    table_export,
)
from tracker.app.context import Context
from tracker.app.demo import DemoResult
from tracker.bootstrap import App
from tracker.domain import ConsentFlag, Consents, Contraindication, FaceRegion, PhotoKind, Role
from tracker.errors import NotAllowed
from tracker.permissions import Actor, PermissionDenied
from tracker.progress.plans import CoursePlan
from tracker.store.models import Base, Job, User

TODAY = date.today()


@dataclass
class World:
    """A private copy of the demo (clinic 1) and a second clinic with its own staff."""

    app: App
    clinic_id: int
    client_id: int  # Ava: the target
    client_name: str
    course_id: int
    photo_ids: list[int]  # Ava's photos, in capture order
    session_numbers: list[int]
    flag_key: str  # an open flag of Ava's
    handled_flag_key: str  # a flag of Ava's a practitioner acknowledged (so it can be reopened)
    client_user_id: int  # Ava's login
    nologin_client_id: int  # a client of clinic 1 without a login yet
    actors: dict[str, Actor] = field(default_factory=dict)
    failed_job_id: int = 0  # a failed background job of clinic 1

    def ctx(self, who: str) -> Context:
        return Context(self.app, self.actors[who])


def _actor(user: User) -> Actor:
    return Actor(
        label=user.email, role=user.role, clinic_id=user.clinic_id, user_id=user.id, client_id=user.client_id
    )


@pytest.fixture(scope="module")
def world(demo_loaded: tuple[App, DemoResult], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _, demo = demo_loaded
    app = copy_demo(demo_loaded, tmp_path_factory.mktemp("wrong_actor") / "data")
    clinic_id = demo.clinic_id
    op = Context(app, Actor.operator(clinic_id))
    other_clinic = courses.ensure_clinic(app, "Other Clinic")
    op2 = Context(app, Actor.operator(other_clinic))
    people.create_account(op2, "admin@other.test", Role.ADMIN, None)
    people.create_account(op2, "practitioner@other.test", Role.PRACTITIONER, None)
    nologin = courses.create_client(op, "Bea Nologin")
    with app.uow() as uow:
        users = {u.email: u for u in uow.session.scalars(select(User))}
    ava = users["ava@demo.test"]
    client_id = ava.client_id
    assert client_id is not None
    # Her flags: a contraindication at intake (acknowledged below, so it can be reopened) and
    # a session four days ago without photos (open).
    courses.record_intake(op, client_id, [Contraindication.ROSACEA], "Staff-only intake note")
    now = datetime.combine(TODAY, datetime.min.time()).replace(hour=10)
    courses.record_session(op, client_id, 6, now - timedelta(days=4), override_reason="agreed")
    notes.add_note(op, client_id, "A staff note about Ava")
    with app.uow() as uow:
        client = uow.repo.client(clinic_id, client_id)
        assert client is not None
        name = client.name
        photo_ids = [p.id for p in sorted(uow.repo.photos_of(clinic_id, client_id), key=lambda p: p.taken_at)]
        (course,) = uow.repo.courses_of(clinic_id, client_id)
        course_id = course.id
        numbers = [s.number for s in course.sessions]
    actors = {
        "admin": _actor(users["admin@demo.test"]),
        "practitioner": _actor(users["practitioner@demo.test"]),
        "client herself": _actor(ava),
        "another client": _actor(users["linh@demo.test"]),
        "another clinic's admin": _actor(users["admin@other.test"]),
        "another clinic's practitioner": _actor(users["practitioner@other.test"]),
    }
    staff = Context(app, actors["practitioner"])
    flags.acknowledge(staff, client_id, "contraindication:rosacea", "talked it through", TODAY)
    open_flags = flags.client_flags(staff, client_id, TODAY).open
    assert open_flags, "the target needs an open flag"
    with app.uow() as uow:
        failed = Job(kind=job_queue.REANALYZE, clinic_id=clinic_id, state="failed", error="it broke")
        uow.session.add(failed)
        uow.commit()
    yield World(
        app=app,
        clinic_id=clinic_id,
        client_id=client_id,
        client_name=name,
        course_id=course_id,
        photo_ids=photo_ids,
        session_numbers=numbers,
        flag_key=open_flags[0].key,
        handled_flag_key="contraindication:rosacea",
        client_user_id=ava.id,
        nologin_client_id=nologin,
        actors=actors,
        failed_job_id=failed.id,
    )
    app.close()


def _jpeg(world: World) -> bytes:
    """A real photo the target has not uploaded yet: her first photo, turned upside down."""
    from PIL import Image

    data = photos.photo_bytes(Context(world.app, Actor.operator(world.clinic_id)), world.photo_ids[0])
    with Image.open(io.BytesIO(data)) as img:
        out = io.BytesIO()
        img.rotate(180).save(out, "JPEG", quality=90)
        return out.getvalue()


def _zones(w: World, ctx: Context) -> measurements.Zones:
    info = measurements.series_info(Context(w.app, Actor.operator(w.clinic_id)), w.client_id)
    assert info is not None and info.zones is not None
    return info.zones


def _flags_of(w: World) -> list[flags.Flag]:
    staff = Context(w.app, Actor.operator(w.clinic_id))
    return courses.course_progress(staff, w.client_id, TODAY).flags


def _consent_flip(w: World) -> bool:
    with w.app.uow() as uow:
        client = uow.repo.client(w.clinic_id, w.client_id)
        assert client is not None
        return not Consents.from_json(client.consent).given(ConsentFlag.CONTACT)


Call = Callable[[Context, World], object]


@dataclass(frozen=True)
class Case:
    """How to call one use case with a real target of clinic 1.

    `client_may`: the client herself may call it for her own record (else it is staff-only
    and she is one of the wrong actors). `own_scope`: the use case has no target and acts on
    the actor's own clinic or account, so another clinic's staff (or another client) may
    call it; then `leaks` says whether a result holds the target."""

    call: Call
    client_may: bool
    own_scope: bool = False
    readers_of_own_scope: bool = True  # another clinic's staff / another client may read their own

    def leaks(self, result: object, w: World) -> bool:
        text = repr(result)
        return w.client_name in text or "ava@demo.test" in text


CASES: dict[str, Case] = {
    # tracker/app/account_links.py
    "account_links.invite_link": Case(lambda c, w: account_links.invite_link(c, w.client_user_id), False),
    "account_links.reset_link": Case(lambda c, w: account_links.reset_link(c, w.client_user_id), False),
    # tracker/app/audit.py
    "audit.clinic_events": Case(
        lambda c, w: audit.clinic_events(c, since=date(2000, 1, 1), until=date(2100, 1, 1)),
        False,
        own_scope=True,
    ),
    # tracker/app/clinic.py
    "clinic.clinic_profile": Case(lambda c, w: clinic.clinic_profile(c), True, own_scope=True),
    # tracker/app/consent.py
    "consent.client_consents": Case(lambda c, w: consent.client_consents(c, w.client_id), True),
    "consent.set_consent": Case(
        lambda c, w: consent.set_consent(c, w.client_id, ConsentFlag.CONTACT, _consent_flip(w)), True
    ),
    "consent.set_consents": Case(
        lambda c, w: consent.set_consents(c, w.client_id, {ConsentFlag.CONTACT: _consent_flip(w)}), True
    ),
    # tracker/app/courses.py
    "courses.client_intake": Case(lambda c, w: courses.client_intake(c, w.client_id), True),
    "courses.client_names": Case(lambda c, w: courses.client_names(c), True, own_scope=True),
    "courses.client_overview": Case(lambda c, w: courses.client_overview(c, w.client_id), True),
    "courses.contraindications_to_override": Case(
        lambda c, w: courses.contraindications_to_override(c, w.client_id), False
    ),
    "courses.course_progress": Case(lambda c, w: courses.course_progress(c, w.client_id, TODAY), True),
    "courses.course_regions": Case(lambda c, w: courses.course_regions(c, w.client_id), True),
    "courses.create_client": Case(
        lambda c, w: courses.create_client(c, "Carla New", allow_same_name=True),
        False,
        own_scope=True,
        readers_of_own_scope=False,
    ),
    "courses.find_client": Case(lambda c, w: courses.find_client(c, w.client_name), False, own_scope=True),
    "courses.overview": Case(lambda c, w: courses.overview(c), True, own_scope=True),
    "courses.rate_session": Case(
        lambda c, w: courses.rate_session(c, w.client_id, w.session_numbers[0], 3), True
    ),
    "courses.record_intake": Case(
        lambda c, w: courses.record_intake(
            c, w.client_id, [Contraindication.ROSACEA], "intake note", allow_removal=True
        ),
        False,
    ),
    "courses.record_session": Case(
        lambda c, w: courses.record_session(
            c, w.client_id, max(w.session_numbers) + 1, datetime(2026, 12, 20, 10), override_reason="agreed"
        ),
        False,
    ),
    "courses.set_course_plan": Case(
        lambda c, w: courses.set_course_plan(c, w.client_id, CoursePlan(6, 6)), False
    ),
    "courses.set_course_regions": Case(
        lambda c, w: courses.set_course_regions(c, w.client_id, [FaceRegion.FOREHEAD], None), False
    ),
    # tracker/app/dashboard.py
    "dashboard.clinic_dashboard": Case(
        lambda c, w: dashboard.clinic_dashboard(c, TODAY), False, own_scope=True
    ),
    "table_export.dashboard_csv": Case(
        lambda c, w: table_export.dashboard_csv(c, TODAY), False, own_scope=True
    ),
    "dashboard.input_signature": Case(lambda c, w: dashboard.input_signature(c, w.client_id), True),
    "dashboard.refresh_client_status": Case(
        lambda c, w: dashboard.refresh_client_status(c, w.client_id, TODAY), True
    ),
    "dashboard.refresh_clinic_status": Case(
        lambda c, w: dashboard.refresh_clinic_status(c, TODAY),
        False,
        own_scope=True,
        readers_of_own_scope=False,
    ),
    # tracker/app/flags.py
    "flags.acknowledge": Case(
        lambda c, w: flags.acknowledge(c, w.client_id, w.flag_key, "seen", TODAY), False
    ),
    "flags.client_flags": Case(lambda c, w: flags.client_flags(c, w.client_id, TODAY), False),
    "flags.latest_reviews": Case(lambda c, w: flags.latest_reviews(c, w.client_id), False),
    "flags.reopen": Case(
        lambda c, w: flags.reopen(c, w.client_id, w.handled_flag_key, "again", TODAY), False
    ),
    "flags.resolve": Case(lambda c, w: flags.resolve(c, w.client_id, w.flag_key, "done", TODAY), False),
    "flags.review_flags": Case(lambda c, w: flags.review_flags(c, w.client_id, _flags_of(w), TODAY), False),
    "flags.snooze": Case(
        lambda c, w: flags.snooze(c, w.client_id, w.flag_key, TODAY + timedelta(days=10), "later", TODAY),
        False,
    ),
    # tracker/app/job_queue.py
    "job_queue.list_jobs": Case(lambda c, w: job_queue.list_jobs(c), False, own_scope=True),
    "job_queue.retry_job": Case(lambda c, w: job_queue.retry_job(c, w.failed_job_id), False),
    # tracker/app/jobs.py
    "jobs.progress": Case(lambda c, w: jobs.progress(c, w.client_id), True),
    # tracker/app/measurements.py
    "measurements.analyze_photo": Case(lambda c, w: measurements.analyze_photo(c, w.photo_ids[-1]), True),
    "measurements.latest_result": Case(lambda c, w: measurements.latest_result(c, w.photo_ids[0]), True),
    "measurements.reanalyze_series": Case(lambda c, w: measurements.reanalyze_series(c, w.course_id), False),
    "measurements.series_info": Case(lambda c, w: measurements.series_info(c, w.client_id), True),
    "measurements.set_series_scale": Case(
        lambda c, w: measurements.set_series_scale(c, w.client_id, ((100.0, 100.0), (300.0, 100.0)), 20.0),
        False,
    ),
    "measurements.set_series_zones": Case(
        lambda c, w: measurements.set_series_zones(c, w.client_id, _zones(w, c)), False
    ),
    # tracker/app/notes.py
    "notes.add_note": Case(lambda c, w: notes.add_note(c, w.client_id, "a note"), False),
    "notes.client_notes": Case(lambda c, w: notes.client_notes(c, w.client_id), False),
    # tracker/app/people.py
    "people.change_own_password": Case(
        lambda c, w: people.change_own_password(c, "not-the-password", "Another-long-passphrase-9"),
        True,
        own_scope=True,
        readers_of_own_scope=False,
    ),
    "people.create_account": Case(
        lambda c, w: people.create_account(
            c, "bea@example.test", Role.CLIENT, None, client_id=w.nologin_client_id
        ),
        False,
    ),
    "people.list_accounts": Case(lambda c, w: people.list_accounts(c), False, own_scope=True),
    "people.reset_password": Case(
        lambda c, w: people.reset_password(c, w.client_user_id, "Another-long-passphrase-9"), False
    ),
    "people.set_active": Case(lambda c, w: people.set_active(c, w.client_user_id, False), False),
    "people.start_session": Case(
        lambda c, w: people.start_session(c), True, own_scope=True, readers_of_own_scope=False
    ),
    # tracker/app/photo_admin.py
    "photo_admin.delete_photo": Case(
        lambda c, w: photo_admin.delete_photo(c, w.photo_ids[-1], "taken by mistake"), True
    ),
    "photo_admin.move_photo": Case(
        lambda c, w: photo_admin.move_photo(c, w.photo_ids[-1], w.session_numbers[0]), False
    ),
    "photo_admin.recent_uploads": Case(lambda c, w: photo_admin.recent_uploads(c), True, own_scope=True),
    "photo_admin.retag_photo": Case(
        lambda c, w: photo_admin.retag_photo(c, w.photo_ids[0], PhotoKind.CHECKIN), False
    ),
    # tracker/app/photos.py
    "photos.aligned_pair": Case(lambda c, w: photos.aligned_pair(c, w.photo_ids[0], w.photo_ids[-1]), True),
    "photos.import_photo": Case(
        lambda c, w: photos.import_photo(c, w.client_id, _jpeg(w), "new.jpg", session_number=1), True
    ),
    "photos.photo_bytes": Case(lambda c, w: photos.photo_bytes(c, w.photo_ids[0], "original"), True),
    "photos.photo_size": Case(lambda c, w: photos.photo_size(c, w.photo_ids[0]), True),
    "photos.upload_photo": Case(
        lambda c, w: photos.upload_photo(c, w.client_id, _jpeg(w), "new.jpg", session_number=1), True
    ),
    # tracker/app/records.py
    "records.delete_client": Case(lambda c, w: records.delete_client(c, w.client_id, w.client_name), False),
    # tracker/app/downloads.py: every kind of file goes through one use case
    "downloads.build": Case(lambda c, w: downloads.build(c, "export", w.client_id), True),
    "records.export_client": Case(lambda c, w: records.export_client(c, w.client_id), True),
    "records.write_client_export": Case(
        lambda c, w: records.write_client_export(c, w.client_id, io.BytesIO()), True
    ),
    # tracker/app/reminders.py
    "reminders.calendar_file": Case(lambda c, w: reminders.calendar_file(c, w.client_id, TODAY), True),
    "reminders.client_reminders": Case(lambda c, w: reminders.client_reminders(c, w.client_id, TODAY), True),
    "reminders.send_reminders": Case(
        lambda c, w: reminders.send_reminders(c, TODAY, send=None), False, own_scope=True
    ),
    # tracker/app/reports.py
    "reports.client_report_pdf": Case(
        lambda c, w: reports.client_report_pdf(c, w.client_id, today=TODAY), True
    ),
}


def public_use_cases() -> list[str]:
    """Every public function of tracker/app/*.py whose first parameter is a Context."""
    found = []
    for info in pkgutil.iter_modules(tracker.app.__path__):
        module = importlib.import_module(f"tracker.app.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            params = list(inspect.signature(fn).parameters.values())
            if params and typing.get_type_hints(fn).get(params[0].name) is Context:
                found.append(f"{info.name}.{name}")
    return sorted(found)


def test_every_public_use_case_has_a_reviewed_entry() -> None:
    found = public_use_cases()
    assert len(found) > 50  # the enumeration works
    missing = sorted(set(found) - set(CASES))
    assert not missing, f"public use cases without an entry in CASES (decide who may call them): {missing}"
    stale = sorted(set(CASES) - set(found))
    assert not stale, f"entries for use cases that no longer exist: {stale}"


def snapshot(app: App) -> dict[str, Any]:
    """Row count and a checksum of every row of every table, and the blob folder's files."""
    out: dict[str, Any] = {}
    with app.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    out["blobs"] = sorted(info.key for info in app.blobs.iterate())
    return out


def _set_active(w: World, email: str, active: bool) -> None:
    with w.app.uow() as uow:
        uow.session.execute(update(User).where(User.email == email).values(active=active))
        uow.session.commit()


def _refused(w: World, case: Case, ctx: Context, who: str) -> None:
    before = snapshot(w.app)
    with pytest.raises(NotAllowed):
        result = case.call(ctx, w)
        pytest.fail(f"{who} was let through: {result!r:.200}")
    after = snapshot(w.app)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"refused for {who}, yet wrote to {changed}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_actors_are_refused_and_change_nothing(world: World, name: str) -> None:
    case = CASES[name]
    w = world
    wrong = ["another clinic's admin", "another clinic's practitioner", "another client"]
    if not case.client_may:
        wrong.append("client herself")
    for who in wrong:
        ctx = w.ctx(who)
        a_client = who in ("another client", "client herself")
        if case.own_scope and not (a_client and not case.client_may):
            # Acting on their own clinic or account is theirs to do; it must not reveal the target.
            if case.readers_of_own_scope:
                try:
                    result = case.call(ctx, w)
                except PermissionDenied:
                    continue
                assert not case.leaks(result, w), f"{who} read the target through {name}"
            continue
        _refused(w, case, ctx, who)

    # A switched-off account: the Actor is still in hand (an open page), the account is off.
    switched_off = [("admin", "admin@demo.test")]
    if case.client_may:
        switched_off.append(("client herself", "ava@demo.test"))
    for who, email in switched_off:
        _set_active(w, email, False)
        try:
            _refused(w, case, w.ctx(who), f"switched-off {who}")
        finally:
            _set_active(w, email, True)


def test_a_session_practitioner_must_belong_to_the_clients_clinic(world: World) -> None:
    w = world
    with w.app.uow() as uow:
        outsider = uow.session.scalar(select(User.id).where(User.email == "practitioner@other.test"))
        ava = uow.session.scalar(select(User.id).where(User.email == "ava@demo.test"))
    staff = w.ctx("practitioner")
    for wrong in (outsider, ava, 999_999):  # another clinic's practitioner, a client, no one
        before = snapshot(w.app)
        with pytest.raises(PermissionDenied):
            courses.record_session(
                staff,
                w.client_id,
                max(w.session_numbers) + 1,
                datetime(2026, 12, 20, 10),
                practitioner_id=wrong,
                override_reason="agreed",
            )
        assert snapshot(w.app) == before


def test_reanalyze_series_of_another_clinic_creates_nothing(world: World) -> None:
    """The hole the audit found: a practitioner of clinic 2 created a series row in clinic 1."""
    w = world
    before = snapshot(w.app)
    with pytest.raises(PermissionDenied):
        measurements.reanalyze_series(w.ctx("another clinic's practitioner"), w.course_id)
    assert snapshot(w.app) == before
