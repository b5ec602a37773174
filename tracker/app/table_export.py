"""Tables as CSV files that open safely in a spreadsheet.

A cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage return before one) is
run as a formula by Excel, LibreOffice and Google Sheets: a client called
`=HYPERLINK("http://…?"&A2, "Ava")` would send the next cell to that host when clicked, and
`=cmd|…` has run programs. Every text cell that starts so gets a leading `'`, which the
spreadsheet shows as text; numbers are written as numbers.

Streamlit's own table toolbar (CSV download, copy) does not do this, so it is switched off
(`client.disableDataExport` in .streamlit/config.toml) and the pages offer these files
instead. Building the file is a use case, so that a server route (rather than
`st.download_button`) can serve it after the same permission check.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from tracker.app import audit
from tracker.app.context import Context
from tracker.app.dashboard import clinic_dashboard
from tracker.permissions import require_staff

# With their full-width forms, which some spreadsheets also take as formula signs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

# The dashboard file: its columns, with headers as the dashboard names them.
DASHBOARD_COLUMNS = {
    "client_id": "Client id",
    "name": "Client",
    "concern": "Concern",
    "sessions_done": "Sessions done",
    "planned_sessions": "Sessions planned",
    "next_due": "Next due",
    "overdue_days": "Days overdue",
    "act": "Act flags",
    "watch": "Watch flags",
    "flags": "Flags",
    "redness_change": "Redness change",
    "redness_status": "Redness",
    "texture_change_pct": "Texture change %",
    "texture_status": "Texture",
    "last_photo": "Last photo",
    "photos": "Photos",
    "usable_photos": "Usable photos",
}


def csv_cell(value: object) -> object:
    """`value` as a CSV cell: text that a spreadsheet would run as a formula is made text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads accents and CJK right), every cell
    through `csv_cell`, the header too."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def records_csv(records: Sequence[Mapping[str, object]], columns: Mapping[str, str]) -> bytes:
    """Rows of `records` (dicts) as CSV: `columns` maps each key to its header."""
    return to_csv(list(columns.values()), ([r.get(k) for k in columns] for r in records))


def dashboard_csv(ctx: Context, today: date) -> tuple[str, bytes]:
    """The clinic's dashboard as a CSV file (file name, bytes), for staff; audited, like
    every export of client data."""
    require_staff(ctx.actor)
    table = clinic_dashboard(ctx, today)
    records = [
        {key: _plain(row.get(key)) for key in DASHBOARD_COLUMNS} for row in table.to_dict(orient="records")
    ]
    data = records_csv(records, DASHBOARD_COLUMNS)
    with ctx.uow() as uow:
        detail = {"rows": len(records)}
        audit.record(uow, ctx.actor, "export_dashboard", "clinic", ctx.actor.clinic_id, detail)
        uow.commit()
    return f"clients-{today.isoformat()}.csv", data


def _plain(value: object) -> object:
    """Dates as ISO text, enums as their label, nothing for a missing value (NaN, NaT)."""
    if value is None or value != value:
        return None
    if isinstance(value, date):
        return value.isoformat()
    label = getattr(value, "label", None)
    return label if isinstance(label, str) else value


__all__ = ["DASHBOARD_COLUMNS", "FORMULA_STARTS", "csv_cell", "dashboard_csv", "records_csv", "to_csv"]
