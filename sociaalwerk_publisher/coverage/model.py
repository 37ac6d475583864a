"""The figures of one coverage report: what the templates and the CSV are made from."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import cast


class OutletType(str, enum.Enum):
    """The Dutch local media landscape the campaign works with."""

    LANDELIJK_DAGBLAD = "landelijk dagblad"
    REGIONAAL_DAGBLAD = "regionaal dagblad"
    HUIS_AAN_HUISBLAD = "huis-aan-huisblad"
    LOKALE_OMROEP = "lokale omroep"  #: radio/tv
    KABELKRANT = "kabelkrant"
    NIEUWSSITE = "nieuwssite"
    BLOG = "blog"
    VAKMEDIA = "vakmedia"
    OVERIG = "overig"
    UNCLASSIFIED = "unclassified"  #: seen, not yet classified by an editor


class MentionSource(str, enum.Enum):
    """Where a mention was found: an outlet's own feed or a Google search feed."""

    FEED = "feed"
    GOOGLE_ALERTS = "Google Alerts"
    GOOGLE_NEWS = "Google News"


@dataclass(frozen=True)
class MentionScope:
    """Which mentions a report is about: all of them, or one member's, or some municipalities'.

    A report per member organisation (or region) is the same report over a smaller scope.
    """

    organisation: str | None = None  #: only mentions that name this member organisation
    municipalities: tuple[str, ...] = ()  #: only mentions attributed to these CBS codes


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end``, both included, in Europe/Amsterdam."""

    start: date
    end: date
    label: str  #: e.g. "november 2026" or "week 47: 16 t/m 22 november 2026"
    #: week, month or quarter (calendar periods, compared with the one before), or custom
    kind: str = "custom"
    #: how the period is named after "vergeleken met": "oktober 2026", "het 2e kwartaal 2026"
    spoken: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Count:
    """One figure, this period and the period before."""

    key: str  #: stable identifier (a CBS code, an outlet type value, a theme)
    label: str  #: what a reader sees
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous


@dataclass(frozen=True)
class MentionRow:
    """One press mention, as listed in the report and in the CSV."""

    published_at: datetime
    title: str
    url: str
    outlet: str
    outlet_type: OutletType
    municipality: str | None  #: name
    organisations: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    story: int | None = None  #: the pickup cluster it belongs to
    #: the headline of the story it belongs to: its own title, or the first pickup's
    headline: str = ""
    municipality_code: str | None = None  #: CBS code
    province: str | None = None  #: the municipality's
    reach: int | None = None  #: the outlet's estimated audience, when known
    source_kind: MentionSource = MentionSource.FEED
    gouden: tuple[str, ...] = ()  #: the campaign's "gouden" names it mentions


#: A :class:`MentionRow`'s fields, in their order, as a plain tuple: what the report's CSV is
#: written from, a month of them streamed from the store (``MentionRow(*record)`` is the row).
MentionRecord = tuple[datetime, str, str, str, OutletType, str | None, tuple[str, ...], tuple[str, ...],
                      tuple[str, ...], int | None, str, str | None, str | None, int | None, MentionSource,
                      tuple[str, ...]]
_ROW_FIELDS = tuple(f.name for f in fields(MentionRow))


def mention_record(row: MentionRow) -> MentionRecord:
    """``row`` as a :data:`MentionRecord`."""
    return cast(MentionRecord, tuple(getattr(row, name) for name in _ROW_FIELDS))


@dataclass(frozen=True)
class Headline:
    """A story's headline with the outlets that carried it."""

    title: str
    url: str
    outlets: tuple[str, ...]
    mentions: int  #: pickups of the story (in the subject's mentions of the period)


@dataclass(frozen=True)
class Entry:
    """One story in "Alle vermeldingen": its headline and every mention of it, oldest first."""

    headline: str
    mentions: tuple[MentionRow, ...]

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.outlet for m in self.mentions))

    @property
    def first(self) -> MentionRow:
        return self.mentions[0]


def group_entries(rows: Iterable[MentionRow], members: Iterable[MentionRow] = ()) -> tuple[Entry, ...]:
    """One entry per story, newest first: each picked-up story once, with all its mentions.

    Args:
        rows: the listed mentions, newest first.
        members: further mentions of the pickup clusters among ``rows`` (those not listed).
    """
    stories: dict[object, list[MentionRow]] = {}
    for row in rows:
        stories.setdefault(row.story if row.story is not None else id(row), []).append(row)
    # a set, not the story's list: a story picked up hundreds of times would cost its square
    seen = {row for group in stories.values() for row in group}
    for row in members:
        if row.story in stories and row not in seen:
            stories[row.story].append(row)
            seen.add(row)
    grouped = (tuple(sorted(group, key=lambda m: m.published_at)) for group in stories.values())
    return tuple(Entry(group[0].headline or group[0].title, group) for group in grouped)


@dataclass(frozen=True)
class TopStory:
    """A story picked up by several outlets (one press release, N pickups)."""

    title: str
    url: str
    mentions: int  #: how many mentions of it the period has
    outlets: tuple[str, ...]  #: the distinct outlets, in order of publication


@dataclass(frozen=True)
class Subject:
    """A member organisation or a "gouden" name: its figure and its top headlines."""

    count: Count
    headlines: tuple[Headline, ...] = ()


@dataclass(frozen=True)
class OutletFigure:
    """One outlet of the period's top list."""

    count: Count  #: key: the domain; label: the outlet's name
    outlet_type: OutletType
    municipality: str | None  #: name
    reach: int | None


@dataclass(frozen=True)
class Reach:
    """The summed audience of the outlets that carried a mention ("geschat bereik")."""

    count: Count
    known: int  #: outlets with a known reach among ...
    outlets: int  #: ... the outlets with mentions in the period


@dataclass(frozen=True)
class ProvinceFigure:
    """Mentions in one province, and how widely and densely it was reached."""

    count: Count  #: key and label: the province
    reached: int  #: municipalities with a mention
    municipalities: int  #: municipalities in the province
    per_100k: float  #: mentions per 100,000 inhabitants


@dataclass(frozen=True)
class FailingSource:
    """A source whose mentions may be missing, with why, in the report's language."""

    name: str  #: the source's title, else its organisation, else its host
    url: str
    failing_since: datetime | None
    reason: str


@dataclass(frozen=True)
class NewOutlet:
    """An outlet with mentions in the period that an editor has not classified yet."""

    domain: str
    name: str
    outlet_type: OutletType
    mentions: int = 0


@dataclass(frozen=True)
class LiveCopy:
    """Where a syndicated copy of a member's story is live."""

    destination: str
    url: str | None


@dataclass(frozen=True)
class SyndicatedStory:
    """A member's own story of the period and every site that carries a copy of it."""

    title: str
    url: str | None
    published_at: datetime
    copies: tuple[LiveCopy, ...]


@dataclass(frozen=True)
class ReportData:
    """Everything a coverage report shows. Built from the store; rendered by templates."""

    period: Period
    previous: Period
    generated_at: datetime
    #: mentions, distinct stories, outlets, municipalities reached, own stories published, syndicated
    headline: tuple[Count, ...]
    by_outlet_type: tuple[Count, ...]
    by_municipality: tuple[Count, ...]  #: top list, most mentions first
    #: the configured "gouden gemeenten", every one (also with 0); empty without configuration
    golden_municipalities: tuple[Count, ...]
    by_organisation: tuple[Count, ...]  #: every member organisation, also those with 0
    by_theme: tuple[Count, ...]
    trend: tuple[tuple[date, int], ...]  #: mentions per day or per week (first day)
    trend_unit: str  #: "day" or "week"
    top_stories: tuple[TopStory, ...]
    mentions: tuple[MentionRow, ...]  #: the newest mentions of the period (all, or as many as listed)
    own_channels: tuple[Count, ...] = ()  #: "eigen kanalen": own blogs and syndicated copies
    new_outlets: tuple[NewOutlet, ...] = ()
    failing_sources: tuple[FailingSource, ...] = ()
    language: str = "nl"
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: how many mentions the period has in all (None: ``mentions`` holds every one)
    mentions_total: int | None = None
    #: the stories of the listed mentions, newest first, each with all its mentions
    entries: tuple[Entry, ...] = ()
    members: tuple[Subject, ...] = ()  #: ``by_organisation`` with each member's top headlines
    golden_names: tuple[Subject, ...] = ()  #: the configured "gouden" persons and institutions
    top_outlets: tuple[OutletFigure, ...] = ()
    reach: Reach | None = None  #: None when no outlet with mentions has a known reach
    provinces: tuple[ProvinceFigure, ...] = ()  #: all twelve, most mentions first
    #: mentions per municipality (CBS code) of the period, for the map; absent codes had none
    municipality_counts: tuple[tuple[str, int], ...] = ()
    golden_codes: tuple[str, ...] = ()  #: CBS codes of the gouden gemeenten, outlined on the map
    scope: MentionScope | None = None  #: whose mentions these are (None: all)
    #: a member's report: the national number of mentions, against which its share is told
    national: Count | None = None
    syndicated_stories: tuple[SyndicatedStory, ...] = ()  #: a member's report: its stories and copies
    #: a member's report: the municipalities of its mentions and its sources (the map shows these)
    own_municipalities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outlet:
    """A medium, keyed by its domain."""

    domain: str
    name: str
    type: OutletType
    municipality: str | None = None  #: CBS code
    province: str | None = None
    reach: int | None = None
