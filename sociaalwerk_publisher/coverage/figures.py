"""Build a report's figures from the store: each figure for the period and the one before.

Every part takes a :class:`~.model.MentionScope`, so a report about one member organisation
or some municipalities is the same report over fewer mentions.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import starmap
from typing import Any
from urllib.parse import urlsplit

from .._storage import Storage
from ..config import Config
from ..exceptions import ErrorKind
from ..municipalities import inhabitants, lookup, municipalities, provinces
from ..types import Source
from .model import (
    Count,
    FailingSource,
    Headline,
    LiveCopy,
    MentionRecord,
    MentionRow,
    MentionScope,
    MentionSource,
    NewOutlet,
    OutletFigure,
    OutletType,
    Period,
    ProvinceFigure,
    Reach,
    ReportData,
    Subject,
    SyndicatedStory,
    TopStory,
    group_entries,
)
from .periods import AMSTERDAM, MONTHS, previous, utc_bounds

TOP = 10
#: Top headlines shown per member organisation and per "gouden" name.
HEADLINES = 3
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
_OWN_LABELS = {"nl": ("eigen blogverhalen", "gesyndiceerde kopieën", "vermeldingen op eigen kanalen"),
               "en": ("own blog stories", "syndicated copies", "items on own channels")}


def _counts(current: Mapping[str, int], before: Mapping[str, int], labels: Mapping[str, str] | None = None,
            limit: int | None = None, keys: Iterable[str] = ()) -> tuple[Count, ...]:
    """Counts of ``current`` and ``before`` (and of ``keys``, also when 0), most first."""
    every = set(current) | set(before) | set(keys)
    ordered = sorted(every, key=lambda k: (-current.get(k, 0), -before.get(k, 0), (labels or {}).get(k, k)))
    counts = tuple(Count(k, (labels or {}).get(k, k), current.get(k, 0), before.get(k, 0)) for k in ordered)
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


_NO_FACTS: tuple[tuple[str, ...], ...] = ((), (), (), ())


def _facts(facts: str | None) -> tuple[tuple[str, ...], ...]:
    """The organisations, themes, terms and gouden names in ``kind:value`` facts joined by tabs."""
    if not facts:
        return _NO_FACTS
    organisations: list[str] = []
    themes: list[str] = []
    terms: list[str] = []
    gouden: list[str] = []
    found = {"organisation": organisations, "theme": themes, "term": terms, "gouden": gouden}
    for fact in facts.split("\t"):
        kind, _, value = fact.partition(":")
        values = found.get(kind)
        if values is not None:
            values.append(value)
    return tuple(organisations), tuple(themes), tuple(terms), tuple(gouden)


def mention_source(source_url: str | None) -> MentionSource:
    """Whether a mention came from an outlet's feed, a Google Alert or a Google News search."""
    host = (urlsplit(source_url).hostname or "") if source_url else ""
    if host == "news.google.com":
        return MentionSource.GOOGLE_NEWS
    if (host.startswith("google.") or ".google." in host) and "/alerts" in (source_url or ""):
        return MentionSource.GOOGLE_ALERTS
    return MentionSource.FEED


def mention_records(storage: Storage, start: datetime | None, end: datetime | None, *,
                    counted: bool | None = True, limit: int = 0, **where: Any) -> Iterator[MentionRecord]:
    """Mentions as the report, its CSV and ``coverage list`` show them, newest first, streamed,
    each as a plain tuple (a month's CSV has tens of thousands: no object per row);
    ``where``: the filters of the store's ``list_mentions``."""
    places = {code: (m.name, m.province) for code, m in municipalities().items()}
    nowhere = (None, None)
    types = {t.value: t for t in OutletType}
    sources: dict[str | None, MentionSource] = {}
    for published_at, title, url, outlet, outlet_type, code, cluster_id, facts, headline, reach, source_url in \
            storage.coverage.list_mentions(start, end, counted=counted, limit=limit, **where):
        organisations, themes, terms, gouden = _facts(facts)
        name, province = places.get(code, nowhere) if code else nowhere
        kind = sources.get(source_url)
        if kind is None:
            kind = sources[source_url] = mention_source(source_url)
        yield (published_at, title, url, outlet, types[outlet_type], name, organisations, themes, terms, cluster_id,
               headline or title, code, province, reach, kind, gouden)


def mention_rows(storage: Storage, start: datetime | None, end: datetime | None, *,
                 counted: bool | None = True, limit: int = 0, **where: Any) -> Iterator[MentionRow]:
    """Mentions as :func:`mention_records` lists them, each a :class:`MentionRow`."""
    return starmap(MentionRow, mention_records(storage, start, end, counted=counted, limit=limit, **where))


def member_names(config: Config, sources: Iterable[Source]) -> tuple[str, ...]:
    """Every member organisation: those configured and those named on a source."""
    names = dict.fromkeys(config.coverage.organisations)
    names.update(dict.fromkeys(s.organisation for s in sources if s.organisation))
    return tuple(names)


def gouden_codes(config: Config) -> tuple[str, ...]:
    """The CBS codes of the configured gouden gemeenten (codes or names), in order, once each."""
    found = (lookup(name) for name in config.campaign.gouden_gemeenten)
    return tuple(dict.fromkeys(m.code for m in found if m is not None))


class _Builder:
    """The figures of one report: each query once, for the period and the one before."""

    def __init__(self, storage: Storage, config: Config, period: Period, before: Period,
                 scope: MentionScope | None, language: str) -> None:
        self.store = storage.coverage
        self.storage = storage
        self.config = config
        self.language = language
        self.scope = scope
        self.now = utc_bounds(period)
        self.before = utc_bounds(before)

    def both(self, method: str, *args: object) -> tuple[dict, dict]:  # type: ignore[type-arg]
        query = getattr(self.store, method)
        return (query(*args, *self.now, scope=self.scope), query(*args, *self.before, scope=self.scope))

    def subjects(self, kind: str, names: Sequence[str], now: Mapping[str, int],
                 before: Mapping[str, int]) -> tuple[Subject, ...]:
        """Each of ``names`` (and any other value of ``kind`` found), with its top headlines."""
        counts = _counts(now, before, keys=names)
        stories: dict[str, dict[int, list[tuple[datetime, int, str]]]] = defaultdict(lambda: defaultdict(list))
        # no counts, no mentions to pick from (the same mentions): no query over the period
        found = self.store.fact_mentions(kind, *self.now, scope=self.scope) if now else ()
        for value, mention_id, cluster_id, published_at, outlet in found:
            stories[value][cluster_id if cluster_id is not None else -mention_id].append(
                (published_at, mention_id, outlet))
        chosen: dict[str, list[list[tuple[datetime, int, str]]]] = {}
        for value, by_story in stories.items():
            ranked = sorted(by_story.values(), key=lambda ms: (-len(ms), -max(ms)[0].timestamp(), min(ms)[1]))
            chosen[value] = [sorted(ms) for ms in ranked[:HEADLINES]]
        titles = self.store.headlines(ms[0][1] for top in chosen.values() for ms in top)
        return tuple(Subject(c, tuple(
            Headline(*titles[ms[0][1]], tuple(dict.fromkeys(o for _, _, o in ms)), len(ms))
            for ms in chosen.get(c.key, ()))) for c in counts)

    def top_stories(self) -> tuple[TopStory, ...]:
        clusters = self.store.top_clusters(*self.now, TOP, scope=self.scope)
        members: dict[int, list[MentionRow]] = defaultdict(list)
        for row in mention_rows(self.storage, *self.now, clusters=[c for c, _ in clusters], scope=self.scope):
            members[row.story].append(row)  # type: ignore[index]
        stories = []
        for cluster_id, n in clusters:
            rows = sorted(members.get(cluster_id, ()), key=lambda m: m.published_at)
            if rows:
                stories.append(TopStory(rows[0].headline, rows[0].url, n, tuple(dict.fromkeys(r.outlet for r in rows))))
        return tuple(stories)

    def outlets(self) -> tuple[tuple[OutletFigure, ...], Reach | None, tuple[NewOutlet, ...]]:
        now, before = self.both("count_by", "outlet")
        rows = self.store.outlet_rows(set(now) | set(before))
        names = {code: m.name for code, m in municipalities().items()}
        counts = {rows[i].domain: n for i, n in now.items()}
        counts_before = {rows[i].domain: n for i, n in before.items()}
        by_domain = {row.domain: row for row in rows.values()}
        ranked = _counts(counts, counts_before, {d: r.name for d, r in by_domain.items()}, limit=TOP)
        top = tuple(OutletFigure(c, OutletType(by_domain[c.key].type), names.get(by_domain[c.key].municipality or ""),
                                 by_domain[c.key].reach) for c in ranked if c.current)
        reach = None
        known = [r for i in now if (r := rows[i].reach) is not None]
        if known:
            label = "geschat bereik" if self.language == "nl" else "estimated reach"
            reach = Reach(Count("reach", label, sum(known),
                                sum(r for i in before if (r := rows[i].reach) is not None)), len(known), len(now))
        new = tuple(sorted((NewOutlet(rows[i].domain, rows[i].name, OutletType(rows[i].type), n)
                            for i, n in now.items() if rows[i].type == OutletType.UNCLASSIFIED.value),
                           key=lambda o: (-o.mentions, o.domain)))
        return top, reach, new


def _provinces(now: Mapping[str, int], before: Mapping[str, int]) -> tuple[ProvinceFigure, ...]:
    table, people = municipalities(), inhabitants()
    figures = []
    for province in provinces():
        codes = [c for c, m in table.items() if m.province == province]
        current = sum(now.get(c, 0) for c in codes)
        figures.append(ProvinceFigure(
            Count(province, province, current, sum(before.get(c, 0) for c in codes)),
            sum(1 for c in codes if now.get(c)), len(codes), 100_000 * current / sum(people[c] for c in codes)))
    return tuple(sorted(figures, key=lambda p: (-p.count.current, -p.per_100k, p.count.key)))


def build_report_data(storage: Storage, config: Config, period: Period, sources: list[Source],
                      now: datetime, language: str = "nl", scope: MentionScope | None = None) -> ReportData:
    """Every figure of the report for ``period``, compared with the period before it, and the
    newest ``report.listed_mentions`` mentions (the CSV streams all of them: :func:`mention_rows`).

    Args:
        scope: only these mentions (one member's, some municipalities'); None for all.
    """
    before = previous(period, language)
    build = _Builder(storage, config, period, before, scope, language)
    store = storage.coverage
    names = {code: m.name for code, m in municipalities().items()}

    now_head, prev_head = build.both("headline")
    labels = HEADLINE_LABELS[language]
    headline = tuple(Count(k, labels[k], now_head[k], prev_head[k]) for k in labels)
    now_places, prev_places = build.both("count_by", "municipality")
    by_municipality = _counts(now_places, prev_places, names)
    golden = gouden_codes(config)
    golden_counts = _counts({c: now_places.get(c, 0) for c in golden}, {c: prev_places.get(c, 0) for c in golden},
                            names, keys=golden)
    by_type = _counts(*build.both("count_by", "outlet_type"), {t.value: t.value for t in OutletType})
    kinds = ("organisation", "theme", "gouden")
    now_facts, prev_facts = build.both("count_facts", kinds)
    members = member_names(config, sources) if scope is None or scope.organisation is None else (scope.organisation,)
    subjects = build.subjects("organisation", members, now_facts["organisation"], prev_facts["organisation"])
    if scope is not None and scope.organisation is not None:
        subjects = tuple(s for s in subjects if s.count.key == scope.organisation)
    gouden = build.subjects("gouden", config.campaign.gouden, now_facts["gouden"], prev_facts["gouden"])
    by_theme = _counts(now_facts["theme"], prev_facts["theme"])
    trend, unit = _trend(store.hourly_counts(*build.now, scope=scope), period)
    top_outlets, reach, new = build.outlets()

    listed = config.report.listed_mentions
    rows = tuple(mention_rows(storage, *build.now, limit=listed, scope=scope)) if listed else ()
    clusters = sorted({m.story for m in rows if m.story is not None})
    stories = group_entries(rows, mention_rows(storage, *build.now, clusters=clusters, scope=scope) if clusters else ())
    own = tuple(Count(key, label, now_head[key], prev_head[key]) for key, label in
                zip(("own_stories", "syndicated", "own_mentions"), _OWN_LABELS[language]))
    member = scope.organisation if scope is not None else None
    # a member's report names its own failing sources only
    failing = tuple(failing_source(s, config, language) for s in sources
                    if (s.consecutive_failures or not s.active) and member in (None, s.organisation))
    national: Count | None = None
    syndicated: tuple[SyndicatedStory, ...] = ()
    own_places: tuple[str, ...] = ()
    if member is not None:
        own_places = tuple(sorted(set(now_places) | {s.municipality for s in sources
                                                     if s.organisation == member and s.municipality}))
        national = Count("national", "landelijk" if language == "nl" else "nationally",
                         store.headline(*build.now)["mentions"], store.headline(*build.before)["mentions"])
        syndicated = _syndicated(storage, member, *build.now)
    return ReportData(
        period=period, previous=before, generated_at=now, headline=headline, by_outlet_type=by_type,
        by_municipality=by_municipality[:TOP], golden_municipalities=golden_counts,
        by_organisation=tuple(s.count for s in subjects), by_theme=by_theme, trend=trend, trend_unit=unit,
        top_stories=build.top_stories(), mentions=rows, own_channels=own, new_outlets=new, failing_sources=failing,
        language=language, mentions_total=now_head["mentions"], entries=stories, members=subjects,
        golden_names=gouden, top_outlets=top_outlets, reach=reach, provinces=_provinces(now_places, prev_places),
        municipality_counts=tuple(sorted(now_places.items())), golden_codes=golden, scope=scope,
        national=national, syndicated_stories=syndicated, own_municipalities=own_places,
    )


def _syndicated(storage: Storage, organisation: str, start: datetime, end: datetime) -> tuple[SyndicatedStory, ...]:
    """The member's stories of the period that are live somewhere, each with its copies."""
    by_story: dict[int, list[Any]] = defaultdict(list)
    for row in storage.coverage.live_copies(organisation, start, end):
        by_story[row.id].append(row)
    return tuple(SyndicatedStory(rows[0].title, rows[0].canonical_url, rows[0].published_at,
                                 tuple(LiveCopy(r.destination, r.remote_url) for r in rows))
                 for rows in by_story.values())


# -- why a source fails, in words a press officer reads ----------------------------------------

_REASONS: dict[str, dict[str, Any]] = {
    "nl": {"gone": "bestaat niet meer ({status})", "not_found": "niet gevonden ({status})",
           "denied": "geen toegang ({status})", "server": "fout bij de server ({status})",
           "http": "geeft een fout ({status})", "busy": "te veel verzoeken, wacht tot {until}",
           "busy_unknown": "te veel verzoeken", "not_feed": "geen geldige RSS/Atom",
           "timeout": "reageert niet binnen {seconds}", "second": ("seconde", "seconden"),
           "dns": "het domein bestaat niet (meer)",
           "connect": "is niet bereikbaar", "certificate": "heeft een ongeldig certificaat",
           "too_large": "is te groot", "redirects": "stuurt eindeloos door", "refused": "adres niet toegestaan",
           "file": "bestand niet gevonden", "unknown": "werkt niet (onbekende fout)",
           "at": "om"},
    "en": {"gone": "no longer exists ({status})", "not_found": "not found ({status})",
           "denied": "access denied ({status})", "server": "server error ({status})",
           "http": "answers with an error ({status})", "busy": "too many requests, waiting until {until}",
           "busy_unknown": "too many requests", "not_feed": "not a valid RSS/Atom feed",
           "timeout": "does not answer within {seconds}", "second": ("second", "seconds"),
           "dns": "the domain does not exist (any more)",
           "connect": "cannot be reached", "certificate": "has an invalid certificate",
           "too_large": "is too large", "redirects": "redirects without end", "refused": "address not allowed",
           "file": "file not found", "unknown": "failing (unknown error)", "at": "at"},
}
_STATUS = re.compile(r"\bHTTP (\d{3})\b")
_SECONDS = re.compile(r"(?:longer than|within) (\d+(?:\.\d+)?) s\b")
#: The words for each kind of failure the fetch records (``sources.last_error_kind``);
#: an HTTP error status is said by its number.
_WORDS_FOR_KIND: dict[str, str] = {kind.value: words for kind, words in {
    ErrorKind.DNS: "dns", ErrorKind.REFUSED: "connect", ErrorKind.UNREACHABLE: "connect",
    ErrorKind.RESET: "connect", ErrorKind.TIMEOUT: "timeout", ErrorKind.TLS: "certificate",
    ErrorKind.PROTOCOL: "not_feed", ErrorKind.WRONG_TYPE: "not_feed", ErrorKind.NOT_A_FEED: "not_feed",
    ErrorKind.TOO_LARGE: "too_large", ErrorKind.GONE: "gone", ErrorKind.RATE_LIMITED: "busy",
    ErrorKind.REDIRECTS: "redirects", ErrorKind.BLOCKED: "refused", ErrorKind.FILE: "file",
}.items()}


def failure_reason(message: str | None, config: Config, language: str = "nl", *,
                   next_poll_at: datetime | None = None, kind: str | None = None) -> str:
    """Why a source fails, in the report's language, from what the fetch stored about it.

    The one place that turns a stored failure into words: never a library's exception text.

    Args:
        message: the stored error (``sources.last_error`` or ``deactivated_reason``).
        next_poll_at: when the source is polled again (the wait a server asked for).
        kind: the :class:`ErrorKind` value the fetch stored with the error; it wins over
            reading the message (which stays for errors stored before kinds were).
    """
    words = _REASONS[language]
    text = message or ""
    status_match = _STATUS.search(text)
    status = int(status_match.group(1)) if status_match else None
    kind = _WORDS_FOR_KIND.get(kind or "") or _kind_of(text.lower(), status)
    if kind == "busy":
        if next_poll_at is None:
            return str(words["busy_unknown"])
        local = next_poll_at.astimezone(AMSTERDAM)
        until = f"{local.day} {MONTHS[language][local.month - 1]} {words['at']} {local:%H:%M}"
        return str(words["busy"]).format(until=until)
    if kind == "timeout":
        seconds = _SECONDS.search(text)
        fetch = config.fetch
        limit = float(seconds.group(1)) if seconds else (
            fetch.read_timeout if "read" in text.lower() else fetch.connect_timeout)
        one, many = words["second"]
        return str(words["timeout"]).format(seconds=f"{limit:g} {one if limit == 1 else many}")
    return str(words.get(kind, words["unknown"])).format(status=status)


def _kind_of(text: str, status: int | None) -> str:
    if status == 410 or "gone" in text:
        return "gone"
    if status in (429, 503):
        return "busy"
    if status in (404,):
        return "not_found"
    if status in (401, 403):
        return "denied"
    if status is not None:
        return "server" if status >= 500 else "http"
    for kind, needles in (("not_feed", ("not an rss or atom", "not a feed", "content-type")),
                          ("timeout", ("timed out", "took longer", "timeout")),
                          ("certificate", ("certificate", "ssl")),
                          ("dns", ("name or service not known", "nameresolution", "failed to resolve",
                                   "nodename nor servname", "getaddrinfo")),
                          ("connect", ("cannot connect", "connection", "download failed")),
                          ("too_large", ("larger than the limit",)), ("redirects", ("redirects",)),
                          ("refused", ("refused: only", "only http", "not allowed", "private")),
                          ("file", ("file not found", "cannot read"))):
        if any(needle in text for needle in needles):
            return kind
    return "unknown"


def failing_source(source: Source, config: Config, language: str = "nl") -> FailingSource:
    """A failing or switched-off source as the report lists it: its name once and why."""
    name = source.title or source.organisation or (urlsplit(source.url).hostname or source.url).removeprefix("www.")
    message = source.last_error if source.active else (source.deactivated_reason or source.last_error)
    return FailingSource(name, source.url, source.last_success_at or source.created_at,
                         failure_reason(message, config, language, next_poll_at=source.next_poll_at,
                                        kind=source.last_error_kind if source.active else None))
