"""Public data types: frozen dataclasses and enums returned by the facade."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

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
