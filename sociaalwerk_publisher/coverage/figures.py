"""Build a report's figures from the store: each figure for the period and the one before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from .._storage import Storage
from ..config import Config
from ..municipalities import municipalities
from ..types import Source
from .model import (
    Count,
    FailingSource,
    MentionRow,
    NewOutlet,
    OutletType,
    Period,
    ReportData,
    TopStory,
)
from .periods import AMSTERDAM, previous, utc_bounds

TOP = 10
#: Longer periods show mentions per week instead of per day.
DAILY_UNTIL_DAYS = 62

HEADLINE_LABELS = {
    "nl": {"mentions": "vermeldingen", "stories": "verschillende verhalen", "outlets": "media",
           "municipalities": "gemeenten bereikt", "own_stories": "eigen verhalen gepubliceerd",
           "syndicated": "keer gesyndiceerd"},
    "en": {"mentions": "mentions", "stories": "distinct stories", "outlets": "outlets",
           "municipalities": "municipalities reached", "own_stories": "own stories published",
           "syndicated": "syndicated copies"},
}


def _counts(current: dict[str, int], before: dict[str, int], labels: dict[str, str] | None = None,
            limit: int | None = None) -> tuple[Count, ...]:
    keys = sorted(set(current) | set(before), key=lambda k: (-current.get(k, 0), -before.get(k, 0), k))
    counts = tuple(Count(k, (labels or {}).get(k, k), current.get(k, 0), before.get(k, 0)) for k in keys)
    return counts[:limit] if limit else counts


def _trend(hours: list[tuple[datetime, int]], period: Period) -> tuple[tuple[tuple[date, int], ...], str]:
    days: Counter[date] = Counter()
    for hour, n in hours:
        days[hour.astimezone(AMSTERDAM).date()] += n
    if period.days <= DAILY_UNTIL_DAYS:
        return tuple((period.start + timedelta(days=i), days.get(period.start + timedelta(days=i), 0))
                     for i in range(period.days)), "day"
    weeks: Counter[date] = Counter()
    for day, n in days.items():
        weeks[day - timedelta(days=day.weekday())] += n
    first = period.start - timedelta(days=period.start.weekday())
    return tuple((first + timedelta(weeks=i), weeks.get(first + timedelta(weeks=i), 0))
                 for i in range((period.end - first).days // 7 + 1)), "week"


def _split(facts: str | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for fact in facts.split("\t") if facts else ():
        kind, _, value = fact.partition(":")
        found.setdefault(kind, []).append(value)
    return found


def mention_rows(storage: Storage, start: datetime | None, end: datetime | None, *,
                 counted: bool | None = True, limit: int = 0, **where: Any) -> Iterator[MentionRow]:
    """Mentions as the report, its CSV and ``coverage list`` show them, newest first, streamed
    (``where``: the filters of the store's ``list_mentions``)."""
    names = {code: m.name for code, m in municipalities().items()}
    types = {t.value: t for t in OutletType}
    # tuples unpacked, not named attributes: a month's CSV has tens of thousands
    for published_at, title, url, outlet, outlet_type, municipality, cluster_id, facts in \
            storage.coverage.list_mentions(start, end, counted=counted, limit=limit, **where):
        found = _split(facts)
        yield MentionRow(
            published_at=published_at, title=title, url=url, outlet=outlet, outlet_type=types[outlet_type],
            municipality=names.get(municipality) if municipality else None,
            organisations=tuple(found.get("organisation", ())), themes=tuple(found.get("theme", ())),
            terms=tuple(found.get("term", ())), story=cluster_id,
        )


def build_report_data(storage: Storage, config: Config, period: Period, sources: list[Source],
                      now: datetime, language: str = "nl") -> ReportData:
    """Every figure of the report for ``period``, compared with the period before it, and the
    newest ``report.listed_mentions`` mentions (the CSV streams all of them: :func:`mention_rows`)."""
    before = previous(period, language)
    (start, end), (prev_start, prev_end) = utc_bounds(period), utc_bounds(before)
    store = storage.coverage
    names = {code: m.name for code, m in municipalities().items()}

    now_head, prev_head = store.headline(start, end), store.headline(prev_start, prev_end)
    labels = HEADLINE_LABELS[language]
    headline = tuple(Count(k, labels[k], now_head[k], prev_head[k]) for k in labels)
    by_municipality = _counts(store.count_by("municipality", start, end),
                              store.count_by("municipality", prev_start, prev_end), names)
    type_labels = {t.value: t.value for t in OutletType}
    by_type = _counts(store.count_by("outlet_type", start, end),
                      store.count_by("outlet_type", prev_start, prev_end), type_labels)
    now_facts = store.count_facts(("organisation", "theme"), start, end)
    prev_facts = store.count_facts(("organisation", "theme"), prev_start, prev_end)
    by_org = _counts(now_facts["organisation"], prev_facts["organisation"])
    by_theme = _counts(now_facts["theme"], prev_facts["theme"])
    trend, unit = _trend(store.hourly_counts(start, end), period)

    clusters = store.top_clusters(start, end, TOP)
    members: dict[int, list] = {}
    for row in store.cluster_members([c for c, _ in clusters], start, end):
        members.setdefault(row.cluster_id, []).append(row)
    top = tuple(
        TopStory(members[c][0].title, members[c][0].canonical_url or "", n,
                 tuple(dict.fromkeys(r.name for r in members[c])))
        for c, n in clusters if c in members
    )

    listed = config.report.listed_mentions
    rows = tuple(mention_rows(storage, start, end, limit=listed)) if listed else ()
    own_labels = {"nl": ("eigen blogverhalen", "gesyndiceerde kopieën", "vermeldingen op eigen kanalen"),
                  "en": ("own blog stories", "syndicated copies", "items on own channels")}[language]
    own = tuple(Count(key, label, now_head[key], prev_head[key]) for key, label in
                zip(("own_stories", "syndicated", "own_mentions"), own_labels))
    failing = tuple(
        FailingSource(s.title or s.url, s.url, s.last_success_at, s.last_error or s.deactivated_reason or "")
        for s in sources if s.consecutive_failures or not s.active
    )
    new = tuple(NewOutlet(o.domain, o.name, OutletType(o.type)) for o in store.new_outlets(start, end))
    golden = tuple(c for c in by_municipality if c.current > 0)[:config.coverage.golden_municipalities]
    return ReportData(
        period=period, previous=before, generated_at=now, headline=headline, by_outlet_type=by_type,
        by_municipality=by_municipality[:TOP], golden_municipalities=golden, by_organisation=by_org,
        by_theme=by_theme, trend=trend, trend_unit=unit, top_stories=top, mentions=rows,
        own_channels=own, new_outlets=new, failing_sources=failing, language=language,
        mentions_total=now_head["mentions"],
    )
