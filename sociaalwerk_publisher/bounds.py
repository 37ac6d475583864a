"""What the store and the calendar can hold: ids, counts and dates are checked here on the
way in, from the command line and from the library alike, so an out-of-range value is a
:class:`UsageError` naming it instead of an overflow deep inside a driver.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from .exceptions import UsageError

#: Ids and counts live in ``Integer`` columns, which PostgreSQL keeps in 32 bits (SQLite in 64).
MAX_INTEGER = 2**31 - 1
#: The dates this program reads. A report period is turned into Europe/Amsterdam midnights in
#: UTC and compared with the period of the same length before it: within these dates every such
#: step stays inside what Python's ``datetime`` (years 1 to 9999) can hold.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
#: The longest age ``prune`` accepts: a century, in months.
MAX_MONTHS = 1200


def is_whole_number(text: str) -> bool:
    """Whether ``text`` is ASCII digits only (``str.isdigit`` also passes ``²``, which ``int()``
    refuses)."""
    return text.isascii() and text.isdigit()


def check_number(value: int, what: str, low: int, high: int) -> int:
    """``value`` itself when ``low <= value <= high``.

    Raises:
        UsageError: it is not an integer or lies outside the range (``what`` names it).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refused(what, f"{value!r} is not a whole number")
    if not low <= value <= high:
        raise _refused(what, f"{value} is out of range ({low} to {high})")
    return value


def check_id(value: int, what: str) -> int:
    """An id as the store can hold it (1 to 2**31 - 1).

    Raises:
        UsageError: out of range or not an integer.
    """
    return check_number(value, what, 1, MAX_INTEGER)


def check_count(value: int, what: str) -> int:
    """A count or limit as the store can hold it (0 to 2**31 - 1).

    Raises:
        UsageError: out of range or not an integer.
    """
    return check_number(value, what, 0, MAX_INTEGER)


def check_date(value: date, what: str = "") -> date:
    """A day between :data:`FIRST_DAY` and :data:`LAST_DAY`.

    Raises:
        UsageError: outside that range.
    """
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _refused(what, f"{value.isoformat()} is outside the dates this program handles"
                             f" ({FIRST_DAY} to {LAST_DAY})")
    return value


def check_moment(value: datetime, what: str) -> datetime:
    """A moment with a time zone, on a day :func:`check_date` accepts (in UTC).

    Raises:
        UsageError: without a time zone, or outside the dates handled.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise _refused(what, f"{value.isoformat()} has no time zone")
    check_date(value, what)  # the local day first: converting one at the calendar's edge overflows
    check_date(value.astimezone(timezone.utc), what)
    return value


def parse_date(value: str, what: str = "") -> date:
    """The one parser of dates from outside: ``YYYY-MM-DD``, within the dates handled.

    Raises:
        UsageError: not such a date, or outside the range.
    """
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise _refused(what, f"not a date: {value!r} (use YYYY-MM-DD)") from None
    return check_date(parsed, what)


def _refused(what: str, problem: str) -> UsageError:
    return UsageError(f"{what}: {problem}" if what else problem)
