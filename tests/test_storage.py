"""The store: created and migrated on its own for SQLite, refuses to guess otherwise."""

from __future__ import annotations

from pathlib import Path

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
