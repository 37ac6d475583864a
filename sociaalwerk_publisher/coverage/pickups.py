"""Pickup clusters kept up to date as mentions arrive, without reading old texts again.

Re-clustering every recent mention on each pass costs minutes and gigabytes at national
scale, so each counted mention of the last :data:`CLUSTER_WINDOW` is kept in a pickup
index in the store instead, with just enough of its shingle fingerprints
(:func:`.clustering.fingerprint`) that any text similar enough to it must share a few:

    Two sets A and B with Jaccard similarity >= t share at least c = ceil(t·|B|) elements,
    so B's elements outside A number at most |B| - c, and *any* |B| - c + k elements of B
    include at least k (or, when that is all of B, c) that A has too.

A new mention looks up all of its fingerprints, and is compared, exactly, with only the
stored mentions that hold k (:data:`SHARED`) of them, counted by the database; new mentions
among themselves are clustered in memory (:func:`.clustering.clusters`). So a pass finds the
same pairs as clustering the whole window at once. Asking for k shared fingerprints instead
of one costs k - 1 more stored per mention and keeps texts that share a stock phrase from
being fetched and compared. Which elements a mention stores is free; it stores the rarest in
its batch. The subset's size follows the threshold in force when it was stored, which the
store records: after a change of ``coverage.cluster_threshold``, ``coverage match --all``
builds the index again.

A cluster is named by its smallest mention id; joining two renames the larger.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import chain
from operator import itemgetter

from .._storage import Storage
from .._storage.coverage import CoverageStore
from .clustering import clusters, fingerprint, shingles_of

#: Pickups are looked for among the mentions of this many recent days.
CLUSTER_WINDOW = timedelta(days=60)
#: Fingerprints a stored mention must share with a new one to be compared with it.
SHARED = 4
_BATCH = 2000
_EPSILON = 1e-9


def _must_share(size: int, threshold: float) -> int:
    return math.ceil(threshold * size - _EPSILON)


def stored_size(size: int, threshold: float) -> int:
    """How many of a set's ``size`` fingerprints the index holds (see the module docstring)."""
    return min(size, size - _must_share(size, threshold) + SHARED)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The half of linking a batch of texts that needs no store (:func:`prepare`), by position:
    it may be done in another process while this one writes the batch before."""

    #: positions of the texts long enough to be a pickup, and their fingerprints
    positions: list[int]
    sets: list[frozenset[int]]
    #: (token, k) for every fingerprint of ``sets[k]``, in token order
    probes: list[tuple[int, int]]
    #: k -> k of the first (smallest) of its cluster among these texts alone
    within: dict[int, int]
    #: (token, k, enough) rows for the index, in token order
    rows: list[tuple[int, int, int]]


def prepare(texts: Sequence[str], threshold: float) -> Prepared:
    """Fingerprints, probes, clusters among themselves and index rows of these texts."""
    positions: list[int] = []
    sets: list[frozenset[int]] = []
    for position, text in enumerate(texts):
        shingled = shingles_of(text)
        if shingled is not None:
            positions.append(position)
            sets.append(fingerprint(shingled))
    ks = range(len(sets))
    # in token order, like the index: the database then reads each of its pages once (sorted
    # by the token alone: comparing tuples took most of a batch's sorting)
    probes = sorted([(token, k) for k, s in zip(ks, sets) for token in s], key=itemgetter(0))
    within = clusters(list(ks), sets, threshold) if sets else {}
    # each stores its rarest in the batch (ties by token): by rank, sorted once for the batch, by
    # token and then, stably, by count (numbers, not pairs, to compare)
    in_batch = Counter(chain.from_iterable(sets))
    by_count = sorted(in_batch)
    by_count.sort(key=in_batch.__getitem__)
    rank = {token: r for r, token in enumerate(by_count)}
    rows: list[tuple[int, int, int]] = []
    for k, s in zip(ks, sets):
        keep, enough = stored_size(len(s), threshold), min(SHARED, _must_share(len(s), threshold))
        kept = s if keep == len(s) else sorted(s, key=rank.__getitem__)[:keep]
        rows.extend((token, k, enough) for token in kept)
    rows.sort(key=itemgetter(0))
    return Prepared(positions, sets, probes, within, rows)


def link(store: CoverageStore, items: Sequence[tuple[int, str]], threshold: float) -> int:
    """Join new counted mentions to each other and to the indexed ones, then index them.

    Args:
        store: the store, or one bound to the transaction that saved the mentions.
        items: ``(mention id, text)`` of mentions not in the index yet.
        threshold: ``coverage.cluster_threshold``.

    Returns:
        How many of ``items`` are in a cluster of two or more now.
    """
    return link_prepared(store, [mention_id for mention_id, _ in items],
                         prepare([text for _, text in items], threshold), threshold)


def link_prepared(store: CoverageStore, mention_ids: Sequence[int], prepared: Prepared, threshold: float,
                  looked_up: Callable[[], list[tuple[int, int]]] | None = None) -> int:
    """:func:`link` for texts prepared already: ``mention_ids[p]`` is the mention of the text at
    position ``p``.

    Args:
        looked_up: the probes' pairs, looked up already in the index as this transaction found
            it (:meth:`.CoverageStore.look_up_pickups`), to be had while these rows go in.
    """
    ids = [mention_ids[p] for p in prepared.positions]
    sets = prepared.sets
    if not ids:
        return 0
    rows = [(token, ids[k], enough) for token, k, enough in prepared.rows]
    if looked_up is None:
        pairs = store.pickup_candidates(prepared.probes)  # before these rows: not to find themselves
        store.index_pickups(rows)
    else:  # the rows go in while the lookup, in the index as committed, runs on
        store.index_pickups(rows)
        pairs = looked_up()
    candidates: list[set[int]] = [set() for _ in sets]
    for k, mention_id in pairs:
        candidates[k].add(mention_id)
    stored = {row.id: row for row in store.pickup_texts(set().union(*candidates))}
    stored_sets = {mention_id: fingerprint(shingles_of(f"{row.title}\n{row.text}") or frozenset())
                   for mention_id, row in stored.items()}

    # union-find over new mention ids and stored clusters (named by their smallest id)
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for k, first in prepared.within.items():
        union(ids[k], ids[first])
    joined: set[int] = set()  # stored mentions a new one is similar to
    for k, new in enumerate(sets):
        for other in candidates[k]:
            old = stored_sets.get(other)  # None: replaced by another host meanwhile
            if not old:
                continue
            overlap = len(new & old)
            if overlap >= threshold * (len(new) + len(old) - overlap) - _EPSILON:
                union(ids[k], stored[other].cluster_id or other)
                joined.add(other)

    size = Counter(find(x) for x in {*ids, *(stored[o].cluster_id or o for o in joined)})
    named = {mention_id: find(mention_id) for mention_id in ids if size[find(mention_id)] > 1}
    renamed: dict[int, int] = {}
    for other in joined:
        cluster_id = stored[other].cluster_id
        if cluster_id is None:  # stored alone until now
            named[other] = find(other)
        elif find(cluster_id) != cluster_id:
            renamed[cluster_id] = find(cluster_id)
    store.save_clusters(named, renamed)
    return sum(1 for mention_id in ids if mention_id in named)


def rebuild(storage: Storage, threshold: float, now: datetime) -> None:
    """Index the counted mentions of the window again and cluster them from scratch."""
    since = now - CLUSTER_WINDOW
    storage.coverage.clear_pickups(since, threshold)
    after = 0
    while batch := storage.coverage.counted_texts(since, after, _BATCH):
        with storage.coverage.transaction() as tx:  # a batch's rows and clusters, or neither
            link(tx, [(row.id, f"{row.title}\n{row.text}") for row in batch], threshold)
        after = batch[-1].id
