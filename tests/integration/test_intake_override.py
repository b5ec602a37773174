"""Issue 11 item 9: a new session for a client with a contraindication on the intake needs
the practitioner's explicit override with a reason, which is audited; the practitioner
clears it by updating the intake."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import blob_files, photo_rows
from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.app.courses import ContraindicationOnFile
from tracker.bootstrap import App
from tracker.domain import Contraindication, Intake
from tracker.permissions import Actor
from tracker.progress.flags import contraindications
from tracker.store.models import AuditEvent, TreatmentSession

AT = datetime(2026, 5, 4, 10)
PHOTO = (Path(__file__).resolve().parents[2] / "sample_photos" / "linh" / "s1_before_a.jpg").read_bytes()
NEW = (
    Contraindication.PREGNANCY_OR_BREASTFEEDING,
    Contraindication.ISOTRETINOIN,
    Contraindication.KELOID_TENDENCY,
    Contraindication.COLD_SORES,
    Contraindication.RECENT_TAN_OR_SUNBURN,
    Contraindication.DIABETES,
)


def sessions(app: App) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count(TreatmentSession.id))) or 0)


def overrides(app: App) -> list[AuditEvent]:
    with app.uow() as uow:
        rows = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "contraindication_override"))
        return list(rows)


def test_a_session_is_refused_without_an_override_and_saved_with_one(
    app: App, operator: Actor, client_id: int
) -> None:
    ctx = Context(app, operator)
    courses.record_intake(ctx, client_id, [Contraindication.ISOTRETINOIN, Contraindication.COLD_SORES])
    for reason in ("", "   "):
        with pytest.raises(ContraindicationOnFile, match="Isotretinoin") as refused:
            courses.record_session(ctx, client_id, 1, AT, override_reason=reason)
        assert refused.value.contraindications == (Contraindication.ISOTRETINOIN, Contraindication.COLD_SORES)
    assert sessions(app) == 0 and overrides(app) == []

    reason = "Stopped isotretinoin 8 months ago (GP letter); antiviral started for cold sores."
    session_id = courses.record_session(ctx, client_id, 1, AT, override_reason=f"  {reason} ")
    (event,) = overrides(app)
    assert event.entity == "treatment_session" and event.entity_id == session_id and event.actor == "cli"
    assert event.detail == {
        "client_id": client_id,
        "session": 1,
        "reason": reason,
        "contraindications": 2,  # how many, not which: the audit log keeps no health answers
    }
    # Changing the recorded session is not a new decision to treat.
    courses.record_session(ctx, client_id, 1, AT, device="Dermapen 4", replace=True)
    assert len(overrides(app)) == 1

    # Cleared on the intake: the next session needs no override.
    courses.record_intake(ctx, client_id, [], allow_removal=True)
    courses.record_session(ctx, client_id, 2, datetime(2026, 6, 8, 10))
    assert sessions(app) == 2 and len(overrides(app)) == 1


def test_a_client_without_contraindications_needs_no_override(
    app: App, operator: Actor, client_id: int
) -> None:
    courses.record_session(Context(app, operator), client_id, 1, AT)
    assert sessions(app) == 1 and overrides(app) == []


def test_the_new_questions_are_stored_read_back_and_flagged(
    app: App, operator: Actor, client_id: int
) -> None:
    ctx = Context(app, operator)
    courses.record_intake(ctx, client_id, list(NEW))
    intake = courses.client_intake(ctx, client_id)
    assert intake.contraindications == NEW
    flag = contraindications(intake.to_json())
    assert flag is not None and flag.severity == "act"
    assert "answered yes at intake: Pregnant or breastfeeding" in flag.evidence
    assert Intake.from_json({"contraindications": [c.value for c in NEW]}).contraindications == NEW


def test_an_import_does_not_open_a_session_past_the_override(
    app: App, operator: Actor, client_id: int
) -> None:
    ctx = Context(app, operator)
    courses.record_intake(ctx, client_id, [Contraindication.DIABETES])
    with pytest.raises(ContraindicationOnFile, match="record the session first"):
        photos.import_photo(
            ctx, client_id, PHOTO, "s1.jpg", session_number=1, create_session=True, analyse=False
        )
    assert sessions(app) == 0 and photo_rows(app) == 0 and blob_files(app) == []
    courses.record_session(ctx, client_id, 1, AT, override_reason="Well controlled; GP agrees.")
    done = photos.import_photo(ctx, client_id, PHOTO, "s1.jpg", session_number=1, analyse=False)
    assert done.session_number == 1 and photo_rows(app) == 1
