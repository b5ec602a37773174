"""Plain words for the engine's terms: one place for labels, units, direction and rounding.

Why one module: the same number appears in a table, a chart, a flag and the PDF, and each
place used to name it its own way (`delta_ei`, "Redness (EI)", "redness"). Clients must
never meet a metric key or an engine term; practitioners see the plain label first with
the technical term one hover away. Pure data and string formatting: no Streamlit, no
database, so pages, charts, reports and tests share exactly one wording.

Rounding follows the noise band (design §3.7): a number is shown to the decimal place of
the band's first significant digit, because digits finer than the photo-to-photo noise
are not information.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tracker.domain import PhotoKind

Better = Literal["lower", "higher"] | None
DASH = "—"  # shown for a missing number: never "None" or "nan"


@dataclass(frozen=True)
class Term:
    key: str
    label: str  # plain label, sentence case, for clients and staff alike
    unit: str  # plain unit ("%", "hours"); "" for none
    better: Better  # which direction is progress; None = no direction
    explanation: str  # one line, plain words
    technical: str  # the engine's term, for practitioners only
    decimals: int = 1  # digits when no noise band is known

    @property
    def better_words(self) -> str:
        """ "Lower is better" and friends, for a caption or help text."""
        if self.better == "lower":
            return "lower is better"
        if self.better == "higher":
            return "higher is better"
        return "no better or worse direction"

    @property
    def staff_help(self) -> str:
        """Help text for a practitioner: what it means, which way is good, the technical term."""
        return f"{self.explanation} ({self.better_words}). Technical: {self.technical}."

    @property
    def client_help(self) -> str:
        return f"{self.explanation} ({self.better_words})."

    def titled(self) -> str:
        """The label with its unit, e.g. "Red area, %"."""
        return f"{self.label}, {self.unit}" if self.unit else self.label


# One entry per metric of tracker.progress.series.METRICS (a unit test keeps them in step).
METRIC_TERMS: dict[str, Term] = {
    t.key: t
    for t in (
        Term(
            "delta_ei",
            "Redness",
            "points",
            "lower",
            "How much redder the treated skin is than untreated skin nearby, in the same photo",
            "ΔEI, erythema index relative to the reference skin",
        ),
        Term(
            "red_area_pct",
            "Red area",
            "%",
            "lower",
            "Share of the treated area that looks clearly red",
            "red_area_pct, % of zone pixels above the redness threshold",
            decimals=0,
        ),
        Term(
            "delta_a_star",
            "Redness (colour shift)",
            "points",
            "lower",
            "How far the skin colour leans to red compared with untreated skin",
            "Δa*, CIELAB a* relative to the reference skin",
        ),
        Term(
            "delta_l_star",
            "Lightness",
            "points",
            "higher",
            "How light the treated skin is compared with untreated skin",
            "ΔL*, CIELAB L* relative to the reference skin",
        ),
        Term(
            "mel_index",
            "Pigment",
            "",
            "lower",
            "How much brown pigment the skin shows",
            "mel_index, melanin index",
            decimals=2,
        ),
        Term(
            "spot_area_pct",
            "Dark-spot area",
            "%",
            "lower",
            "Share of the treated area covered by darker spots",
            "spot_area_pct, % of zone pixels in brown spots",
            decimals=0,
        ),
        Term(
            "texture_dog",
            "Fine texture",
            "",
            "lower",
            "How uneven the skin surface looks at the finest scale (0.1–0.4 mm); smoother is lower",
            "texture_dog, difference-of-Gaussians energy at 0.1–0.4 mm",
            decimals=3,
        ),
        Term(
            "glcm_contrast",
            "Texture contrast",
            "",
            "lower",
            "How much the surface changes from one tiny spot to the next",
            "glcm_contrast, grey-level co-occurrence contrast",
            decimals=2,
        ),
        Term(
            "line_density",
            "Fine lines",
            "mm per cm²",
            "lower",
            "Length of fine lines found per square centimetre of skin",
            "line_density, ridge length per cm²",
            decimals=1,
        ),
        Term(
            "pore_density",
            "Visible pores",
            "per cm²",
            "lower",
            "Number of visible pores per square centimetre of skin",
            "pore_density, blob count per cm²",
            decimals=0,
        ),
        Term(
            "ita_deg",
            "Skin tone",
            "°",
            None,
            "How light or deep the skin tone is; used to set safe thresholds, not a goal",
            "ITA°, individual typology angle",
            decimals=0,
        ),
    )
}

# Engine words used on pages, charts and the PDF besides the metrics.
OTHER_TERMS: dict[str, Term] = {
    t.key: t
    for t in (
        Term(
            "ei",
            "Redness",
            "points",
            "lower",
            "A measure of how red skin looks in a photo",
            "EI, erythema index",
        ),
        Term(
            "ita",
            "Skin tone",
            "°",
            None,
            "How light or deep the skin tone is",
            "ITA°, individual typology angle",
            decimals=0,
        ),
        Term(
            "t50",
            "Half-way recovery time",
            "hours",
            "lower",
            "Hours after a session until half of the treatment redness had faded",
            "T50, fitted 50 % recovery time",
            decimals=0,
        ),
        Term(
            "t90",
            "Recovery time",
            "hours",
            "lower",
            "Hours after a session until the treatment redness had almost gone (90 %)",
            "T90, fitted 90 % recovery time",
            decimals=0,
        ),
        Term(
            "quality",
            "Photo quality",
            "%",
            "higher",
            "How well the photo can be measured: sharpness, light, glare and distance",
            "quality score 0–1 (trend gate)",
            decimals=0,
        ),
        Term(
            "noise_band",
            "Margin of error",
            "",
            None,
            "Changes smaller than this are within normal photo-to-photo variation",
            "noise band, smallest detectable change (SDC = 1.96·√2·SEM)",
        ),
        Term(
            "needle_depth_mm",
            "Needle depth",
            "mm",
            None,
            "How deep the needles went in this session",
            "needle_depth_mm",
            decimals=2,
        ),
        Term(
            "passes",
            "Passes",
            "",
            None,
            "How many times the device went over the skin",
            "passes",
            decimals=0,
        ),
        Term(
            "act",
            "Needs action",
            "",
            None,
            "Something the practitioner should look at soon",
            "flag severity act",
            decimals=0,
        ),
        Term(
            "watch",
            "Keep an eye on",
            "",
            None,
            "Something to check at the next review",
            "flag severity watch",
            decimals=0,
        ),
    )
}

KIND_LABELS: dict[PhotoKind, str] = {
    PhotoKind.BEFORE: "Before",
    PhotoKind.AFTER: "After",
    PhotoKind.CHECKIN: "Check-in",
}
STATUS_LABELS = {
    "improved": "Improved",
    "worsened": "Worse",
    "within noise": "No clear change",
}

# Words a client must never read (tests/forbidden_words.py checks every client page).
ENGINE_WORDS = ("EI", "ITA", "T50", "T90", "SDC", "a*", "L*", "checkin", "delta_", "texture_", "act flags")


def term(key: str) -> Term:
    """The term for a metric key or engine word; an unknown key gets a humanised label
    (never the raw key with underscores), so a new metric shows readably until it is added."""
    found = METRIC_TERMS.get(key) or OTHER_TERMS.get(key)
    if found is not None:
        return found
    words = key.replace("_", " ").strip().capitalize() or key
    return Term(key, words, "", None, words, key)


def label(key: str) -> str:
    return term(key).label


def short_label(key: str) -> str:
    """The label in lower case for running text ("redness −1.2")."""
    text = term(key).label
    return text[:1].lower() + text[1:]


def kind_label(kind: PhotoKind | str) -> str:
    """ "Before", "After", "Check-in" (never "checkin")."""
    try:
        return KIND_LABELS[PhotoKind(kind)]
    except ValueError:
        return str(kind).replace("_", " ").capitalize()


def photo_kind_words(kind: PhotoKind | str, hours_since_session: float | None = None) -> str:
    """A photo's kind as staff say it: "before-photo", "after-photo", "day-3 check-in" (the
    day counted from the session, so a practitioner can match it to the check-in plan)."""
    if (
        str(kind) == PhotoKind.CHECKIN.value
        and hours_since_session is not None
        and math.isfinite(hours_since_session)
    ):
        return f"day-{max(1, round(hours_since_session / 24.0))} check-in"
    return f"{kind_label(kind).lower()}-photo" if str(kind) != PhotoKind.CHECKIN.value else "check-in"


def photo_label(
    session: int, kind: PhotoKind | str, taken_at: datetime, hours_since_session: float | None = None
) -> str:
    """A photo named by session, kind and date: "Session 2 · day-3 check-in · 24 Aug"."""
    what = photo_kind_words(kind, hours_since_session)
    return f"Session {int(session)} · {what} · {taken_at.day} {taken_at:%b}"


def status_label(status: str | None) -> str:
    if not status:
        return DASH
    return STATUS_LABELS.get(status, status.capitalize())


def _missing(value: float | int | None) -> bool:
    return value is None or not isinstance(value, int | float) or not math.isfinite(value)


def decimals_for(key: str, band: float | None = None) -> int:
    """Decimal places a number supports: to the first significant digit of the noise band
    (band 0.8 → 1 place, 3 → 0, 0.03 → 2), or the term's default when no band is known."""
    if band is None or not math.isfinite(band) or band <= 0:
        return term(key).decimals
    return max(0, -math.floor(math.log10(band)))


def fmt(
    value: float | int | None,
    key: str,
    *,
    band: float | None = None,
    signed: bool = False,
    unit: bool = True,
) -> str:
    """A number rounded to what the noise band supports, with its plain unit; "—" if missing.

    A change smaller than the band shows one digit fewer still (it is noise, and extra
    digits would make it look meaningful)."""
    if _missing(value):
        return DASH
    assert value is not None
    places = decimals_for(key, band)
    if signed and band is not None and band > 0 and abs(value) < band:
        places = max(0, places - 1)
    number = round(float(value), places)
    if number == 0:
        number = 0.0  # no "-0"
        text = f"{number:.{places}f}"
    else:
        text = f"{number:+.{places}f}" if signed else f"{number:.{places}f}"
    text = text.replace("-", "−")
    u = term(key).unit if unit else ""
    if u == "points" and abs(number) == 1:
        u = "point"
    if not u:
        return text
    return f"{text}{u}" if u in ("%", "°") else f"{text} {u}"


def fmt_pct(value: float | None) -> str:
    """A relative change, whole percent, signed; "—" if missing."""
    if _missing(value):
        return DASH
    assert value is not None
    return "0 %" if round(value) == 0 else f"{value:+.0f} %".replace("-", "−")


def fmt_quality(score: float | None) -> str:
    """A 0–1 quality score as a percentage ("90 %"), never "Q 0.90"."""
    if _missing(score):
        return DASH
    assert score is not None
    return f"{score:.0%}".replace("%", " %")


__all__ = [
    "DASH",
    "ENGINE_WORDS",
    "KIND_LABELS",
    "METRIC_TERMS",
    "OTHER_TERMS",
    "STATUS_LABELS",
    "Term",
    "decimals_for",
    "fmt",
    "fmt_pct",
    "fmt_quality",
    "kind_label",
    "label",
    "photo_kind_words",
    "photo_label",
    "short_label",
    "status_label",
    "term",
]
