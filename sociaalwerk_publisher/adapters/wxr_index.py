"""Where each item of a WXR file is, kept beside the file in SQLite (``<file>.index``).

The index lets the adapter add, find, change and remove one item without reading the
whole file: per item its id, type, status, slug, marker, featured image and byte range;
the term ids the file defines; and the state of the file it describes (inode, size,
modification time, where its closing tags start, the bytes before them, the whitespace
left by removed items).

It is a cache of the file, never the other way round: whenever the file is not the one
described (a crash between a write and its commit, an edit by hand, a lost index), the
adapter rebuilds it from the file. So a commit need not wait for the disk, except around
the *journal*: the bytes a change is about to overwrite inside the file, committed
durably before they are overwritten, so that a change cut short can be undone, and
cleared durably after, so that a power cut never brings an undone journal back.
"""

from __future__ import annotations

import contextlib
import sqlite3
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

from .wxr_format import TermDef

__all__ = ["FileState", "Index", "Row"]

#: Bump when the tables change; an index of another version is rebuilt from the file.
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, tail INTEGER NOT NULL,
    dead INTEGER NOT NULL, anchor BLOB NOT NULL, channel TEXT NOT NULL);
CREATE TABLE items (
    post_id INTEGER PRIMARY KEY, post_type TEXT NOT NULL, status TEXT NOT NULL, slug TEXT NOT NULL,
    marker TEXT, thumbnail INTEGER, attachment_url TEXT, parent INTEGER NOT NULL,
    offset INTEGER NOT NULL, length INTEGER NOT NULL);
CREATE INDEX items_marker ON items (marker);
CREATE INDEX items_slug ON items (slug);
CREATE INDEX items_url ON items (attachment_url);
CREATE INDEX items_thumbnail ON items (thumbnail);
CREATE INDEX items_parent ON items (parent);
CREATE TABLE terms (taxonomy TEXT NOT NULL, slug TEXT NOT NULL, term_id INTEGER NOT NULL,
                    PRIMARY KEY (taxonomy, slug));
CREATE TABLE journal (offset INTEGER PRIMARY KEY, before BLOB NOT NULL);
"""
_TABLES = ("state", "items", "terms", "journal")
_ROW_COLUMNS = "post_id, post_type, status, slug, marker, thumbnail, attachment_url, parent, offset, length"


@dataclass(frozen=True)
class FileState:
    """The file an index describes, as it was when the last change was committed."""

    ino: int
    size: int
    mtime_ns: int
    tail: int  #: where the closing tags start (whitespace may follow them)
    dead: int  #: bytes of whitespace where removed items were
    anchor: bytes  #: the bytes just before the tail, to recognise the file after a torn append
    channel: str  #: the channel the header was written for

    def same_file(self, ino: int, size: int, mtime_ns: int) -> bool:
        """Whether a ``stat`` of the file shows it unchanged since the commit."""
        return (ino, size, mtime_ns) == (self.ino, self.size, self.mtime_ns)


@dataclass(frozen=True)
class Row:
    """One item: what the adapter looks items up by, and where its bytes are."""

    post_id: int
    post_type: str
    status: str
    slug: str
    marker: str | None
    thumbnail: int | None  #: the featured image's attachment id
    attachment_url: str | None
    parent: int
    offset: int
    length: int


class Index:
    """The SQLite file beside a WXR file; the caller holds the file's lock around every use.

    Args:
        path: the index file; created (with its tables) if missing, rebuilt empty if it
            is not an index of this version.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:  # not a database (any more): it is only a cache
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{path}{suffix}").unlink()
            self._db = self._open()
        self._close = weakref.finalize(self, self._db.close)  # also when an adapter is never closed

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA secure_delete = ON")  # a removed item's bytes leave the journal for good
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                with self._transaction(db, durable=False):
                    for table in _TABLES:
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    @contextlib.contextmanager
    def _transaction(db: sqlite3.Connection, *, durable: bool) -> Iterator[None]:
        # a cache of the file: a commit lost with the power is noticed (the file differs) and rebuilt
        db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close the database (SQLite removes its write-ahead log when the last user closes)."""
        self._close()

    # ----------------------------------------------------------------- reading

    def state(self) -> FileState | None:
        """The described file, or ``None`` when the index describes none (new, or forgotten)."""
        found = self._db.execute("SELECT ino, size, mtime_ns, tail, dead, anchor, channel FROM state").fetchone()
        return FileState(*found) if found else None

    def journal(self) -> list[tuple[int, bytes]]:
        """What an unfinished change overwrote: (offset, the bytes before), by offset."""
        return [(offset, bytes(before)) for offset, before
                in self._db.execute("SELECT offset, before FROM journal ORDER BY offset")]

    def row(self, post_id: int) -> Row | None:
        """The item with this id."""
        return self._one(f"SELECT {_ROW_COLUMNS} FROM items WHERE post_id = ?", post_id)

    def live_post(self, marker: str) -> Row | None:
        """The first post (not in the trash) with this marker."""
        if not marker:
            return None
        return self._one(f"SELECT {_ROW_COLUMNS} FROM items WHERE marker = ? AND post_type = 'post'"
                         " AND status != 'trash' ORDER BY offset LIMIT 1", marker)

    def named(self, slug: str) -> list[int]:
        """The items (of any type and status) whose ``post_name`` is ``slug``."""
        return [i for (i,) in self._db.execute("SELECT post_id FROM items WHERE slug = ?", (slug,))]

    def attachment_for(self, url: str) -> Row | None:
        """The attachment of the image at ``url``."""
        return self._one(f"SELECT {_ROW_COLUMNS} FROM items WHERE attachment_url = ?"
                         " AND post_type = 'attachment' ORDER BY offset LIMIT 1", url)

    def users(self, attachment_id: int) -> list[int]:
        """The items whose featured image this attachment is."""
        return [i for (i,) in self._db.execute(
            "SELECT post_id FROM items WHERE thumbnail = ? ORDER BY post_id", (attachment_id,))]

    def children(self, post_id: int) -> list[int]:
        """The attachments whose parent is this item."""
        return [i for (i,) in self._db.execute(
            "SELECT post_id FROM items WHERE parent = ? AND post_type = 'attachment'", (post_id,))]

    def max_id(self) -> int:
        """The highest item id (0 without items)."""
        return int(self._db.execute("SELECT coalesce(max(post_id), 0) FROM items").fetchone()[0])

    def term_id(self, taxonomy: str, slug: str) -> int | None:
        """The id of a term the file defines."""
        found = self._db.execute("SELECT term_id FROM terms WHERE taxonomy = ? AND slug = ?",
                                 (taxonomy, slug)).fetchone()
        return int(found[0]) if found else None

    def max_term_id(self) -> int:
        """The highest term id (0 without terms)."""
        return int(self._db.execute("SELECT coalesce(max(term_id), 0) FROM terms").fetchone()[0])

    def _one(self, sql: str, *args: object) -> Row | None:
        found = self._db.execute(sql, args).fetchone()
        return Row(*found) if found else None

    # ----------------------------------------------------------------- writing

    def write_journal(self, before: Iterable[tuple[int, bytes]]) -> None:
        """Commit what a change is about to overwrite, before it does (durably)."""
        with self._transaction(self._db, durable=True):
            self._db.execute("DELETE FROM journal")
            self._db.executemany("INSERT INTO journal (offset, before) VALUES (?, ?)", before)

    def commit(self, state: FileState, rows: Iterable[Row], dropped: Iterable[int],
               terms: Iterable[TermDef], *, durable: bool = False) -> None:
        """Record a finished change in one transaction, and clear the journal (``durable``: if any)."""
        with self._transaction(self._db, durable=durable):
            self._db.executemany("DELETE FROM items WHERE post_id = ?", ((i,) for i in dropped))
            self._put(state, rows, terms)

    def settle(self, state: FileState) -> None:
        """The file is back as committed (a change was undone): note its new identity, clear the journal."""
        with self._transaction(self._db, durable=True):
            self._put(state, (), ())

    def replace_all(self, state: FileState, rows: Iterable[Row], terms: Iterable[TermDef]) -> None:
        """Describe a newly written file."""
        with self._transaction(self._db, durable=False):
            self._db.execute("DELETE FROM items")
            self._db.execute("DELETE FROM terms")
            self._put(state, rows, terms)

    def forget(self) -> None:
        """Describe no file, so that the next use rebuilds the index from the file."""
        with self._transaction(self._db, durable=True):
            for table in _TABLES:
                self._db.execute(f"DELETE FROM {table}")

    def _put(self, state: FileState, rows: Iterable[Row], terms: Iterable[TermDef]) -> None:
        placeholders = ", ".join("?" * 10)
        self._db.executemany(f"INSERT OR REPLACE INTO items ({_ROW_COLUMNS}) VALUES ({placeholders})",
                             (astuple(r) for r in rows))
        self._db.executemany("INSERT OR REPLACE INTO terms (taxonomy, slug, term_id) VALUES (?, ?, ?)",
                             ((t.taxonomy, t.slug, t.term_id) for t in terms))
        self._db.execute("INSERT OR REPLACE INTO state (id, ino, size, mtime_ns, tail, dead, anchor, channel)"
                         " VALUES (1, ?, ?, ?, ?, ?, ?, ?)", astuple(state))
        self._db.execute("DELETE FROM journal")
