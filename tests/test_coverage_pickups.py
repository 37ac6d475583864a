"""Pickup clusters kept in the store: mentions arriving pass by pass end up in the same clusters
as clustering all of them at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import distinct, func, insert, select

from sociaalwerk_publisher._storage import Storage, open_storage
from sociaalwerk_publisher._storage.coverage import CoverageStore
from sociaalwerk_publisher._storage._schema import (
    PICKUP_PART_DAYS, PICKUP_PARTS, mentions, outlets, pickup_fingerprints, pickup_part, stories)
from sociaalwerk_publisher.config import Config, CoverageConfig, DatabaseConfig
from sociaalwerk_publisher.coverage import pickups
from sociaalwerk_publisher.coverage.clustering import cluster, shingles_of
from sociaalwerk_publisher.coverage.engine import match_mentions

from .test_coverage_clustering import RELEASE, _corpus, _planted

NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    store = open_storage(database_url, auto_upgrade=True)
    with store.begin() as conn:
        conn.execute(insert(outlets).values(id=1, domain="destentor.nl", name="De Stentor", type="regionaal dagblad",
                                            created_at=NOW))
    yield store
    store.close()


def add(storage: Storage, items: list[tuple[int, str]], *, days_ago: int = 1) -> None:
    """Counted mentions (ids as given) of stories with these texts."""
    when = NOW - timedelta(days=days_ago)
    with storage.begin() as conn:
        conn.execute(insert(stories), [{
            "id": i, "canonical_url": f"https://destentor.nl/{i}", "title": "", "content_html": "", "text": text,
            "excerpt": "", "kind": "media", "status": "new", "first_seen_at": when, "published_at": when,
            "changed_at": when, "content_hash": str(i)} for i, text in items])
        conn.execute(insert(mentions), [{
            "id": i, "story_id": i, "outlet_id": 1, "published_at": when, "counted": True, "own_channel": False,
            "matched_at": when} for i, _ in items])


def stored_clusters(storage: Storage) -> dict[int, int]:
    """Each mention's cluster, a mention alone being its own."""
    with storage.connect() as conn:
        return {i: c or i for i, c in conn.execute(select(mentions.c.id, mentions.c.cluster_id))}


def in_passes(storage: Storage, items: list[tuple[int, str]], cuts: list[int], threshold: float = 0.6) -> None:
    for start, end in zip([0, *cuts], [*cuts, len(items)]):
        add(storage, items[start:end])
        pickups.link(storage.coverage, items[start:end], threshold)


@pytest.mark.parametrize("threshold", [0.5, 0.6, 0.8])
def test_mentions_arriving_in_passes_form_the_clusters_of_all_at_once(storage: Storage, threshold: float) -> None:
    rng = random.Random(7)
    items = _corpus(rng, 300, vocabulary=120)  # many half-alike texts: pairs near every threshold
    in_passes(storage, items, sorted(rng.sample(range(1, 300), 6)), threshold)
    assert stored_clusters(storage) == cluster(items, threshold)


def test_every_planted_pickup_finds_its_original_in_an_earlier_pass(storage: Storage) -> None:
    items, expected = _planted(random.Random(2026), 3000)
    in_passes(storage, items, [500, 1000, 1001, 2500])
    assert stored_clusters(storage) == expected


def test_a_mention_that_joins_two_stories_makes_them_one_named_by_the_first(storage: Storage) -> None:
    words = RELEASE.split()
    first, second = " ".join(words[:60]), " ".join(words[20:80])  # similarity 0.48
    in_passes(storage, [(1, first), (2, second), (3, first), (4, second)], [2])
    assert set(stored_clusters(storage).values()) == {1, 2}
    in_passes(storage, [(5, " ".join(words[10:70]))], [])  # 0.70 like each
    assert stored_clusters(storage) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}


def test_the_index_holds_only_what_the_threshold_needs(storage: Storage) -> None:
    add(storage, [(1, RELEASE)])
    pickups.link(storage.coverage, [(1, RELEASE)], 0.6)
    with storage.connect() as conn:
        held = conn.execute(select(func.count()).select_from(pickup_fingerprints)).scalar()
    shingles = len(shingles_of(RELEASE) or ())
    assert held == pickups.stored_size(shingles, 0.6) < shingles / 2


def test_the_index_keeps_the_mentions_of_each_stretch_of_weeks_in_a_part_of_their_own(storage: Storage) -> None:
    items, expected = _planted(random.Random(11), 600)
    for stretch, start in enumerate(range(0, 600, 200)):  # three stretches, the newest last
        add(storage, items[start:start + 200], days_ago=PICKUP_PART_DAYS * (2 - stretch) + 1)
        pickups.link(storage.coverage, items[start:start + 200], 0.6)
    with storage.connect() as conn:
        parts = conn.execute(select(pickup_fingerprints.c.part, func.count(distinct(pickup_fingerprints.c.mention_id)))
                             .group_by(pickup_fingerprints.c.part)).all()
        published = {m: when for m, when in conn.execute(select(mentions.c.id, mentions.c.published_at))}
        held = conn.execute(select(pickup_fingerprints.c.mention_id, pickup_fingerprints.c.part)).all()
    assert len(parts) == PICKUP_PARTS == 3 and all(count == 200 for _, count in parts)
    assert all(part == pickup_part(published[mention_id]) for mention_id, part in held)
    assert stored_clusters(storage) == expected  # pickups found their originals weeks before, in the other parts


def test_rebuilding_the_index_gives_the_same_clusters(storage: Storage) -> None:
    items, expected = _planted(random.Random(5), 1000)
    in_passes(storage, items, [400])
    pickups.rebuild(storage, 0.6, NOW)
    assert stored_clusters(storage) == expected
    more, _ = _planted(random.Random(6), 10)
    later = [(1000 + i, text) for i, text in more] + [(2000, items[0][1])]  # a copy of the very first
    in_passes(storage, later, [])
    assert stored_clusters(storage)[2000] == 1


def test_mentions_older_than_the_window_leave_the_index(storage: Storage) -> None:
    add(storage, [(1, RELEASE)], days_ago=61)
    pickups.link(storage.coverage, [(1, RELEASE)], 0.6)
    storage.coverage.prune_pickups(NOW - pickups.CLUSTER_WINDOW, timedelta(hours=6))
    in_passes(storage, [(2, RELEASE)], [])
    assert stored_clusters(storage) == {1: 1, 2: 2}


def test_mentions_that_age_out_between_passes_leave_the_index(storage: Storage) -> None:
    add(storage, [(1, RELEASE)], days_ago=59)
    pickups.link(storage.coverage, [(1, RELEASE)], 0.6)
    storage.coverage.prune_pickups(NOW - pickups.CLUSTER_WINDOW, timedelta(hours=6))  # still inside
    storage.coverage.prune_pickups(NOW + timedelta(days=2) - pickups.CLUSTER_WINDOW, timedelta(hours=6))
    in_passes(storage, [(2, RELEASE)], [])
    assert stored_clusters(storage) == {1: 1, 2: 2}


def test_a_mention_indexed_by_a_host_whose_clock_is_behind_by_less_than_the_overlap_leaves_too(
        storage: Storage) -> None:
    behind, overlap = timedelta(days=2), timedelta(days=3)
    add(storage, [(1, RELEASE)], days_ago=61)
    storage.coverage.prune_pickups(NOW - pickups.CLUSTER_WINDOW, overlap)
    # a host two days behind: the mention is inside its window, and its prune leaves it
    pickups.link(storage.coverage, [(1, RELEASE)], 0.6)
    storage.coverage.prune_pickups(NOW - behind - pickups.CLUSTER_WINDOW, overlap)
    storage.coverage.prune_pickups(NOW + timedelta(minutes=5) - pickups.CLUSTER_WINDOW, overlap)
    in_passes(storage, [(2, RELEASE)], [])
    assert stored_clusters(storage) == {1: 1, 2: 2}


# -- a pass's lookup, made in the index as committed while the batch is written ------------------

TERM = CoverageConfig(terms=("buurtkamer",))  # RELEASE names it


def add_item(storage: Storage, story_id: int, text: str) -> None:
    """A media item not matched yet."""
    when = NOW - timedelta(days=1)
    with storage.begin() as conn:
        conn.execute(insert(stories).values(
            id=story_id, canonical_url=f"https://destentor.nl/{story_id}", title="", content_html="", text=text,
            excerpt="", kind="media", status="new", first_seen_at=when, published_at=when, changed_at=when,
            content_hash=str(story_id)))


def cluster_of(storage: Storage, story_id: int) -> int | None:
    with storage.connect() as conn:
        return conn.execute(select(mentions.c.cluster_id).where(mentions.c.story_id == story_id)).scalar()


def test_a_pickup_another_host_indexes_while_a_batch_is_looked_up_is_found(
        storage: Storage, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    other_text = " ".join(f"woord{i}" for i in range(80))
    add(storage, [(101, RELEASE), (103, other_text)])  # counted, not in the index yet
    pickups.link(storage.coverage, [(103, other_text)], 0.6)
    add_item(storage, 2, RELEASE)  # a pickup of mention 101
    other_host = open_storage(database_url)
    real = CoverageStore.look_up_pickups

    def then_another_host_indexes_mention_101(self: CoverageStore, probes: list[tuple[int, int]]) -> Any:
        lookup = real(self, probes)
        assert lookup is not None and not lookup.result()  # done before mention 101 is in the index
        with other_host.coverage.transaction() as tx:
            pickups.link(tx, [(101, RELEASE)], 0.6)
        return lookup

    monkeypatch.setattr(CoverageStore, "look_up_pickups", then_another_host_indexes_mention_101)
    match_mentions(storage, Config(database=DatabaseConfig(url=database_url), coverage=TERM), now=NOW)
    other_host.close()
    assert cluster_of(storage, 2) == cluster_of(storage, 101) is not None


def test_a_mention_that_stops_counting_is_no_original_for_one_that_starts_in_the_same_batch(
        storage: Storage, database_url: str) -> None:
    add_item(storage, 1, f"{RELEASE} Over het alfaproject.")
    add_item(storage, 2, f"{RELEASE} Over het betaproject.")  # a pickup of 1, word for word but this
    match_mentions(storage, Config(database=DatabaseConfig(url=database_url),
                                   coverage=CoverageConfig(terms=("alfaproject",))), now=NOW)
    match_mentions(storage, Config(database=DatabaseConfig(url=database_url),
                                   coverage=CoverageConfig(terms=("betaproject",))), rematch=True, now=NOW)
    with storage.connect() as conn:
        counted = {story: bool(c) for story, c in conn.execute(select(mentions.c.story_id, mentions.c.counted))}
    assert counted == {1: False, 2: True}
    assert cluster_of(storage, 1) is None and cluster_of(storage, 2) is None
