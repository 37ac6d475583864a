"""Matching again after a watchlist change: in batches, resumable after Ctrl-C or a kill, and
ending where matching the same items once, from scratch, ends; on SQLite and PostgreSQL.

The corpus (``items``): 60 media items of 100 words. Items 6k+1, 6k+2, 6k+3 (k = 0..9) are a
chain of pickups: the second is the first with 5 words changed, the third the second with 5
other words changed, so neighbours are alike (similarity 0.66) and the ends are not (0.42). The
watchlist goes from BEFORE ("sociaal werk", "jongerenwerk") to AFTER ("jongerenwerk",
"buurtmaaltijd"), and what the chains name makes their clusters change in three ways:

==========  ====================================  ===============  =====================
chain k     names (first, second, third)          under BEFORE     under AFTER
==========  ====================================  ===============  =====================
k % 3 == 0  jongerenwerk, sociaal werk, jongerenwerk  one cluster      the middle leaves: two alone
k % 3 == 1  jongerenwerk, buurtmaaltijd, -        the first alone  the second joins it
k % 3 == 2  sociaal werk, jongerenwerk, jongerenwerk  one cluster      the first leaves, two stay
==========  ====================================  ===============  =====================

The other items are unrelated and name, by id, sociaal werk, jongerenwerk, buurtmaaltijd or
nothing. Items up to 39 are published 0 to 39 days ago (inside the pickup window), the later
ones up to 89 days ago.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update

from sociaalwerk_publisher._storage import Storage, open_storage
from sociaalwerk_publisher._storage._schema import (
    LATEST_VERSION,
    MIGRATIONS,
    _to_version_6,
    mention_facts,
    mentions,
    outlets,
    pickup_fingerprints,
    stories,
)
from sociaalwerk_publisher.config import Config, CoverageConfig, DatabaseConfig
from sociaalwerk_publisher.coverage import engine, examining, pickups
from sociaalwerk_publisher.coverage.engine import match_mentions

NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
EARLIER = NOW - timedelta(days=1)
WINDOW_START = NOW - pickups.CLUSTER_WINDOW
ITEMS = 60
BATCH = 10
BEFORE = CoverageConfig(terms=("sociaal werk", "jongerenwerk"))
AFTER = CoverageConfig(terms=("jongerenwerk", "buurtmaaltijd"))
CHAINS = (("jongerenwerk", "sociaal werk", "jongerenwerk"), ("jongerenwerk", "buurtmaaltijd", ""),
          ("sociaal werk", "jongerenwerk", "jongerenwerk"))
OTHERS = ("sociaal werk", "jongerenwerk", "buurtmaaltijd", "")

Outcome = tuple[set[tuple[Any, ...]], set[tuple[Any, ...]], dict[int, int]]


def items() -> dict[int, tuple[str, str]]:
    """Item id: (text, the term it names)."""
    rng = random.Random(11)

    def fresh() -> list[str]:
        return [f"w{rng.randrange(20_000)}" for _ in range(100)]

    def edited(text: list[str], positions: range) -> list[str]:
        return [f"x{rng.randrange(20_000)}" if i in positions else w for i, w in enumerate(text)]

    found: dict[int, tuple[str, str]] = {}
    for k in range(10):
        first = fresh()
        second = edited(first, range(10, 100, 20))
        third = edited(second, range(20, 100, 20))
        for offset, (words, term) in enumerate(zip((first, second, third), CHAINS[k % 3]), start=1):
            found[6 * k + offset] = (" ".join(words), term)
        for n in range(6 * k + 4, 6 * k + 7):
            found[n] = (" ".join(fresh()), OTHERS[n % 4])
    return found


def add_corpus(storage: Storage) -> None:
    with storage.begin() as conn:
        conn.execute(insert(outlets).values(domain="destentor.nl", name="De Stentor", type="regionaal dagblad",
                                            municipality="GM0193", created_at=EARLIER))
        rows = []
        for n, (text, term) in items().items():
            published = NOW - timedelta(days=n % (40 if n < 40 else 90), hours=2)
            rows.append({
                "id": n, "canonical_url": f"https://{('destentor.nl', 'lokaal.nl')[n % 2]}/{n}",
                "title": f"Bericht {n}", "content_html": "", "text": f"{text} Over {term or 'iets anders'}.",
                "excerpt": "", "kind": "media", "status": "new", "first_seen_at": published,
                "published_at": published, "changed_at": published, "content_hash": str(n)})
        conn.execute(insert(stories), rows)


def config(storage: Storage, coverage: CoverageConfig) -> Config:
    return Config(database=DatabaseConfig(url=storage.engine.url.render_as_string(hide_password=False)),
                  coverage=coverage)


def matched(url: str, coverage: CoverageConfig, now: datetime) -> Storage:
    """A store with the corpus, matched once under ``coverage``."""
    storage = open_storage(url, auto_upgrade=True)
    add_corpus(storage)
    match_mentions(storage, config(storage, coverage), now=now)
    return storage


def outcome(storage: Storage) -> Outcome:
    """What matching decided, by story: each mention's values, the facts, and for each counted
    mention of the window the first story of its pickup cluster (itself when alone)."""
    with storage.connect() as conn:
        values = set(conn.execute(select(mentions.c.story_id, mentions.c.outlet_id, mentions.c.url,
                                         mentions.c.published_at, mentions.c.municipality, mentions.c.excluded_by,
                                         mentions.c.counted, mentions.c.own_channel)))
        facts = set(conn.execute(select(mentions.c.story_id, mention_facts.c.kind, mention_facts.c.value)
                                 .select_from(mentions.join(mention_facts))))
        rows = list(conn.execute(select(mentions.c.story_id, mentions.c.id, mentions.c.cluster_id)
                                 .where(mentions.c.counted.is_(True), mentions.c.published_at >= WINDOW_START)))
    first: dict[int, int] = {}
    for story_id, mention_id, cluster_id in rows:
        first[cluster_id or mention_id] = min(first.get(cluster_id or mention_id, story_id), story_id)
    return values, facts, {story_id: first[cluster_id or mention_id] for story_id, mention_id, cluster_id in rows}


@pytest.fixture
def stores(make_database_url: Callable[[], str]) -> Iterator[Callable[[CoverageConfig, datetime], Storage]]:
    made: list[Storage] = []

    def make(coverage: CoverageConfig, now: datetime) -> Storage:
        made.append(matched(make_database_url(), coverage, now))
        return made[-1]

    yield make
    for storage in made:
        storage.close()


@pytest.fixture
def from_scratch(stores: Callable[[CoverageConfig, datetime], Storage]) -> Outcome:
    """The corpus matched once, under AFTER, by a store that never saw BEFORE."""
    return outcome(stores(AFTER, NOW))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BATCH", BATCH)


def test_the_corpus_changes_what_counts_and_how_it_clusters(stores, from_scratch: Outcome) -> None:
    before = outcome(stores(BEFORE, NOW))
    for coverage, found in ((BEFORE, before), (AFTER, from_scratch)):
        assert {v[0] for v in found[0] if v[6]} == {n for n, (_, term) in items().items() if term in coverage.terms}
    chains = {k: (6 * k + 1, 6 * k + 2, 6 * k + 3) for k in range(6)}  # those inside the window
    for k, (a, b, c) in chains.items():
        if k % 3 == 0:
            assert (before[2][a], before[2][b], before[2][c]) == (a, a, a) and (from_scratch[2][a], from_scratch[2][c]) == (a, c)
        elif k % 3 == 1:
            assert before[2][a] == a and b not in before[2] and (from_scratch[2][a], from_scratch[2][b]) == (a, a)
        else:
            assert (before[2][a], before[2][b], before[2][c]) == (a, a, a) and (from_scratch[2][b], from_scratch[2][c]) == (b, b)


def test_a_rematch_ends_where_matching_from_scratch_ends(stores, from_scratch: Outcome, small_batches: None) -> None:
    storage = stores(BEFORE, EARLIER)
    summary = match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW)
    assert summary.items == ITEMS
    assert outcome(storage) == from_scratch


def test_a_rematch_stopped_after_two_batches_continues_with_the_rest(stores, from_scratch: Outcome,
                                                                     small_batches: None) -> None:
    storage = stores(BEFORE, EARLIER)
    seen: list[tuple[int, int]] = []

    def stop_after_two_batches(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2 * BATCH:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW, progress=stop_after_two_batches)
    assert seen == [(0, ITEMS), (BATCH, ITEMS), (2 * BATCH, ITEMS)]
    summary = match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW + timedelta(minutes=5))
    assert summary.items == ITEMS - 2 * BATCH
    assert outcome(storage) == from_scratch


def test_a_pass_in_batches_examined_by_a_second_process_ends_as_one_batch_does(
        make_database_url: Callable[[], str], from_scratch: Outcome, small_batches: None) -> None:
    started: list[engine.Ahead] = []
    real = engine.Ahead

    def ahead(examiner: Any) -> engine.Ahead:
        started.append(real(examiner))
        return started[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "Ahead", ahead)
        storage = matched(make_database_url(), AFTER, NOW)  # a normal pass, ITEMS // BATCH batches
    try:
        assert len(started) == 1
        assert outcome(storage) == from_scratch  # from_scratch: one batch, no second process
    finally:
        storage.close()


def test_the_database_file_holds_a_pass_in_batches_once_it_ends(tmp_path: Path, small_batches: None) -> None:
    # SQLite keeps a pass's writes in its write-ahead log until the pass ends (WAL_CHECKPOINT_PAGES);
    # then they are in the file itself, which is what a backup that copies the file alone gets
    storage = matched(f"sqlite:///{tmp_path / 'coverage.db'}", AFTER, NOW)
    try:
        shutil.copyfile(tmp_path / "coverage.db", tmp_path / "copy.db")
        passed = outcome(storage)
    finally:
        storage.close()
    copy = open_storage(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        assert len(passed[0]) == ITEMS
        assert outcome(copy) == passed
    finally:
        copy.close()


def test_a_pass_whose_second_process_is_killed_goes_on_alone(make_database_url: Callable[[], str],
                                                             from_scratch: Outcome, small_batches: None,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    class Killed(engine.Ahead):
        def receive(self) -> Any:
            if self._child is not None:  # gone at the first batch it examined
                self._child.kill()  # as the out-of-memory killer would
                self._child.wait()
            return super().receive()

    monkeypatch.setattr(engine, "Ahead", Killed)
    storage = matched(make_database_url(), AFTER, NOW)  # a normal pass, ITEMS // BATCH batches
    try:
        assert outcome(storage) == from_scratch
    finally:
        storage.close()
    assert "the second matching process stopped" in caplog.text


def test_a_pass_whose_second_process_cannot_start_goes_on_alone(make_database_url: Callable[[], str],
                                                                from_scratch: Outcome, small_batches: None,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    def no_process(*args: Any, **kwargs: Any) -> Any:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(examining.subprocess, "Popen", no_process)
    storage = matched(make_database_url(), AFTER, NOW)
    try:
        assert outcome(storage) == from_scratch
    finally:
        storage.close()
    assert "no second matching process (Resource temporarily unavailable)" in caplog.text


def test_a_rematch_examines_its_batches_itself(stores, from_scratch: Outcome, small_batches: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    storage = stores(BEFORE, EARLIER)  # matched once, by a normal pass
    monkeypatch.setattr(engine, "Ahead", None)  # would fail if called
    assert match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW).items == ITEMS
    assert outcome(storage) == from_scratch


@pytest.mark.parametrize("when", ["after-batch-2", "inside-batch-3"])
def test_a_rematch_killed_with_sigkill_loses_at_most_its_batch(stores, from_scratch: Outcome, tmp_path: Path,
                                                              when: str) -> None:
    storage = stores(BEFORE, EARLIER)
    settings = tmp_path / "sociaalwerk-publisher.toml"
    settings.write_text(f'[database]\nurl = "{config(storage, AFTER).database.url}"\n\n'
                        '[coverage]\nterms = ["jongerenwerk", "buurtmaaltijd"]\n', encoding="utf-8")
    killed = subprocess.run([sys.executable, "-m", "tests.crash_rematch", str(settings), when, str(BATCH),
                             NOW.isoformat()], cwd=Path(__file__).parent.parent, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    with storage.connect() as conn:
        done = conn.execute(select(func.count()).where(mentions.c.matched_at == NOW)).scalar()
    assert done == 2 * BATCH  # a batch whose transaction was cut off left nothing behind
    summary = match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW + timedelta(minutes=5))
    assert summary.items == ITEMS - 2 * BATCH
    assert outcome(storage) == from_scratch


def test_a_normal_pass_killed_with_sigkill_leaves_no_second_process_behind(
        make_database_url: Callable[[], str], from_scratch: Outcome, tmp_path: Path) -> None:
    storage = open_storage(make_database_url(), auto_upgrade=True)
    add_corpus(storage)
    settings = tmp_path / "sociaalwerk-publisher.toml"
    settings.write_text(f'[database]\nurl = "{config(storage, AFTER).database.url}"\n\n'
                        '[coverage]\nterms = ["jongerenwerk", "buurtmaaltijd"]\n', encoding="utf-8")
    try:
        # the child holds no copy of these pipes once the pass is gone: else this would wait for it
        killed = subprocess.run([sys.executable, "-m", "tests.crash_rematch", str(settings), "after-batch-2",
                                 str(BATCH), NOW.isoformat(), "normal"], cwd=Path(__file__).parent.parent,
                                capture_output=True, text=True, timeout=60)
        assert killed.returncode == -9, killed.stderr
        with storage.connect() as conn:
            assert conn.execute(select(func.count()).select_from(mentions)).scalar() == 2 * BATCH
        match_mentions(storage, config(storage, AFTER), now=NOW)  # the watermark never moved
        assert outcome(storage) == from_scratch
    finally:
        storage.close()


def test_rematching_with_nothing_changed_has_nothing_to_do(stores) -> None:
    storage = stores(BEFORE, EARLIER)
    assert match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW).items == ITEMS
    assert match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW).items == 0


def test_a_normal_pass_leaves_mentions_of_another_watchlist_to_the_rematch(stores) -> None:
    storage = stores(BEFORE, EARLIER)
    assert match_mentions(storage, config(storage, AFTER), now=NOW).items == 0


def test_pickups_of_unchanged_texts_are_not_clustered_again(stores, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = stores(BEFORE, EARLIER)
    indexed = set(outcome(storage)[2])  # counted under BEFORE, in the window
    with storage.connect() as conn:
        ids = {k: v for k, v in conn.execute(select(mentions.c.story_id, mentions.c.id))}
        cluster = {k: v for k, v in conn.execute(select(mentions.c.story_id, mentions.c.cluster_id))}
    linked: list[int] = []
    real_link = pickups.link_prepared
    monkeypatch.setattr(pickups, "link_prepared", lambda store, mention_ids, prepared, threshold, *rest: (
        linked.extend(mention_ids), real_link(store, mention_ids, prepared, threshold, *rest))[1])
    match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW)
    counted = set(outcome(storage)[2])
    broken = {cluster[n] for n in indexed - counted} - {None}
    rejoining = {n for n in indexed & counted if cluster[n] in broken}  # the rest of a cluster that lost one
    assert broken and rejoining
    assert sorted(linked) == sorted(ids[n] for n in (counted - indexed) | rejoining)
    assert len(linked) < len(counted)
    with storage.connect() as conn:
        assert {k: v for k, v in conn.execute(select(mentions.c.story_id, mentions.c.id))} == ids  # the same mentions


def test_a_changed_text_is_clustered_again(stores) -> None:
    storage = stores(AFTER, EARLIER)
    first = outcome(storage)[2]
    with storage.connect() as conn:
        text_of = {k: v for k, v in conn.execute(select(stories.c.id, stories.c.text))}
    original = min(s for s, f in first.items() if s == f and list(first.values()).count(s) > 1)
    alone = min(s for s, f in first.items() if s == f and list(first.values()).count(s) == 1)
    with storage.begin() as conn:
        conn.execute(update(stories).where(stories.c.id == alone).values(text=text_of[original], changed_at=NOW))
    assert match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW).items == 1
    after = outcome(storage)[2]
    assert after[alone] == after[original] == min(alone, original)  # one cluster now


def test_a_lowered_threshold_groups_the_earlier_mentions_again(stores) -> None:
    lower = CoverageConfig(terms=AFTER.terms, cluster_threshold=0.3)
    storage = stores(AFTER, EARLIER)
    match_mentions(storage, config(storage, lower), rematch=True, now=NOW)
    assert outcome(storage) == outcome(stores(lower, NOW))


def test_a_pass_holds_one_batch_of_items_at_a_time(stores, small_batches: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    storage = stores(BEFORE, EARLIER)
    read: list[int] = []
    real = type(storage.coverage).candidates
    monkeypatch.setattr(type(storage.coverage), "candidates",
                        lambda self, ids: (read.append(len(ids)), real(self, ids))[1])
    match_mentions(storage, config(storage, AFTER), rematch=True, now=NOW)
    assert read == [BATCH] * (ITEMS // BATCH)  # a rematch examines its batches itself
    with storage.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pickup_fingerprints)).scalar()


def test_mentions_matched_before_the_upgrade_are_all_rematched_once(stores) -> None:
    storage = stores(BEFORE, EARLIER)
    url = storage.engine.url.render_as_string(hide_password=False)
    with storage.begin() as conn:  # back to the schema before that step, the mentions kept
        conn.execute(text("DROP TABLE coverage_state"))
        conn.execute(text("DROP INDEX ix_stories_kind_changed"))
        for name in ("generation", "text_digest"):
            conn.execute(text(f"ALTER TABLE mentions DROP COLUMN {name}"))
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": MIGRATIONS.index(_to_version_6)})
    storage.close()
    upgraded = open_storage(url, auto_upgrade=True)
    try:
        assert upgraded.schema_version() == LATEST_VERSION
        assert match_mentions(upgraded, config(upgraded, BEFORE), now=NOW).items == 0  # nothing new
        assert match_mentions(upgraded, config(upgraded, BEFORE), rematch=True, now=NOW).items == ITEMS
        assert match_mentions(upgraded, config(upgraded, BEFORE), rematch=True, now=NOW).items == 0
        assert outcome(upgraded) == outcome(stores(BEFORE, NOW))
    finally:
        upgraded.close()
