"""Report periods: which days a report covers, what it is compared with, and how that reads."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sociaalwerk_publisher.coverage.periods import custom, last_complete, previous, utc_bounds

UTC = timezone.utc


@pytest.mark.parametrize("kind, today, period, before, spoken", [
    ("month", date(2026, 12, 3), (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 10, 1), date(2026, 10, 31)),
     "oktober 2026"),
    ("month", date(2026, 3, 1), (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 1, 1), date(2026, 1, 31)),
     "januari 2026"),
    ("month", date(2026, 1, 15), (date(2025, 12, 1), date(2025, 12, 31)), (date(2025, 11, 1), date(2025, 11, 30)),
     "november 2025"),
    ("quarter", date(2026, 10, 1), (date(2026, 7, 1), date(2026, 9, 30)), (date(2026, 4, 1), date(2026, 6, 30)),
     "het 2e kwartaal 2026"),
    ("quarter", date(2026, 2, 10), (date(2025, 10, 1), date(2025, 12, 31)), (date(2025, 7, 1), date(2025, 9, 30)),
     "het 3e kwartaal 2025"),
    ("week", date(2026, 11, 25), (date(2026, 11, 16), date(2026, 11, 22)), (date(2026, 11, 9), date(2026, 11, 15)),
     "week 46"),
    ("week", date(2026, 1, 7), (date(2025, 12, 29), date(2026, 1, 4)), (date(2025, 12, 22), date(2025, 12, 28)),
     "week 52 van 2025"),
])
def test_a_calendar_period_is_compared_with_the_one_before_it(kind: str, today: date, period: tuple[date, date],
                                                               before: tuple[date, date], spoken: str) -> None:
    chosen = last_complete(kind, today)
    compared = previous(chosen)
    assert (chosen.start, chosen.end) == period
    assert (compared.start, compared.end) == before
    assert compared.spoken == spoken


def test_labels_read_as_people_speak() -> None:
    assert last_complete("month", date(2026, 12, 3)).label == "november 2026"
    assert last_complete("quarter", date(2026, 10, 1)).label == "3e kwartaal 2026"
    assert last_complete("week", date(2026, 11, 25)).label == "week 47: 16 t/m 22 november 2026"
    assert previous(last_complete("week", date(2026, 11, 30))).spoken == "week 47"
    assert last_complete("quarter", date(2026, 10, 1), "en").label == "Q3 2026"
    assert previous(last_complete("quarter", date(2026, 10, 1), "en"), "en").spoken == "Q2 2026"
    assert previous(last_complete("month", date(2026, 12, 3), "en"), "en").spoken == "October 2026"


@pytest.mark.parametrize("start, end, before, label", [
    (date(2026, 11, 1), date(2026, 11, 30), (date(2026, 10, 2), date(2026, 10, 31)), "2 t/m 31 oktober 2026"),
    (date(2026, 11, 10), date(2026, 11, 16), (date(2026, 11, 3), date(2026, 11, 9)), "3 t/m 9 november 2026"),
    (date(2026, 1, 1), date(2026, 1, 3), (date(2025, 12, 29), date(2025, 12, 31)), "29 t/m 31 december 2025"),
    (date(2026, 10, 1), date(2026, 10, 5), (date(2026, 9, 26), date(2026, 9, 30)), "26 t/m 30 september 2026"),
    (date(2026, 3, 2), date(2026, 3, 3), (date(2026, 2, 28), date(2026, 3, 1)), "28 februari t/m 1 maart 2026"),
])
def test_a_range_is_compared_with_as_many_days_right_before_it(start: date, end: date, before: tuple[date, date],
                                                                label: str) -> None:
    compared = previous(custom(start, end))
    assert (compared.start, compared.end) == before and compared.days == custom(start, end).days
    assert compared.spoken == label


def test_days_run_from_midnight_to_midnight_in_amsterdam_across_daylight_saving() -> None:
    # the last Sunday of October 2026 has 25 hours, the last of March 23
    assert utc_bounds(custom(date(2026, 10, 25), date(2026, 10, 25))) == (
        datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC))
    assert utc_bounds(custom(date(2026, 3, 29), date(2026, 3, 29))) == (
        datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))
    november = last_complete("month", date(2026, 12, 3))
    october = previous(november)
    assert utc_bounds(october) == (datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 10, 31, 23, tzinfo=UTC))
    assert utc_bounds(october)[1] == utc_bounds(november)[0]  # no hour lost or counted twice


def test_report_build_without_a_period_builds_last_months_report(tmp_path) -> None:
    from sociaalwerk_publisher import make_publisher

    from .conftest import make_config

    with make_publisher(make_config(tmp_path)) as publisher:
        period = publisher.report_period(today=date(2026, 12, 3))
    assert (period.kind, period.start, period.end) == ("month", date(2026, 11, 1), date(2026, 11, 30))


def test_an_english_report_names_its_period_in_english_too(tmp_path) -> None:
    from sociaalwerk_publisher import make_publisher

    from .conftest import make_config

    with make_publisher(make_config(tmp_path)) as publisher:
        data = publisher.build_report(publisher.report_period("month", today=date(2026, 12, 3)), language="en")
    assert (data.period.label, data.previous.spoken) == ("November 2026", "October 2026")
