"""Moving a store: SQLite -> file -> PostgreSQL with all its history, refusing to mix stores."""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sociaalwerk_publisher import Publisher, SourceKind, StoryStatus, UsageError
from sociaalwerk_publisher._storage import Storage, open_storage
from sociaalwerk_publisher._storage._schema import metadata
from sociaalwerk_publisher.config import CoverageConfig, DestinationConfig
from sociaalwerk_publisher.mail import Outbox, build_message
from sociaalwerk_publisher._storage.transfer import export_store, import_store
from sociaalwerk_publisher.types import SyndicationState

from .conftest import PostgresServer, make_config
from .fakes import RecordingAdapter
from .stories import seed

NOW = datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=timezone.utc)


def build_history(publisher: Publisher, folder: Path) -> None:
    """Stories from a blog and a newspaper, decisions, a publication, a retraction, mentions, mail."""
    seed(publisher, folder, [
        {"guid": "1", "title": "Buurtloket helpt met schulden", "html": "<p>Het buurtloket in Zwolle.</p>"},
        {"guid": "2", "title": "Jongerenwerk zoekt vrijwilligers", "html": "<p>Voetbal en muziek.</p>"},
    ], organisation="Travers Welzijn", municipality="GM0193", trusted=True)
    seed(publisher, folder, [
        {"guid": "k1", "title": "Travers Welzijn ziet wachtlijsten groeien", "date": "Tue, 10 Nov 2026 09:00:00 +0100",
         "link": "https://www.destentor.nl/zwolle/noodklok", "html": "<p>Travers Welzijn in Zwolle ziet ze groeien.</p>"},
    ], kind=SourceKind.MEDIA, title="De Stentor")
    blog = {s.title: s.id for s in publisher.list_stories()}
    publisher.approve_story(blog["Buurtloket helpt met schulden"], by="marieke", note="mooi")
    publisher.approve_story(blog["Jongerenwerk zoekt vrijwilligers"])
    list(publisher.syndicate())
    publisher.retract_story(blog["Jongerenwerk zoekt vrijwilligers"], note="op verzoek")
    publisher.match_coverage()
    outbox = Outbox(publisher._storage)
    outbox.add("report:2026-11-01:2026-11-30:nl", "report", build_message(
        key="report:2026-11-01:2026-11-30:nl", sender="publisher@sociaalwerk.example",
        recipients=["communicatie@sociaalwerk.example"], subject="Persaandacht — november", text="Tekst € ✓",
        html="<p>HTML</p>"), ["communicatie@sociaalwerk.example"], NOW)


def everything(storage: Storage) -> dict[str, list[dict[str, Any]]]:
    tables = [t for t in metadata.sorted_tables if t.name != "schema_version"]
    with storage.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(
            select(t).order_by(*(list(t.primary_key.columns) or list(t.columns))))] for t in tables}


class Sites:
    def __init__(self) -> None:
        self.adapters: dict[str, RecordingAdapter] = {}

    def __call__(self, destination: DestinationConfig) -> RecordingAdapter:
        return self.adapters.setdefault(destination.name, RecordingAdapter(destination.name))


def make(tmp_path: Path, url: str, sites: Sites) -> Publisher:
    config = replace(make_config(tmp_path, url), coverage=CoverageConfig(
        organisations={"Travers Welzijn": ("Travers",)}), destinations=(
        DestinationConfig(name="landelijk", adapter="wxr", path="x.xml"),))
    return Publisher(config, open_storage(url), adapter_for=sites)


def test_a_sqlite_store_moves_to_postgresql_with_all_its_history(tmp_path: Path, postgres: PostgresServer) -> None:
    sites = Sites()
    with make(tmp_path, f"sqlite:///{tmp_path / 'oud.db'}", sites) as old:
        build_history(old, tmp_path)
        before = everything(old._storage)
        written = export_store(old._storage, tmp_path / "verhuizing.jsonl.gz")
    assert {name: len(rows) for name, rows in before.items() if rows} == {n: c for n, c in written.items() if c}
    for table in ("sources", "stories", "sightings", "decisions", "syndications", "mentions", "mention_facts",
                  "outlets", "outbox"):
        assert before[table], f"the history has no {table} to move"

    with make(tmp_path, postgres.new_schema(), sites) as new:
        imported = import_store(new._storage, tmp_path / "verhuizing.jsonl.gz")
        assert imported == {n: c for n, c in written.items() if c}
        assert everything(new._storage) == before  # ids, zoned times, bytes and booleans alike
        # the moved store carries on: nothing is published twice, new rows get new ids
        assert list(new.syndicate()) == []
        assert [p.history for p in sites.adapters["landelijk"].posts.values()] == [["publish"], ["publish"]]
        assert {s.destination: s.state for s in new.syndications(before["stories"][0]["id"])} == {
            "landelijk": SyndicationState.PUBLISHED}
        source = new.add_source("https://nieuw.example.nl/feed", discover=False)
        assert source.id == max(row["id"] for row in before["sources"]) + 1
        seed(new, tmp_path, [{"guid": "n", "title": "Na de verhuizing", "html": "<p>x</p>"}])
        assert new.list_stories()[0].title == "Na de verhuizing"
        assert new.get_story(before["stories"][0]["id"]).status is StoryStatus.APPROVED


def test_import_refuses_a_database_that_already_holds_data(tmp_path: Path, make_database_url: Callable[[], str]) -> None:
    source = open_storage(make_database_url(), auto_upgrade=True)
    target = open_storage(make_database_url(), auto_upgrade=True)
    try:
        with Publisher(make_config(tmp_path), source) as publisher:
            seed(publisher, tmp_path, [{"guid": "1", "title": "Een", "html": "<p>x</p>"}])
            export_store(publisher._storage, tmp_path / "export.jsonl")
        with Publisher(make_config(tmp_path), target) as publisher:
            publisher.add_source("https://al.example.nl/feed", discover=False)
            with pytest.raises(UsageError, match=r"already holds data \(1 sources\): import only into a new, empty"):
                import_store(target, tmp_path / "export.jsonl")
            assert len(publisher.list_sources()) == 1
    finally:
        source.close()
        target.close()


def test_an_incomplete_export_is_refused_and_nothing_is_imported(tmp_path: Path, make_database_url: Callable[[], str]) -> None:
    with Publisher(make_config(tmp_path), open_storage(make_database_url(), auto_upgrade=True)) as publisher:
        seed(publisher, tmp_path, [{"guid": str(i), "title": f"Verhaal {i}", "html": "<p>x</p>"} for i in range(3)])
        export_store(publisher._storage, tmp_path / "export.jsonl")
    lines = (tmp_path / "export.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "afgebroken.jsonl").write_text("".join(lines[:-2]), encoding="utf-8")
    target = open_storage(make_database_url(), auto_upgrade=True)
    try:
        with pytest.raises(UsageError, match="ends before the end of the export"):
            import_store(target, tmp_path / "afgebroken.jsonl")
        assert all(rows == [] for rows in everything(target).values())
        with pytest.raises(UsageError, match="not a sociaalwerk-publisher export"):
            (tmp_path / "ander.jsonl").write_text('{"format": "iets anders"}\n', encoding="utf-8")
            import_store(target, tmp_path / "ander.jsonl")
    finally:
        target.close()


def test_an_export_with_a_number_beyond_the_store_is_refused_and_nothing_is_imported(
        tmp_path: Path, make_database_url: Callable[[], str]) -> None:
    with Publisher(make_config(tmp_path), open_storage(make_database_url(), auto_upgrade=True)) as publisher:
        seed(publisher, tmp_path, [{"guid": "1", "title": "Een", "html": "<p>x</p>"}])
        export_store(publisher._storage, tmp_path / "export.jsonl")
    text = (tmp_path / "export.jsonl").read_text(encoding="utf-8")
    (tmp_path / "vervalst.jsonl").write_text(text.replace('"consecutive_failures": 0', '"consecutive_failures": '
                                                          + "9" * 20), encoding="utf-8")
    target = open_storage(make_database_url(), auto_upgrade=True)
    try:
        with pytest.raises(UsageError, match=r"line 2: sources.consecutive_failures: 9+ is out of range"):
            import_store(target, tmp_path / "vervalst.jsonl")
        assert all(rows == [] for rows in everything(target).values())
    finally:
        target.close()


def test_an_export_is_readable_by_its_owner_only(tmp_path: Path, publisher: Publisher) -> None:
    seed(publisher, tmp_path, [{"guid": "1", "title": "Een", "html": "<p>x</p>"}])
    export_store(publisher._storage, tmp_path / "export.jsonl")
    assert stat.S_IMODE((tmp_path / "export.jsonl").stat().st_mode) == 0o600
    assert not (tmp_path / "export.jsonl.part").exists()
