"""The client-file PDF: course summary, provenance-stamped before/after photos, charts,
metrics with their noise band, flags with evidence and session settings.

A report leaves the system (printed, mailed, filed), so it has to stand on its own: each
photo carries its capture time, its place in the course, its quality score and the first
hex digits of the unedited original's SHA-256, so anyone holding the file can check the
picture against the stored original (design §2 item 9, §8). Every number that could be
read as progress sits beside its noise band.

fpdf2's core fonts are Latin-1 only, and client names are not (design §4): the report is
set in DejaVu Sans, a TTF embedded as a subset. DejaVu has no Chinese, Japanese or Korean
and no emoji, so a name like "王芳 🌸" came out blank: fpdf2 falls back to WenQuanYi Micro
Hei (CJK) and then Symbola (emoji, symbols) where the machine has them, and a character
no installed font has is printed as U+FFFD (a "?" in a diamond), never as nothing.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace
from PIL import Image

from tracker.app import audit, photos
from tracker.app.charts import chart_png, metric_chart, recovery_chart
from tracker.app.clinic import clinic_now
from tracker.app.consent import NO_PHOTOS_IN_REPORTS
from tracker.app.context import Context
from tracker.app.courses import course_progress
from tracker.app.flags import ClientFlags, FlagState, FlagView, review_flags
from tracker.application import App
from tracker.domain import Concern, ConsentFlag, Consents, PhotoKind, Role
from tracker.errors import Refused
from tracker.glossary import fmt, fmt_pct, fmt_quality, kind_label, short_label, status_label, term
from tracker.imaging.quality import TREND_THRESHOLD
from tracker.permissions import Actor, require_client_access
from tracker.progress.assessment import CourseProgress
from tracker.progress.recovery import NORMAL_T90_HOURS
from tracker.progress.series import Summary
from tracker.store import queries

FONT_PACKAGE = "fonts-dejavu-core"
FONT_FAMILY = "DejaVu"
# Where DejaVu Sans lives on common systems (Debian/Ubuntu, Fedora, Arch, macOS with
# Homebrew, a user font folder).
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/opt/homebrew/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / "Library/Fonts",
)
IMAGE_LONG_EDGE = 1000  # px: sharp at 88 mm wide (~290 dpi) and keeps the demo report ~1–2 MB
IMAGE_QUALITY = 82
CHART_SCALE = 2.0
PAIR_MAX_HEIGHT = 105.0  # mm: the lined-up pair, with the originals below it on one page
ORIGINAL_MAX_HEIGHT = 62.0  # mm
HASH_CHARS = 12
# Tried in this order after DejaVu Sans for a character it lacks: (family, the font file's
# usual places, face number in a collection). Missing ones are skipped: the placeholder
# stands in for what no installed font has.
FALLBACK_FONTS = (
    (
        "WenQuanYi",
        (
            "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
            "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
        ),
        0,
    ),
    (
        "Symbola",
        (
            "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
            "/usr/share/fonts/TTF/Symbola.ttf",
        ),
        0,
    ),
)
FALLBACK_PACKAGES = "fonts-wqy-microhei fonts-symbola"
PLACEHOLDER = "\ufffd"
# Characters that only modify their neighbour (emoji presentation, joiners): left out when
# no font has them, as a renderer would, rather than shown as a placeholder.
_INVISIBLE = frozenset("\u200c\u200d\ufe0e\ufe0f")

# What each concern is judged by, after the two metrics every course shows.
CONCERN_METRICS: dict[Concern, tuple[str, ...]] = {
    Concern.ACNE_SCARS: ("glcm_contrast",),
    Concern.FINE_LINES_WRINKLES: ("line_density",),
    Concern.ENLARGED_PORES: ("pore_density",),
    Concern.UNEVEN_TONE: ("spot_area_pct", "mel_index"),
    Concern.STRETCH_MARKS: ("line_density",),
    Concern.BURN_SCARS: ("red_area_pct",),
}
HEADLINE_METRICS = ("delta_ei", "texture_dog")

ACCENT = (29, 95, 138)  # used when the clinic sets no colour of its own
INK = (33, 33, 33)
MUTED = (105, 105, 105)
ZEBRA = (241, 245, 249)
SEVERITY_LABELS = {"act": "Act", "watch": "Watch", "info": "Info"}
SEVERITY_COLOURS = {"act": (176, 42, 42), "watch": (184, 115, 0), "info": (90, 90, 90)}
# How a handled flag is listed: "Resolved on 3 Dec 2026 by anna@clinic".
HANDLED_WORDS = {
    FlagState.ACKNOWLEDGED: "Acknowledged",
    FlagState.RESOLVED: "Resolved",
    FlagState.SNOOZED: "Snoozed",
}
SOURCE_WORDS = {"exif": "camera clock", "given": "entered by staff", "upload": "time of upload"}


class FontMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class FallbackFont:
    family: str
    path: Path
    face: int  # in a font collection (.ttc); 0 for a single font


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path  # the regular file again when no bold face is installed
    fallbacks: tuple[FallbackFont, ...] = ()


def find_fallback_fonts(
    candidates: Iterable[tuple[str, Sequence[str], int]] = FALLBACK_FONTS,
) -> tuple[FallbackFont, ...]:
    """The fallback fonts this machine has (./run installs them: FALLBACK_PACKAGES)."""
    found = []
    for family, paths, face in candidates:
        path = next((Path(p) for p in paths if Path(p).is_file()), None)
        if path is not None:
            found.append(FallbackFont(family, path, face))
    return tuple(found)


@dataclass(frozen=True)
class PhotoStamp:
    """What is printed under a photo: enough to find it and check it against the original."""

    photo_id: int
    session: int
    kind: str
    taken_at: datetime
    taken_at_source: str
    hours_since_session: float
    days_since_start: float
    quality: float
    usable: bool
    original_sha256: str

    def lines(self) -> list[str]:
        kind = kind_label(self.kind)
        source = SOURCE_WORDS.get(self.taken_at_source, self.taken_at_source)
        used = "used in trends" if self.usable else f"below {TREND_THRESHOLD:.0%}: not used in trends"
        return [
            f"{kind} · session {self.session} · photo #{self.photo_id}",
            f"Taken {self.taken_at:%Y-%m-%d %H:%M} ({source})",
            f"{_since_session(self.hours_since_session, self.session)} · "
            f"day {max(self.days_since_start, 0.0):.0f} of the course",
            f"Photo quality {fmt_quality(self.quality)} ({used})",
            f"Unedited original · SHA-256 {self.original_sha256[:HASH_CHARS]}",
        ]


def find_font(search_dirs: Iterable[Path] | None = None) -> FontFiles:
    """DejaVu Sans on this machine, or a FontMissing that says which package to install.

    `search_dirs` replaces the default locations (tests use it); the defaults are the
    usual system folders.
    """
    dirs = list(search_dirs) if search_dirs is not None else list(FONT_DIRS)
    for folder in dirs:
        regular = folder / "DejaVuSans.ttf"
        if regular.is_file():
            bold = folder / "DejaVuSans-Bold.ttf"
            return FontFiles(regular, bold if bold.is_file() else regular, find_fallback_fonts())
    raise FontMissing(
        f"The PDF report needs the DejaVu Sans font, which was not found in "
        f"{', '.join(str(d) for d in dirs) or 'any font folder'}. Install the Debian/Ubuntu "
        f"package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})."
    )


def report_filename(name: str, today: date) -> str:
    """A file name that survives any file system, mail client and download header:
    ASCII letters, digits and hyphens ("Linh Nguyễn" → report-Linh-Nguyen-2026-11-21.pdf)."""
    special = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss"})
    special.update(str.maketrans({"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th"}))
    plain = unicodedata.normalize("NFKD", name.translate(special))
    ascii_name = plain.encode("ascii", "ignore").decode("ascii").replace("'", "")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-")[:60].strip("-") or "client"
    return f"report-{slug}-{today.isoformat()}.pdf"


def default_pairs(progress: CourseProgress) -> list[tuple[int, int]]:
    """The progress the course made: the first usable before-photo of the first session
    against the latest usable before-photo, when that one is from a later session."""
    table = progress.table
    if table.empty:
        return []
    before = table[(table["kind"] == PhotoKind.BEFORE.value) & table["usable"]]
    if before.empty:
        return []
    first_session = int(before["session"].min())
    first = before[before["session"] == first_session].iloc[0]
    last = before.iloc[-1]
    if int(last["session"]) == first_session:
        return []
    return [(int(first["photo_id"]), int(last["photo_id"]))]


def client_report_pdf(
    ctx: Context,
    client_id: int,
    *,
    pairs: list[tuple[int, int]] | None = None,
    today: date | None = None,
) -> bytes:
    """The PDF report of one client's current course, and an "export_report" audit event.

    A client may export their own report, staff any client of their clinic. `pairs` are
    (before_photo_id, after_photo_id) of this client's current course; by default the
    first baseline photo against the latest before-photo. The export is logged only once
    the PDF exists, so a failed export leaves no misleading trace.

    Without the client's consent to photos in reports the PDF has no photos, whatever
    `pairs` asks for, and says so where they would be.

    Flags are the practitioners' business: a staff export lists the open flags with their
    evidence and one line per acknowledged, snoozed or resolved flag (tracker.app.flags); a
    client's own export has no flags at all (the intake's answers are never shown to them).
    """
    app, actor = ctx.app, ctx.actor
    fonts = find_font()  # fail before any work when the font is missing
    with ctx.uow() as uow:
        client = require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        clinic = uow.repo.clinic(client.clinic_id)
        clinic_name = clinic.name if clinic else ""
        photos_allowed = Consents.from_json(client.consent).given(ConsentFlag.PHOTOS_IN_REPORTS)
    progress = course_progress(ctx, client_id, today)
    staff = actor.role in (Role.PRACTITIONER, Role.ADMIN)
    reviewed = review_flags(ctx, client_id, progress.flags, progress.today) if staff else None
    chosen = default_pairs(progress) if pairs is None else [(int(a), int(b)) for a, b in pairs]
    if not photos_allowed:
        chosen = []
    photo_ids = list(dict.fromkeys(pid for pair in chosen for pid in pair))
    stamps = _photo_stamps(app, actor, client_id, photo_ids, progress.table)
    images = {pid: _pdf_jpeg(photos.photo_bytes(ctx, pid, "display")) for pid in photo_ids}
    aligned = {pair: _aligned_images(ctx, *pair) for pair in chosen}

    generated = clinic_now(ctx.settings)  # the clinic's clock, like every clinical time
    pdf = _ReportPdf(fonts, clinic_name, progress.client_name, generated)
    pdf.contact = _contact_text(ctx)
    logo = ctx.settings.clinic_logo
    pdf.logo = logo if logo is not None and logo.is_file() else None
    pdf.accent = _rgb(ctx.settings.accent_colour)
    _summary_page(pdf, progress, clinic_name, generated, reviewed)
    _pairs_section(
        pdf, chosen, stamps, images, aligned, left_out="" if photos_allowed else NO_PHOTOS_IN_REPORTS
    )
    _charts_section(pdf, progress)
    _metrics_section(pdf, progress)
    if reviewed is not None:
        _flags_section(pdf, reviewed)
    _sessions_section(pdf, progress)
    data = bytes(pdf.output())

    with ctx.uow() as uow:
        audit.record(
            uow,
            actor,
            "export_report",
            "client",
            client_id,
            detail={
                "photos": photo_ids,
                "photos_in_reports": photos_allowed,
                "pages": pdf.pages_count,
                "bytes": len(data),
                "as_of": progress.today.isoformat(),
            },
        )
        uow.commit()
    return data


# The document ---------------------------------------------------------------------------


class _ReportPdf(FPDF):
    """A4 portrait with a running header (from page 2) and a confidentiality footer."""

    def __init__(self, fonts: FontFiles, clinic: str, client: str, generated: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.clinic = clinic
        self.contact = ""  # phone · email · address from the settings, under the name
        self.logo: Path | None = None
        self.accent = ACCENT  # the clinic's colour (settings.accent_colour) for the band and headings
        self.client = client
        self.generated = generated
        self.add_font(FONT_FAMILY, "", str(fonts.regular))
        self.add_font(FONT_FAMILY, "B", str(fonts.bold))
        for fallback in fonts.fallbacks:
            self.add_font(fallback.family, "", str(fallback.path), collection_font_number=fallback.face)
        # Bold text falls back to a fallback's regular face (exact_match=False).
        self.set_fallback_fonts([f.family for f in fonts.fallbacks], exact_match=False)
        self._covered = frozenset().union(*(getattr(font, "cmap", {}) for font in self.fonts.values()))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_title(_t(f"Treatment progress report: {client}"))
        self.set_author(_t(clinic or "tracker"))
        self.set_creator("tracker")
        self.set_lang("en")
        self.add_page()

    def normalize_text(self, text: str) -> str:
        """Every text the page gets passes here: a character no loaded font has becomes the
        placeholder (fpdf2 would leave a gap), a modifier no font has is left out."""
        return super().normalize_text(_covered_text(text, self._covered))

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FONT_FAMILY, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, _t(f"{self.clinic} · Treatment progress report · {self.client}"))
        self.ln(6)
        self.set_draw_color(210, 210, 210)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(4)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            5,
            _t(
                f"Confidential health information · generated {self.generated:%Y-%m-%d %H:%M}"
                f" · page {self.page_no()}/{{nb}}"
            ),
            align="C",
        )

    @property
    def content_width(self) -> float:
        return float(self.w - self.l_margin - self.r_margin)

    def heading(self, text: str, *, space_needed: float = 30.0) -> None:
        """A section heading kept with at least `space_needed` mm of what follows."""
        if self.will_page_break(space_needed + 10):
            self.add_page()
        self.ln(3)
        self.set_font(FONT_FAMILY, "B", 13)
        self.set_text_color(*self.accent)
        self.cell(0, 8, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.set_font(FONT_FAMILY, "", 9.5)

    def paragraph(self, text: str, *, size: float = 9.5, height: float = 5.0) -> None:
        self.set_font(FONT_FAMILY, "", size)
        self.multi_cell(0, height, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def bullet(self, text: str, *, size: float = 9.5, indent: float = 4.0) -> None:
        self.set_font(FONT_FAMILY, "", size)
        self.set_x(self.l_margin + indent)
        self.cell(4, 5, "•")
        self.multi_cell(self.content_width - indent - 4, 5, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _summary_page(
    pdf: _ReportPdf, progress: CourseProgress, clinic: str, generated: datetime, flags: ClientFlags | None
) -> None:
    """Page 1: who, what, where the course stands and what it has shown, in plain words."""
    pdf.set_fill_color(*pdf.accent)
    pdf.rect(0, 0, pdf.w, 34, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(pdf.l_margin, 9)
    pdf.set_font(FONT_FAMILY, "B", 16)
    pdf.cell(0, 8, _t(clinic or "Clinic"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "", 11)
    pdf.cell(0, 7, "Treatment progress report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.contact:
        pdf.set_font(FONT_FAMILY, "", 8.5)
        pdf.cell(0, 5, _t(pdf.contact), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.logo is not None:
        _logo(pdf, pdf.logo)
    pdf.set_text_color(*INK)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_y(42)
    pdf.set_font(FONT_FAMILY, "B", 20)
    pdf.cell(0, 10, _t(progress.client_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    course = progress.to_json()
    facts = [
        ("Concern", progress.concern.label),
        ("Treated area", progress.body_area or "not recorded"),
        ("Course", f"{len(progress.sessions)} of {progress.plan.planned_sessions} sessions done"),
        ("Next session", _next_session_text(progress)),
        (
            "Photos",
            f"{course['photos']} ({course['photos_usable']} of good enough quality to count in trends)",
        ),
        ("Progress as of", progress.today.isoformat()),
        ("Report generated", f"{generated:%Y-%m-%d %H:%M}"),
    ]
    for label, value in facts:
        pdf.set_font(FONT_FAMILY, "B", 9.5)
        pdf.cell(38, 6, _t(label))
        pdf.set_font(FONT_FAMILY, "", 9.5)
        pdf.multi_cell(0, 6, _t(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading("Summary", space_needed=20)
    for line in _summary_lines(progress, flags):
        pdf.bullet(line)
    pdf.heading("How to read this report", space_needed=20)
    for line in (
        "Every measurement is compared with its margin of error (the noise band): the smallest "
        "change that repeat photos of the same skin on the same day can tell apart from "
        "photo-to-photo variation. A change inside the band is reported as “no clear change”, "
        "not as progress.",
        f"Photos with a capture-quality score below {TREND_THRESHOLD:.0%} (blur, glare, exposure, scale) "
        "are shown but not used in baselines, changes or trends.",
        "Photos are reproduced unedited. Under each one are its capture time, its place in the course "
        "and the first characters of the SHA-256 fingerprint of the original file, which identify "
        "the stored original.",
        "Texture is measured from ordinary photos: it shows how visible texture, scars and pores are, "
        "not how deep they are.",
    ):
        pdf.bullet(line, size=8.5)


@dataclass(frozen=True)
class AlignedImages:
    """A before/after pair lined up and cut to one frame, as report-size JPEGs of one size."""

    first: bytes
    second: bytes
    size: tuple[int, int]  # px, of both
    ok: bool  # the alignment is trustworthy


def _aligned_images(ctx: Context, before_id: int, after_id: int) -> AlignedImages:
    """The compare view's aligned pair, cropped to the frame both photos cover, so that the
    report shows the two framed alike (same crop, same scale)."""
    pair = photos.aligned_pair(ctx, before_id, after_id)
    first, second = pair.cropped()
    encoded = [_pdf_jpeg_of(Image.fromarray(np.ascontiguousarray(image))) for image in (first, second)]
    return AlignedImages(encoded[0][0], encoded[1][0], encoded[0][1], pair.ok)


def _pairs_section(
    pdf: _ReportPdf,
    pairs: Sequence[tuple[int, int]],
    stamps: dict[int, PhotoStamp],
    images: dict[int, tuple[bytes, tuple[int, int]]],
    aligned: dict[tuple[int, int], AlignedImages],
    *,
    left_out: str = "",
) -> None:
    """Each pair twice: lined up and cropped alike (what to compare), then the two unedited
    originals (display copies) with their provenance stamps (what was photographed)."""
    pdf.add_page()
    pdf.heading("Before and after")
    if left_out:  # no consent: the reader learns why there are no photos
        pdf.paragraph(left_out)
        return
    if not pairs:
        pdf.paragraph(
            "No before/after pair yet: it needs a usable before-photo from a session after the first one."
        )
        return
    gap = 6.0
    column = (pdf.content_width - gap) / 2
    for before_id, after_id in pairs:
        first, second = stamps[before_id], stamps[after_id]
        lined = aligned[(before_id, after_id)]
        # Lined up: both the same size, as large as a column allows (and no taller than 105 mm).
        width = min(column, PAIR_MAX_HEIGHT * lined.size[0] / lined.size[1])
        height = width * lined.size[1] / lined.size[0]
        if pdf.will_page_break(7 + 5 + height + 10):
            pdf.add_page()
        pdf.set_font(FONT_FAMILY, "B", 10.5)
        days = (second.taken_at - first.taken_at).total_seconds() / 86400.0
        pdf.cell(
            0,
            7,
            _t(f"Session {first.session} → session {second.session} ({days:.0f} days apart)"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_font(FONT_FAMILY, "", 8)
        pdf.set_text_color(*MUTED)
        note = "Lined up and cropped alike: the later photo turned and scaled onto the first."
        if not lined.ok:
            note += " These photos could not be lined up exactly; compare with care."
        pdf.multi_cell(0, 4, _t(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)
        top = pdf.get_y() + 1
        for index, (data, stamp) in enumerate(((lined.first, first), (lined.second, second))):
            x = pdf.l_margin + index * (column + gap)
            pdf.image(
                io.BytesIO(data),
                x=x,
                y=top,
                w=width,
                h=height,
                alt_text=_t(f"Photo {stamp.photo_id}, {stamp.kind}, session {stamp.session}, lined up"),
            )
            pdf.set_xy(x, top + height + 1)
            pdf.set_font(FONT_FAMILY, "B", 7.5)
            pdf.cell(width, 3.8, _t(stamp.lines()[0]), new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_y(top + height + 1 + 3.8 + 4)

        # The unedited originals, each in a box of one column by ORIGINAL_MAX_HEIGHT.
        sizes = []
        for pid in (before_id, after_id):
            w_px, h_px = images[pid][1]
            w = min(column, ORIGINAL_MAX_HEIGHT * w_px / h_px)
            sizes.append((w, w * h_px / w_px))
        tallest = max(h for _, h in sizes)
        if pdf.will_page_break(5 + tallest + 1.5 + 5 * 3.8 + 4):
            pdf.add_page()
        pdf.set_font(FONT_FAMILY, "B", 9)
        pdf.cell(0, 5, "Unedited originals (display copies)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        top = pdf.get_y() + 1
        for index, (pid, (w, h)) in enumerate(zip((before_id, after_id), sizes, strict=True)):
            x = pdf.l_margin + index * (column + gap)
            stamp = stamps[pid]
            pdf.image(
                io.BytesIO(images[pid][0]),
                x=x,
                y=top,
                w=w,
                h=h,
                alt_text=_t(f"Photo {pid}, {stamp.kind}, session {stamp.session}, unedited"),
            )
            pdf.set_xy(x, top + tallest + 1.5)
            for i, line in enumerate(stamp.lines()):
                pdf.set_font(FONT_FAMILY, "B" if i == 0 else "", 7.5)
                pdf.set_x(x)
                pdf.cell(column, 3.8, _t(line), new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_y(top + tallest + 1.5 + 5 * 3.8 + 5)


def _charts_section(pdf: _ReportPdf, progress: CourseProgress) -> None:
    pdf.heading("Measurements over the course", space_needed=100)
    pdf.paragraph(
        "Trend charts show the before-photos, taken with the skin at rest before each session; the "
        "redness right after a session and at the check-ins is in the recovery chart.",
        size=8.5,
        height=4.5,
    )
    table = progress.table
    charts = [
        metric_chart(progress, m, other_kinds=False)
        for m in _report_metrics(progress)
        if m in table and table.loc[table["kind"] == PhotoKind.BEFORE.value, m].notna().any()
    ]
    if "delta_ei" in table and table.loc[table["kind"] != PhotoKind.BEFORE.value, "delta_ei"].notna().any():
        charts.append(recovery_chart(progress))
    if not charts:
        pdf.paragraph("No measurements yet: the charts appear once photos of this course are measured.")
    for chart in charts:
        png = chart_png(chart, scale=CHART_SCALE)
        with Image.open(io.BytesIO(png)) as img:
            w_px, h_px = img.size
        height = pdf.content_width * h_px / w_px
        if pdf.will_page_break(height + 4):
            pdf.add_page()
        pdf.ln(2)
        pdf.image(io.BytesIO(png), x=pdf.l_margin, w=pdf.content_width, h=height)
        pdf.ln(2)


def _metrics_section(pdf: _ReportPdf, progress: CourseProgress) -> None:
    pdf.heading("Measurements: baseline, latest and change")
    pdf.paragraph(
        "Baseline: mean of the usable before-photos of the first session. Latest: the latest usable "
        "before-photo. Margin of error (noise band): the smallest detectable change (±).",
        size=8.5,
        height=4.5,
    )
    pdf.ln(1)
    rows = {
        metric: summary
        for metric, summary in progress.summaries.items()
        if summary.baseline is not None or summary.latest is not None
    }
    if not rows:
        pdf.paragraph("No measurements yet.")
        return
    pdf.set_font(FONT_FAMILY, "", 8.5)
    with pdf.table(
        col_widths=(52, 20, 20, 30, 24, 34),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        line_height=5,
        headings_style=_heading_style(pdf.accent),
        first_row_as_headings=True,
        cell_fill_color=ZEBRA,
        cell_fill_mode=TableCellFillMode.ROWS,
    ) as table:
        table.row(["Measure", "Baseline", "Latest", "Change", "Margin ±", "Status"])
        for metric, summary in rows.items():
            plain, band = term(metric), summary.sdc
            unit = f" ({plain.unit})" if plain.unit else ""
            change = fmt(summary.change, metric, band=band, signed=True, unit=False)
            if summary.change_pct is not None:
                change += f" ({fmt_pct(summary.change_pct)})"
            table.row(
                [
                    _t(plain.label + unit),
                    fmt(summary.baseline, metric, band=band, unit=False),
                    fmt(summary.latest, metric, band=band, unit=False),
                    _t(change),
                    "±" + fmt(band, metric, band=band, unit=False),
                    status_label(summary.status),
                ]
            )


def _flags_section(pdf: _ReportPdf, reviewed: ClientFlags) -> None:
    """The open flags with their evidence, then a line per flag someone has handled."""
    pdf.heading("Flags and their evidence", space_needed=25)
    if not reviewed.open:
        pdf.paragraph("No open flags: nothing in this course is waiting for a closer look.")
    for view in reviewed.open:
        flag = view.flag
        if pdf.will_page_break(12 + 5 * len(flag.evidence)):
            pdf.add_page()
        pdf.set_font(FONT_FAMILY, "B", 9.5)
        pdf.set_text_color(*SEVERITY_COLOURS.get(flag.severity, MUTED))
        pdf.cell(16, 6, SEVERITY_LABELS.get(flag.severity, flag.severity))
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 6, _t(flag.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for line in flag.evidence:
            pdf.bullet(line, size=8.5, indent=16)
        pdf.ln(1)
    if reviewed.handled:
        pdf.set_font(FONT_FAMILY, "B", 9.5)
        pdf.cell(0, 6, "Handled by the clinic", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for view in reviewed.handled:
            pdf.bullet(_handled_words(view), size=8.5)


def _handled_words(view: FlagView) -> str:
    """ "Redness slow to settle after session 2: resolved on 3 Dec 2026 by anna@clinic"."""
    what = HANDLED_WORDS.get(view.state, view.state.value.capitalize())
    latest = view.latest
    if latest is None:
        return f"{view.flag.title}: {what.lower()}"
    until = f" until {latest.snoozed_until:%d %b %Y}" if latest.snoozed_until is not None else ""
    return f"{view.flag.title}: {what.lower()}{until} on {latest.at:%d %b %Y} by {latest.by}"


def _sessions_section(pdf: _ReportPdf, progress: CourseProgress) -> None:
    pdf.heading("Sessions: settings, rating and what followed", space_needed=30)
    pdf.paragraph(
        "Rating: the client's own 1–10 rating. Recovery: fitted time for 90 % of the redness to settle "
        f"(normal ≤ {NORMAL_T90_HOURS:g} h). Change that followed: from this session's before-photos to "
        "the next session's.",
        size=8.5,
        height=4.5,
    )
    pdf.ln(1)
    pdf.set_font(FONT_FAMILY, "", 8)
    with pdf.table(
        col_widths=(8, 19, 22, 15, 14, 28, 13, 27, 34),
        text_align=("CENTER", "LEFT", "LEFT", "RIGHT", "RIGHT", "LEFT", "CENTER", "LEFT", "LEFT"),
        line_height=4.5,
        headings_style=_heading_style(pdf.accent),
        first_row_as_headings=True,
        cell_fill_color=ZEBRA,
        cell_fill_mode=TableCellFillMode.ROWS,
    ) as table:
        table.row(
            ["#", "Date", "Device", "Depth", "Passes", "Serum", "Rating", "Recovery", "Change that followed"]
        )
        for s in progress.sessions:
            fit = s.recovery
            recovery = "no fit"
            if fit is not None and fit.t90_hours is not None:
                bound = "≤ " if fit.tau_is_upper_bound else ""
                recovery = f"{bound}{fit.t90_hours:.0f} h ({fit.compare_with_normal()})"
            followed = [
                f"{short_label(m)} {fmt(v, m, band=_band(progress, m), signed=True, unit=False)}"
                for m, v in s.change_that_followed.items()
                if m in ("delta_ei", "texture_dog") and v is not None
            ]
            table.row(
                [
                    str(s.number),
                    f"{s.at:%Y-%m-%d}",
                    _t(s.device or "—"),
                    f"{s.needle_depth_mm:g} mm" if s.needle_depth_mm is not None else "—",
                    str(s.passes) if s.passes is not None else "—",
                    _t(s.serum or "—"),
                    f"{s.client_rating}/10" if s.client_rating is not None else "—",
                    _t(recovery),
                    _t(", ".join(followed) or "—"),
                ]
            )


# Content helpers --------------------------------------------------------------------------


def _summary_lines(progress: CourseProgress, reviewed: ClientFlags | None) -> list[str]:
    """Plain-language findings: the course, each headline metric against its noise band,
    recovery after sessions, and how many flags want a look."""
    concern = "" if progress.concern is Concern.OTHER else f" for {progress.concern.label.lower()}"
    area = f" ({progress.body_area})" if progress.body_area else ""
    lines = [
        f"{len(progress.sessions)} of {progress.plan.planned_sessions} planned sessions done"
        f"{concern}{area}. {_next_session_text(progress)}."
    ]
    for metric in _report_metrics(progress):
        summary = progress.summaries.get(metric)
        if not summary:
            continue
        lines.append(_metric_sentence(metric, summary))
    t90 = progress.to_json()["recovery"]["typical_t90_hours"]
    if t90 is not None:
        verdict = "within the normal" if t90 <= NORMAL_T90_HOURS else "slower than the usual"
        lines.append(
            f"After a session, redness typically settled (90 %) within {t90:.0f} h, "
            f"{verdict} {NORMAL_T90_HOURS:g} h."
        )
    if reviewed is None:  # a client's own report: flags are for the practitioner
        return lines
    open_flags = [v.flag for v in reviewed.open]
    if open_flags:
        counts = {k: sum(f.severity == k for f in open_flags) for k in SEVERITY_LABELS}
        parts = [f"{n} to {'act on' if k == 'act' else k}" for k, n in counts.items() if n and k != "info"]
        parts += [f"{counts['info']} for information"] if counts["info"] else []
        lines.append(f"{len(open_flags)} open flag(s) for the practitioner: {', '.join(parts)} (see Flags).")
    else:
        lines.append("No open flags: nothing in this course is waiting for a closer look.")
    return lines


def _metric_sentence(metric: str, summary: Summary) -> str:
    label = term(metric).label
    change, status, sdc = summary.change, summary.status, summary.sdc
    if change is None:
        return f"{label}: not enough usable photos to measure a change yet."
    amount = fmt(change, metric, band=sdc, signed=True)
    if summary.change_pct is not None:
        amount += f", {fmt_pct(summary.change_pct)}"
    band = f"margin of error ±{fmt(sdc, metric, band=sdc)}"
    if status == "within noise":
        return f"{label}: no change beyond photo-to-photo variation ({amount}; {band})."
    if status in ("improved", "worsened"):
        return f"{label}: {status} since the baseline, {amount}, more than the {band}."
    return f"{label}: changed {amount} since the baseline ({band})."


def _next_session_text(progress: CourseProgress) -> str:
    nxt = progress.next
    if nxt.kind == "complete":
        return "Course complete"
    if nxt.due is None:
        return f"Session {nxt.number} to be booked"
    kind = "Upkeep session" if nxt.kind == "upkeep" else f"Session {nxt.number}"
    text = f"{kind} due {nxt.due.isoformat()}"
    return text + (f", overdue by {nxt.overdue_days} days" if nxt.overdue else "")


def _report_metrics(progress: CourseProgress) -> list[str]:
    wanted = [*HEADLINE_METRICS, *CONCERN_METRICS.get(progress.concern, ())]
    return [m for m in dict.fromkeys(wanted) if m in progress.summaries]


def _band(progress: CourseProgress, metric: str) -> float | None:
    summary = progress.summaries.get(metric)
    return summary.sdc if summary else None


def _contact_text(ctx: Context) -> str:
    s = ctx.settings
    return " · ".join(
        part.strip() for part in (s.clinic_phone, s.clinic_email, s.clinic_address) if part.strip()
    )


def _rgb(colour: str) -> tuple[int, int, int]:
    """ "#b5476b" → (181, 71, 107); the setting's pattern guarantees six hex digits."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _logo(pdf: _ReportPdf, path: Path) -> None:
    """The clinic's logo at the right of the title band, at most 22 mm high, kept in ratio;
    an unreadable file leaves the band without it (the report matters more than the logo)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            rgb = img.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, "PNG")
    except (OSError, ValueError):
        return
    h = 22.0
    w = min(50.0, h * width / max(height, 1))
    pdf.image(out, x=pdf.w - pdf.r_margin - w, y=6, w=w, h=w * height / max(width, 1))


def _photo_stamps(
    app: App, actor: Actor, client_id: int, photo_ids: Sequence[int], table: pd.DataFrame
) -> dict[int, PhotoStamp]:
    """The stamp of each photo: the timing and quality from the progress table, the
    original's hash from the photo row. The query is scoped to the actor's clinic and to
    this client, so a photo id of anyone else is refused like a missing one."""
    if not photo_ids:
        return {}
    with app.uow() as uow:
        require_client_access(actor, uow.repo.client(actor.clinic_id, client_id))
        found = queries.photo_provenance(uow.session, actor.clinic_id, client_id, photo_ids)
    by_id = table.set_index("photo_id") if not table.empty else table
    stamps: dict[int, PhotoStamp] = {}
    for pid in photo_ids:
        if pid not in found or pid not in by_id.index:
            raise Refused(f"Photo {pid} is not a photo of this client's current course.")
        row = by_id.loc[pid]
        sha, source = found[pid]
        stamps[pid] = PhotoStamp(
            photo_id=pid,
            session=int(row["session"]),
            kind=str(row["kind"]),
            taken_at=pd.Timestamp(row["taken_at"]).to_pydatetime(),
            taken_at_source=source,
            hours_since_session=float(row["hours_since_session"]),
            days_since_start=float(row["days_since_start"]),
            quality=float(row["quality"]),
            usable=bool(row["usable"]),
            original_sha256=sha,
        )
    return stamps


def _pdf_jpeg(display: bytes) -> tuple[bytes, tuple[int, int]]:
    """The display copy re-encoded at report size: the same pixels, only fewer of them.
    fpdf2 embeds a JPEG as it is, so this decides the file size."""
    with Image.open(io.BytesIO(display)) as img:
        return _pdf_jpeg_of(img.convert("RGB"))


def _pdf_jpeg_of(rgb: Image.Image) -> tuple[bytes, tuple[int, int]]:
    rgb.thumbnail((IMAGE_LONG_EDGE, IMAGE_LONG_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=IMAGE_QUALITY, optimize=True, progressive=False)
    return out.getvalue(), rgb.size


def _since_session(hours: float, session: int) -> str:
    if hours < 0:
        return f"{_duration(-hours)} before session {session} started"
    if hours < 24:
        return f"{_duration(hours)} after session {session}"
    return f"day {hours / 24:.1f} after session {session} ({hours:.0f} h)"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.0f} days"


def _heading_style(accent: tuple[int, int, int]) -> FontFace:
    return FontFace(family=FONT_FAMILY, emphasis="BOLD", color=(255, 255, 255), fill_color=accent)


def _covered_text(text: str, covered: frozenset[int]) -> str:
    if all(ord(char) in covered for char in text):
        return text
    return "".join(
        char if ord(char) in covered else "" if char in _INVISIBLE or char in "\n\r" else PLACEHOLDER
        for char in text
    )


def _t(text: str) -> str:
    """Composed Unicode: one glyph per accented letter, as the subset font has them."""
    return unicodedata.normalize("NFC", text)


__all__ = [
    "FALLBACK_FONTS",
    "PLACEHOLDER",
    "FallbackFont",
    "FontMissing",
    "PhotoStamp",
    "client_report_pdf",
    "default_pairs",
    "find_fallback_fonts",
    "find_font",
    "report_filename",
]
