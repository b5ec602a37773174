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
