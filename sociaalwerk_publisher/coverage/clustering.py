"""Pickups: the same press release or agency text published by several outlets.

Two texts are near-duplicates when the Jaccard similarity of their sets of word 4-shingles
(runs of four consecutive folded words) is at least a threshold. Near-duplicates are joined
transitively into clusters, and a cluster is named by its smallest item id.

Comparing every pair is quadratic, so candidate pairs come from MinHash with LSH banding:
each text gets a signature of 64 minimum hashes (one-permutation hashing: every shingle hash
goes to one of 64 bins by its low bits, and a bin keeps its smallest value; empty bins borrow
from the next filled one, "densification by rotation", Shrivastava & Li 2014). The signature
is cut into 32 bands of 2; texts that agree on a whole band are compared exactly. Two texts
of similarity J agree on a band with probability about J ** 2, so they are compared with
probability 1 - (1 - J ** 2) ** 32: over 0.9999 from J = 0.5, while texts that share only a
stock phrase (J ~ 0.05) are rarely compared. The hashes are BLAKE2b digests, never the salted
built-in ``hash()``, so the result is the same on every run and machine, and it does not
depend on the order of the items.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b

from .matching import words

__all__ = ["MIN_WORDS", "SHINGLE_WORDS", "cluster", "shingles", "similarity"]

#: Words per shingle.
SHINGLE_WORDS = 4
#: Texts with fewer words are never a pickup of anything: too little to tell a shared press
#: release from a shared stock phrase ("Sociaal werkers slaan alarm").
MIN_WORDS = 12
# MinHash signature length and its LSH banding (see the module docstring).
_BINS = 64
_ROWS = 2
_BIN_BITS = _BINS.bit_length() - 1
_EMPTY = 1 << 64  # above every 64-bit hash


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """The 64-bit hashes of the ``size``-word shingles of ``text`` (case and accents folded).

    A text shorter than ``size`` words has one shingle, itself; an empty text has none.
    """
    return _hashes(words(text), size)


def _hashes(tokens: list[str], size: int) -> frozenset[int]:
    if not tokens:
        return frozenset()
    runs = (" ".join(tokens[i:i + size]) for i in range(max(1, len(tokens) - size + 1)))
    return frozenset(
        int.from_bytes(blake2b(run.encode(), digest_size=8).digest(), "big") for run in runs
    )


def similarity(a: str, b: str) -> float:
    """The Jaccard similarity of the shingle sets of ``a`` and ``b`` (0.0 if either is empty)."""
    return _jaccard(shingles(a), shingles(b))


def _jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def cluster(items: Sequence[tuple[int, str]], threshold: float = 0.6) -> dict[int, int]:
    """Group near-duplicate texts into pickup clusters.

    Args:
        items: ``(item id, text)`` pairs; ids are unique.
        threshold: The shingle similarity (see :func:`similarity`) from which two texts are
            the same story. Clusters are closed under it: if A is like B and B like C, all
            three are one cluster.

    Returns:
        Every item id mapped to its cluster id, the smallest item id in the cluster. Texts of
        fewer than :data:`MIN_WORDS` words are clusters of their own.
    """
    ids = [item_id for item_id, _ in items]
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

    sets: dict[int, frozenset[int]] = {}
    identical: dict[frozenset[int], int] = {}
    buckets: dict[tuple[int, ...], list[int]] = {}
    for k, (_, text) in enumerate(items):
        tokens = words(text)
        if len(tokens) < MIN_WORDS:
            continue
        shingled = _hashes(tokens, SHINGLE_WORDS)
        # Copies of one text (the agency feed at ten outlets) are joined here and sketched once:
        # otherwise their shared bucket would cost a comparison for every pair of them.
        first = identical.setdefault(shingled, k)
        if first != k:
            union(first, k)
            continue
        sets[k] = shingled
        signature = _signature(shingled)
        for band in range(0, _BINS, _ROWS):
            buckets.setdefault((band, *signature[band:band + _ROWS]), []).append(k)

    compared: set[tuple[int, int]] = set()
    for members in buckets.values():
        for x, a in enumerate(members):
            for b in members[x + 1:]:
                if find(a) == find(b) or (a, b) in compared:
                    continue
                compared.add((a, b))
                if _jaccard(sets[a], sets[b]) >= threshold:
                    union(a, b)
    return {item_id: ids[find(k)] for k, item_id in enumerate(ids)}


def _signature(hashes: frozenset[int]) -> list[int]:
    """The one-permutation MinHash signature of a non-empty set of 64-bit hashes."""
    mask = _BINS - 1
    signature = [_EMPTY] * _BINS
    for value in hashes:
        index = value & mask
        value >>= _BIN_BITS
        if value < signature[index]:
            signature[index] = value
    if _EMPTY in signature:
        # An empty bin takes the value of the nearest filled bin to its right (wrapping around),
        # offset by the distance, so that two texts agree on it only when they agree on that
        # bin and have the same run of empty bins: a band match still means similarity.
        original = list(signature)
        nearest = -1
        for step in range(2 * _BINS - 1, -1, -1):  # right to left, twice round
            index = step % _BINS
            if original[index] != _EMPTY:
                nearest = step
            elif step < _BINS:
                signature[index] = original[nearest % _BINS] + ((nearest - step) << (64 - _BIN_BITS))
    return signature
