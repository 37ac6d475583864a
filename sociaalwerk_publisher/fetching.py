"""The aggregation step: poll sources, parse in parallel, store each feed's results.

Downloads run in a bounded thread pool; parsing (nearly all the CPU of a first
poll) runs in worker processes; only this module's caller thread writes to the
store, one short transaction per feed, never across a download.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from ._logging import IN_RESULT
from ._storage import Storage
from ._storage.claims import worker_id
from .clock import utcnow
from .backoff import backoff
from .config import FetchConfig
from .exceptions import ErrorKind, FetchError
from .feeds.retrieve import Retrieved, Retrievers
from .types import FetchOutcome, FetchResult, Source

if TYPE_CHECKING:
    from .feeds.parse import ParsedFeed

log = logging.getLogger(__name__)

#: Below this many feeds to parse, starting worker processes costs more than it saves.
PARALLEL_PARSE_MIN_FEEDS = 4
#: Quiet polls (304, nothing else to change) recorded per transaction.
QUIET_BATCH = 100
#: How long a claimed source is kept from other workers; a killed worker's claim expires.
SOURCE_CLAIM_SECONDS = 600
#: The most download slots' worth of sources one claim takes (see :func:`claim_batch`).
MAX_CLAIM_ROUNDS = 8
#: What recording a poll's outcome does to the source's claim.
_UNCLAIMED: dict[str, object] = {"claimed_by": None, "claim_expires_at": None}


class _InlineExecutor(Executor):
    """Runs the job at once in this thread; same interface as a process pool."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future: Future[object] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(e)
        return future


def _parse_executor(config: FetchConfig, feeds: int) -> Executor:
    processes = config.parse_processes or os.cpu_count() or 1
    if processes <= 1 or feeds < PARALLEL_PARSE_MIN_FEEDS:
        return _InlineExecutor()
    # forkserver: forking a process that already runs download threads is unsafe
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sociaalwerk_publisher.feeds.parse"])
    return ProcessPoolExecutor(max_workers=min(processes, feeds), mp_context=context)


class _LazyExecutor(Executor):
    """Builds its executor at the first job: a quiet run (every feed unchanged) then never
    starts the process pool's queues, locks and resource tracker process."""

    def __init__(self, build: Callable[[], Executor]) -> None:
        self._build = build
        self._executor: Executor | None = None

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self._executor is None:
            self._executor = self._build()
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)


def claim_batch(config: FetchConfig) -> int:
    """How many sources one claim takes: enough that a claim's transaction is shared by many
    downloads, yet no more than the download slots can finish, even if every download ran
    to its deadline, within half the claim's lifetime (so a claim never expires before its
    source is polled and recorded); always at least two per slot, to keep every slot busy."""
    rounds = int(SOURCE_CLAIM_SECONDS / (2 * config.deadline))
    return config.concurrency * max(2, min(rounds, MAX_CLAIM_ROUNDS))


def backoff_delay(config: FetchConfig, failures: int) -> timedelta:
    """How long a source that failed ``failures`` times in a row waits before its next poll."""
    return backoff(failures, timedelta(minutes=config.backoff_min_minutes),
                   timedelta(minutes=config.backoff_max_minutes))


def backing_off(source: Source, now: datetime) -> bool:
    """Whether ``source`` waits after a failure or because its server asked (Retry-After),
    rather than only for its ordinary poll interval."""
    return bool(source.consecutive_failures) and source.next_poll_at is not None and source.next_poll_at > now


class Fetcher:
    """Polls sources and records the outcome of each; see :meth:`fetch`."""

    def __init__(self, storage: Storage, retrievers: Retrievers, config: FetchConfig,
                 now: Callable[[], datetime] = utcnow) -> None:
        self._storage = storage
        self._retrievers = retrievers
        self._config = config
        self._now = now
        self._worker = worker_id()

    def fetch(self, sources: Sequence[Source]) -> Iterator[FetchResult]:
        """Poll ``sources``; yields one result per source as each finishes.

        A failing source never stops the others: its error is in its result. Each
        source is claimed (and the claim committed) shortly before its download, a batch
        at a time (:func:`claim_batch`), so workers on other hosts share the list: a source another worker
        claimed or polled since ``sources`` was read is left out without a result.
        """
        if not sources:
            return
        waiting = deque(sources)
        claimed: set[int] = set()  # claimed by this worker and not yet recorded
        by_future: dict[Future[Any], tuple[str, Source, Retrieved | None]] = {}
        # each future puts itself here when done: one hand-over per result, where waiting on
        # every future in flight would install and remove a waiter on each of them every time
        finished_futures: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        # polls with nothing new, recorded a batch at a time: on a quiet run they are nearly
        # all of them, and one transaction each would cost more than the download
        quiet: list[tuple[int, datetime, datetime]] = []

        def record_quiet() -> None:
            self._storage.sources.record_quiet_polls(quiet)
            quiet.clear()

        def track(future: Future[Any], stage: str, source: Source, retrieved: Retrieved | None) -> None:
            by_future[future] = (stage, source, retrieved)
            future.add_done_callback(finished_futures.put)

        downloads = ThreadPoolExecutor(self._config.concurrency, thread_name_prefix="fetch")
        parsing: Executor = _LazyExecutor(lambda: _parse_executor(self._config, len(sources)))
        batch_size = claim_batch(self._config)
        downloading = 0  # submitted downloads whose result has not been handled yet
        finished = False

        def start_downloads() -> None:
            # the slots busy, with the rest of a claim queued behind them; a new claim only
            # once no more than a slot's worth is left, so each claim takes a batch
            nonlocal downloading
            if downloading > self._config.concurrency or not waiting:
                return
            batch = [waiting.popleft() for _ in range(min(len(waiting), batch_size - downloading))]
            now = self._now()
            validators = self._storage.sources.claim(
                {s.id: s.next_poll_at for s in batch}, self._worker, now,
                now + timedelta(seconds=SOURCE_CLAIM_SECONDS))
            for source in batch:
                if source.id not in validators:
                    log.debug("%s: polled or being polled by another worker", source.url)
                    continue
                claimed.add(source.id)
                etag, modified = validators[source.id]
                track(downloads.submit(self._retrievers.retrieve, source.url, etag, modified),
                      "download", source, None)
                downloading += 1

        try:
            start_downloads()
            while by_future or waiting:
                if not by_future:  # every source of the last claim was taken by another worker
                    start_downloads()
                    continue
                future = finished_futures.get()
                stage, source, retrieved = by_future.pop(future)
                if stage == "download":
                    downloading -= 1
                try:
                    value = future.result()
                except FetchError as e:
                    yield self._record_failure(source, e)
                except Exception as e:  # noqa: BLE001 - a parser crash is one feed's failure
                    log.exception("unexpected error fetching %s", source.url)
                    error = FetchError(f"unexpected error: {type(e).__name__}: {e}", source.url,
                                       reason=ErrorKind.OTHER)
                    yield self._record_failure(source, error)
                else:
                    if stage == "download":
                        assert isinstance(value, Retrieved)
                        if value.not_modified and not (source.consecutive_failures or source.last_error
                                                       or value.moved_to):
                            now = self._now()
                            quiet.append((source.id, now, self._next_poll(now)))
                            if len(quiet) >= QUIET_BATCH:
                                record_quiet()
                            yield FetchResult(source, FetchOutcome.NOT_MODIFIED)
                        elif value.not_modified:
                            yield self._record_not_modified(source, value)
                        else:
                            assert value.content is not None
                            # imported here, not at the top: a quiet run never parses
                            from .feeds.parse import parse_feed

                            track(parsing.submit(parse_feed, value.content, value.url, dict(value.headers)),
                                  "parse", source, value)
                    else:
                        assert retrieved is not None
                        yield self._record_success(source, retrieved, cast("ParsedFeed", value))
                start_downloads()
            finished = True
        finally:
            record_quiet()
            # abandoned (the caller stopped early): do not wait for downloads in flight;
            # their sources keep their poll time and are fetched on the next run
            downloads.shutdown(wait=finished, cancel_futures=True)
            parsing.shutdown(wait=finished, cancel_futures=True)
            if not finished:  # recording a result releases its claim; free the rest now
                self._storage.sources.release(claimed, self._worker)

    def _next_poll(self, now: datetime) -> datetime:
        return now + timedelta(minutes=self._config.poll_interval_minutes)

    def _record_not_modified(self, source: Source, retrieved: Retrieved) -> FetchResult:
        now = self._now()
        values: dict[str, object] = {"last_polled_at": now, "last_success_at": now,
                                     "next_poll_at": self._next_poll(now), **_UNCLAIMED}
        if source.consecutive_failures or source.last_error:
            values.update(consecutive_failures=0, last_error=None, last_error_kind=None)
        moved = self._moved_values(source, retrieved, values)
        self._storage.sources.update(source.id, values)
        return FetchResult(source, FetchOutcome.NOT_MODIFIED, moved_to=moved)

    def _record_success(self, source: Source, retrieved: Retrieved, feed: ParsedFeed) -> FetchResult:
        now = self._now()
        values: dict[str, object] = {
            "etag": retrieved.etag, "last_modified": retrieved.last_modified,
            "last_polled_at": now, "last_success_at": now, "next_poll_at": self._next_poll(now),
            "consecutive_failures": 0, "last_error": None, "last_error_kind": None, "last_problem": feed.problem,
            **_UNCLAIMED,
        }
        if not source.title and feed.title:
            values["title"] = feed.title
        moved = self._moved_values(source, retrieved, values)
        with self._storage.begin() as conn:
            new, updated, unchanged = self._storage.stories.save_entries(
                conn, source.id, source.kind, feed.entries, now
            )
            self._storage.sources.update(source.id, values, conn)
        if feed.problem:
            log.warning("%s: feed has defects but was used: %s", source.url, feed.problem, extra=IN_RESULT)
        return FetchResult(source, FetchOutcome.OK, new, updated, unchanged,
                           problem=feed.problem, moved_to=moved)

    def _moved_values(self, source: Source, retrieved: Retrieved, values: dict[str, object]) -> str | None:
        target = retrieved.moved_to
        if not target or target == source.url:
            return None
        if self._storage.sources.find_by_url(target) is not None:
            log.warning("%s moved permanently to %s, which is already a source", source.url, target)
            return None
        values["url"] = target
        log.info("%s moved permanently to %s", source.url, target)
        return target

    def _record_failure(self, source: Source, error: FetchError) -> FetchResult:
        now = self._now()
        failures = source.consecutive_failures + 1
        if error.retry_after is not None:
            # as long as the server asks, up to the longest backoff: a hostile Retry-After
            # can neither switch a source off for centuries nor overflow the calendar
            next_poll = now + timedelta(seconds=min(error.retry_after, 60 * self._config.backoff_max_minutes))
        else:
            next_poll = now + backoff_delay(self._config, failures)
        values: dict[str, object] = {
            "last_polled_at": now, "last_error": str(error),
            "last_error_kind": error.reason.value if error.reason else None,
            "consecutive_failures": failures, "next_poll_at": next_poll, **_UNCLAIMED,
        }
        if error.gone:
            values.update(active=False, deactivated_reason=str(error))
        self._storage.sources.update(source.id, values)
        log.warning("%s: %s", source.url, error, extra=IN_RESULT)
        return FetchResult(source, FetchOutcome.FAILED, error=error)
