from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tracker import consistency
from tracker.auth import verify_password
from tracker.bootstrap import App
from tracker.demo import (
    DEMO_CLIENT_PASSWORD,
    DEMO_PRACTITIONER_EMAIL,
    DEMO_PRACTITIONER_PASSWORD,
    build_demo,
    demo_photo_count,
    load_manifest,
)
from tracker.domain import Role
from tracker.store.models import Client, Photo, TreatmentSession, User


def test_demo_loads_every_photo_once_with_its_session_kind_and_time(app: App) -> None:
    manifest = load_manifest()
    first = build_demo(app)
    assert first.rejected == []
    assert first.photos_imported == demo_photo_count(manifest) >= 75
    assert first.clients == len(manifest["clients"]) >= 3

    again = build_demo(app)
    assert (again.photos_imported, again.photos_present) == (0, first.photos_imported)

    with app.uow() as uow:
        rows = uow.session.execute(
            select(Client.name, Photo.original_filename, TreatmentSession.number, Photo.kind, Photo.taken_at)
            .join(Photo, Photo.client_id == Client.id)
            .join(TreatmentSession, TreatmentSession.id == Photo.session_id)
        ).all()
    stored = {(r[0], r[2], r[1]): (r[3].value, r[4]) for r in rows}
    for client in manifest["clients"]:
        for photo in client["photos"]:
            key = (client["name"], photo["session"], photo["file"].split("/")[-1])
            assert stored[key] == (photo["kind"], datetime.fromisoformat(photo["taken_at"]))
    assert consistency.check(app).consistent


def test_demo_accounts_can_sign_in(app: App) -> None:
    manifest = load_manifest()
    build_demo(app)
    with app.uow() as uow:
        practitioner = uow.repo.user_by_email(DEMO_PRACTITIONER_EMAIL)
        assert practitioner is not None and practitioner.role is Role.PRACTITIONER
        assert verify_password(DEMO_PRACTITIONER_PASSWORD, practitioner.password_hash)
        assert not verify_password("wrong", practitioner.password_hash)
        clients = uow.session.scalars(select(User).where(User.role == Role.CLIENT)).all()
        assert len(clients) == len(manifest["clients"])
        for user in clients:
            assert user.email == f"{user.display_name.split()[0].lower()}@demo.test"
            assert user.client_id is not None
            assert verify_password(DEMO_CLIENT_PASSWORD, user.password_hash)
