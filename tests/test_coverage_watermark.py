"""A normal matching pass looks only at items that changed since the last complete pass began
(less a margin), not through a year of items; on SQLite and PostgreSQL.

The store: the 60-item corpus of ``test_coverage_rematch``, matched once at NOW. Items added
later are media items naming "jongerenwerk", stamped (``changed_at``) as the test says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from sociaalwerk_publisher._storage import Storage
from sociaalwerk_publisher._storage._schema import mentions, stories
from sociaalwerk_publisher.coverage import engine
from sociaalwerk_publisher.coverage.engine import WATERMARK_MARGIN, match_mentions

from .test_coverage_rematch import BEFORE, ITEMS, NOW, config, matched

HOUR = timedelta(hours=1)


@pytest.fixture
def store(make_database_url: Callable[[], str]) -> Iterator[Storage]:
    storage = matched(make_database_url(), BEFORE, NOW)
    yield storage
    storage.close()


def add_items(storage: Storage, first: int, count: int, changed_at: datetime) -> None:
    with storage.begin() as conn:
        conn.execute(insert(stories), [{
            "id": n, "canonical_url": f"https://destentor.nl/nieuw/{n}", "title": f"Nieuw {n}", "content_html": "",
            "text": f"Bericht {n} over jongerenwerk.", "excerpt": "", "kind": "media", "status": "new",
            "first_seen_at": changed_at, "published_at": changed_at, "changed_at": changed_at,
            "content_hash": f"nieuw {n}"} for n in range(first, first + count)])


def normal_pass(storage: Storage, now: datetime) -> int:
    return match_mentions(storage, config(storage, BEFORE), now=now).items


def test_a_complete_pass_leaves_the_watermark_its_start_less_the_margin(store: Storage) -> None:
    assert store.coverage.match_watermark() == NOW - WATERMARK_MARGIN
    normal_pass(store, NOW + HOUR)
    assert store.coverage.match_watermark() == NOW + HOUR - WATERMARK_MARGIN


def test_a_normal_pass_matches_the_items_that_came_since_the_last(store: Storage) -> None:
    add_items(store, 101, 3, NOW + 10 * timedelta(minutes=1))
    assert normal_pass(store, NOW + HOUR) == 3
    assert normal_pass(store, NOW + 2 * HOUR) == 0


@pytest.mark.parametrize("lag", [timedelta(minutes=30), 2 * HOUR, WATERMARK_MARGIN - timedelta(seconds=1)],
                         ids=["fetch committed after the pass began", "fetching host's clock behind",
                              "just inside the margin"])
def test_an_item_stamped_before_the_last_pass_began_but_stored_after_it_is_matched(store: Storage,
                                                                                  lag: timedelta) -> None:
    add_items(store, 101, 1, NOW - lag)  # the pass at NOW did not see it: it was not there yet
    assert normal_pass(store, NOW + timedelta(minutes=5)) == 1


def test_an_item_stamped_longer_before_than_the_margin_is_left_to_the_rematch(store: Storage) -> None:
    add_items(store, 101, 1, NOW - WATERMARK_MARGIN - HOUR)
    assert normal_pass(store, NOW + timedelta(minutes=5)) == 0
    assert match_mentions(store, config(store, BEFORE), rematch=True, now=NOW + HOUR).items == 1


def test_a_stopped_pass_leaves_the_watermark_so_the_next_finds_what_it_did_not_do(
        store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BATCH", 10)
    add_items(store, 101, 25, NOW + HOUR)

    def stop_after_one_batch(done: int, total: int) -> None:
        if done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        match_mentions(store, config(store, BEFORE), now=NOW + 3 * WATERMARK_MARGIN, progress=stop_after_one_batch)
    assert store.coverage.match_watermark() == NOW - WATERMARK_MARGIN
    assert normal_pass(store, NOW + 4 * WATERMARK_MARGIN) == 15


def test_without_a_watermark_a_normal_pass_looks_at_every_item(store: Storage) -> None:
    # the store's first pass, at NOW, matched the corpus: items stamped up to 89 days before
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(mentions)).scalar() == ITEMS
