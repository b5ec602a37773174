"""Domain vocabulary shared by every layer: enums and small value types, no I/O.

The string values of these enums are stored in the database and appear in the CLI
and the demo manifest, so they are part of the product's interface: add members,
never rename them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeAlias


class Role(StrEnum):
    CLIENT = "client"
    PRACTITIONER = "practitioner"
    ADMIN = "admin"


class Concern(StrEnum):
    """What a course of micro-needling treats (design §1)."""

    ACNE_SCARS = "acne_scars"
    FINE_LINES_WRINKLES = "fine_lines_wrinkles"
    ENLARGED_PORES = "enlarged_pores"
    UNEVEN_TONE = "uneven_tone_hyperpigmentation"
    STRETCH_MARKS = "stretch_marks"
    BURN_SCARS = "burn_scars"
    SCALP_HAIR = "scalp_hair"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CONCERN_LABELS[self]


_CONCERN_LABELS = {
    Concern.ACNE_SCARS: "Acne scars",
    Concern.FINE_LINES_WRINKLES: "Fine lines & wrinkles",
    Concern.ENLARGED_PORES: "Enlarged pores",
    Concern.UNEVEN_TONE: "Uneven tone & hyperpigmentation",
    Concern.STRETCH_MARKS: "Stretch marks",
    Concern.BURN_SCARS: "Burn scars",
    Concern.SCALP_HAIR: "Scalp & hair",
    Concern.OTHER: "Other",
}


class FaceRegion(StrEnum):
    """Named regions of the face that a course treats or that serve as its untreated
    reference (issue 9). Left and right are the client's own, as a practitioner says them
    (the client's left cheek is on the right of a frontal photo)."""

    FOREHEAD = "forehead"
    NOSE = "nose"
    LEFT_CHEEK = "left_cheek"
    RIGHT_CHEEK = "right_cheek"
    PERIORAL = "perioral"
    CHIN = "chin"
    JAWLINE = "jawline"
    NECK = "neck"

    @property
    def label(self) -> str:
        return _FACE_REGION_LABELS[self]


_FACE_REGION_LABELS = {
    FaceRegion.FOREHEAD: "Forehead",
    FaceRegion.NOSE: "Nose",
    FaceRegion.LEFT_CHEEK: "Left cheek",
    FaceRegion.RIGHT_CHEEK: "Right cheek",
    FaceRegion.PERIORAL: "Around the mouth",
    FaceRegion.CHIN: "Chin",
    FaceRegion.JAWLINE: "Jawline",
    FaceRegion.NECK: "Neck",
}

# What a course treats when the practitioner has not said otherwise.
_CHEEKS = (FaceRegion.LEFT_CHEEK, FaceRegion.RIGHT_CHEEK)
DEFAULT_TREATED_REGIONS: dict[Concern, tuple[FaceRegion, ...]] = {
    Concern.ACNE_SCARS: _CHEEKS,
    Concern.FINE_LINES_WRINKLES: (FaceRegion.FOREHEAD, FaceRegion.PERIORAL),
    Concern.ENLARGED_PORES: (FaceRegion.NOSE, *_CHEEKS),
    Concern.UNEVEN_TONE: (FaceRegion.FOREHEAD, *_CHEEKS, FaceRegion.CHIN),
    Concern.STRETCH_MARKS: _CHEEKS,
    Concern.BURN_SCARS: _CHEEKS,
    Concern.SCALP_HAIR: _CHEEKS,
    Concern.OTHER: _CHEEKS,
}
# Untreated skin to use as the reference, best first: even, rarely bearded or made up,
# and lit like the cheeks. The nose is redder than the rest of the face, so it comes last.
REFERENCE_PREFERENCE: tuple[FaceRegion, ...] = (
    FaceRegion.FOREHEAD,
    FaceRegion.LEFT_CHEEK,
    FaceRegion.RIGHT_CHEEK,
    FaceRegion.CHIN,
    FaceRegion.JAWLINE,
    FaceRegion.NECK,
    FaceRegion.PERIORAL,
    FaceRegion.NOSE,
)


class PhotoKind(StrEnum):
    """When a photo was taken relative to its session."""

    BEFORE = "before"
    AFTER = "after"
    CHECKIN = "checkin"


class PhotoStatus(StrEnum):
    """Lifecycle of a stored photo; analysis fills in later states."""

    STORED = "stored"
    ANALYSED = "analysed"
    ANALYSIS_FAILED = "analysis_failed"


class Contraindication(StrEnum):
    """Intake screening questions (design §1). A 'yes' to any needs a practitioner's review."""

    ECZEMA = "eczema"
    PSORIASIS = "psoriasis"
    ROSACEA = "rosacea"
    ACTIVE_ACNE = "active_acne"
    OPEN_WOUNDS = "open_wounds"
    CANCER_TREATMENT = "cancer_treatment"
    BLOOD_DISORDER = "blood_disorder"
    BLOOD_THINNERS = "blood_thinners"
    IMMUNOCOMPROMISED = "immunocompromised"
    NUMBING_OR_SERUM_ALLERGY = "numbing_or_serum_allergy"
    # Issue 11: the rest of the standard micro-needling screening.
    PREGNANCY_OR_BREASTFEEDING = "pregnancy_or_breastfeeding"
    ISOTRETINOIN = "isotretinoin"
    KELOID_TENDENCY = "keloid_tendency"
    COLD_SORES = "cold_sores"
    RECENT_TAN_OR_SUNBURN = "recent_tan_or_sunburn"
    DIABETES = "diabetes"

    @property
    def question(self) -> str:
        return _CONTRAINDICATION_QUESTIONS[self]


@dataclass(frozen=True)
class Intake:
    """A client's contraindication screening as recorded: the 'yes' answers, the notes and
    who answered when. Stored as JSON on the client; unknown answers in stored JSON are
    dropped on reading (a retired question must not stop the record from opening)."""

    contraindications: tuple[Contraindication, ...] = ()
    notes: str = ""
    answered_at: str | None = None  # ISO time, as stored
    recorded_by: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> Intake:
        data = data or {}
        known = {c.value for c in Contraindication}
        answers = data.get("contraindications") or []
        answered_at = data.get("answered_at")
        return cls(
            contraindications=tuple(Contraindication(a) for a in answers if isinstance(a, str) and a in known)
            if isinstance(answers, list)
            else (),
            notes=str(data.get("notes") or ""),
            answered_at=str(answered_at) if answered_at else None,
            recorded_by=str(data.get("recorded_by") or ""),
        )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "contraindications": [c.value for c in self.contraindications],
            "notes": self.notes,
        }
        if self.answered_at is not None:
            out["answered_at"] = self.answered_at
        if self.recorded_by:
            out["recorded_by"] = self.recorded_by
        return out


# A JSON document where it is read or written whole: a row's JSON column (an audit event's
# detail), an export file, the demo's manifest, a chart's data records. Values crossing the
# application layer are typed; these are the documents at its edges.
JsonObject: TypeAlias = dict[str, Any]


_CONTRAINDICATION_QUESTIONS = {
    Contraindication.ECZEMA: "Eczema in or near the area to treat",
    Contraindication.PSORIASIS: "Psoriasis",
    Contraindication.ROSACEA: "Rosacea",
    Contraindication.ACTIVE_ACNE: "Active acne (inflamed spots) in the area",
    Contraindication.OPEN_WOUNDS: "Open wounds, cuts or skin infection in the area",
    Contraindication.CANCER_TREATMENT: "Current or recent cancer treatment (chemotherapy or radiotherapy)",
    Contraindication.BLOOD_DISORDER: "A blood disorder or clotting problem",
    Contraindication.BLOOD_THINNERS: "Taking blood thinners",
    Contraindication.IMMUNOCOMPROMISED: "A weakened immune system",
    Contraindication.NUMBING_OR_SERUM_ALLERGY: "Allergy to numbing cream or serums",
    Contraindication.PREGNANCY_OR_BREASTFEEDING: "Pregnant or breastfeeding",
    Contraindication.ISOTRETINOIN: "Isotretinoin (Accutane, Roaccutane) taken in the last 6 months",
    Contraindication.KELOID_TENDENCY: "Scars that heal raised or thick (keloids)",
    Contraindication.COLD_SORES: "Cold sores (herpes simplex), now or in the past",
    Contraindication.RECENT_TAN_OR_SUNBURN: "Sunburn or a fresh tan (sun, sunbed, spray) in the last 2 weeks",
    Contraindication.DIABETES: "Diabetes",
}


class ConsentFlag(StrEnum):
    """Separate consents a client gives, one per purpose; photos are health data (design §8)."""

    TREATMENT = "treatment"
    PHOTOS_FOR_CARE = "photos_for_care"
    PHOTOS_IN_REPORTS = "photos_in_reports"
    PHOTOS_FOR_MARKETING = "photos_for_marketing"
    # Reminders by email (check-ins, next session): nothing is sent without it.
    CONTACT = "contact"

    @property
    def label(self) -> str:
        return _CONSENT_LABELS[self]


_CONSENT_LABELS = {
    ConsentFlag.TREATMENT: "Micro-needling treatment",
    ConsentFlag.PHOTOS_FOR_CARE: "Photos for my clinical care",
    ConsentFlag.PHOTOS_IN_REPORTS: "Photos in progress reports shared with me",
    ConsentFlag.PHOTOS_FOR_MARKETING: "Photos for the clinic's marketing",
    ConsentFlag.CONTACT: "Reminders by email",
}


@dataclass(frozen=True)
class ConsentEntry:
    """One purpose's current answer: given or withdrawn, when, and who recorded it."""

    given: bool
    at: str | None = None  # ISO time, as stored
    by: str = ""


@dataclass(frozen=True)
class Consents:
    """A client's consents as stored (JSON on the client). Older records stored only
    `{purpose: iso time given}`; those read as given at that time. Unknown purposes are
    dropped on reading; a purpose never answered is not given."""

    entries: Mapping[ConsentFlag, ConsentEntry]

    def given(self, flag: ConsentFlag) -> bool:
        entry = self.entries.get(flag)
        return entry is not None and entry.given

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> Consents:
        known = {c.value for c in ConsentFlag}
        entries: dict[ConsentFlag, ConsentEntry] = {}
        for key, value in (data or {}).items():
            if key not in known:
                continue
            if isinstance(value, Mapping):
                at = value.get("at")
                entries[ConsentFlag(key)] = ConsentEntry(
                    given=bool(value.get("given")), at=str(at) if at else None, by=str(value.get("by") or "")
                )
            elif value:
                entries[ConsentFlag(key)] = ConsentEntry(given=True, at=str(value))
        return cls(entries=entries)

    def to_json(self) -> dict[str, object]:
        return {
            flag.value: {"given": e.given, "at": e.at, "by": e.by}
            for flag, e in sorted(self.entries.items(), key=lambda kv: kv[0].value)
        }


# Photo placement ------------------------------------------------------------------------
# A before-photo is usually taken shortly before the session starts; anything up to this
# long before still belongs to the session rather than to the previous one's check-ins.
BEFORE_WINDOW = timedelta(hours=12)
# After-photos are taken in the treatment room; later photos are recovery check-ins.
AFTER_WINDOW = timedelta(hours=6)


def pick_session_number(session_starts: dict[int, datetime], taken_at: datetime) -> int | None:
    """The session a photo taken at `taken_at` belongs to: the latest one that started no
    later than `taken_at + BEFORE_WINDOW`; the first session if the photo predates all."""
    if not session_starts:
        return None
    started = [n for n, at in session_starts.items() if at <= taken_at + BEFORE_WINDOW]
    if not started:
        return min(session_starts, key=lambda n: session_starts[n])
    return max(started, key=lambda n: session_starts[n])


def infer_kind(session_at: datetime, taken_at: datetime) -> PhotoKind:
    if taken_at < session_at:
        return PhotoKind.BEFORE
    if taken_at - session_at <= AFTER_WINDOW:
        return PhotoKind.AFTER
    return PhotoKind.CHECKIN


def client_name_key(name: str) -> str:
    """The form two client names are compared in: "Nia  Okafor", "nia okafor" and
    "NIA OKAFOR" are one name (Unicode compatibility form, case folded, runs of white space
    as one space). Stored with each client: the database keeps it unique per clinic, so two
    imports racing for a new name make one client."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
