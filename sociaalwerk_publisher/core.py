"""The :class:`Publisher` facade and its factory: the one front door."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import asdict, replace
from functools import partial
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .bounds import MAX_MONTHS, check_count, check_date, check_id, check_moment, check_number, is_whole_number
from ._storage import Storage, open_storage, transfer
from .adapters.base import Adapter
from ._storage.claims import worker_id
from ._storage.coverage import check_domain
from ._storage.records import OutletRecord
from .config import Config, DestinationConfig, MemberReportConfig, check_config, load_config
from .coverage import periods
from .coverage.engine import match_mentions
from .coverage.outlets import read_outlets
from .coverage.figures import build_report_data, member_names, mention_records, mention_rows
from .coverage.model import MentionRow, MentionScope, Outlet, OutletType, Period, ReportData
from .alerts import run_alerts
from .cycle import STEPS, Jobs
from .exceptions import (
    ConfigError,
    FetchError,
    InvalidTransitionError,
    NotAFeedError,
    ReportError,
    SourceError,
    UsageError,
)
from .feeds.normalise import canonical_url
from .health import check_destinations, doctor
from ._storage.urls import redacted_url
from .mail import Attachment, InlineImage, Outbox, build_message
from .feeds.opml import read_opml, write_opml
from .feeds.retrieve import Retrievers
from .clock import utcnow
from .fetching import Fetcher, backing_off
from .municipalities import lookup
from .review import AUTO, check_reviewable, check_transition, current_user, reviewable_kinds
from .hub import HubReview, hub_name, queue_digest
from .locking import RunLock
from .composition import PostComposer
from .slugs import slugify
from .syndication import UNLINKABLE, UNLINKED_BY_COMMAND, Syndicator, make_adapter
from .types import (
    AlertSummary,
    CheckResult,
    CycleResult,
    Decision,
    Delivery,
    DestinationStatus,
    FailingSourceStatus,
    FetchOutcome,
    FetchResult,
    Finding,
    ForgetResult,
    HubSummary,
    ImportResult,
    MatchSummary,
    OutboxItem,
    RenderedReport,
    Source,
    SourceKind,
    SourceUpdate,
    Status,
    Story,
    StoryFilter,
    StoryStatus,
    Syndication,
    SyndicationResult,
    SyndicationState,
    WebhookCounts,
    WebhookDelivery,
)
from .webhooks import Webhooks, subscriptions

log = logging.getLogger(__name__)


def make_publisher(config: Config | str | os.PathLike[str] | None = None) -> Publisher:
    """Build a :class:`Publisher` from a config object or file.

    Args:
        config: a :class:`Config` (``Config()`` for the defaults), a path to a TOML
            file, or ``None`` to look one up (``$SOCIAALWERK_PUBLISHER_CONFIG``,
            ``./sociaalwerk-publisher.toml``) as the command line does.

    Raises:
        ConfigError: the configuration is invalid, or ``None`` was given and no
            config file was found.
        StorageError: the database cannot be opened or migrated.
    """
    if isinstance(config, Config):
        check_config(config)
    else:
        config = load_config(config)
    return Publisher(config, open_storage(config.database_url))


def upgrade_database(config: Config) -> int:
    """Bring the database of ``config`` to this version's schema; the version it is at now.

    Raises:
        StorageError: the database cannot be opened or migrated.
    """
    storage = open_storage(config.database_url, auto_upgrade=True)
    try:
        return storage.schema_version()
    finally:
        storage.close()


class Publisher:
    """Aggregate, review, syndicate and report: every operation the CLI offers.

    Use as a context manager, or call :meth:`close` when done.
    """

    def __init__(self, config: Config, storage: Storage,
                 adapter_for: Callable[[DestinationConfig], Adapter] | None = None) -> None:
        """Prefer :func:`make_publisher`. ``adapter_for`` replaces how adapters are
        made (tests use it to put a recording fake in place of a site)."""
        self.config = config
        self._storage = storage
        self._retrievers = Retrievers(config.fetch,
                                      allow_private_networks=config.security.allow_private_networks)
        if config.security.allow_private_networks:
            log.warning("[security] allow_private_networks is on: URLs from feed content may reach"
                        " private and loopback addresses")
        self._adapter_for = adapter_for
        self._worker = worker_id()
        storage.webhooks.want(subscriptions(config.webhooks))

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the network session and database connections."""
        self._retrievers.close()
        self._storage.close()

    # -- sources ---------------------------------------------------------------------

    def add_source(
        self,
        url: str,
        kind: SourceKind | str = SourceKind.BLOG,
        *,
        title: str | None = None,
        organisation: str | None = None,
        municipality: str | None = None,
        ambassador: str | None = None,
        trusted: bool = False,
        discover: bool = True,
    ) -> Source:
        """Add a feed to poll.

        When ``url`` is an HTML page and ``discover`` is true, the feed it links
        to (``<link rel="alternate">``) is added instead.

        Raises:
            SourceError: the URL cannot be fetched, or no feed is found there.
            UsageError: the source exists already, or a field is invalid.
        """
        url = _feed_address(url)
        if discover:
            url = self._discover(url)
        values = _source_values(
            url=url, kind=kind, title=title, organisation=organisation,
            municipality=municipality, ambassador=ambassador, trusted=trusted,
        )
        source = self._storage.sources.add({**values, "created_at": utcnow(), "active": True})
        log.info("added source %d: %s", source.id, source.url)
        return source

    def _discover(self, url: str) -> str:
        # feedparser and bs4 are imported when a source is added, not by every `run`: a cron
        # run with nothing new should start fast (the benchmark runs 2,000 sources each minute)
        from .feeds.discover import discover_feeds
        from .feeds.parse import parse_feed

        retrieved = self._retrievers.retrieve(url)
        assert retrieved.content is not None
        try:
            parse_feed(retrieved.content, retrieved.url, retrieved.headers)
            return retrieved.moved_to or url
        except NotAFeedError:
            found = discover_feeds(retrieved.content, retrieved.url)
            if not found:
                raise SourceError("no feed found: the page links to no RSS or Atom feed", url) from None
            log.info("discovered feed %s on %s", found[0], url)
            return found[0]

    def get_source(self, source_id: int) -> Source:
        """Raises: SourceNotFoundError, UsageError (an id out of range)."""
        return self._storage.sources.get(check_id(source_id, "source id"))

    def list_sources(self) -> list[Source]:
        """All sources with their polling health, oldest first."""
        return self._storage.sources.list()

    def update_source(self, source_id: int, changes: SourceUpdate) -> Source:
        """Change fields of a source; reactivating one clears its failure state.

        Raises:
            SourceNotFoundError: no such source.
            UsageError: a field or the id is invalid.
        """
        check_id(source_id, "source id")
        values = _source_values(**{k: v for k, v in asdict(changes).items() if v is not None})
        if changes.active:
            values.update(_FRESH_START)
        if values:
            self._storage.sources.update(source_id, values)
        return self._storage.sources.get(source_id)

    def remove_source(self, source_id: int) -> None:
        """Remove a source; stories it brought stay, without it.

        Raises:
            SourceNotFoundError: no such source.
            UsageError: the id is out of range.
        """
        self._storage.sources.remove(check_id(source_id, "source id"))

    def import_opml(self, path: str | os.PathLike[str]) -> ImportResult:
        """Add the feeds an OPML file lists; feeds already present get its fields.

        Relative feed URLs in the file are files beside it. An outline marked
        ``active="false"`` (as :meth:`export_opml` writes an inactive source) is added or
        switched off as inactive; without the attribute a source keeps its state.

        Raises:
            SourceError: the file cannot be read.
            UsageError: the file is not OPML, or an outline carries an invalid field.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SourceError(f"cannot read {path}: {e.strerror}") from e
        try:
            outlines = read_opml(data, base=path.resolve().parent)
        except SourceError as e:  # the file the user named is the mistake: a usage error
            raise UsageError(f"{path}: {e}") from e
        added, updated = [], []
        for outline in outlines:
            values = _source_values(
                url=outline.url, kind=outline.kind, title=outline.title,
                organisation=outline.organisation, municipality=outline.municipality,
                ambassador=outline.ambassador, trusted=outline.trusted,
            )
            if outline.active is not None:
                values["active"] = outline.active
            existing = self._storage.sources.find_by_url(outline.url)
            if existing is None:
                source = self._storage.sources.add_missing({"active": True, **values, "created_at": utcnow()})
                if source is not None:  # None: another host added it this very moment
                    added.append(source)
            else:
                changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
                if changed.get("active"):  # switched back on, as with `sources update --active`
                    changed.update(_FRESH_START)
                if changed:
                    self._storage.sources.update(existing.id, changed)
                    updated.append(self._storage.sources.get(existing.id))
        return ImportResult(tuple(added), tuple(updated))

    def export_opml(self) -> bytes:
        """All sources as an OPML 2.0 document that :meth:`import_opml` reads back."""
        return write_opml(self.list_sources())

    # -- fetching --------------------------------------------------------------------

    def fetch_sources(
        self, source_ids: Iterable[int] | None = None, *, due_only: bool = False, force: bool = False
    ) -> Generator[FetchResult, None, None]:
        """Poll sources and store what is new; yields one result per source.

        Without ``source_ids`` every active source is polled, except those backing off
        (after a failure, or as long as the server's Retry-After asked): each of those
        yields a ``SKIPPED`` result, its source's ``next_poll_at`` saying until when.

        Args:
            source_ids: these sources (active or not), whatever their next poll time.
            due_only: skip sources whose next poll (interval, backoff or the
                server's Retry-After) is still in the future, without a result.
            force: poll the sources that are backing off too.

        Raises:
            SourceNotFoundError: an id in ``source_ids`` does not exist.
            UsageError: an id is out of range.
        """
        if source_ids is not None:
            sources = [self.get_source(i) for i in source_ids]
        elif due_only:
            sources = self._storage.sources.list(due_before=utcnow())
        else:
            sources = self._storage.sources.list(active_only=True)
            if not force:
                now = utcnow()
                for source in sources:
                    if backing_off(source, now):
                        yield FetchResult(source, FetchOutcome.SKIPPED)
                sources = [s for s in sources if not backing_off(s, now)]
        fetcher = Fetcher(self._storage, self._retrievers, self.config.fetch)
        yield from fetcher.fetch(sources)

    def count_sources_to_fetch(self, *, due_only: bool = False) -> int:
        """How many sources :meth:`fetch_sources` would poll (for progress bars)."""
        if due_only:
            return self._storage.sources.count(due_before=utcnow())
        return self._storage.sources.count(active_only=True)

    # -- review ----------------------------------------------------------------------

    def _decide(self, story_ids: Iterable[int], to: StoryStatus, by: str | None,
                note: str | None) -> list[Decision]:
        decided = []
        for story_id in story_ids:
            check_id(story_id, "story id")
            with self._storage.begin() as conn:
                current = self._storage.decisions.status(conn, story_id)
                check_transition(story_id, current, to)
                decision = Decision(story_id, current, to, by or current_user(), utcnow(), note)
                self._storage.decisions.record(conn, decision)
            log.info("story %d: %s -> %s by %s", story_id, current.value, to.value, decision.decided_by)
            decided.append(decision)
        return decided

    def _decide_and_sync(self, story_ids: Iterable[int], to: StoryStatus, by: str | None,
                         note: str | None) -> list[Decision]:
        story_ids = list(story_ids)
        reviewable = self.reviewable_kinds()
        for story_id in story_ids:
            check_reviewable(self._storage.stories.get(check_id(story_id, "story id")), reviewable)
        decided = self._decide(story_ids, to, by, note)
        if self.config.review.mode == "wordpress":
            hub = self._hub_review()
            for decision in decided:  # publish or trash the waiting hub post too
                hub.after_decision(decision.story_id)
        return decided

    def approve_story(self, *story_ids: int, by: str | None = None, note: str | None = None) -> list[Decision]:
        """Approve stories for syndication (new or rejected ones).

        Args:
            by: who decides; default the OS user.

        Raises:
            StoryNotFoundError: an id does not exist (none is approved).
            InvalidTransitionError: a story is not new or rejected (stories before it are
                approved), or is a press item no destination publishes (none is approved).
            UsageError: an id is out of range (none is approved).
        """
        return self._decide_and_sync(story_ids, StoryStatus.APPROVED, by, note)

    def reject_story(self, *story_ids: int, reason: str, by: str | None = None) -> list[Decision]:
        """Reject new stories; a rejected story may still be approved later.

        Raises:
            StoryNotFoundError, InvalidTransitionError: as for :meth:`approve_story`.
        """
        return self._decide_and_sync(story_ids, StoryStatus.REJECTED, by, reason)

    def retract_story(self, story_id: int, *, by: str | None = None, note: str | None = None,
                      include_unlinked: bool = False) -> list[SyndicationResult]:
        """Retract an approved story and remove it from every destination now.

        Destinations that fail are retried by later :meth:`syndicate` runs. A copy its member
        unlinked stays where it is (its result says ``unlinked``) unless ``include_unlinked``;
        with ``include_unlinked`` an already retracted story's unlinked copies are removed.

        Raises:
            StoryNotFoundError, InvalidTransitionError: as for :meth:`approve_story`.
        """
        story = self._storage.stories.get(check_id(story_id, "story id"))
        if not (include_unlinked and story.status is StoryStatus.RETRACTED):
            self._decide([story_id], StoryStatus.RETRACTED, by, note)
        return list(self._syndicator().run(story_ids={story_id}, include_unlinked=include_unlinked))

    def unlink_copy(self, story_id: int, destination: str, *, by: str | None = None) -> Syndication:
        """Leave a story's copy on ``destination`` as it is from now on: no update reaches it,
        and a retraction only with ``include_unlinked``; :meth:`forget` removes it all the
        same. Recorded with who and when; a copy unlinked before keeps that record.

        Raises:
            StoryNotFoundError: no such story.
            ConfigError: no destination has that name.
            InvalidTransitionError: the destination has no published copy of the story (or it
                is the review hub, whose post is the review itself).
        """
        self._storage.stories.get(check_id(story_id, "story id"))
        if self.config.destination(destination).name == hub_name(self.config):
            raise InvalidTransitionError(f"{destination} is the review hub: its post is the review, not a copy",
                                         story_id)
        record = self._storage.syndications.unlink(story_id, destination, utcnow(), by or current_user(),
                                                   UNLINKED_BY_COMMAND, UNLINKABLE)
        if record is None or record.state is SyndicationState.RETRACTED:
            raise InvalidTransitionError(f"story {story_id} has no copy on {destination}", story_id)
        if record.state is not SyndicationState.UNLINKED:
            raise InvalidTransitionError(
                f"story {story_id}'s copy on {destination} is {record.state.value}: only a published copy"
                " can be unlinked (or it is being sent right now: try again in a moment)", story_id)
        log.info("story %d on %s unlinked by %s", story_id, destination, record.unlinked_by)
        return record

    def reviewable_kinds(self) -> frozenset[SourceKind]:
        """The kinds of item editors decide on: blog stories, and press items of a kind some
        destination publishes; other press items only count as coverage."""
        return reviewable_kinds(self.config)

    def review_queue(self) -> list[Story]:
        """The new items waiting for an editor's decision, the longest waiting first."""
        waiting = [s for s in self._storage.stories.list(StoryFilter(status=StoryStatus.NEW, limit=0))
                   if s.kind in self.reviewable_kinds()]
        return sorted(waiting, key=lambda s: (s.first_seen_at, s.published_at, s.id))

    def story_history(self, story_id: int) -> list[Decision]:
        """Every decision on a story, oldest first.

        Raises:
            StoryNotFoundError: no such story.
            UsageError: the id is out of range.
        """
        self._storage.stories.get(check_id(story_id, "story id"))
        return self._storage.decisions.history(story_id)

    def auto_approve(self) -> list[Decision]:
        """Approve new blog stories from trusted sources, if the config allows it (audit: "auto")."""
        if not self.config.review.auto_approve_trusted:
            return []
        waiting = self._storage.stories.list(
            StoryFilter(status=StoryStatus.NEW, kind=SourceKind.BLOG, trusted=True, limit=0))
        decided: list[Decision] = []
        for story in waiting:
            try:
                decided += self._decide([story.id], StoryStatus.APPROVED, AUTO,
                                        "bron is vertrouwd (automatisch goedgekeurd)")
            except InvalidTransitionError:
                pass  # another host's run decided it a moment ago
        return decided

    def syndications(self, story_id: int) -> list[Syndication]:
        """Where a story stands on each destination.

        Raises:
            UsageError: the id is out of range.
        """
        return self._storage.syndications.for_story(check_id(story_id, "story id"))

    # -- review in WordPress -------------------------------------------------------------

    def _hub_review(self) -> HubReview:
        hub = self.config.destination(self.config.review.hub)
        adapter = (self._adapter_for or partial(make_adapter, self.config))(hub)
        return HubReview(self._storage, self.config, PostComposer(self._storage, self.config, self._retrievers),
                         adapter)

    def sync_hub(self) -> HubSummary:
        """With ``[review] mode = "wordpress"``: read the editors' decisions on the hub and
        place new stories there as pending posts. Does nothing in cli mode."""
        if self.config.review.mode != "wordpress":
            return HubSummary()
        return self._hub_review().sync()

    def send_digest(self, *, today: date | None = None) -> list[Delivery]:
        """E-mail the editors the stories waiting on the hub: at most once a day, and only
        when something new was queued since the last digest."""
        review, email = self.config.review, self.config.email
        if review.mode != "wordpress" or not email.host or not (review.digest_recipients or email.recipients):
            return []
        key = queue_digest(self._storage, self.config, today or periods.today_in_amsterdam())
        return self.deliver_outbox([key]) if key else []

    # -- syndication -------------------------------------------------------------------

    def _syndicator(self) -> Syndicator:
        return Syndicator(self._storage, self.config, self._retrievers, self._adapter_for)

    def syndicate(self, destinations: Iterable[str] | None = None, *, dry_run: bool = False,
                  overwrite_edited: Iterable[int] = ()) -> Generator[SyndicationResult, None, None]:
        """Publish approved stories, update changed ones, retract retracted ones.

        Destinations run in parallel; one failing never stops the others. Yields
        one result per (story, destination).

        Args:
            destinations: names of destinations; default all.
            dry_run: only say what would be sent where.
            overwrite_edited: stories whose copies are updated even where a member's editor
                changed them (state "bewerkt door lid"); by default such a copy is kept.

        Raises:
            ConfigError: a destination name is unknown.
        """
        yield from self._syndicator().run(list(destinations) if destinations else None, dry_run=dry_run,
                                          overwrite_edited=set(overwrite_edited))

    def check_destinations(self, destinations: Iterable[str] | None = None) -> list[CheckResult]:
        """Verify each destination's credentials and rights, posting nothing.

        Raises:
            ConfigError: a destination name is unknown.
        """
        return check_destinations(self.config, destinations, self._adapter_for)

    # -- coverage --------------------------------------------------------------------

    def match_coverage(self, *, rematch: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> MatchSummary:
        """Match new media and alert items to the watchlist (with ``rematch`` all of them that
        were matched under another watchlist or settings: interrupted, it continues where it
        stopped when called again).

        Also clusters pickups and drops the text of long-unmatched candidates.

        Args:
            progress: called with (items matched, items to match) after each batch.
        """
        summary = match_mentions(self._storage, self.config, rematch=rematch, progress=progress,
                                 article_text=self._article_text if self.config.coverage.fulltext else None)
        keep = timedelta(days=self.config.coverage.keep_unmatched_days)
        self._storage.coverage.prune_unmatched(utcnow() - keep)
        return summary

    def _article_text(self, url: str) -> str | None:
        """The main text of the article page at ``url`` (trafilatura), or None: a page that
        cannot be fetched or read leaves the item with its feed text."""
        try:
            import trafilatura
        except ImportError:
            raise ConfigError("needs the extra 'fulltext':"
                              " pip install 'sociaalwerk-publisher[fulltext]'", "coverage.fulltext") from None
        try:
            # the same limits and address rules as for any URL that came from a feed
            page = self._retrievers.for_content().retrieve(url, accept="text/html", content_types=("text/html",))
        except FetchError as e:
            log.info("full text of %s: %s", url, e)
            return None
        return trafilatura.extract(page.content or b"", url=page.url, include_comments=False) or None

    def list_mentions(self, *, since: datetime | None = None, until: datetime | None = None,
                      counted: bool | None = True, limit: int = 50, organisation: str | None = None,
                      municipality: str | None = None, outlet: str | None = None,
                      theme: str | None = None) -> tuple[MentionRow, ...]:
        """Press mentions, newest first, published from ``since`` up to (not including) ``until``;
        ``counted=False`` lists the ones that do not count.

        Args:
            organisation, theme: only mentions matched to this one (any case).
            municipality: a CBS code or a name.
            outlet: the outlet's domain or name.

        Raises:
            UsageError: an unknown municipality; a moment without a time zone or out of
                range, or a limit out of range.
        """
        for what, moment in (("since", since), ("until", until)):
            if moment is not None:
                check_moment(moment, what)
        check_count(limit, "limit")
        facts = [(kind, value) for kind, value in (("organisation", organisation), ("theme", theme)) if value]
        return tuple(mention_rows(self._storage, since, until, counted=counted, limit=limit, outlet=outlet,
                                  municipality=_municipality_code(municipality) if municipality else None,
                                  facts_wanted=facts))

    def list_outlets(self, *, unclassified_only: bool = False) -> list[Outlet]:
        """Known outlets; ``unclassified_only`` lists those an editor still has to classify."""
        return [_outlet(row) for row in self._storage.coverage.outlets(unclassified_only=unclassified_only)]

    def set_outlet(self, domain: str, *, name: str | None = None, type: OutletType | str | None = None,
                   municipality: str | None = None, province: str | None = None,
                   reach: int | None = None) -> Outlet:
        """Create or classify an outlet by its domain.

        Raises:
            UsageError: an unknown type or municipality, or not a domain name.
        """
        values: dict[str, Any] = {}
        if name:
            values["name"] = name
        if type is not None:
            try:
                values["type"] = OutletType(type).value
            except ValueError:
                known = ", ".join(t.value for t in OutletType)
                raise UsageError(f"unknown outlet type {type!r} (known: {known})") from None
        if municipality:
            values["municipality"] = _municipality_code(municipality)
        if province:
            values["province"] = province
        if reach is not None:
            values["reach"] = check_count(reach, "reach")
        return _outlet(self._storage.coverage.set_outlet(check_domain(domain), values, utcnow()))

    def import_outlets(self, path: str | os.PathLike[str]) -> int:
        """Create or update outlets from a CSV file with a header row: domain, name, type,
        municipality, province, reach, or in Dutch domein, naam, soort, gemeente, provincie,
        bereik (any case; only domain is required, other columns are ignored).

        Raises:
            UsageError: the file cannot be read, has no domain column, or a row is invalid
                (its line is named).
        """
        rows = read_outlets(path)
        for line, row in enumerate(rows, 2):
            try:
                self.set_outlet(row.get("domain", ""), name=row.get("name") or None,
                                type=row.get("type") or None, municipality=row.get("municipality") or None,
                                province=row.get("province") or None,
                                reach=int(row["reach"]) if row.get("reach") else None)
            except (UsageError, ValueError) as e:
                raise UsageError(f"{path}, line {line}: {e}") from e
        return len(rows)

    # -- reports -----------------------------------------------------------------------

    def report_period(self, kind: str | None = None, start: date | None = None, end: date | None = None,
                      *, today: date | None = None) -> Period:
        """The last complete ``kind`` (week, month, quarter), or the days ``start`` to ``end``;
        with neither, the last complete month.

        Raises:
            UsageError: both are given, only one of ``start`` and ``end``, the range is
                reversed, or a day is outside the dates handled.
        """
        for what, day in (("--from", start), ("--to", end), ("today", today)):
            if day is not None:
                check_date(day, what)
        language = self.config.report.language
        if kind and (start or end):
            raise UsageError("give either a period or --from/--to, not both")
        if start and end:
            return periods.custom(start, end, language)
        if start or end:
            raise UsageError("give both --from and --to")
        return periods.last_complete(kind or "month", today or periods.today_in_amsterdam(), language)

    def build_report(self, period: Period, *, language: str | None = None,
                     scope: MentionScope | None = None, organisation: str | None = None) -> ReportData:
        """Every figure of the coverage report for ``period``, with the period before it.

        Items fetched but not matched yet are matched first, so the report never misses what
        is stored, whichever command fetched it.

        Args:
            scope: only the mentions of one member organisation or of some municipalities.
            organisation: the report of this member organisation (its mentions, share of the
                national total, own stories), in its ``[[report.members]]`` language.

        Raises:
            UsageError: the period lies outside the dates handled, or ``organisation`` is
                not a member organisation.
        """
        check_date(period.start, "the period's first day")
        check_date(period.end, "the period's last day")
        if organisation is not None:
            scope = MentionScope(organisation=self._member_organisation(organisation))
            language = language or self._member_language(organisation)
        language = language or self.config.report.language
        period = periods.in_language(period, language)
        start, _ = periods.utc_bounds(periods.previous(period, language))
        if self._storage.coverage.has_unmatched(start, periods.utc_bounds(period)[1]):
            self.match_coverage()
        return build_report_data(self._storage, self.config, period, self.list_sources(), utcnow(),
                                 language, scope)

    def _member_organisation(self, name: str) -> str:
        """``name`` as the member organisation is known (sources, ``[coverage] organisations``).

        Raises:
            UsageError: no member organisation has this name.
        """
        known = member_names(self.config, self.list_sources())
        found = next((n for n in known if n.casefold() == name.strip().casefold()), None)
        if found is None:
            raise UsageError(f"{name!r} is not a member organisation (known: {', '.join(known) or 'none'})")
        return found

    def _member_language(self, organisation: str) -> str:
        member = self._member_config(organisation)
        return (member.language if member is not None else "") or self.config.report.language

    def _member_config(self, organisation: str) -> MemberReportConfig | None:
        """The ``[[report.members]]`` entry of ``organisation`` (any case), if it has one."""
        wanted = organisation.strip().casefold()
        return next((m for m in self.config.report.members if m.organisation.casefold() == wanted), None)

    def render_report(self, data: ReportData, *, for_file: bool = False) -> RenderedReport:
        """HTML, text, CSV and chart of a report (``for_file``: the chart inside the HTML).

        Raises:
            TemplateError: a template is missing or broken.
        """
        from .reports import render_report  # Jinja2 and the rest only when there is a report

        folder = self.config.templates.folder
        every_mention = None
        if data.mentions_total is not None and data.mentions_total > len(data.mentions):
            every_mention = mention_records(self._storage, *periods.utc_bounds(data.period), scope=data.scope)
        return render_report(data, template_folder=str(self.config.resolve(folder)) if folder else None,
                             for_file=for_file, listed=self.config.report.listed_mentions,
                             every_mention=every_mention)

    def write_report(self, period: Period, target: Path, *, language: str | None = None,
                     organisation: str | None = None) -> tuple[Path, str]:
        """Write the report for ``period`` (or its report for the member ``organisation``) as a
        stand-alone HTML file, and every mention to a CSV file beside it (same name, ``.csv``).

        Returns:
            The CSV file's path, and the report's subject line.

        Raises:
            ReportError: a file cannot be written.
            UsageError: ``organisation`` is not a member organisation.
        """
        rendered = self.render_report(self.build_report(period, language=language, organisation=organisation),
                                      for_file=True)
        csv_file = target.with_suffix(".csv")
        if csv_file == target:
            csv_file = target.with_name(target.name + ".csv")
        try:
            # the CSV first: the HTML file is what marks a scheduled report as made
            csv_file.write_bytes(rendered.csv)
            target.write_text(rendered.html, encoding="utf-8")
        except OSError as e:
            raise ReportError(f"cannot write the report to {e.filename}: {e.strerror}") from e
        return csv_file, rendered.subject

    def queue_report(self, period: Period, *, organisation: str | None = None) -> tuple[str, bool]:
        """Build the report for ``period`` and store it in the outbox, once per period (and
        member organisation: its own report goes to its ``[[report.members]]`` recipients).

        Returns:
            The outbox key, and whether it was added now (false: it was there already).

        Raises:
            ConfigError: no sender or recipients configured, or ``organisation`` has no
                ``[[report.members]]`` entry.
            UsageError: ``organisation`` is not a member organisation.
        """
        email = self.config.email
        recipients: tuple[str, ...] = email.recipients
        if organisation is not None:
            member = self._member_config(organisation)
            if member is None:
                raise ConfigError(f"{organisation!r} has no [[report.members]] entry with its recipients",
                                  "report.members")
            organisation, recipients = self._member_organisation(member.organisation), member.recipients
            # one per member and period whatever its language: the outbox's unique key
            key = f"member-report:{period.start.isoformat()}:{period.end.isoformat()}:{organisation}"
        else:
            key = f"report:{period.start.isoformat()}:{period.end.isoformat()}:{self.config.report.language}"
        if not email.sender or not recipients:
            raise ConfigError("set email.sender and email.recipients to send reports", "email")
        outbox = Outbox(self._storage)
        if outbox.has(key):
            return key, False
        data = self.build_report(period, organisation=organisation)
        rendered = self.render_report(data)
        who = f"{slugify(organisation) or 'lid'}-" if organisation is not None else ""
        message = build_message(
            key=key, sender=email.sender, recipients=recipients, subject=rendered.subject,
            text=rendered.text, html=rendered.html,
            inline=[InlineImage(rendered.chart_cid, "image/png", rendered.chart_png),
                    InlineImage(rendered.map_cid, "image/png", rendered.map_png)],
            attachments=[Attachment(f"vermeldingen-{who}{data.period.start}-{data.period.end}.csv", "text/csv",
                                    rendered.csv)],
        )
        return key, outbox.add(key, "member-report" if organisation else "report", message, recipients, utcnow())

    def deliver_outbox(self, keys: Iterable[str] | None = None, *, force: bool = False) -> list[Delivery]:
        """Send what waits in the outbox (due messages, or just ``keys``); one result each.

        ``force`` also sends messages that are backing off after a failure.
        """
        return Outbox(self._storage).deliver(self.config.email, self._worker, utcnow(),
                                             keys=list(keys) if keys is not None else None, force=force)

    def send_report(self, period: Period, *, organisation: str | None = None) -> list[Delivery]:
        """Build, store and send the report for ``period`` (or its report for the member
        ``organisation``); a failed send is retried later.

        A report already in the outbox is not built again: it is sent if still pending.

        Raises:
            ConfigError: see :meth:`queue_report`.
            UsageError: ``organisation`` is not a member organisation.
        """
        key, _ = self.queue_report(period, organisation=organisation)
        return self.deliver_outbox([key], force=True)

    # -- alerts ------------------------------------------------------------------------

    def send_alerts(self, *, now: datetime | None = None) -> AlertSummary:
        """One alert turn (see :mod:`.alerts`): the new mentions each ``[[alerts.rules]]`` rule
        matches as one mail per recipient, and a spike's alert when one starts; queued in the
        outbox and sent now (a failed send is retried by the outbox).

        The cycle runs it right after matching coverage, so a mention alerts in the cycle
        that fetched it.

        Raises:
            ConfigError: a rule names an organisation that is not a member.
        """
        folder = self.config.templates.folder
        # the sources are read only for rules to check their organisations against
        members = member_names(self.config, self.list_sources()) if self.config.alerts.rules else ()
        summary = run_alerts(self._storage, self.config, members, now or utcnow(),
                             str(self.config.resolve(folder)) if folder else None)
        if summary.queued:
            self.deliver_outbox(summary.queued)
        return summary

    def outbox(self) -> list[OutboxItem]:
        """Every stored message with its delivery state."""
        return Outbox(self._storage).items()

    # -- webhooks ----------------------------------------------------------------------

    def deliver_webhooks(self, *, force: bool = False, now: datetime | None = None) -> list[WebhookDelivery]:
        """POST the webhook events that are due (see :mod:`.webhooks`), in order per story;
        one result per attempt. A failed event is retried later with the same id.

        ``force`` also sends events that are backing off after a failure.

        Raises:
            ConfigError: a webhook's secret variable is not set.
        """
        return Webhooks(self._storage, self.config.webhooks).deliver(self._worker, now or utcnow(), force=force)

    def webhook_counts(self) -> list[WebhookCounts]:
        """Per webhook: how many events are pending, failed (and retried) and delivered."""
        return Webhooks(self._storage, self.config.webhooks).counts()

    # -- data protection ---------------------------------------------------------------

    def forget(self, story: int | str, *, by: str | None = None, reason: str | None = None) -> ForgetResult:
        """Erase a story (AVG/GDPR): delete its remote copies for good on every destination,
        then the local copy, and never import its address again.

        The suppression is recorded first, also for an address no stored story has (yet).
        If a destination cannot delete its copy now, the local copy stays (retracted, so it
        is published nowhere) and the result is not ``ok``: run ``forget`` again later.

        Args:
            story: a story id or the original's http(s) URL.

        Raises:
            StoryNotFoundError: no story has this id.
            UsageError: neither an id in range nor an http(s) URL.
        """
        who = by or current_user()
        url: str | None
        if isinstance(story, str) and not is_whole_number(story):
            address = canonical_url(story)
            if address is None:
                raise UsageError(f"not a story id or an http(s) address: {story!r}")
            self._storage.operations.suppress(address, who, reason, utcnow())
            found = self._storage.stories.find_by_url(address)
            if found is None:
                return ForgetResult(address, None)
            target, url = found, address
        else:
            target = self._storage.stories.get(check_id(int(story), "story id"))
            url = target.url
            if url:
                self._storage.operations.suppress(url, who, reason, utcnow())
        if target.status is StoryStatus.APPROVED:
            self._decide([target.id], StoryStatus.RETRACTED, who, reason or "verwijderd op verzoek (AVG)")
        result = ForgetResult(url, target.id, tuple(self._syndicator().run(story_ids={target.id}, erase=True)))
        if result.ok:
            self._storage.operations.erase_story(target.id)
            log.info("story %d erased by %s", target.id, who)
        return result

    def prune(self, older_than_months: int | None = None) -> int:
        """Remove the text and HTML of items older than the retention period; rows, titles and
        counts stay, so reports over old periods still add up. Returns how many were pruned.

        Raises:
            UsageError: more than a century (1200 months), or negative.
        """
        months = older_than_months if older_than_months is not None else self.config.retention.prune_after_months
        check_number(months, "the age in months", 0, MAX_MONTHS)
        cutoff = utcnow() - timedelta(days=round(months * 30.44))
        return self._storage.operations.prune_text(cutoff)

    # -- the store ---------------------------------------------------------------------

    def export_store(self, path: str | os.PathLike[str]) -> dict[str, int]:
        """Write the whole store to a file (JSON Lines, gzipped when ``path`` ends in ``.gz``),
        from one consistent snapshot, ids kept; returns the rows written per table.

        Raises:
            UsageError: the file cannot be written.
            StorageError: the database cannot be read.
        """
        return transfer.export_store(self._storage, path)

    def import_store(self, path: str | os.PathLike[str]) -> dict[str, int]:
        """Load a file written by :meth:`export_store` into this empty store, all or nothing;
        returns the rows imported per table.

        Raises:
            UsageError: the store already holds data, or the file is not a complete export
                of this schema version.
            StorageError: the database refused a row.
        """
        return transfer.import_store(self._storage, path)

    # -- health ------------------------------------------------------------------------

    def run_cycle(self, steps: Sequence[str] = STEPS, *, on_item: Callable[[Any], None] | None = None,
                  stop: threading.Event | None = None) -> CycleResult:
        """Run the cycle's ``steps`` (all, in order, by default) under the run lock, and keep
        the outcome for `status`. A failing step is recorded in the result; the next still runs.

        Args:
            steps: names from :data:`STEPS`; the daemon runs a few at a time.
            on_item: sees each fetch and syndication result as it comes.
            stop: when set, the cycle ends between items.

        Raises:
            AlreadyRunningError: another run (cron or daemon) holds the lock.
        """
        started = utcnow()
        with RunLock(self.config.lock_path):
            result = Jobs(self, on_item=on_item, stop=stop).run(steps)
            summary = result.summary() if tuple(steps) == STEPS else f"{'+'.join(steps)}: {result.summary()}"
            self._storage.operations.record_run(socket.gethostname(), started, utcnow(), result.ok, summary,
                                                result.errors)
        return result

    def status(self) -> Status:
        """Sources failing, destinations, outbox, database and the last run, for `status`."""
        now = utcnow()
        failing = tuple(
            FailingSourceStatus(s.id, s.title or s.url, s.url, s.consecutive_failures, s.last_success_at,
                                s.last_error or s.deactivated_reason or "", s.active)
            for s in self.list_sources() if s.consecutive_failures or not s.active
        )
        health = self._storage.operations.destination_health()
        destinations = tuple(
            DestinationStatus(d.name, d.adapter, health.get(d.name, {}).get("last_success"),
                              health.get(d.name, {}).get("states", {}), health.get(d.name, {}).get("last_error"))
            for d in self.config.destinations
        )
        return Status(
            checked_at=now, sources=len(self.list_sources()), failing_sources=failing,
            destinations=destinations, outbox=self._storage.operations.outbox_counts(),
            database=redacted_url(self.config.database_url), database_bytes=self._storage.size_bytes(),
            schema_version=self._storage.schema_version(),
            last_run=self._storage.operations.last_run(),
            review_conflicts=tuple(f"story {row.story_id} (hub post {row.remote_id}): {row.conflict}"
                                   for row in self._storage.hub.conflicts()),
        )

    def doctor(self) -> list[Finding]:
        """Check what an unattended run needs, posting and sending nothing; one finding each."""
        return doctor(self.config, self._adapter_for)

    # -- stories ---------------------------------------------------------------------

    def list_stories(self, criteria: StoryFilter | None = None) -> list[Story]:
        """Stories, newest first, matching ``criteria`` (its municipality a CBS code or a name).

        Raises:
            UsageError: an unknown municipality; a source id, limit or moment out of range.
        """
        criteria = criteria or StoryFilter()
        if criteria.source_id is not None:
            check_id(criteria.source_id, "source id")
        if criteria.since is not None:
            check_moment(criteria.since, "since")
        check_count(criteria.limit, "limit")
        if criteria.municipality:
            criteria = replace(criteria, municipality=_municipality_code(criteria.municipality))
        return self._storage.stories.list(criteria)

    def get_story(self, story_id: int) -> Story:
        """Raises: StoryNotFoundError, UsageError (an id out of range)."""
        return self._storage.stories.get(check_id(story_id, "story id"))


def _outlet(row: OutletRecord) -> Outlet:
    return Outlet(row.domain, row.name, OutletType(row.type), row.municipality, row.province, row.reach)


#: What switching a source back on clears: its failures, backoff and the reason it was off.
_FRESH_START = {"deactivated_reason": None, "consecutive_failures": 0, "next_poll_at": None}


def _source_values(**fields: Any) -> dict[str, Any]:
    """Validated column values for a source; raises UsageError on a bad field."""
    values = dict(fields)
    if "kind" in values:
        try:
            values["kind"] = SourceKind(values["kind"]).value
        except ValueError:
            known = ", ".join(k.value for k in SourceKind)
            raise UsageError(f"unknown kind {values['kind']!r} (known: {known})") from None
    if values.get("municipality"):
        values["municipality"] = _municipality_code(values["municipality"])
    if "url" in values:
        values["url"] = _feed_address(values["url"])
    return values


def _municipality_code(value: str) -> str:
    """The CBS code of a municipality given by code (GM0363, 0363) or name; raises UsageError."""
    municipality = lookup(value)
    if municipality is None:
        raise UsageError(f"unknown municipality {value!r}: give a CBS code such as GM0363 or a municipality name")
    return municipality.code


def _feed_address(url: str) -> str:
    """A feed's address as stored: an http(s) or file URL as given, a local file's path as its
    file URL; raises UsageError for anything else."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise UsageError(f"not a valid URL: {url!r}") from None
    if parts.scheme.lower() == "file" or (parts.scheme.lower() in ("http", "https") and parts.hostname):
        return url
    path = Path(url).expanduser()
    if "://" not in url and path.is_file():
        return path.resolve().as_uri()
    raise UsageError(f"not a feed address: {url!r}: give an http(s):// or file:// URL, or the path of a feed file")
