"""Turn media and alert items into counted mentions: match, attribute, cluster.

A pass works in batches of :data:`BATCH` items, each saved with its pickups in one
transaction, so an interrupted pass (Ctrl-C, a killed process) loses at most the batch it
was in and leaves the store consistent. Each mention records the :func:`generation` it was
matched under: a digest of everything besides the item that decides the match. Rematching
matches the items whose mention is of another generation (or older than the item's last
change), so running it again after an interruption continues where it stopped, and with
nothing changed it has nothing to do.

A normal pass matches the items without a mention, and looks for them only among those that
changed since the last complete pass began, less :data:`WATERMARK_MARGIN` (the watermark, in
the store): an index reads those, where looking through every stored item for the few new ones
took seconds at a year of items. The watermark moves only when a pass completes, so a stopped
pass leaves its items to the next; a rematch and a store's first pass look everywhere.

A normal pass of several batches examines the next batch (matching, places, themes, the pure
half of pickup linking) in a second process while it saves the one before (see
:mod:`.examining`); what it saves is decided by the store as read just before the save. Every
pass looks a batch's pickups up in the index as committed, on a connection of its own, while
it writes the batch, and looks again in its transaction if another host changed the index
in between (:meth:`.CoverageStore.look_up_pickups`).

A rematch keeps each mention's id and cluster and writes only what changed. The pickup index
is kept too: a mention leaves it when it no longer counts or its text changed since it was
matched, and the rest of its cluster is joined again without it; a mention that counts now
joins it. A changed cluster threshold empties the index, and the pass fills it again as it
reaches the items.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from .._storage import Storage
from .._version import __version__
from .._storage.coverage import CoverageStore
from ..config import Config
from ..clock import utcnow
from ..types import MatchSummary, Source
from . import pickups
from .matching import DEFAULT_EXCLUSIONS, DEFAULT_TERMS, Watchlist
from .examining import Ahead, Batch, Examiner, Item, domain_of
from .examining import items as items_of

log = logging.getLogger(__name__)

#: Items per batch: per transaction, and what a pass holds in memory at a time.
BATCH = 2000
#: How long before a complete normal pass began the next one looks for items without a
#: mention: an item is stamped by the clock of the host that fetched it, maybe minutes
#: behind ours, and shows up only when its fetch commits, maybe long after the stamp. Hours
#: of new items cost a normal pass a fraction of a second to look at again.
WATERMARK_MARGIN = timedelta(hours=6)


def watchlist(config: Config, storage: Storage) -> Watchlist:
    """The configured watchlist plus every organisation and ambassador named on a source."""
    coverage = config.coverage
    organisations = dict(coverage.organisations)
    ambassadors = list(coverage.ambassadors)
    for source in storage.sources.list():
        if source.organisation:
            organisations.setdefault(source.organisation, ())
        if source.ambassador and source.ambassador not in ambassadors:
            ambassadors.append(source.ambassador)
    # the campaign's "gouden" persons and institutions are watch terms too (and reported apart)
    terms = tuple(dict.fromkeys((*(coverage.terms or DEFAULT_TERMS), *config.campaign.gouden)))
    return Watchlist(terms=terms, organisations=organisations,
                     ambassadors=tuple(ambassadors), exclusions=coverage.exclusions or DEFAULT_EXCLUSIONS)


def own_domains(config: Config, storage: Storage) -> frozenset[str]:
    """Our own channels, never press coverage: destination sites and members' blogs
    (the hosts of their feeds and of the stories those feeds carry)."""
    domains = {domain_of(d.url) for d in config.destinations if d.url}
    domains |= {domain_of(s.url) for s in storage.sources.list() if s.kind.value == "blog"}
    domains |= {domain_of(url) for url in storage.coverage.blog_story_urls()}
    return frozenset(d for d in domains if d)


def generation(config: Config, watchlist: Watchlist, own: Iterable[str], outlets: Iterable[Any],
               sources: Iterable[Source]) -> str:
    """What decides how an item is matched, besides the item itself, as 16 hex digits: the
    watchlist, the themes, every coverage setting, our own channels, the places of outlets and
    sources, and this package's version (for its rules and reference data)."""
    decisive = {
        "version": __version__,
        "coverage": dataclasses.asdict(config.coverage),
        "gouden": config.campaign.gouden,
        "themes": config.themes,
        "watchlist": dataclasses.asdict(watchlist),
        "own": sorted(own),
        "outlets": sorted((o.domain, o.municipality, o.province) for o in outlets if o.municipality or o.province),
        "sources": sorted((s.id, s.municipality) for s in sources if s.municipality),
    }
    return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]


def match_mentions(storage: Storage, config: Config, *, rematch: bool = False,
                   now: datetime | None = None,
                   article_text: Callable[[str], str | None] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> MatchSummary:
    """Match new candidate items (with ``rematch`` also those matched under another
    :func:`generation` or before they last changed) and cluster their pickups, batch by batch.

    Args:
        article_text: the text of the article page at a URL, or None when it cannot be had;
            asked for items whose feed text is a snippet (``coverage.fulltext``). The page
            text is matched, not stored: the item keeps what its feed said.
        progress: called with (items matched, items to match) before the first batch and
            after each committed one; an exception it raises ends the pass there, with the
            batches so far kept.

    Raises:
        StorageError: the store cannot be read or written.
        ConfigError: a watchlist entry or the cluster threshold is invalid.
    """
    now = now or utcnow()
    store = storage.coverage
    known = watchlist(config, storage)
    own = own_domains(config, storage)
    outlets = {row.domain: row for row in store.outlets()}
    current = generation(config, known, own, outlets.values(), storage.sources.list())
    window_start = now - pickups.CLUSTER_WINDOW
    threshold = config.coverage.cluster_threshold
    store.prune_pickups(window_start, WATERMARK_MARGIN)
    if rematch and store.pickup_threshold() != threshold:
        store.clear_pickups(window_start, threshold, rematch=True)  # filled again as the pass goes
    # a normal pass looks only at what changed since the last complete one began (a rematch
    # everywhere); what it misses by a crash is looked for again, as the watermark stays put
    since = None if rematch else store.match_watermark()
    todo = store.items_to_match(current if rematch else None, changed_since=since)
    if todo and not rematch and not store.has_pickups():
        pickups.rebuild(storage, threshold, now)  # the first pass since the index came (schema 3)
    run = _Pass(config, known, own, outlets, current, now, article_text)
    if progress is not None:
        progress(0, len(todo))
    batches = [todo[start:start + BATCH] for start in range(0, len(todo), BATCH)]
    # a normal pass examines the next batch in a second process while this one saves a batch,
    # unless there is no next batch, or examining asks for article pages (over this process's
    # connections); a rematch, hours of batches, does not: the two processes together passed the
    # 300 MB a rematch of a year may take (the CLI 181 MB and its child), and it is fast enough alone
    ahead = _ahead(run.examiner) if not rematch and len(batches) > 1 and article_text is None \
        and (os.cpu_count() or 1) > 1 else None
    try:
        for number, story_ids in enumerate(batches):
            if ahead is not None and number + 1 < len(batches):
                ahead.send(items_of(store.candidates(batches[number + 1])))
            items = store.candidates(story_ids)  # read again: the batch before may have changed them
            examined = ahead.receive() if ahead is not None and number else None
            run.batch(store, items, examined or run.examine(items))
            if progress is not None:
                progress(min((number + 1) * BATCH, len(todo)), len(todo))
    finally:
        if ahead is not None:
            ahead.close()
    store.set_match_watermark(now - WATERMARK_MARGIN)
    if len(batches) > 1:
        storage.checkpoint()  # the batches' writes, copied into the file once (WAL_CHECKPOINT_PAGES)
    log.info("matched %d items: %d counted, %d own channels", len(todo), run.counted, run.own_channel)
    return MatchSummary(len(todo), run.counted, run.own_channel, run.created)


def _ahead(examiner: Examiner) -> Ahead | None:
    """The second process, or None (the pass then examines every batch itself) if it cannot start."""
    try:
        return Ahead(examiner)
    except OSError as e:  # no processes left, the interpreter moved: slower, not wrong
        log.warning("no second matching process (%s); this one examines every batch", e)
        return None


#: An item with what examining made of it: (item, outlet domain, mention values, facts, text as matched).
_Matched = tuple[Any, str, dict[str, Any], list[tuple[str, str]], str]


class _Pass:
    """One matching pass: what it matches with, and its counts so far."""

    def __init__(self, config: Config, watched: Watchlist, own: frozenset[str], outlets: dict[str, Any],
                 generation: str, now: datetime, article_text: Callable[[str], str | None] | None) -> None:
        self.config, self.outlets = config, outlets
        self.window_start = now - pickups.CLUSTER_WINDOW
        self.examiner = Examiner(
            watched, config.themes, config.campaign.gouden, own,
            {domain: (row.municipality, row.province) for domain, row in outlets.items()
             if row.municipality or row.province},
            self.window_start, config.coverage.cluster_threshold)
        self.generation, self.now, self.article_text = generation, now, article_text
        self.counted = self.own_channel = self.created = 0

    def examine(self, items: Sequence[Any]) -> Batch:
        """Examine these items here, with the article pages asked for where the feed gave a snippet."""
        article_text, below = self.article_text, self.config.coverage.fulltext_below_words

        def extra(item: Item) -> str:
            if article_text is None or not item.canonical_url or len(item.text.split()) >= below:
                return ""
            return f"\n{article_text(item.canonical_url) or ''}"

        return self.examiner.examine(items_of(items), extra if article_text is not None else None)

    def batch(self, store: CoverageStore, items: Sequence[Any], examined: Batch) -> None:
        """Save what changed of these items (as read just now; examined maybe before), with their
        pickups, in one transaction."""
        now = self.now
        facts_before = store.facts([item.mention_id for item in items if item.mention_id is not None])
        fresh: dict[str, dict[str, Any]] = {}
        matched: list[_Matched] = []
        for item in items:
            done = examined.examined.get(item.id)
            if done is None:  # not an item when it was examined (another host's meanwhile)
                done = self.examiner.examine(items_of([item])).examined[item.id]
            if done.domain not in self.outlets and done.domain not in fresh:
                fresh[done.domain] = {"domain": done.domain, "name": done.publisher, "type": "unclassified",
                                      "created_at": now}
            self.counted += done.values["counted"]
            self.own_channel += done.values["own_channel"]
            matched.append((item, done.domain, {**done.values, "outlet_id": None}, done.facts, done.text))

        # the pickup lookup runs in the index as committed while this transaction writes; it holds
        # if no one changed the index in between (this pass's own batch before is committed)
        lookup = store.look_up_pickups(examined.prepared.probes) if examined.prepared.probes else None
        try:
            with store.transaction() as tx:
                looked_up = lookup.result if lookup is not None and tx.pickup_writes() == lookup.writes else None
                self._save(tx, matched, facts_before, fresh, examined, looked_up)
        finally:
            if lookup is not None:
                lookup.close()

    def _save(self, tx: CoverageStore, matched: list[_Matched], facts_before: dict[int, set[tuple[str, str]]],
              fresh: dict[str, dict[str, Any]], examined: Batch,
              looked_up: Callable[[], list[tuple[int, int]]] | None) -> None:
        """The writes of :meth:`batch`, in its transaction."""
        now = self.now
        if fresh:
            self.created += tx.add_outlets(list(fresh.values()))
            self.outlets.update((row.domain, row) for row in tx.outlets(domains=fresh))
        new, changed, facts_after, kept = [], [], {}, []
        for item, domain, values, facts, _ in matched:
            values["outlet_id"] = self.outlets[domain].id
            if item.mention_id is None:
                new.append({**values, "matched_at": now, "generation": self.generation})
                continue
            kept.append(item.mention_id)
            if any(values[name] != getattr(item, f"mention_{name}") for name in values if name != "story_id"):
                changed.append({"id": item.mention_id, **{k: v for k, v in values.items() if k != "story_id"}})
            if set(facts) != facts_before[item.mention_id]:
                facts_after[item.mention_id] = facts
        added = tx.add_mentions(new)
        tx.stamp_mentions(kept, self.generation, now)
        tx.update_mentions(changed)
        for item, _, _, facts, _ in matched:
            if item.mention_id is None:
                facts_after[added[item.id]] = facts
        tx.replace_facts(facts_after)
        if tx.wants("mention.new"):
            tx.announce_mentions([(added[item.id], self._announced(item, domain, added[item.id], values, facts))
                                  for item, domain, values, facts, _ in matched
                                  if item.mention_id is None and values["counted"]], now)
        self._relink(tx, [(item, item.mention_id or added[item.id], values, text)
                          for item, _, values, _, text in matched], examined, looked_up)

    def _announced(self, item: Any, domain: str, mention_id: int, values: dict[str, Any],
                   facts: list[tuple[str, str]]) -> dict[str, Any]:
        """The data of a new mention's webhook event."""
        def named(kind: str) -> list[str]:
            return sorted({value for k, value in facts if k == kind})

        return {"mention_id": mention_id, "item_id": item.id, "title": item.title, "url": values["url"],
                "published_at": values["published_at"].isoformat(), "outlet": self.outlets[domain].name,
                "domain": domain, "municipality": values["municipality"], "organisations": named("organisation"),
                "themes": named("theme"), "terms": named("term")}

    def _relink(self, tx: CoverageStore, matched: list[tuple[Any, int, dict[str, Any], str]],
                examined: Batch, looked_up: Callable[[], list[tuple[int, int]]] | None) -> None:
        """Bring the pickup index up to date for these mentions: in it are the counted mentions
        of the window, as of their current text."""
        threshold = self.config.coverage.cluster_threshold
        belongs = {mention_id: values["counted"] and values["published_at"] >= self.window_start
                   for _, mention_id, values, _ in matched}
        # out: indexed mentions that no longer belong, or whose text changed since
        leaving = {mention_id for item, mention_id, values, _ in matched if item.indexed
                   and (not belongs[mention_id] or values["text_digest"] != item.mention_text_digest)}
        broken = {item.cluster_id for item, mention_id, _, _ in matched if mention_id in leaving and item.cluster_id}
        # the rest of their clusters is joined again without them (it may fall apart)
        members = tx.indexed_members(broken) if broken else []
        ours = set(belongs)
        out = leaving | {row.id for row in members}
        if out:
            tx.unlink_pickups(sorted(out))
        joining = [(item.id, mention_id, text) for item, mention_id, _, text in matched
                   if belongs[mention_id] and (not item.indexed or mention_id in out)]
        if not members and [item_id for item_id, _, _ in joining] == examined.joining:
            def found_in_index() -> list[tuple[int, int]]:  # as this transaction leaves it: without ``out``
                assert looked_up is not None
                return [(k, mention_id) for k, mention_id in looked_up() if mention_id not in out]

            pickups.link_prepared(tx, [mention_id for _, mention_id, _ in joining], examined.prepared, threshold,
                                  found_in_index if looked_up is not None else None)
            return
        pickups.link(tx, [(mention_id, text) for _, mention_id, text in joining]
                     + [(row.id, f"{row.title}\n{row.text}") for row in members if row.id not in ours], threshold)
