"""Pickups: the same press release or agency text published by several outlets.

Two texts are near-duplicates when the Jaccard similarity of their sets of word 4-shingles
(runs of four consecutive folded words) is at least a threshold. Near-duplicates are joined
transitively into clusters, and a cluster is named by its smallest item id.

Comparing every pair is quadratic, so candidate pairs come from prefix filtering, the exact
method of set-similarity joins (Chaudhuri et al. 2006; Bayardo et al., "All pairs", 2007;
Xiao et al., PPJoin, 2008): order all shingles from rarest to commonest across the items; a set
of n shingles can only reach similarity t with another if the two share one of their first
n - ceil(t * n) + 1 shingles. Only those prefixes are looked up (and shorter ones indexed),
and only texts sharing a prefix shingle are compared, exactly. Unlike MinHash with LSH banding
this misses no pair and needs no tuning, and because the prefixes hold the rarest shingles,
stock phrases ("zo blijkt uit een rapport") rarely make two unrelated texts candidates.

The result is a function of the input alone: exact similarities, ids compared as numbers, and
no salted ``hash()`` value (nor the order of the items) can change which pairs are joined.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from hashlib import blake2b
from itertools import chain

from ..exceptions import ConfigError
from .matching import words

__all__ = ["MIN_WORDS", "SHINGLE_WORDS", "cluster", "clusters", "fingerprint", "shingles_of", "similarity"]

#: Words per shingle.
SHINGLE_WORDS = 4
#: Texts with fewer words are never a pickup of anything: too little to tell a shared press
#: release from a shared stock phrase or headline ("Sociaal werkers slaan alarm").
MIN_WORDS = 12
# Rounding slack for ceil(t * n): erring low only lengthens a prefix, which is always safe.
_EPSILON = 1e-9


def _shingles(tokens: list[str]) -> frozenset[str]:
    """The 4-shingles of ``tokens``; a text shorter than that is one shingle, itself."""
    if len(tokens) < SHINGLE_WORDS:
        return frozenset((" ".join(tokens),)) if tokens else frozenset()
    return frozenset(map(" ".join, zip(tokens, tokens[1:], tokens[2:], tokens[3:])))


def similarity(a: str, b: str) -> float:
    """The Jaccard similarity of the 4-shingle sets of ``a`` and ``b``; 0.0 if either is empty.

    Words are folded first: case, accents and punctuation make no difference.
    """
    x, y = _shingles(words(a)), _shingles(words(b))
    if not x or not y:
        return 0.0
    shared = len(x & y)
    return shared / (len(x) + len(y) - shared)


def cluster(items: Sequence[tuple[int, str]], threshold: float = 0.6) -> dict[int, int]:
    """Group near-duplicate texts into pickup clusters.

    Args:
        items: ``(item id, text)`` pairs; ids are unique.
        threshold: The similarity (see :func:`similarity`) from which two texts carry the
            same story, above 0 and at most 1. Clusters are closed under it: if A is like B
            and B like C, all three are one cluster even if A and C differ more.

    Returns:
        Every item id mapped to its cluster id, the smallest item id in the cluster. Texts of
        fewer than :data:`MIN_WORDS` words are clusters of their own.

    Raises:
        ConfigError: ``threshold`` is not in (0, 1].
    """
    return clusters([item_id for item_id, _ in items], [shingles_of(text) for _, text in items], threshold)


def check_threshold(threshold: float) -> None:
    if not 0 < threshold <= 1:
        raise ConfigError(f"must be above 0 and at most 1, not {threshold}", key="coverage.cluster_threshold")


def shingles_of(text: str) -> frozenset[str] | None:
    """The 4-shingles of ``text``, or None for a text too short to be a pickup."""
    tokens = words(text)
    return _shingles(tokens) if len(tokens) >= MIN_WORDS else None


def fingerprint(shingles: frozenset[str]) -> frozenset[int]:
    """The shingles as signed 64-bit numbers, the same in every process (unlike ``hash()``), to
    store and compare compactly; a collision is as likely as two equal random 64-bit numbers."""
    return frozenset(int.from_bytes(blake2b(s.encode(), digest_size=8).digest(), "big", signed=True)
                     for s in shingles)


def clusters(ids: Sequence[int], sets: Sequence[frozenset[Hashable] | None], threshold: float) -> dict[int, int]:
    """:func:`cluster` on sets made already (None: too short); ``sets[k]`` belongs to ``ids[k]``."""
    check_threshold(threshold)
    parent = list(range(len(ids)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            # the root is the item with the smallest id, so the cluster id falls out of find()
            if ids[rb] < ids[ra]:
                ra, rb = rb, ra
            parent[rb] = ra

    kept: dict[int, frozenset[Hashable]] = {}
    copies: dict[frozenset[Hashable], int] = {}
    for k, shingled in enumerate(sets):
        if shingled is None:
            continue
        # Copies of one text (an agency story at ten outlets) are joined here and compared
        # once: every pair of them would otherwise be a candidate.
        first = copies.setdefault(shingled, k)
        if first != k:
            union(first, k)
        else:
            kept[k] = shingled

    frequency = Counter(chain.from_iterable(kept.values()))
    # The global order, rarest first, as a rank per shingle. Only shingles that more than one
    # text has are ranked: the others come first in every prefix and can never be shared, so
    # leaving them out leaves most texts with nothing to look up. (Any fixed order would give
    # the same, exact, result; rarest first keeps the candidates few.)
    repeated = frozenset(s for s, count in frequency.items() if count > 1)
    rank = {s: r for r, s in enumerate(sorted(repeated, key=lambda s: (frequency[s], s)))}
    index: dict[int, list[int]] = {}
    # Smallest sets first: every set already indexed is at most as large as the current one,
    # which is what lets a set index a shorter prefix than it probes with (PPJoin's "mid-prefix").
    for k in sorted(kept, key=lambda k: (len(kept[k]), k)):
        shingled = kept[k]
        size = len(shingled)
        shared = sorted(map(rank.__getitem__, shingled & repeated))
        unique = size - len(shared)
        probe = size - math.ceil(threshold * size - _EPSILON) + 1 - unique
        if probe <= 0:
            continue
        indexed = size - math.ceil(2 * threshold / (1 + threshold) * size - _EPSILON) + 1 - unique
        candidates: set[int] = set()
        for r in shared[:probe]:
            others = index.get(r)
            if others is not None:
                candidates.update(others)
        for r in shared[:max(indexed, 0)]:
            index.setdefault(r, []).append(k)
        smallest = threshold * size - _EPSILON  # no smaller set can be similar enough
        for other in candidates:
            if len(kept[other]) < smallest or find(other) == find(k):
                continue
            overlap = len(shingled & kept[other])
            if overlap >= threshold * (size + len(kept[other]) - overlap) - _EPSILON:
                union(other, k)
    return {item_id: ids[find(k)] for k, item_id in enumerate(ids)}
