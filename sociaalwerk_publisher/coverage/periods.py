"""Report periods in Europe/Amsterdam: the last complete week, month or quarter, or any range."""

from __future__ import annotations

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


def today_in_amsterdam(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(AMSTERDAM).date()


def _day(d: date, language: str) -> str:
    return f"{d.day} {MONTHS[language][d.month - 1]} {d.year}"


def _range_label(start: date, end: date, language: str) -> str:
    until = "t/m" if language == "nl" else "to"
    return f"{_day(start, language)} {until} {_day(end, language)}"


def last_complete(kind: str, today: date, language: str = "nl") -> Period:
    """The last complete week (Monday to Sunday), month or quarter before ``today``.

    Raises:
        UsageError: ``kind`` is not week, month or quarter.
    """
    if kind == "week":
        start = today - timedelta(days=today.weekday() + 7)
        end = start + timedelta(days=6)
        word = "week" if language == "nl" else "week"
        return Period(start, end, f"{word} {start.isocalendar().week}: {_range_label(start, end, language)}")
    if kind == "month":
        end = today.replace(day=1) - timedelta(days=1)
        start = end.replace(day=1)
        return Period(start, end, f"{MONTHS[language][start.month - 1]} {start.year}")
    if kind == "quarter":
        first_this_quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        end = first_this_quarter - timedelta(days=1)
        start = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
        number = (start.month - 1) // 3 + 1
        label = f"{number}e kwartaal {start.year}" if language == "nl" else f"Q{number} {start.year}"
        return Period(start, end, label)
    raise UsageError(f"unknown period {kind!r} (use {', '.join(KINDS)})")


def custom(start: date, end: date, language: str = "nl") -> Period:
    """Any range, both days included.

    Raises:
        UsageError: ``end`` is before ``start``.
    """
    if end < start:
        raise UsageError(f"the period ends ({end}) before it starts ({start})")
    return Period(start, end, _range_label(start, end, language))


def previous(period: Period, language: str = "nl") -> Period:
    """The period of equal length right before ``period``."""
    end = period.start - timedelta(days=1)
    start = end - timedelta(days=period.days - 1)
    return Period(start, end, _range_label(start, end, language))


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day``, Amsterdam time."""
    return datetime.combine(day, time(), AMSTERDAM)


def utc_bounds(period: Period) -> tuple[datetime, datetime]:
    """[start, end) in UTC: from the first day's midnight to after the last day, Amsterdam time."""
    start = start_of_day(period.start)
    end = start_of_day(period.end + timedelta(days=1))
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)
