"""The clinic as its clients and staff see it: name, logo, contact details, colour, money
and the clinic's own clock (issue 11 item 10).

Why a use case: the name is the signed-in person's clinic in the database (one server may
hold more than one clinic), while the rest comes from configuration. And "today" is the
clinic's wall-clock day: a server in UTC must not call a 00:30 photo in London
"yesterday's" day-3 check-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tracker.app.context import Context
from tracker.app.guidance import contact_line
from tracker.config import Settings

_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "JPY": "¥"}


@dataclass(frozen=True)
class ClinicProfile:
    name: str
    phone: str
    email: str
    address: str
    logo: Path | None  # None when unset or the file is missing
    accent_colour: str
    currency: str

    @property
    def contact(self) -> str:
        """ "Call your clinic on …": said wherever the app tells a client to contact the clinic."""
        return contact_line(self.phone, self.email)


def clinic_profile(ctx: Context) -> ClinicProfile:
    """The signed-in person's clinic, with the installation's contact details and look."""
    s = ctx.settings
    with ctx.uow() as uow:
        clinic = uow.repo.clinic(ctx.actor.clinic_id)
        name = clinic.name if clinic is not None else s.clinic_name
    logo = s.clinic_logo if s.clinic_logo is not None and s.clinic_logo.is_file() else None
    return ClinicProfile(
        name=name,
        phone=s.clinic_phone,
        email=s.clinic_email,
        address=s.clinic_address,
        logo=logo,
        accent_colour=s.accent_colour,
        currency=s.currency,
    )


def clinic_now(settings: Settings) -> datetime:
    """The clinic's wall-clock time, naive like the session times staff type in."""
    return datetime.now(ZoneInfo(settings.time_zone)).replace(tzinfo=None, microsecond=0)


def clinic_today(settings: Settings) -> date:
    """The clinical day: today where the clinic is, not where the server is."""
    return clinic_now(settings).date()


def money(amount: Decimal | float | None, currency: str) -> str:
    """A price in the clinic's currency ("£250.00", "CHF 250.00"); "—" when unknown."""
    if amount is None:
        return "—"
    value = f"{Decimal(str(amount)):,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{currency} {value}"


__all__ = ["ClinicProfile", "clinic_now", "clinic_profile", "clinic_today", "money"]
