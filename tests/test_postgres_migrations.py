"""The schema on PostgreSQL: created on purpose with `db upgrade`, brought forward, zoned times."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, create_engine, insert, inspect, select, text

from sociaalwerk_publisher import SchemaOutdatedError, StorageError
from sociaalwerk_publisher._storage import Storage, open_storage
from sociaalwerk_publisher._storage._schema import LATEST_VERSION, MIGRATIONS, sources
from sociaalwerk_publisher.cli import cli

from .conftest import PostgresServer

WHEN = datetime(2026, 3, 29, 0, 30, 15, 250000, tzinfo=timezone.utc)  # the night the clocks go forward


@contextmanager
def before_step(url: str, step: Callable[[Connection], None]) -> Iterator[Connection]:
    """A store set back to just before migration ``step``: the body undoes what the step adds
    (and may add data for it to carry forward) on the connection it is given."""
    storage = open_storage(url, auto_upgrade=True)
    try:
        with storage.begin() as conn:
            yield conn
            conn.execute(text("UPDATE schema_version SET version = :v"), {"v": MIGRATIONS.index(step)})
    finally:
        storage.close()


@contextmanager
def upgraded(url: str) -> Iterator[Storage]:
    """The store opened again, which brings it forward to the latest version."""
    storage = open_storage(url, auto_upgrade=True)
    try:
        assert storage.schema_version() == LATEST_VERSION
        yield storage
    finally:
        storage.close()


def test_an_empty_postgresql_database_is_not_set_up_behind_the_office_s_back(postgres: PostgresServer) -> None:
    url = postgres.new_schema(upgraded=False)
    for auto_upgrade in (None, False):  # None: the default, automatic for SQLite only
        with pytest.raises(SchemaOutdatedError, match=r"has no tables yet: run `sociaalwerk-publisher db upgrade`"):
            open_storage(url, auto_upgrade=auto_upgrade)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_schema_and_then_the_store_opens(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.new_schema(upgraded=False)
    config = tmp_path / "sociaalwerk-publisher.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    refused = CliRunner().invoke(cli, ["--config", str(config), "sources", "list"])
    assert refused.exit_code == 2 and "db upgrade" in refused.output
    result = CliRunner().invoke(cli, ["--config", str(config), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"database schema at version {LATEST_VERSION}"
    storage = open_storage(url)
    try:
        assert storage.schema_version() == LATEST_VERSION
        with storage.connect() as conn:
            assert {"sources", "stories", "syndications", "outbox"} <= set(inspect(conn).get_table_names())
    finally:
        storage.close()
    again = CliRunner().invoke(cli, ["--config", str(config), "db", "upgrade"])  # idempotent
    assert again.exit_code == 0, again.output


def test_hosts_upgrading_at_the_same_moment_both_succeed(postgres: PostgresServer) -> None:
    url = postgres.new_schema(upgraded=False)
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def upgrade() -> None:
        start.wait()
        try:
            open_storage(url, auto_upgrade=True).close()
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    storage = open_storage(url)
    assert storage.schema_version() == LATEST_VERSION
    storage.close()


def _make_version_1(url: str) -> None:
    """Turn a fresh store into what version 1 looked like (no source claims, naive times on PostgreSQL)."""
    storage = open_storage(url, auto_upgrade=True)
    try:
        with storage.begin() as conn:
            conn.execute(text("ALTER TABLE sources DROP COLUMN claimed_by"))
            conn.execute(text("ALTER TABLE sources DROP COLUMN claim_expires_at"))
            conn.execute(text("ALTER TABLE sources DROP COLUMN last_error_kind"))  # version 4
            conn.execute(text("DROP TABLE suppressions"))  # a table added after version 1
            if not storage.is_sqlite:
                naive = WHEN.replace(tzinfo=None)
                conn.execute(text("ALTER TABLE sources ALTER COLUMN created_at TYPE timestamp without time zone"
                                  " USING created_at AT TIME ZONE 'UTC'"))
                conn.execute(text("INSERT INTO sources (url, kind, trusted, active, created_at,"
                                  " consecutive_failures) VALUES ('https://oud.example.nl/feed', 'blog', false,"
                                  " true, :t, 0)"), {"t": naive})
            else:
                conn.execute(text("INSERT INTO sources (url, kind, trusted, active, created_at,"
                                  " consecutive_failures) VALUES ('https://oud.example.nl/feed', 'blog', 0, 1, :t, 0)"),
                             {"t": WHEN.replace(tzinfo=None).isoformat(sep=" ")})
            conn.execute(text("UPDATE schema_version SET version = 1"))
    finally:
        storage.close()


@pytest.fixture
def own_database_url(database_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh store that is not handed to other tests afterwards: these tests change its tables."""
    if database_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'eigen.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_schema()


def test_a_version_1_store_is_brought_forward_keeping_its_data(own_database_url: str) -> None:
    url = own_database_url
    _make_version_1(url)
    if not url.startswith("sqlite"):
        with pytest.raises(SchemaOutdatedError, match="version 1, this program needs"):
            open_storage(url)
    storage = open_storage(url, auto_upgrade=True)
    try:
        assert storage.schema_version() == LATEST_VERSION
        (old,) = storage.sources.list()
        assert old.url == "https://oud.example.nl/feed" and old.created_at == WHEN
        with storage.connect() as conn:
            columns = {c["name"]: c for c in inspect(conn).get_columns("sources")}
            assert "suppressions" in inspect(conn).get_table_names()
        assert {"claimed_by", "claim_expires_at", "last_error_kind"} <= set(columns)
        if not storage.is_sqlite:
            assert getattr(columns["created_at"]["type"], "timezone", False) is True
        storage.sources.claim({old.id: None}, "host:1:a", WHEN, WHEN)  # the new columns work
    finally:
        storage.close()


def test_times_are_the_same_instant_whatever_the_session_time_zone(postgres: PostgresServer) -> None:
    url = postgres.new_schema()
    elsewhere = open_storage(url.replace("options=-csearch_path", "options=-cTimeZone%3DAmerica/New_York%20-csearch_path"))
    try:
        with elsewhere.begin() as conn:
            conn.execute(insert(sources).values(url="https://a.example.nl/feed", kind="blog", trusted=False,
                                                 active=True, created_at=WHEN, consecutive_failures=0))
            assert conn.execute(text("SHOW TimeZone")).scalar() == "America/New_York"
    finally:
        elsewhere.close()
    storage = open_storage(url)
    try:
        with storage.connect() as conn:
            stored = conn.execute(select(sources.c.created_at)).scalar()
            as_text = conn.execute(text("SELECT to_char(created_at AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM sources")).scalar()
        assert stored == WHEN and stored.tzinfo == timezone.utc
        assert as_text == "00:30:15"  # what another tool reading the table sees, in UTC
    finally:
        storage.close()


def test_an_upgrade_merges_the_duplicate_sightings_a_feed_changing_its_guids_left(own_database_url: str) -> None:
    from sociaalwerk_publisher._storage._schema import _to_version_5, sightings, stories

    with before_step(own_database_url, _to_version_5) as conn:
        conn.execute(text("DROP INDEX uq_sightings_source_story"))  # as before that step
        feed, other = (conn.execute(insert(sources).values(url=f"https://{name}.example.nl/feed", kind="blog",
                                                            trusted=False, active=True, created_at=WHEN,
                                                            consecutive_failures=0)).inserted_primary_key[0]
                       for name in ("wisselend", "ander"))
        story = conn.execute(insert(stories).values(
            canonical_url="https://wisselend.example.nl/1", title="t", content_html="", text="", excerpt="",
            kind="blog", source_id=feed, status="new", first_seen_at=WHEN, published_at=WHEN, changed_at=WHEN,
            content_hash="h")).inserted_primary_key[0]
        for source_id, key in ((feed, "poll-1"), (feed, "poll-2"), (other, "x"), (feed, "poll-3")):
            conn.execute(insert(sightings).values(story_id=story, source_id=source_id, entry_key=key,
                                                  first_seen_at=WHEN, content_hash="h"))
    with upgraded(own_database_url) as storage:
        with storage.connect() as conn:
            left = conn.execute(select(sightings.c.source_id, sightings.c.entry_key)
                                .order_by(sightings.c.source_id)).all()
        assert [tuple(row) for row in left] == [(feed, "poll-3"), (other, "x")]  # the newest key stays
        with pytest.raises(StorageError), storage.begin() as conn:
            conn.execute(insert(sightings).values(story_id=story, source_id=feed, entry_key="poll-4",
                                                  first_seen_at=WHEN, content_hash="h"))


def test_an_upgrade_adds_alerts_and_marks_the_mentions_fetched_this_week_seen(own_database_url: str) -> None:
    from datetime import timedelta

    from sociaalwerk_publisher._storage._schema import _to_version_7, alerted_mentions, mentions, outlets, stories

    now = datetime.now(timezone.utc)
    with before_step(own_database_url, _to_version_7) as conn:
        outlet = conn.execute(insert(outlets).values(domain="destentor.nl", name="De Stentor", type="overig",
                                                     created_at=WHEN)).inserted_primary_key[0]
        made = {}
        for name, fetched in (("recent", now - timedelta(days=2)), ("old", now - timedelta(days=30))):
            story = conn.execute(insert(stories).values(
                canonical_url=f"https://destentor.nl/{name}", title=name, content_html="", text="", excerpt="",
                kind="media", status="new", first_seen_at=fetched, published_at=fetched, changed_at=fetched,
                content_hash="h")).inserted_primary_key[0]
            made[name] = conn.execute(insert(mentions).values(
                story_id=story, outlet_id=outlet, published_at=fetched, counted=True, own_channel=False,
                matched_at=fetched)).inserted_primary_key[0]
        conn.execute(text("DROP TABLE alerted_mentions"))  # as before that step
        conn.execute(text("DROP TABLE alert_spikes"))
    with upgraded(own_database_url) as storage, storage.connect() as conn:
        seen = conn.execute(select(alerted_mentions.c.mention_id)).scalars().all()
        assert inspect(conn).has_table("alert_spikes")
    assert seen == [made["recent"]]  # the old one is out of the alert window anyway


def test_an_upgrade_adds_the_webhook_outbox(own_database_url: str) -> None:
    from sociaalwerk_publisher._storage._schema import _to_version_8, webhook_events

    with before_step(own_database_url, _to_version_8) as conn:
        conn.execute(text("DROP TABLE webhook_events"))  # as before that step
    with upgraded(own_database_url) as storage:
        storage.webhooks.want({"report.sent": ["ontvanger"]})
        with storage.begin() as conn:
            storage.webhooks.record(conn, "report.sent", {"key": "report:x"}, WHEN, about="report:x")
        with storage.connect() as conn:
            assert conn.execute(select(webhook_events.c.webhook, webhook_events.c.type)).all() == [
                ("ontvanger", "report.sent")]
            assert {i["name"] for i in inspect(conn).get_indexes("webhook_events")} >= {"ix_webhook_events_undelivered"}


@pytest.mark.parametrize(("step", "added"), [
    ("_to_version_9", ("sent_state_hash",)),  # local edits are kept
    ("_to_version_10", ("unlinked_at", "unlinked_by", "unlinked_how")),  # unlinking
])
def test_an_upgrade_adds_the_columns_of_copies_kept_by_members(own_database_url: str, step: str,
                                                                added: tuple[str, ...]) -> None:
    from sociaalwerk_publisher._storage import _schema

    with before_step(own_database_url, getattr(_schema, step)) as conn:
        conn.execute(insert(sources).values(url="https://oud.example.nl/feed", kind="blog", trusted=False,
                                            active=True, created_at=WHEN, consecutive_failures=0))
        for column in added:  # as before that step
            conn.execute(text(f"ALTER TABLE syndications DROP COLUMN {column}"))
    with upgraded(own_database_url) as storage:
        with storage.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("syndications")}
        assert set(added) <= columns
        assert [s.url for s in storage.sources.list()] == ["https://oud.example.nl/feed"]  # data kept


def test_an_upgrade_moves_the_pickup_index_into_its_parts(own_database_url: str) -> None:
    from datetime import timedelta

    from sociaalwerk_publisher._storage._schema import (
        PICKUP_PART_DAYS, _to_version_11, mentions, outlets, pickup_fingerprints, pickup_part, stories)

    weeks = [WHEN, WHEN - timedelta(days=PICKUP_PART_DAYS)]
    with before_step(own_database_url, _to_version_11) as conn:
        outlet = conn.execute(insert(outlets).values(domain="destentor.nl", name="De Stentor", type="overig",
                                                     created_at=WHEN)).inserted_primary_key[0]
        made = []
        for n, when in enumerate(weeks):
            story = conn.execute(insert(stories).values(
                canonical_url=f"https://destentor.nl/{n}", title="t", content_html="", text="", excerpt="",
                kind="media", status="new", first_seen_at=when, published_at=when, changed_at=when,
                content_hash="h")).inserted_primary_key[0]
            made.append(conn.execute(insert(mentions).values(story_id=story, outlet_id=outlet, published_at=when,
                                                             counted=True, own_channel=False,
                                                             matched_at=when)).inserted_primary_key[0])
        conn.execute(text("DROP TABLE pickup_fingerprints"))  # as before that step
        conn.execute(text("CREATE TABLE pickup_shingles (token BIGINT NOT NULL, mention_id INTEGER NOT NULL"
                          " REFERENCES mentions (id) ON DELETE CASCADE, enough INTEGER NOT NULL,"
                          " PRIMARY KEY (token, mention_id))"))
        conn.execute(text("INSERT INTO pickup_shingles (token, mention_id, enough) VALUES (:t, :m, 2)"),
                     [{"t": token, "m": mention} for mention in made for token in (-(2**62), 7, 2**62)])
    with upgraded(own_database_url) as storage:
        with storage.connect() as conn:
            rows = conn.execute(select(pickup_fingerprints.c.mention_id, pickup_fingerprints.c.part,
                                       pickup_fingerprints.c.token, pickup_fingerprints.c.enough)
                                .order_by(pickup_fingerprints.c.mention_id, pickup_fingerprints.c.token)).all()
            assert not inspect(conn).has_table("pickup_shingles")
        parts = [pickup_part(when) for when in weeks]
        assert parts[0] != parts[1]
        assert [tuple(row) for row in rows] == [(mention, part, token, 2) for mention, part in zip(made, parts)
                                                for token in (-(2**62), 7, 2**62)]
        # and the lookup finds them there: two of their tokens are enough
        assert sorted(storage.coverage.pickup_candidates([(7, 0), (2**62, 0), (5, 0)])) == [(0, m) for m in made]
