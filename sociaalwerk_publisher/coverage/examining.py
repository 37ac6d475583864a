"""Examining items: matching, attributing and preparing the pickup linking of a batch, all that
a matching pass does without the store, and the second process that does it for the next batch
while the pass saves the one before.

The two halves of a pass take about as long, so on a machine with two cores or more a pass of
several batches runs them side by side (:class:`Ahead`). The second process is a plain
``python -c`` child speaking pickle over its stdin and stdout, not :mod:`multiprocessing`: that
would import the caller's ``__main__`` again in the child (spawn, forkserver), or copy a process
that may hold threads and connections (fork).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import IO, Any, NamedTuple
from urllib.parse import urlsplit

from ..themes import ThemeMatcher
from . import pickups
from .matching import Matcher, Watchlist
from .places import attribute

log = logging.getLogger(__name__)


def domain_of(url: str | None) -> str | None:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.lower().removeprefix("www.") or None


def text_digest(text: str) -> int:
    """A signed 64-bit digest of an item's stored text, to tell whether it changed since it was matched."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


class Item(NamedTuple):
    """What examining an item reads of it."""

    id: int
    title: str
    text: str
    canonical_url: str | None
    published_at: datetime
    publisher: str | None
    publisher_url: str | None
    source_municipality: str | None
    indexed: bool


def items(rows: Iterable[Any]) -> list[Item]:
    """Items of rows read by ``CoverageStore.candidates``."""
    return [Item(row.id, row.title, row.text, row.canonical_url, row.published_at, row.publisher,
                 row.publisher_url, row.source_municipality, bool(row.indexed)) for row in rows]


class Examined(NamedTuple):
    """An item matched, not saved yet."""

    domain: str
    publisher: str
    values: dict[str, Any]  # MENTION_VALUES, but the outlet's id
    facts: list[tuple[str, str]]
    text: str  # as matched


class Batch(NamedTuple):
    """A batch examined: its items, and the pickup linking prepared for those of them that will
    join the index unless the store says otherwise by the time the batch is saved (counted, in
    the window, not in the index)."""

    examined: dict[int, Examined]  # by item id
    joining: list[int]  # item ids, in order
    prepared: pickups.Prepared


class Examiner:
    """What examining an item takes besides the item, and the examining.

    Args:
        places: the municipality and province of outlets, by domain (others have neither).
    """

    def __init__(self, watched: Watchlist, themes: dict[str, tuple[str, ...]], gouden: Iterable[str],
                 own: frozenset[str], places: dict[str, tuple[str | None, str | None]], window_start: datetime,
                 threshold: float) -> None:
        self._args = (watched, themes, tuple(gouden), own, places, window_start, threshold)
        self.matcher = Matcher(watched)
        self.themer = ThemeMatcher(themes, (
            *watched.terms, *watched.ambassadors,
            *(n for name, aliases in watched.organisations.items() for n in (name, *aliases))))
        self.gouden = frozenset(gouden)
        self.own, self.places, self.window_start, self.threshold = own, places, window_start, threshold

    def __reduce__(self) -> tuple[Any, ...]:  # the other process builds the matchers again
        return (Examiner, self._args)

    def examine(self, batch: Sequence[Item], extra_text: Callable[[Item], str] | None = None) -> Batch:
        """Match these items; ``extra_text`` gives what to match besides an item's title and text."""
        examined: dict[int, Examined] = {}
        joining: list[int] = []
        for item in batch:
            domain = domain_of(item.publisher_url) or domain_of(item.canonical_url) or "onbekend"
            municipality, province = self.places.get(domain, (None, None))
            stored_text = f"{item.title}\n{item.text}"
            text = stored_text + extra_text(item) if extra_text is not None else stored_text
            found = self.matcher.match(text)
            is_own = domain in self.own
            themes = self.themer.match(text)
            is_counted = found.counts and not is_own
            facts = ([("organisation", v) for v in found.organisations] + [("theme", v) for v in themes]
                     + [("term", v) for v in found.terms] + [("ambassador", v) for v in found.ambassadors]
                     + [("gouden", v) for v in found.terms if v in self.gouden])
            values = {
                "story_id": item.id, "url": item.canonical_url, "published_at": item.published_at,
                "municipality": attribute(municipality, item.source_municipality, text, province),
                "excluded_by": ", ".join(found.excluded_by) or None, "counted": is_counted,
                "own_channel": is_own, "text_digest": text_digest(stored_text),
            }
            examined[item.id] = Examined(domain, item.publisher or domain, values, facts, text)
            if is_counted and item.published_at >= self.window_start and not item.indexed:
                joining.append(item.id)
        return Batch(examined, joining, pickups.prepare([examined[i].text for i in joining], self.threshold))


class Ahead:
    """A second process examining batches in the order they are sent, one ahead of the pass.

    ``send`` returns at once (the child reads its input as it comes); ``receive`` waits for the
    oldest batch not received yet. If the process is gone (killed, out of memory), ``receive``
    returns None and the pass examines its batches itself from then on.
    """

    def __init__(self, examiner: Examiner) -> None:
        # os._exit: nothing to tidy up, and tearing the interpreter down took a tenth of a second
        self._child: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-c",
             "import os; from sociaalwerk_publisher.coverage.examining import serve; serve(); os._exit(0)"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._sent = 0
        # written by a thread: the child reads when it gets to it (it is starting, or busy), and
        # the pass goes on meanwhile
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_all, args=(self._child.stdin,), daemon=True)
        self._writer.start()
        self._outbox.put(examiner)

    def send(self, batch: Sequence[Item]) -> None:
        if self._child is not None:
            self._outbox.put(list(batch))
            self._sent += 1

    def receive(self) -> Batch | None:
        if self._child is None or not self._sent:
            return None
        self._sent -= 1
        try:
            assert self._child.stdout is not None
            examined: Batch = pickle.load(self._child.stdout)
            return examined
        except (EOFError, OSError, pickle.UnpicklingError):
            self._gone()
            return None

    def _write_all(self, stdin: IO[bytes]) -> None:
        try:
            while (value := self._outbox.get()) is not _END:
                pickle.dump(value, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
        except (OSError, ValueError):  # the child is gone (a broken pipe): receive says so
            pass
        finally:
            try:
                stdin.close()  # the child's input ends: it stops
            except OSError:
                pass

    def _gone(self) -> None:
        log.warning("the second matching process stopped; this one examines the batches from here")
        self.close()

    def close(self) -> None:
        """Stop the process: its input ends, and what it would still answer is not read."""
        child, self._child = self._child, None
        if child is None:
            return
        try:
            if child.stdout is not None:
                child.stdout.close()
        except OSError:
            pass
        self._outbox.put(_END)
        self._writer.join(timeout=10)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


_END = object()


def serve() -> None:
    """The second process: an :class:`Examiner`, then batches of items, each answered by its
    :class:`Batch`, until the input ends.

    Its input is read as it comes, by a thread, so that the pass never waits to send the next
    batch while this process is busy with one, nor this one to answer while the pass sends.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the pass's to handle
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    ended = object()

    def read() -> None:
        try:
            while True:
                inbox.put(pickle.load(source))
        except (EOFError, OSError, pickle.UnpicklingError):
            inbox.put(ended)

    threading.Thread(target=read, daemon=True).start()
    examiner = inbox.get()
    if examiner is ended:
        return
    while (batch := inbox.get()) is not ended:
        try:
            pickle.dump(examiner.examine(batch), sink, protocol=pickle.HIGHEST_PROTOCOL)
            sink.flush()
        except OSError:  # the pass is gone
            return
