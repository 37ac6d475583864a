"""Public data types: frozen dataclasses and enums returned by the facade."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ._wording import count
from .exceptions import FetchError


class SourceKind(str, enum.Enum):
    """What a feed carries, which decides what its items are used for."""

    BLOG = "blog"  #: a member's story feed: items go to review and syndication
    MEDIA = "media"  #: an outlet's feed: items are candidate press mentions
    ALERT = "alert"  #: a Google Alerts / Google News search feed: candidate mentions


class StoryStatus(str, enum.Enum):
    """Editorial state of a story; transitions live in :mod:`.review`."""

    NEW = "new"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETRACTED = "retracted"


@dataclass(frozen=True)
class Source:
    """A feed we poll, with its polling health."""

    id: int
    url: str
    kind: SourceKind
    title: str | None = None
    organisation: str | None = None
    municipality: str | None = None  #: CBS code, e.g. ``GM0363``
    ambassador: str | None = None
    trusted: bool = False
    active: bool = True
    created_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    #: what kind of failure ``last_error`` was: an :class:`~.exceptions.ErrorKind` value
    last_error_kind: str | None = None
    last_problem: str | None = None  #: a feed defect that did not stop parsing
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    deactivated_reason: str | None = None


@dataclass(frozen=True)
class SourceUpdate:
    """Fields to change on a source; ``None`` leaves a field as it is."""

    url: str | None = None
    kind: SourceKind | None = None
    title: str | None = None
    organisation: str | None = None
    municipality: str | None = None
    ambassador: str | None = None
    trusted: bool | None = None
    active: bool | None = None


@dataclass(frozen=True)
class Story:
    """One item (blog post or press article) as stored, already sanitised."""

    id: int
    url: str | None  #: canonical URL of the original
    title: str
    content_html: str
    text: str
    excerpt: str
    kind: SourceKind
    source_id: int
    status: StoryStatus
    first_seen_at: datetime
    published_at: datetime  #: published, else updated, else first seen (UTC)
    updated_at: datetime | None = None
    author: str | None = None
    image_url: str | None = None
    organisation: str | None = None
    municipality: str | None = None
    source_title: str | None = None
    ambassador: str | None = None
    source_trusted: bool = False
    content_hash: str = ""
    sightings: int = 1  #: how many sources carried this story
    publisher: str | None = None  #: the outlet a news aggregator named (Google News)
    publisher_url: str | None = None

    @property
    def word_count(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class StoryFilter:
    """Criteria for listing stories; every set field must match."""

    kind: SourceKind | None = None
    source_id: int | None = None
    organisation: str | None = None
    municipality: str | None = None
    status: StoryStatus | None = None
    since: datetime | None = None
    text: str | None = None  #: case-insensitive search in title and text
    trusted: bool | None = None  #: only stories whose source is (or is not) trusted
    limit: int = 50  #: 0 means all


class FetchOutcome(str, enum.Enum):
    """How one source's poll ended."""

    OK = "ok"
    NOT_MODIFIED = "not-modified"
    FAILED = "failed"
    #: not polled: backing off after a failure, or as long as its server asked (Retry-After)
    SKIPPED = "skipped"


@dataclass(frozen=True)
class FetchResult:
    """The result of polling one source; one bad feed never hides the others."""

    source: Source
    outcome: FetchOutcome
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: FetchError | None = None
    problem: str | None = None  #: a feed defect that did not stop parsing (bozo)
    moved_to: str | None = None  #: permanent redirect target now stored
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.outcome is not FetchOutcome.FAILED


class SyndicationState(str, enum.Enum):
    """Where one story stands on one destination; transitions live in :mod:`.syndication`."""

    PENDING = "pending"  #: intent recorded; the remote call may or may not have happened
    PUBLISHED = "published"
    FAILED = "failed"  #: retried on a later run
    RETRACTED = "retracted"
    #: a member's editor changed the copy: updates leave it alone ("bewerkt door lid")
    EDITED = "edited"
    #: the member unlinked its copy (or the national office did): no update reaches it, and a
    #: retraction only with ``include_unlinked``; an erasure removes it all the same
    UNLINKED = "unlinked"


@dataclass(frozen=True)
class Syndication:
    """The record of one story on one destination."""

    story_id: int
    destination: str
    state: SyndicationState
    remote_id: str | None
    remote_url: str | None
    attempts: int
    last_error: str | None
    updated_at: datetime
    #: when the copy was unlinked, by whom, and how (a term on the member's site, or the CLI)
    unlinked_at: datetime | None = None
    unlinked_by: str | None = None
    unlinked_how: str | None = None


class SyndicationAction(str, enum.Enum):
    PUBLISH = "publish"
    UPDATE = "update"
    RETRACT = "retract"


@dataclass(frozen=True)
class SyndicationResult:
    """What happened (or, in a dry run, would happen) to one story on one destination."""

    story_id: int
    title: str
    destination: str
    action: SyndicationAction
    ok: bool
    remote_id: str | None = None
    remote_url: str | None = None
    error: str | None = None
    dry_run: bool = False
    warnings: tuple[str, ...] = ()
    #: not updated: a member's editor changed the copy, and that edit is kept
    kept_local_edit: bool = False
    #: not updated or retracted: the copy is unlinked (a retraction needs ``include_unlinked``)
    kept_unlinked: bool = False
    #: retracted or erased although the copy is unlinked (asked to, or an erasure)
    removed_unlinked: bool = False


@dataclass(frozen=True)
class OutboxItem:
    """A stored message and how its delivery stands."""

    key: str
    kind: str
    subject: str
    recipients: tuple[str, ...]
    state: str  #: pending | sent | failed (permanently refused)
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    message_id: str


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver a webhook event."""

    event_id: str
    webhook: str
    type: str  #: story.approved, mention.new, ...
    ok: bool  #: the receiver answered 2xx
    status: int | None = None  #: the receiver's HTTP status, if it answered
    error: str | None = None


@dataclass(frozen=True)
class WebhookCounts:
    """How the events of one webhook stand."""

    webhook: str
    pending: int  #: not tried yet
    failed: int  #: tried and failed; retried with a growing wait
    delivered: int


@dataclass(frozen=True)
class ImportResult:
    """What an OPML import did."""

    added: tuple[Source, ...]
    updated: tuple[Source, ...]


@dataclass(frozen=True)
class Decision:
    """One recorded editorial decision: who, when, from which state to which, and why."""

    story_id: int
    from_status: StoryStatus
    to_status: StoryStatus
    decided_by: str
    decided_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class HubSummary:
    queued: int = 0
    updated: int = 0
    approved: int = 0
    rejected: int = 0
    edited: int = 0  #: published posts whose later edits were picked up
    conflicts: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """What a credentials-and-rights check found; ``problems`` empty means fine."""

    destination: str
    user: str | None  #: who the destination knows us as (none for a file)
    problems: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    verified: str = "credentials and rights ok"  #: what an empty ``problems`` means here
    #: whether copies name their original to search engines (``<link rel="canonical">``): on
    #: WordPress, whether the companion plugin is installed; None where it could not be told
    canonical_links: bool | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class MatchSummary:
    """What one matching pass did."""

    items: int
    counted: int
    own_channel: int
    new_outlets: int


@dataclass(frozen=True)
class RenderedReport:
    """One report, ready to be stored and sent as a multipart e-mail.

    ``html`` shows the chart as ``<img src="cid:{chart_cid}">`` and the map as
    ``<img src="cid:{map_cid}">`` (attach both inline with those Content-IDs), or each as a
    ``data:`` URI when rendered ``for_file``.
    """

    subject: str
    html: str
    text: str
    csv: bytes
    chart_png: bytes
    chart_cid: str
    map_png: bytes = b""
    map_cid: str = ""


@dataclass(frozen=True)
class Delivery:
    """One outbox message's delivery attempt: sent (``ok``) or why not."""

    key: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class AlertSummary:
    """What one alert turn did."""

    looked_at: int = 0  #: new mentions looked at
    queued: tuple[str, ...] = ()  #: outbox keys of the alert mails queued
    spike: bool = False  #: a spike started (and its alert is among ``queued``)
    quiet: bool = False  #: quiet hours: nothing was looked at


@dataclass
class CycleResult:
    """What a cycle (or one job) did, step by step."""

    fetched: list[FetchResult] = field(default_factory=list)
    approved: int = 0
    reviewed: int = 0  #: decisions read back from the WordPress hub
    syndicated: list[SyndicationResult] = field(default_factory=list)
    matched: int = 0
    counted: int = 0
    alerts: list[str] = field(default_factory=list)  #: alert mails queued (outbox keys)
    reports: list[str] = field(default_factory=list)  #: files written and messages queued
    written: list[tuple[str, str]] = field(default_factory=list)  #: (HTML, CSV) report files written
    unsent: list[str] = field(default_factory=list)  #: messages still waiting in the outbox
    webhooks: list[WebhookDelivery] = field(default_factory=list)  #: webhook events sent or tried
    errors: list[str] = field(default_factory=list)  #: "step: message" for each failed step

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unsent and all(r.ok for r in self.fetched) \
            and all(r.ok for r in self.syndicated) and all(w.ok for w in self.webhooks)

    def summary(self) -> str:
        failed_sources = sum(not r.ok for r in self.fetched)
        failed_sends = sum(not r.ok for r in self.syndicated)
        return (f"fetched {count(len(self.fetched), 'source')} ({sum(r.new for r in self.fetched)} new,"
                f" {failed_sources} failed); approved {self.approved} automatically"
                + (f", {self.reviewed} decided in WordPress" if self.reviewed else "") + "; syndicated"
                f" {len(self.syndicated) - failed_sends} ({failed_sends} failed); matched {count(self.matched, 'item')}"
                f" ({self.counted} counted)"
                + (f"; alerts {len(self.alerts)}" if self.alerts else "") + f"; reports {len(self.reports)}"
                + (f"; {count(len(self.unsent), 'message')} waiting" if self.unsent else "")
                + (f"; webhook events {sum(w.ok for w in self.webhooks)} delivered"
                   f" ({sum(not w.ok for w in self.webhooks)} failed)" if self.webhooks else "")
                + (f"; {count(len(self.errors), 'step')} failed" if self.errors else ""))


@dataclass(frozen=True)
class LastRun:
    """The last recorded cron cycle (``run`` or the daemon's), as ``status`` shows it."""

    host: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    summary: str
    errors: tuple[str, ...]


@dataclass(frozen=True)
class FailingSourceStatus:
    """A source whose last fetches failed, as ``status`` shows it."""

    id: int
    title: str
    url: str
    consecutive_failures: int
    last_success_at: datetime | None  #: failing since (about) then
    error: str
    active: bool


@dataclass(frozen=True)
class DestinationStatus:
    """One destination's syndication records and last outcome, as ``status`` shows it."""

    name: str
    adapter: str
    last_success: datetime | None
    states: dict[str, int]  #: syndication records per state
    last_error: str | None


@dataclass(frozen=True)
class Status:
    """What ``status`` reports: sources, destinations, outbox, database and the last run."""

    checked_at: datetime
    sources: int
    failing_sources: tuple[FailingSourceStatus, ...]
    destinations: tuple[DestinationStatus, ...]
    outbox: dict[str, int]
    database: str  #: the URL without its password
    database_bytes: int | None
    schema_version: int
    last_run: LastRun | None
    #: review in WordPress: stories whose original changed after an editor edited the hub post
    review_conflicts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """One `doctor` check: what was checked, whether it is fine, and what to do if not."""

    check: str
    ok: bool
    message: str


@dataclass(frozen=True)
class ForgetResult:
    """What :meth:`Publisher.forget` did."""

    #: the address that is never imported again (``None``: the story had no address)
    url: str | None
    #: the stored story that was found, or ``None`` when none had the address
    story_id: int | None
    #: one result per destination that held a copy
    results: tuple[SyndicationResult, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every copy is gone (the local one included), false when a destination
        still holds its copy: ``forget`` must run again."""
        return all(r.ok for r in self.results)
