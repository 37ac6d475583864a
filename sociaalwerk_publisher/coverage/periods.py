"""Report periods in Europe/Amsterdam: the last complete week, month or quarter, or any range.

Each period knows the one it is compared with (:func:`previous`): the calendar month,
quarter or ISO week before, or, for any other range, as many days right before it. Days are
calendar days in Amsterdam, so a period that spans a change to or from summer time still
runs from midnight to midnight (:func:`utc_bounds`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ..exceptions import UsageError
from .model import Period

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}
KINDS = ("week", "month", "quarter")
_UNTIL = {"nl": "t/m", "en": "to"}


def today_in_amsterdam(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(AMSTERDAM).date()


def _range_label(start: date, end: date, language: str) -> str:
    """``16 t/m 22 november 2026``, ``28 september t/m 4 oktober 2026``, or both years."""
    months = MONTHS[language]
    last = f"{end.day} {months[end.month - 1]} {end.year}"
    if (start.year, start.month) == (end.year, end.month):
        first = str(start.day)
    elif start.year == end.year:
        first = f"{start.day} {months[start.month - 1]}"
    else:
        first = f"{start.day} {months[start.month - 1]} {start.year}"
    return f"{first} {_UNTIL[language]} {last}"


def week(start: date, language: str = "nl") -> Period:
    """The ISO week that ``start`` (a Monday) begins."""
    end = start + timedelta(days=6)
    number = start.isocalendar().week
    return Period(start, end, f"week {number}: {_range_label(start, end, language)}", "week", f"week {number}")


def month(year: int, number: int, language: str = "nl") -> Period:
    start = date(year, number, 1)
    end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    label = f"{MONTHS[language][number - 1]} {year}"
    return Period(start, end, label, "month", label)


def quarter(year: int, number: int, language: str = "nl") -> Period:
    start = date(year, 3 * (number - 1) + 1, 1)
    end = (start + timedelta(days=93)).replace(day=1) - timedelta(days=1)
    if language == "nl":
        return Period(start, end, f"{number}e kwartaal {year}", "quarter", f"het {number}e kwartaal {year}")
    return Period(start, end, f"Q{number} {year}", "quarter", f"Q{number} {year}")


def last_complete(kind: str, today: date, language: str = "nl") -> Period:
    """The last complete week (Monday to Sunday), month or quarter before ``today``.

    Raises:
        UsageError: ``kind`` is not week, month or quarter.
    """
    if kind == "week":
        return week(today - timedelta(days=today.weekday() + 7), language)
    if kind == "month":
        end = today.replace(day=1) - timedelta(days=1)
        return month(end.year, end.month, language)
    if kind == "quarter":
        end = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - timedelta(days=1)
        return quarter(end.year, (end.month - 1) // 3 + 1, language)
    raise UsageError(f"unknown period {kind!r} (use {', '.join(KINDS)})")


_NAMED = re.compile(r"(\d{4})-(?:(\d{2})|[Qq]([1-4]))")


def named(value: str, language: str = "nl") -> Period | None:
    """The calendar month ``2026-11`` or quarter ``2026-Q4``, else None."""
    found = _NAMED.fullmatch(value.strip())
    if found is None:
        return None
    year, number, q = found.groups()
    if number is not None:
        return month(int(year), int(number), language) if 1 <= int(number) <= 12 else None
    return quarter(int(year), int(q), language)


def custom(start: date, end: date, language: str = "nl") -> Period:
    """Any range, both days included.

    Raises:
        UsageError: ``end`` is before ``start``.
    """
    if end < start:
        raise UsageError(f"the period ends ({end}) before it starts ({start})")
    label = _range_label(start, end, language)
    return Period(start, end, label, "custom", label)


def in_language(period: Period, language: str) -> Period:
    """``period`` labelled in ``language``."""
    if period.kind == "month":
        return month(period.start.year, period.start.month, language)
    if period.kind == "quarter":
        return quarter(period.start.year, (period.start.month - 1) // 3 + 1, language)
    if period.kind == "week":
        return week(period.start, language)
    return custom(period.start, period.end, language)


def previous(period: Period, language: str = "nl") -> Period:
    """The period ``period`` is compared with: the calendar month, quarter or ISO week before
    it, or as many days right before it."""
    if period.kind == "month":
        end = period.start - timedelta(days=1)
        return month(end.year, end.month, language)
    if period.kind == "quarter":
        end = period.start - timedelta(days=1)
        return quarter(end.year, (end.month - 1) // 3 + 1, language)
    if period.kind == "week":
        before = week(period.start - timedelta(days=7), language)
        if before.start.isocalendar().year != period.start.isocalendar().year:
            # "week 52" alone would read as this year's
            spoken = f"{before.spoken} {'van' if language == 'nl' else 'of'} {before.start.isocalendar().year}"
            return Period(before.start, before.end, before.label, "week", spoken)
        return before
    end = period.start - timedelta(days=1)
    return custom(end - timedelta(days=period.days - 1), end, language)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day``, Amsterdam time."""
    return datetime.combine(day, time(), AMSTERDAM)


def utc_bounds(period: Period) -> tuple[datetime, datetime]:
    """[start, end) in UTC: from the first day's midnight to after the last day, Amsterdam time."""
    start = start_of_day(period.start)
    end = start_of_day(period.end + timedelta(days=1))
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)
