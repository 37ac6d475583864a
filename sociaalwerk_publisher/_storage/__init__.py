"""Private storage: SQLAlchemy Core on SQLite (default) or PostgreSQL.

Split by domain; no business logic here, only reads and writes. Every write
is a short transaction: callers never hold one open across network calls.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ..exceptions import SchemaOutdatedError, StorageError
from . import _schema
from ._schema import LATEST_VERSION, MIGRATIONS
from .alerts import AlertStore
from .coverage import CoverageStore
from .decisions import DecisionStore
from .hub import HubStore
from .operations import OperationsStore
from .outbox import OutboxStore
from .sources import SourceStore
from .stories import StoryStore
from .syndications import SyndicationStore
from .webhooks import WebhookStore

log = logging.getLogger(__name__)

__all__ = ["Storage", "Transaction", "open_storage"]

#: One transaction of the store, as a caller outside storage holds it: only to hand back to
#: storage, so that what it writes commits together with the rest of that transaction.
Transaction = Connection


class Storage:
    """The store: one engine, one helper object per domain."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sources = SourceStore(self)
        self.stories = StoryStore(self)
        self.decisions = DecisionStore(self)
        self.syndications = SyndicationStore(self)
        self.coverage = CoverageStore(self)
        self.operations = OperationsStore(self)
        self.hub = HubStore(self)
        self.outbox = OutboxStore(self)
        self.alerts = AlertStore(self)
        self.webhooks = WebhookStore(self)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def insert_ignoring_conflicts(self, table: Table) -> Insert:
        """INSERT that does nothing when a unique key already exists (SQLite and PostgreSQL)."""
        if self.is_sqlite:
            return sqlite_insert(table).on_conflict_do_nothing()
        return postgresql_insert(table).on_conflict_do_nothing()

    def upserting(self, table: Table, keys: list[str], names: list[str]) -> Insert:
        """INSERT that sets the columns ``names`` of the row that already has these unique ``keys``."""
        statement = sqlite_insert(table) if self.is_sqlite else postgresql_insert(table)
        return statement.on_conflict_do_update(index_elements=keys,
                                               set_={n: statement.excluded[n] for n in names})

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One short transaction; database errors become :class:`StorageError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise self.error(e) from e

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise self.error(e) from e

    def error(self, e: SQLAlchemyError) -> StorageError:
        """The :class:`StorageError` a database error is reported as."""
        return StorageError(f"database error in {_where(self.engine.url.render_as_string())}: {_short(e)}")

    def schema_version(self) -> int:
        with self.connect() as conn:
            if not self.engine.dialect.has_table(conn, "schema_version"):
                return 0
            return conn.execute(select(func.max(_schema.schema_version.c.version))).scalar() or 0

    def serialise(self, conn: Connection, *names: str) -> None:
        """Make transactions that call this with a common name run one after the other.

        Transaction-scoped advisory locks on PostgreSQL, for writes whose rows other
        workers may be writing at the same moment; taken in one order, so two
        transactions never wait for each other in a circle. SQLite has one writer at a
        time anyway.
        """
        if self.is_sqlite or not names:
            return
        keys = sorted({int.from_bytes(hashlib.sha256(n.encode()).digest()[:8], "big", signed=True)
                       for n in names})
        conn.execute(text("SELECT count(pg_advisory_xact_lock(k)) FROM"
                          " (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"),
                     {"keys": keys})

    def has_tables(self) -> bool:
        """Whether the schema has been created here at all."""
        with self.connect() as conn:
            return bool(self.engine.dialect.has_table(conn, "schema_version"))

    def upgrade(self) -> int:
        """Bring the schema to the latest version; returns the version reached."""
        with self.begin() as conn:
            # processes starting at once on a new or outdated store (cron, `db upgrade` on two
            # hosts): the check and the change are one transaction that holds the write lock
            # from its start, so the second waits, then finds the work done
            if self.is_sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite would begin only at the INSERT
            self.serialise(conn, "schema upgrade")
            has_table = self.engine.dialect.has_table(conn, "schema_version")
            current = (
                conn.execute(select(func.max(_schema.schema_version.c.version))).scalar() or 0
                if has_table
                else 0
            )
            if current == 0:
                _schema.metadata.create_all(conn)
            else:
                for step in MIGRATIONS[current:]:
                    step(conn)
            if current < LATEST_VERSION:
                conn.execute(_schema.schema_version.delete())
                conn.execute(_schema.schema_version.insert().values(version=LATEST_VERSION))
                log.info("database schema upgraded from version %d to %d", current, LATEST_VERSION)
        return LATEST_VERSION

    def size_bytes(self) -> int | None:
        """The database's size on disk, where the database can tell."""
        with self.connect() as conn:
            if self.is_sqlite:
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
                size = conn.exec_driver_sql("PRAGMA page_size").scalar() or 0
                return int(pages) * int(size)
            if self.engine.dialect.name == "postgresql":
                return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0)
        return None

    @property
    def shares_between_threads(self) -> bool:
        """Whether a connection another thread takes sees the same database (an in-memory SQLite
        database is one per connection, and so per thread)."""
        return not (self.is_sqlite and self.engine.url.database in (None, "", ":memory:"))

    def checkpoint(self) -> None:
        """Copy what SQLite's write-ahead log holds into the database file now, after a long
        run of writes (elsewhere: nothing to do)."""
        if self.is_sqlite:
            with self.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.engine.dispose()


def open_storage(url: str, *, auto_upgrade: bool | None = None) -> Storage:
    """Open (and for SQLite create and migrate) the store at ``url``.

    Args:
        url: an SQLAlchemy database URL.
        auto_upgrade: migrate automatically; default true for SQLite only, since a
            shared PostgreSQL is upgraded on purpose with ``db upgrade``.

    Raises:
        StorageError: the database cannot be opened.
        SchemaOutdatedError: the schema is behind and may not be upgraded here.
    """
    try:
        engine = create_engine(url, future=True)
    except (SQLAlchemyError, ImportError, ValueError) as e:
        raise StorageError(f"cannot open database {_redact(url)}: {_short(e)}") from e
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    storage = Storage(engine)
    if auto_upgrade is None:
        auto_upgrade = storage.is_sqlite
    try:
        version = storage.schema_version()
    except StorageError as e:
        engine.dispose()
        raise StorageError(f"cannot open {_where(url)}: {_short(e.__cause__ or e)}") from e
    if version < LATEST_VERSION:
        if auto_upgrade:
            storage.upgrade()
        else:
            empty = version == 0 and not storage.has_tables()
            engine.dispose()
            if empty:
                raise SchemaOutdatedError(
                    f"database {_redact(url)} has no tables yet: run `sociaalwerk-publisher db upgrade`"
                    f" to create them (schema version {LATEST_VERSION})"
                )
            raise SchemaOutdatedError(
                f"database schema is at version {version}, this program needs {LATEST_VERSION}:"
                " run `sociaalwerk-publisher db upgrade`"
            )
    elif version > LATEST_VERSION:
        engine.dispose()
        raise SchemaOutdatedError(
            f"database schema version {version} is newer than this program ({LATEST_VERSION}):"
            " upgrade sociaalwerk-publisher"
        )
    return storage


#: How long a connection waits for another one's write lock on SQLite.
BUSY_TIMEOUT_SECONDS = 30
#: Pages SQLite's write-ahead log may hold before a commit copies them into the database file
#: (its default is 1,000). A coverage pass's batches each touch some 11,000 pages of the pickup
#: index, mostly the same ones: copying them back after every batch took 1.4 of the 6.5 s of
#: 10,000 new items on a year's store, once at the end of the pass (:meth:`Storage.checkpoint`)
#: 0.2 s.
WAL_CHECKPOINT_PAGES = 65_536
#: What a log is cut back to once copied back, so a big one does not stay on disk.
WAL_KEEP_BYTES = 64 * 2**20


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """WAL mode, which the file keeps once set. Processes opening a new file at the same moment
    all switch it, and SQLite refuses all but one at once ("database is locked") instead of
    waiting for the busy timeout: the others try again until the first one is done."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # a no-op once the file is in WAL mode
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
def _where(url: str) -> str:
    """A database for messages: a SQLite file by its path, a server by its URL without password."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a URL we cannot parse is shown without its userinfo
        return _redact(url)
    return parsed.database or url if parsed.get_backend_name() == "sqlite" else _redact(url)


def _short(e: BaseException) -> str:
    return str(getattr(e, "orig", None) or e).splitlines()[0]


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL we cannot parse is shown without its userinfo
        return url.split("@")[-1]
