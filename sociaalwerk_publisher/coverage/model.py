"""The figures of one coverage report: what the templates and the CSV are made from."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


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


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end``, both included, in Europe/Amsterdam."""

    start: date
    end: date
    label: str  #: e.g. "november 2026" or "week 47: 16 t/m 22 november 2026"

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


@dataclass(frozen=True)
class TopStory:
    """A story picked up by several outlets (one press release, N pickups)."""

    title: str
    url: str
    pickups: int
    outlets: tuple[str, ...]


@dataclass(frozen=True)
class FailingSource:
    title: str
    url: str
    failing_since: datetime | None
    error: str


@dataclass(frozen=True)
class NewOutlet:
    domain: str
    name: str
    outlet_type: OutletType


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
    golden_municipalities: tuple[Count, ...]  #: "gouden gemeenten": the most coverage
    by_organisation: tuple[Count, ...]
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


@dataclass(frozen=True)
class Outlet:
    """A medium, keyed by its domain."""

    domain: str
    name: str
    type: OutletType
    municipality: str | None = None  #: CBS code
    province: str | None = None
    reach: int | None = None
