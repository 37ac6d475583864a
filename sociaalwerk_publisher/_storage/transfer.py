"""Moving a store to another database: export to a file, import into an empty store.

So an office can move from the embedded SQLite to PostgreSQL (or back) without
losing history. The file is JSON Lines, gzip-compressed when its name ends in
``.gz``: a header line (format, schema version), one line per row, table by table
in dependency order so foreign keys hold at every step, and a trailer with the row
count of each table, so a truncated file is refused rather than half imported.
Datetimes are ISO 8601 with their zone (UTC), binary values base64. Row ids are
kept: syndication records still point at the same stories, so nothing is published
again after the move.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import BigInteger, Connection, Integer, LargeBinary, Table, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..bounds import check_number
from ..exceptions import StorageError, UsageError
from . import Storage, _short
from ._schema import LATEST_VERSION, UTCDateTime, metadata

__all__ = ["export_store", "import_store"]

FORMAT = "sociaalwerk-publisher-export"
FORMAT_VERSION = 1
_BATCH = 500


def _tables() -> list[Table]:
    """Every table with data, parents before children."""
    return [t for t in metadata.sorted_tables if t.name != "schema_version"]


def _encode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        kind = table.c[name].type
        if value is not None and isinstance(kind, UTCDateTime):
            value = value.astimezone(timezone.utc).isoformat()
        elif value is not None and isinstance(kind, LargeBinary):
            value = base64.b64encode(value).decode("ascii")
        out[name] = value
    return out


def _decode(table: Table, row: dict[str, Any], where: str) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        if name not in table.c:
            raise UsageError(f"{where}: table {table.name} has no column {name!r}")
        kind = table.c[name].type
        try:
            if value is not None and isinstance(kind, UTCDateTime):
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError("a date and time without its zone")
            elif value is not None and isinstance(kind, LargeBinary):
                value = base64.b64decode(value, validate=True)
            elif value is not None and isinstance(kind, Integer):
                bits = 63 if isinstance(kind, BigInteger) else 31  # what PostgreSQL holds
                check_number(value, f"{where}: {table.name}.{name}", -2**bits, 2**bits - 1)
        except (TypeError, ValueError) as e:
            raise UsageError(f"{where}: {table.name}.{name}: {e}") from e
        out[name] = value
    return out


@contextmanager
def _snapshot(storage: Storage) -> Iterator[Connection]:
    """A read-only connection that sees one consistent state of every table."""
    try:
        with storage.engine.connect() as conn:
            if storage.is_sqlite:
                # pysqlite starts no transaction for SELECTs: ask for one, so every
                # table is read from the same snapshot while others keep writing
                conn.exec_driver_sql("BEGIN")
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield conn
            finally:
                conn.rollback()
    except SQLAlchemyError as e:
        raise StorageError(f"database error during export: {_short(e)}") from e


def _open_for_writing(path: Path, compressed: bool) -> IO[str]:
    # the export holds personal data (stories, mentions, mail): readable by its owner only
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    if compressed:
        return gzip.open(path, "wt", encoding="utf-8", newline="\n")
    return open(path, "w", encoding="utf-8", newline="\n")


def export_store(storage: Storage, path: str | os.PathLike[str]) -> dict[str, int]:
    """Write every row of ``storage`` to the file ``path``, from one consistent snapshot.

    The file is only put in place when complete (it is written beside it first) and
    is readable by its owner only, since it holds personal data.

    Returns:
        The number of rows written per table.

    Raises:
        UsageError: the file cannot be written.
        StorageError: the database cannot be read.
    """
    path = Path(path)
    partial = path.with_name(path.name + ".part")
    counts: dict[str, int] = {}
    try:
        with _open_for_writing(partial, path.name.endswith(".gz")) as out, _snapshot(storage) as conn:
            header = {"format": FORMAT, "format_version": FORMAT_VERSION, "schema_version": LATEST_VERSION,
                      "exported_at": datetime.now(timezone.utc).isoformat(),
                      "tables": [t.name for t in _tables()]}
            out.write(json.dumps(header) + "\n")
            for table in _tables():
                order = list(table.primary_key.columns) or list(table.columns)
                rows = conn.execution_options(yield_per=_BATCH).execute(select(table).order_by(*order))
                counts[table.name] = 0
                for row in rows:
                    line = {"table": table.name, "row": _encode(table, dict(row._mapping))}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    counts[table.name] += 1
            out.write(json.dumps({"end": counts}) + "\n")
        os.replace(partial, path)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write the export {path}: {e.strerror or e}") from e
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counts


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}, line {number}: not JSON ({e.msg})") from e
            if not isinstance(value, dict):
                raise UsageError(f"{path}, line {number}: not an object")
            yield number, value


def _existing_rows(conn: Connection) -> dict[str, int]:
    found = {}
    for table in _tables():
        n = conn.execute(select(func.count()).select_from(table)).scalar() or 0
        if n:
            found[table.name] = int(n)
    return found


def _reset_sequences(conn: Connection) -> None:
    """Let PostgreSQL's id sequences continue after the imported ids."""
    for table in _tables():
        key = list(table.primary_key.columns)
        if len(key) == 1 and isinstance(key[0].type, Integer) and key[0].autoincrement in (True, "auto"):
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), COALESCE(MAX({key[0].name}), 1),"
                f" MAX({key[0].name}) IS NOT NULL) FROM {table.name}"),
                {"table": table.name, "column": key[0].name})


def import_store(storage: Storage, path: str | os.PathLike[str]) -> dict[str, int]:
    """Load a file written by :func:`export_store` into ``storage``, all or nothing.

    Args:
        storage: an empty store at this program's schema version (for PostgreSQL,
            run ``db upgrade`` on the new database first).
        path: the export file.

    Returns:
        The number of rows imported per table.

    Raises:
        UsageError: the target already holds data, or the file is not a complete export
            of this schema version (nothing is imported then).
        StorageError: the database refused a row.
    """
    path = Path(path)
    tables = {t.name: t for t in _tables()}
    counts: dict[str, int] = {}
    try:
        lines = _lines(path)
        try:
            _, header = next(lines)
        except StopIteration:
            raise UsageError(f"{path} is empty, not an export") from None
        if header.get("format") != FORMAT:
            raise UsageError(f"{path} is not a sociaalwerk-publisher export")
        if header.get("format_version") != FORMAT_VERSION or header.get("schema_version") != LATEST_VERSION:
            raise UsageError(
                f"{path} holds schema version {header.get('schema_version')}, this program uses"
                f" {LATEST_VERSION}: export and import with the same version of sociaalwerk-publisher")
        with storage.begin() as conn:
            existing = _existing_rows(conn)
            if existing:
                held = ", ".join(f"{n} {name}" for name, n in existing.items())
                raise UsageError(f"the target database already holds data ({held}): import only into a"
                                 " new, empty database")
            trailer: dict[str, int] | None = None
            batch: list[dict[str, Any]] = []
            current: Table | None = None
            for number, line in lines:
                where = f"{path}, line {number}"
                if trailer is not None:
                    raise UsageError(f"{where}: data after the end of the export")
                if "end" in line:
                    trailer = line["end"]
                    continue
                table = tables.get(line.get("table", ""))
                if table is None or not isinstance(line.get("row"), dict):
                    raise UsageError(f"{where}: not a row of a known table")
                if table is not current:
                    if batch:
                        conn.execute(insert(current), batch)  # type: ignore[arg-type]
                    batch, current = [], table
                batch.append(_decode(table, line["row"], where))
                counts[table.name] = counts.get(table.name, 0) + 1
                if len(batch) >= _BATCH:
                    conn.execute(insert(table), batch)
                    batch = []
            if batch and current is not None:
                conn.execute(insert(current), batch)
            if trailer is None:
                raise UsageError(f"{path} ends before the end of the export: the file is incomplete")
            expected = {name: n for name, n in trailer.items() if n}
            if expected != counts:
                raise UsageError(f"{path}: row counts {counts} differ from those the export recorded {expected}")
            if not storage.is_sqlite:
                _reset_sequences(conn)
    except OSError as e:
        raise UsageError(f"cannot read the export {path}: {e.strerror or e}") from e
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read the export {path}: {e}") from e
    return counts
