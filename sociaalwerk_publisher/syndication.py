"""The exactly-once engine: approved stories to every destination, updated and retracted.

For each (story, destination) a record is claimed and committed *before* any
remote call; a new post is only created after asking the destination whether
an earlier, interrupted attempt already made it (by the marker in the content,
never by the slug, which is plain and may be another post's). So a crash at any
point, followed by another run, leaves exactly one remote post.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from datetime import datetime, timedelta
from typing import Any

from ._logging import IN_RESULT
from ._storage import Storage
from ._storage.claims import worker_id
from ._storage.records import SyndicationRecord
from .adapters import adapter_factory
from .adapters.base import Adapter, CopyState, EditAware, Post, RemotePost
from .backoff import backoff
from .composition import PostComposer, passes_filter
from .config import Config, DestinationConfig, secret_from_env
from .exceptions import AdapterError, AuthenticationError, PublisherError
from .feeds.retrieve import Retrievers
from .clock import utcnow
from .hub import HubOutcome
from .themes import story_themes
from .types import (
    Story,
    StoryFilter,
    StoryStatus,
    SyndicationAction,
    SyndicationResult,
    SyndicationState,
)

log = logging.getLogger(__name__)

#: Which record states may follow which. Anything else is a bug.
TRANSITIONS: dict[SyndicationState, frozenset[SyndicationState]] = {
    SyndicationState.PENDING: frozenset({SyndicationState.PUBLISHED, SyndicationState.FAILED,
                                         SyndicationState.RETRACTED}),
    SyndicationState.FAILED: frozenset({SyndicationState.PENDING, SyndicationState.RETRACTED}),
    SyndicationState.PUBLISHED: frozenset({SyndicationState.RETRACTED, SyndicationState.EDITED,
                                           SyndicationState.UNLINKED}),
    # overwritten on request; a retraction (or an erasure) reaches an edited copy all the same
    SyndicationState.EDITED: frozenset({SyndicationState.PUBLISHED, SyndicationState.RETRACTED,
                                        SyndicationState.UNLINKED}),
    # no update ever; retracted only when asked to include unlinked copies, or erasing
    SyndicationState.UNLINKED: frozenset({SyndicationState.RETRACTED}),
    SyndicationState.RETRACTED: frozenset(),
}
#: The record states each action starts from (a claim turns failed into pending).
STARTS_FROM: dict[SyndicationAction, tuple[SyndicationState, ...]] = {
    SyndicationAction.PUBLISH: (SyndicationState.PENDING, SyndicationState.FAILED),
    SyndicationAction.UPDATE: (SyndicationState.PUBLISHED, SyndicationState.EDITED),
    SyndicationAction.RETRACT: (SyndicationState.PUBLISHED, SyndicationState.PENDING,
                                SyndicationState.FAILED, SyndicationState.EDITED),
}
#: The states a copy can be unlinked from: it is on the destination.
UNLINKABLE = (SyndicationState.PUBLISHED, SyndicationState.EDITED)
#: Who unlinked a copy by putting it in the unlink term on its site (the site does not say who).
SITE_EDITORS = "wordpress:{destination}"
#: How a copy unlinked by the national office was (the other way is a term on the member's site).
UNLINKED_BY_COMMAND = "stories unlink"
#: How long a claim protects a record from other workers; a killed worker's claim expires.
CLAIM_SECONDS = 600
RETRY_MIN = timedelta(minutes=15)
RETRY_MAX = timedelta(hours=12)

AdapterFactory = Callable[[DestinationConfig], Adapter]


@dataclass(frozen=True)
class _Work:
    story: Story
    action: SyndicationAction
    remote_id: str | None
    unlinked: bool = False  #: the record says the copy is unlinked


def make_adapter(config: Config, destination: DestinationConfig) -> Adapter:
    """The configured adapter for ``destination``, with its secret from the environment.

    Raises:
        ConfigError: the adapter is unknown or its secret is not set.
    """
    secret = None
    if destination.password_env:
        index = config.destinations.index(destination)
        secret = secret_from_env(destination.password_env, f"destinations[{index}].password_env")
    adapter: Adapter = adapter_factory(destination.adapter)(destination, secret, config.base_dir)
    return adapter


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _retry_delay(attempts: int) -> timedelta:
    return backoff(attempts, RETRY_MIN, RETRY_MAX)


class Syndicator:
    """Sends approved stories to destinations; see :meth:`run` and :meth:`retract`."""

    def __init__(self, storage: Storage, config: Config, retrievers: Retrievers,
                 adapter_for: AdapterFactory | None = None) -> None:
        self._storage = storage
        self._config = config
        self._composer = PostComposer(storage, config, retrievers)
        self._adapter_for = adapter_for or partial(make_adapter, config)
        self._worker = worker_id()
        self._erase = False
        self._include_unlinked = False
        self._overwrite_edited: set[int] = set()
        # what review in WordPress decided, read at the start of each run
        self._review = HubOutcome()

    def _release_dead_claims(self) -> None:
        """Claims held by processes of this host that no longer run are free at once.

        Claims from other hosts expire after CLAIM_SECONDS instead.
        """
        host = socket.gethostname()
        for worker in self._storage.syndications.claimants():
            claimant_host, _, rest = worker.partition(":")
            pid = rest.partition(":")[0]
            if claimant_host == host and pid.isdigit() and not _alive(int(pid)):
                log.info("releasing claims of %s, which no longer runs", worker)
                self._storage.syndications.release(worker)

    # -- planning ----------------------------------------------------------------------

    def _destinations(self, names: list[str] | None) -> list[DestinationConfig]:
        if not names:
            return list(self._config.destinations)
        return [self._config.destination(name) for name in names]

    def _content_hash(self, story: Story, destination: DestinationConfig) -> str:
        """What a destination's copy must match: the editor's version where there is one."""
        return self._review.content_hash(story, destination)

    def _plan(self, destination: DestinationConfig, now: datetime,
              story_ids: set[int] | None = None) -> list[_Work]:
        records = self._storage.syndications.for_destination(destination.name)
        work = []
        approved = self._storage.stories.list(StoryFilter(status=StoryStatus.APPROVED, limit=0))
        for story in approved:
            if story_ids is not None and story.id not in story_ids:
                continue
            row = records.get(story.id)
            due = row is None or row.next_attempt_at is None or row.next_attempt_at <= now
            if not due or not passes_filter(story, destination, story_themes(story, self._config)):
                continue
            if self._review.placed_on(destination, story):
                continue  # on the hub the editor's own post is the publication
            state = SyndicationState(row.state) if row is not None else None
            if state in (None, SyndicationState.PENDING, SyndicationState.FAILED):
                work.append(_Work(story, SyndicationAction.PUBLISH, row.remote_id if row else None))
            elif state is SyndicationState.PUBLISHED and row is not None and destination.update_on_change \
                    and row.content_hash != self._content_hash(story, destination):
                work.append(_Work(story, SyndicationAction.UPDATE, row.remote_id))
            elif state is SyndicationState.EDITED and row is not None and self._overwrites(destination, story):
                # the member's edit is overwritten with our version, changed original or not
                work.append(_Work(story, SyndicationAction.UPDATE, row.remote_id))
        # when erasing, posts already in a site's trash are deleted for good too
        retracted = [r for sid, r in records.items()
                     if (self._erase or SyndicationState(r.state) is not SyndicationState.RETRACTED)
                     and (story_ids is None or sid in story_ids)]
        if retracted:
            gone = {s.id: s for s in self._storage.stories.list(
                StoryFilter(status=StoryStatus.RETRACTED, limit=0))}
            for row in retracted:
                unlinked = SyndicationState(row.state) is SyndicationState.UNLINKED
                # an unlinked copy left alone is said when its story is named, not on every run
                if row.story_id in gone and (not unlinked or self._removes_unlinked or story_ids is not None):
                    work.append(_Work(gone[row.story_id], SyndicationAction.RETRACT, row.remote_id, unlinked))
        return work

    @property
    def _removes_unlinked(self) -> bool:
        """Whether retractions reach unlinked copies: asked to, or erasing (AVG)."""
        return self._erase or self._include_unlinked

    def _overwrites(self, destination: DestinationConfig, story: Story) -> bool:
        """Whether an update may replace what a member's editor changed in ``story``'s copy."""
        return destination.on_local_edit == "overwrite" or story.id in self._overwrite_edited \
            or self._review.is_hub(destination)  # the hub's edits are followed by review (hub.py)

    # -- running -----------------------------------------------------------------------

    def run(self, destination_names: list[str] | None = None, *, dry_run: bool = False,
            story_ids: set[int] | None = None, erase: bool = False,
            overwrite_edited: set[int] | None = None, include_unlinked: bool = False,
            ) -> Iterator[SyndicationResult]:
        """Publish, update and retract on every destination, destinations in parallel.

        Yields one result per (story, destination) as each finishes. With ``erase``,
        retractions delete the remote posts for good instead of trashing them. A copy a
        member's editor changed is not updated (its record says so) unless the destination's
        ``on_local_edit`` is "overwrite" or its story is in ``overwrite_edited``. An unlinked
        copy is never updated, and retracted only with ``include_unlinked`` or ``erase``.
        """
        self._erase = erase
        self._include_unlinked = include_unlinked
        self._overwrite_edited = set(overwrite_edited or ())
        self._review = HubOutcome.read(self._storage, self._config)
        now = utcnow()
        destinations = self._destinations(destination_names)
        self._release_dead_claims()
        plans = [(d, self._plan(d, now, story_ids)) for d in destinations]
        if dry_run:
            for destination, work in plans:
                for item in work:
                    yield SyndicationResult(item.story.id, item.story.title, destination.name,
                                            item.action, True, item.remote_id, dry_run=True)
            return
        results: queue.Queue[SyndicationResult | None] = queue.Queue()
        threads = [
            threading.Thread(target=self._run_destination, args=(d, work, results),
                             name=f"syndicate-{d.name}", daemon=True)
            for d, work in plans if work
        ]
        for thread in threads:
            thread.start()
        running = len(threads)
        while running:
            result = results.get()
            if result is None:
                running -= 1
            else:
                yield result

    def _run_destination(self, destination: DestinationConfig, work: list[_Work],
                         results: queue.Queue[SyndicationResult | None]) -> None:
        try:
            try:
                adapter = self._adapter_for(destination)
            except PublisherError as e:
                for item in work:
                    results.put(self._failed(item, destination, str(e)))
                return
            try:
                stopped: str | None = None
                for item in work:
                    if stopped:
                        results.put(self._failed(item, destination, f"skipped: {stopped}"))
                        continue
                    try:
                        results.put(self._do(adapter, destination, item))
                    except AuthenticationError as e:
                        stopped = str(e)
                        log.error("%s", e, extra=IN_RESULT)
                        results.put(self._failed(item, destination, str(e)))
            finally:
                adapter.close()
        except Exception as e:  # noqa: BLE001 - a bug must not hang the caller waiting for results
            log.exception("syndication to %s stopped", destination.name)
            results.put(SyndicationResult(0, "", destination.name, SyndicationAction.PUBLISH, False,
                                          error=f"unexpected error: {type(e).__name__}: {e}"))
        finally:
            results.put(None)

    @staticmethod
    def _failed(item: _Work, destination: DestinationConfig, error: str) -> SyndicationResult:
        return SyndicationResult(item.story.id, item.story.title, destination.name, item.action,
                                 False, item.remote_id, error=error)

    def _do(self, adapter: Adapter, destination: DestinationConfig, item: _Work) -> SyndicationResult:
        now = utcnow()
        story_status = StoryStatus.RETRACTED if item.action is SyndicationAction.RETRACT else StoryStatus.APPROVED
        if item.unlinked and not self._removes_unlinked:
            return SyndicationResult(item.story.id, item.story.title, destination.name, item.action, True,
                                     item.remote_id, kept_unlinked=True)
        states = STARTS_FROM[item.action]
        if item.action is SyndicationAction.RETRACT and self._removes_unlinked:
            states += (SyndicationState.UNLINKED,)
        if self._erase and item.action is SyndicationAction.RETRACT:
            states += (SyndicationState.RETRACTED,)
        row = self._storage.syndications.claim(
            item.story.id, destination.name, self._worker, now,
            now + timedelta(seconds=CLAIM_SECONDS), states, story_status=story_status,
        )
        if row is None:  # another worker has it, or the story changed state meanwhile
            return self._failed(item, destination, "skipped: taken by another run, or the story is"
                                f" no longer {story_status.value}")
        post, image_problem = self._composer.compose(
            item.story, destination, now, version=self._review.version(item.story, destination),
            with_image=item.action is not SyndicationAction.RETRACT,
            download=getattr(adapter, "needs_image_data", True))
        before = SyndicationState(row.state)
        try:
            copy = self._look(adapter, destination, row) if before in UNLINKABLE else None
            if copy is not None and copy.unlinked_by_term:
                self._finish(item, destination, before, SyndicationState.UNLINKED,
                             last_error=None, next_attempt_at=None, unlinked_at=copy.modified or now,
                             unlinked_by=SITE_EDITORS.format(destination=destination.name),
                             unlinked_how=copy.unlinked_by_term)
                log.info("%s: story %d's copy is unlinked (%s)", destination.name, item.story.id,
                         copy.unlinked_by_term)
                if item.action is not SyndicationAction.RETRACT or not self._removes_unlinked:
                    return SyndicationResult(item.story.id, item.story.title, destination.name, item.action,
                                             True, row.remote_id, row.remote_url, kept_unlinked=True)
                before = SyndicationState.UNLINKED
            if item.action is SyndicationAction.RETRACT:
                return self._retract(adapter, destination, item, row.remote_id, before, post)
            if copy is not None and row.sent_state_hash and copy.digest != row.sent_state_hash \
                    and not self._overwrites(destination, item.story):
                self._finish(item, destination, before, SyndicationState.EDITED,
                             last_error=None, next_attempt_at=None)
                return SyndicationResult(item.story.id, item.story.title, destination.name, item.action,
                                         True, row.remote_id, row.remote_url, kept_local_edit=True)
            remote = self._send(adapter, row.remote_id, post, first_attempt=row.attempts == 1)
        except AdapterError as e:
            # a failed update or retraction leaves the post as it was
            after = SyndicationState.FAILED if before is SyndicationState.PENDING else before
            self._finish(item, destination, before, after, last_error=str(e),
                         next_attempt_at=utcnow() + _retry_delay(row.attempts))
            if isinstance(e, AuthenticationError):
                raise
            return self._failed(item, destination, str(e))
        self._composer.remember_image(destination, item.story, post, remote)
        event = "story.updated" if item.action is SyndicationAction.UPDATE else "story.published"
        self._finish(item, destination, SyndicationState(row.state), SyndicationState.PUBLISHED,
                     event=(event, {"story_id": item.story.id, "title": post.title, "url": item.story.url,
                                    "destination": destination.name, "remote_id": remote.id,
                                    "remote_url": remote.url}),
                     remote_id=remote.id, remote_url=remote.url,
                     content_hash=self._content_hash(item.story, destination),
                     last_error=None, next_attempt_at=None,
                     sent_state_hash=remote.digest or self._sent_state(adapter, destination, remote.id))
        warnings = ((image_problem,) if image_problem else ()) + remote.warnings
        for warning in warnings:
            log.warning("%s, story %d: %s", destination.name, item.story.id, warning, extra=IN_RESULT)
        return SyndicationResult(item.story.id, item.story.title, destination.name, item.action, True,
                                 remote.id, remote.url, warnings=warnings)

    def _look(self, adapter: Adapter, destination: DestinationConfig, row: SyndicationRecord) -> CopyState | None:
        """The copy as its destination holds it now, to see a member's edit or unlinking by;
        ``None`` where there is none to see (not sent yet, deleted on the site, our own hub,
        or an adapter that cannot tell: :class:`~.adapters.base.EditAware`)."""
        if not row.remote_id or self._review.is_hub(destination) or not isinstance(adapter, EditAware):
            return None
        return adapter.copy_state(row.remote_id)

    @staticmethod
    def _sent_state(adapter: Adapter, destination: DestinationConfig, remote_id: str) -> str | None:
        """The digest of the copy as the destination holds it right after sending, to see
        later edits by. Unreadable, the next update overwrites whatever is there."""
        if not isinstance(adapter, EditAware):
            return None
        try:
            state = adapter.copy_state(remote_id)
            return state.digest if state is not None else None
        except AdapterError as e:  # the post was sent: failing now would send it again
            log.warning("%s: could not read back post %s to see later edits by: %s",
                        destination.name, remote_id, e)
            return None

    def _finish(self, item: _Work, destination: DestinationConfig, before: SyndicationState,
                after: SyndicationState, **values: Any) -> None:
        if after is not before and after not in TRANSITIONS[before]:
            raise AssertionError(f"syndication state {before.value} -> {after.value} is not allowed")
        self._storage.syndications.finish(item.story.id, destination.name, utcnow(),
                                          state=after.value, **values)

    def _send(self, adapter: Adapter, remote_id: str | None, post: Post, *, first_attempt: bool) -> RemotePost:
        if remote_id:
            return adapter.update(remote_id, post)
        if first_attempt:
            # the intent was recorded just now, before any call: no earlier attempt can exist
            return adapter.publish(post)
        earlier = adapter.find_existing(post)  # an interrupted attempt may have created it
        if earlier is not None:
            log.info("%s: found post %s from an earlier attempt", adapter.name, earlier.id)
            return adapter.update(earlier.id, post)
        return adapter.publish(post)

    def _retract(self, adapter: Adapter, destination: DestinationConfig, item: _Work,
                 remote_id: str | None, before: SyndicationState, post: Post) -> SyndicationResult:
        if not remote_id:
            earlier = adapter.find_existing(post)
            remote_id = earlier.id if earlier else None
        if remote_id:
            adapter.retract(remote_id, delete=destination.delete_on_retract or self._erase)
        self._finish(item, destination, before, SyndicationState.RETRACTED, last_error=None, next_attempt_at=None)
        return SyndicationResult(item.story.id, item.story.title, destination.name, SyndicationAction.RETRACT,
                                 True, remote_id, removed_unlinked=before is SyndicationState.UNLINKED)
