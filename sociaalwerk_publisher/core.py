"""The :class:`Publisher` facade and its factory: the one front door."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from ._storage import Storage, open_storage
from .adapters.base import Adapter, CheckResult
from .config import Config, DestinationConfig, load_config
from .exceptions import NotAFeedError, PublisherError, SourceError, UsageError
from .feeds.discover import discover_feeds
from .feeds.opml import read_opml, write_opml
from .feeds.parse import parse_feed
from .feeds.retrieve import Retrievers
from .fetching import Fetcher, utcnow
from .municipalities import lookup
from .review import AUTO, Decision, check_transition, current_user
from .syndication import Syndicator, make_adapter
from .types import (
    FetchResult,
    Source,
    SourceKind,
    SourceUpdate,
    Story,
    StoryFilter,
    StoryStatus,
    Syndication,
    SyndicationResult,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    """What an OPML import did."""

    added: tuple[Source, ...]
    updated: tuple[Source, ...]


def make_publisher(config: Config | str | os.PathLike[str] | None = None) -> Publisher:
    """Build a :class:`Publisher` from a config object or file.

    Args:
        config: a :class:`Config`, a path to a TOML file, or ``None`` to look one
            up (``$SOCIAALWERK_PUBLISHER_CONFIG``, ``./sociaalwerk-publisher.toml``)
            and fall back to the defaults.

    Raises:
        ConfigError: the configuration is invalid.
        StorageError: the database cannot be opened or migrated.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    return Publisher(config, open_storage(config.database_url))


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
        self._retrievers = Retrievers(config.fetch)
        self._adapter_for = adapter_for

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
        """Raises: SourceNotFoundError."""
        return self._storage.sources.get(source_id)

    def list_sources(self) -> list[Source]:
        """All sources with their polling health, oldest first."""
        return self._storage.sources.list()

    def update_source(self, source_id: int, changes: SourceUpdate) -> Source:
        """Change fields of a source; reactivating one clears its failure state.

        Raises:
            SourceNotFoundError: no such source.
            UsageError: a field is invalid.
        """
        values = _source_values(**{k: v for k, v in asdict(changes).items() if v is not None})
        if changes.active:
            values.update(deactivated_reason=None, consecutive_failures=0, next_poll_at=None)
        if values:
            self._storage.sources.update(source_id, values)
        return self._storage.sources.get(source_id)

    def remove_source(self, source_id: int) -> None:
        """Remove a source; stories it brought stay, without it.

        Raises:
            SourceNotFoundError: no such source.
        """
        self._storage.sources.remove(source_id)

    def import_opml(self, path: str | os.PathLike[str]) -> ImportResult:
        """Add the feeds an OPML file lists; feeds already present get its fields.

        Relative feed URLs in the file are files beside it.

        Raises:
            SourceError: the file cannot be read or is not OPML.
            UsageError: an outline carries an invalid field.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SourceError(f"cannot read {path}: {e.strerror}") from e
        added, updated = [], []
        for outline in read_opml(data, base=path.resolve().parent):
            values = _source_values(
                url=outline.url, kind=outline.kind, title=outline.title,
                organisation=outline.organisation, municipality=outline.municipality,
                ambassador=outline.ambassador, trusted=outline.trusted,
            )
            existing = self._storage.sources.find_by_url(outline.url)
            if existing is None:
                added.append(self._storage.sources.add(
                    {**values, "created_at": utcnow(), "active": True}))
            else:
                changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
                if changed:
                    self._storage.sources.update(existing.id, changed)
                    updated.append(self._storage.sources.get(existing.id))
        return ImportResult(tuple(added), tuple(updated))

    def export_opml(self) -> bytes:
        """All sources as an OPML 2.0 document that :meth:`import_opml` reads back."""
        return write_opml(self.list_sources())

    # -- fetching --------------------------------------------------------------------

    def fetch_sources(
        self, source_ids: Iterable[int] | None = None, *, due_only: bool = False
    ) -> Iterator[FetchResult]:
        """Poll sources and store what is new; yields one result per source.

        Args:
            source_ids: these sources (active or not); default: every active one.
            due_only: skip sources whose next poll (interval, backoff or the
                server's Retry-After) is still in the future.

        Raises:
            SourceNotFoundError: an id in ``source_ids`` does not exist.
        """
        if source_ids is not None:
            sources = [self._storage.sources.get(i) for i in source_ids]
        elif due_only:
            sources = self._storage.sources.list(due_before=utcnow())
        else:
            sources = self._storage.sources.list(active_only=True)
        fetcher = Fetcher(self._storage, self._retrievers, self.config.fetch)
        yield from fetcher.fetch(sources)

    def count_sources_to_fetch(self, *, due_only: bool = False) -> int:
        """How many sources :meth:`fetch_sources` would poll (for progress bars)."""
        if due_only:
            return len(self._storage.sources.list(due_before=utcnow()))
        return len(self._storage.sources.list(active_only=True))

    # -- review ----------------------------------------------------------------------

    def _decide(self, story_ids: Iterable[int], to: StoryStatus, by: str | None,
                note: str | None) -> list[Decision]:
        decided = []
        for story_id in story_ids:
            with self._storage.begin() as conn:
                current = self._storage.decisions.status(conn, story_id)
                check_transition(story_id, current, to)
                decision = Decision(story_id, current, to, by or current_user(), utcnow(), note)
                self._storage.decisions.record(conn, decision)
            log.info("story %d: %s -> %s by %s", story_id, current.value, to.value, decision.decided_by)
            decided.append(decision)
        return decided

    def approve_story(self, *story_ids: int, by: str | None = None, note: str | None = None) -> list[Decision]:
        """Approve stories for syndication (new or rejected ones).

        Args:
            by: who decides; default the OS user.

        Raises:
            StoryNotFoundError: an id does not exist (stories before it are approved).
            InvalidTransitionError: a story is not new or rejected.
        """
        return self._decide(story_ids, StoryStatus.APPROVED, by, note)

    def reject_story(self, *story_ids: int, reason: str, by: str | None = None) -> list[Decision]:
        """Reject new stories; a rejected story may still be approved later.

        Raises:
            StoryNotFoundError, InvalidTransitionError: as for :meth:`approve_story`.
        """
        return self._decide(story_ids, StoryStatus.REJECTED, by, reason)

    def retract_story(self, story_id: int, *, by: str | None = None, note: str | None = None
                      ) -> list[SyndicationResult]:
        """Retract an approved story and remove it from every destination now.

        Destinations that fail are retried by later :meth:`syndicate` runs.

        Raises:
            StoryNotFoundError, InvalidTransitionError: as for :meth:`approve_story`.
        """
        self._decide([story_id], StoryStatus.RETRACTED, by, note)
        return list(self._syndicator().run(story_ids={story_id}))

    def story_history(self, story_id: int) -> list[Decision]:
        """Every decision on a story, oldest first.

        Raises:
            StoryNotFoundError: no such story.
        """
        self._storage.stories.get(story_id)
        return self._storage.decisions.history(story_id)

    def auto_approve(self) -> list[Decision]:
        """Approve new blog stories from trusted sources, if the config allows it (audit: "auto")."""
        if not self.config.review.auto_approve_trusted:
            return []
        waiting = self._storage.stories.list(
            StoryFilter(status=StoryStatus.NEW, kind=SourceKind.BLOG, trusted=True, limit=0))
        return self._decide([s.id for s in waiting], StoryStatus.APPROVED, AUTO,
                            "bron is vertrouwd (automatisch goedgekeurd)")

    def syndications(self, story_id: int) -> list[Syndication]:
        """Where a story stands on each destination."""
        return self._storage.syndications.for_story(story_id)

    # -- syndication -------------------------------------------------------------------

    def _syndicator(self) -> Syndicator:
        return Syndicator(self._storage, self.config, self._retrievers, self._adapter_for)

    def syndicate(self, destinations: Iterable[str] | None = None, *, dry_run: bool = False
                  ) -> Iterator[SyndicationResult]:
        """Publish approved stories, update changed ones, retract retracted ones.

        Destinations run in parallel; one failing never stops the others. Yields
        one result per (story, destination).

        Args:
            destinations: names of destinations; default all.
            dry_run: only say what would be sent where.

        Raises:
            ConfigError: a destination name is unknown.
        """
        yield from self._syndicator().run(list(destinations) if destinations else None, dry_run=dry_run)

    def check_destinations(self, destinations: Iterable[str] | None = None) -> list[CheckResult]:
        """Verify each destination's credentials and rights, posting nothing."""
        chosen = [self.config.destination(n) for n in destinations] if destinations else self.config.destinations
        results = []
        for destination in chosen:
            try:
                adapter = (self._adapter_for or partial(make_adapter, self.config))(destination)
            except PublisherError as e:
                results.append(CheckResult(destination.name, destination.username or None, (str(e),)))
                continue
            try:
                results.append(adapter.check())
            finally:
                adapter.close()
        return results

    # -- stories ---------------------------------------------------------------------

    def list_stories(self, criteria: StoryFilter | None = None) -> list[Story]:
        """Stories, newest first, matching ``criteria``."""
        return self._storage.stories.list(criteria or StoryFilter())

    def get_story(self, story_id: int) -> Story:
        """Raises: StoryNotFoundError."""
        return self._storage.stories.get(story_id)


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
        municipality = lookup(values["municipality"])
        if municipality is None:
            raise UsageError(
                f"unknown municipality {values['municipality']!r}: give a CBS code such as GM0363"
                " or a municipality name"
            )
        values["municipality"] = municipality.code
    if "url" in values and "://" not in values["url"]:
        raise UsageError(f"not an absolute URL: {values['url']!r}")
    return values


def parse_since(value: str) -> datetime:
    """A ``YYYY-MM-DD`` (or ISO 8601) date as an aware UTC datetime.

    Raises:
        UsageError: not a date.
    """
    from datetime import timezone

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"not a date: {value!r} (use YYYY-MM-DD)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
