"""What to do, in plain words: aftercare by day, preparation, photo tips (design §1).

Kept as data with no Streamlit so the client pages, reports and tests share one text.
"""

from __future__ import annotations

PREPARATION = (
    "Use sunscreen every day in the weeks before your session.",
    "No waxing, shaving or epilating on the area in the week before.",
    "Stop retinoids and other active products (acids, vitamin A) a week before.",
    "Ask your practitioner before stopping antibiotics, anti-acne medication or ibuprofen: "
    "they are usually stopped weeks before.",
    "No exfoliation in the week before.",
    "Tell your practitioner about new medication, skin problems or allergies.",
)

_AFTERCARE = (
    (
        0,
        1,
        (
            "Redness and some swelling are normal today; they usually fade within a day or two.",
            "Keep the skin clean; wash gently with lukewarm water.",
            "No make-up for at least 24 hours.",
            "Use only the soothing or repair products you were given; no retinol or acids.",
            "Stay out of the sun; wear a mineral sunscreen if you go out.",
            "Drink plenty of water.",
        ),
    ),
    (
        2,
        3,
        (
            "Some dryness or light peeling is normal; keep moisturising.",
            "Still no retinol, acids or exfoliation.",
            "Mineral sunscreen every day.",
            "Take your day-3 check-in photo in the same light as your first photo.",
        ),
    ),
    (
        4,
        7,
        (
            "You can usually go back to your normal cleanser and make-up.",
            "Keep using sunscreen; new skin darkens easily in the sun.",
            "Take your day-7 check-in photo.",
        ),
    ),
    (
        8,
        42,
        (
            "Collagen keeps building for weeks: results show gradually.",
            "Tell your practitioner if any area turns darker than the skin around it.",
            "Sunscreen every day.",
        ),
    ),
)

WARNING_SIGNS = (
    "redness that is getting worse after day 2",
    "heat, pus, spreading pain or fever (possible infection)",
    "bruising or bleeding that does not settle",
    "patches turning darker than the surrounding skin",
)

CAPTURE_TIPS = (
    "Face a window in daylight; no flash, no direct sun.",
    "Same place, same distance and same angle as your first photo (use the outline).",
    "No make-up, no filters, no beauty mode.",
    "Hold the phone still and tap the skin to focus.",
    "If you have the colour card, hold it beside the treated area.",
)


def aftercare_for_day(day: int) -> tuple[str, ...]:
    """Aftercare for `day` days after a session (0 = the day of the session)."""
    for first, last, items in _AFTERCARE:
        if first <= day <= last:
            return items
    return ()


# Retake advice for a client: one action, in plain words, for the most important quality
# reason (staff keep the technical reasons; tracker/imaging/quality.py words them). Checked
# in this order: the first that matches the photo's reasons is the one thing to do next.
_RETAKE_ADVICE = (
    ("very blurry", "Hold the phone still and tap the skin on the screen to focus."),
    ("too dark", "Move to a window in daylight and face it."),
    ("the light falls from another side", "Face the same window as in your first photo."),
    ("uneven light", "Move to a window and face it, so both sides of your face are lit."),
    ("part of the area is in shadow", "Move to a window and face it."),
    ("over- or under-exposed", "Move out of direct sun and face a window instead."),
    ("shine/glare", "Turn off the flash and face a window, not a lamp."),
    ("the head is turned", "Look straight at the camera, as in your first photo."),
    ("is not visible", "Look straight at the camera so the treated skin is in view."),
    ("is not clear skin", "Move hair, glasses or hands away from the treated skin."),
    ("is not clear in this photo", "Move hair, glasses or hands away from your face."),
    ("less than half of the area", "Fill the frame with the treated skin, in soft daylight."),
    ("no untreated reference skin", "Step back a little so some untreated skin shows too."),
    ("could not line up", "Line your face up with the faint outline of your first photo."),
    ("distance differs", "Hold the phone at the same distance as your first photo."),
    ("angle differs", "Hold the phone at the same angle as your first photo."),
    ("slightly blurry", "Hold the phone still and tap the skin on the screen to focus."),
    ("scale unknown", "If you have the colour card, hold it beside the treated skin."),
    ("no colour chart", "If you have the colour card, hold it beside the treated skin."),
    ("colour balance", "Take the photo in daylight by a window."),
    ("different camera", "Use the same phone as for your first photo."),
)
RETAKE_FALLBACK = "Retake it like your first photo: same window, same distance, no flash."


def retake_advice(reasons: tuple[str, ...] | list[str]) -> str:
    """The one thing a client should do differently next time, in plain words."""
    for needle, advice in _RETAKE_ADVICE:
        if any(needle in reason for reason in reasons):
            return advice
    return RETAKE_FALLBACK


def contact_line(phone: str, email: str) -> str:
    """How to reach the clinic, from its settings; "your clinic" when none are set."""
    phone, email = phone.strip(), email.strip()
    if phone and email:
        return f"Call your clinic on {phone} or email {email}."
    if phone:
        return f"Call your clinic on {phone}."
    if email:
        return f"Email your clinic at {email}."
    return "Contact your clinic."
