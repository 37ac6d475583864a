"""The store: created and migrated on its own for SQLite, refuses to guess otherwise."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sociaalwerk_publisher import SchemaOutdatedError, StorageError
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher._storage._schema import LATEST_VERSION


def test_a_new_sqlite_store_is_created_at_the_latest_version_in_wal_mode(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert storage.schema_version() == LATEST_VERSION
        with storage.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        storage.close()


def test_a_store_from_a_newer_program_is_refused(database_url: str) -> None:
    url = database_url
    storage = open_storage(url)
    with storage.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = :v"), {"v": LATEST_VERSION + 1})
    storage.close()
    with pytest.raises(SchemaOutdatedError, match="newer than this program"):
        open_storage(url)


def test_an_outdated_store_is_not_upgraded_without_permission(database_url: str) -> None:
    url = database_url
    open_storage(url).close()
    storage = open_storage(url)
    with storage.begin() as conn:
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version VALUES (0)"))
    storage.close()
    with pytest.raises(SchemaOutdatedError, match="db upgrade"):
        open_storage(url, auto_upgrade=False)


def test_an_unreachable_database_is_a_storage_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as raised:
        open_storage(f"sqlite:///{tmp_path / 'missing-dir' / 'a.db'}")
    assert str(raised.value) == f"cannot open {tmp_path / 'missing-dir' / 'a.db'}: unable to open database file"


def test_a_file_that_is_no_database_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.db").write_bytes(b"dit is geen database" * 100)
    with pytest.raises(StorageError) as raised:
        open_storage(f"sqlite:///{tmp_path / 'x.db'}")
    assert str(raised.value) == f"cannot open {tmp_path / 'x.db'}: file is not a database"


# -- processes starting at once -----------------------------------------------------------

PROCESSES = 4


def _open_each_with_the_others(urls: list[str], ready: Any, outcomes: Any) -> None:
    """In a process of its own: open (creating or migrating) each store the moment every other
    process is ready to open it too; report each outcome."""
    for url in urls:
        ready.wait()
        try:
            open_storage(url, auto_upgrade=True).close()
            outcomes.put("ok")
        except Exception as e:  # noqa: BLE001 - reported by the test
            outcomes.put(f"{type(e).__name__}: {e}")


def _new_stores(database_kind: str, tmp_path: Path, request: pytest.FixtureRequest, trials: int) -> list[str]:
    """New stores, and (every other one) a store at schema version 1 that has to be migrated."""
    from .test_postgres_migrations import _make_version_1

    urls = []
    for trial in range(trials):
        if database_kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'store-{trial}.db'}"
        else:
            url = request.getfixturevalue("postgres").new_schema(upgraded=False)
        if trial % 2:
            _make_version_1(url)
        urls.append(url)
    return urls


@pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"])
def test_processes_starting_at_once_all_create_or_migrate_the_store(database_kind: str, tmp_path: Path,
                                                                    request: pytest.FixtureRequest) -> None:
    urls = _new_stores(database_kind, tmp_path, request, trials=8 if database_kind == "sqlite" else 4)
    # spawn: a forked copy of this process would inherit the test servers' threads
    context = multiprocessing.get_context("spawn")
    ready, outcomes = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_open_each_with_the_others, args=(urls, ready, outcomes))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    results = [outcomes.get(timeout=120) for _ in range(PROCESSES * len(urls))]
    for worker in workers:
        worker.join(timeout=60)
    assert [r for r in results if r != "ok"] == []
    for url in urls:
        storage = open_storage(url)
        try:
            assert storage.schema_version() == LATEST_VERSION
        finally:
            storage.close()
