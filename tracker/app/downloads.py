"""The files a person downloads (data export, report, chart, calendar), each built on
request by its own use case, which checks the actor's permission first.

Why built per request: a file handed to Streamlit's download button was kept in the
server's memory under an unguessable /media URL that answered anyone, signed in or not,
for minutes after the browser closed. Now the page shows a link to the app's own route
(tracker/web/download_routes.py), which resumes the signed-in person from the request's
HttpOnly cookie and calls `build` below: no cookie, an ended session or another clinic's
client, and nothing is built. A report is built under the consents as they are now.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from tracker.app.charts import chart_png, metric_chart
from tracker.app.clinic import clinic_today
from tracker.app.context import Context
from tracker.app.courses import SUMMARY_METRICS, client_names, course_progress
from tracker.app.records import export_client
from tracker.app.reminders import calendar_file
from tracker.app.reports import client_report_pdf, report_filename
from tracker.app.table_export import dashboard_csv
from tracker.errors import NotFound, Refused

ROUTE = "/download"
KINDS = ("export", "report", "chart", "calendar", "dashboard")
# The files about the actor's own clinic rather than one client: no client in their link.
CLINIC_KINDS = ("dashboard",)


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    body: bytes


def download_path(kind: str, client_id: int | None = None, metric: str | None = None) -> str:
    """The link a page shows: the route and what to build, never a file's bytes or a token."""
    if kind not in KINDS or (client_id is None) != (kind in CLINIC_KINDS):
        raise ValueError(f"unknown download {kind!r} for client {client_id!r}")
    query = {
        **({"client": str(client_id)} if client_id is not None else {}),
        **({"metric": metric} if metric else {}),
    }
    return f"{ROUTE}/{kind}" + (f"?{urlencode(query)}" if query else "")


def build(ctx: Context, kind: str, client_id: int | None, metric: str | None = None) -> Download:
    """The file, built now by the use case that checks whether this actor may have it."""
    if kind == "dashboard":
        name, body = dashboard_csv(ctx, clinic_today(ctx.settings))
        return Download(name, "text/csv", body)
    if client_id is None:
        raise NotFound("There is no such download.")
    if kind == "export":
        name, body = export_client(ctx, client_id)
        return Download(name, "application/zip", body)
    if kind == "report":
        today = clinic_today(ctx.settings)
        pdf = client_report_pdf(ctx, client_id, today=today)  # checks access before building
        names = {c.id: c.name for c in client_names(ctx)}
        return Download(report_filename(names.get(client_id, "client"), today), "application/pdf", pdf)
    if kind == "chart":
        if metric not in SUMMARY_METRICS:
            raise Refused("Choose one of the charts the page offers.")
        progress = course_progress(ctx, client_id, clinic_today(ctx.settings))
        return Download(f"{metric}.png", "image/png", chart_png(metric_chart(progress, metric)))
    if kind == "calendar":
        name, body = calendar_file(ctx, client_id, clinic_today(ctx.settings))
        return Download(name, "text/calendar", body)
    raise NotFound("There is no such download.")


__all__ = ["CLINIC_KINDS", "KINDS", "ROUTE", "Download", "build", "download_path"]
