"""Reads and writes of sources and their polling state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..exceptions import SourceNotFoundError, UsageError
from ..types import Source, SourceKind
from ._schema import sources
from .claims import RELEASED, free, taken_by

if TYPE_CHECKING:
    from . import Storage

_PUBLIC = (
    "id", "url", "kind", "title", "organisation", "municipality", "ambassador", "trusted",
    "active", "created_at", "last_polled_at", "last_success_at", "last_error", "last_error_kind",
    "last_problem", "consecutive_failures", "next_poll_at", "deactivated_reason",
)


def _to_source(row: Row[Any]) -> Source:
    values = {name: getattr(row, name) for name in _PUBLIC}
    values["kind"] = SourceKind(values["kind"])
    return Source(**values)


class SourceStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def add(self, values: dict[str, Any]) -> Source:
        try:
            with self._storage.begin() as conn:
                key = conn.execute(insert(sources).values(**values)).inserted_primary_key
                assert key is not None
                new_id = key[0]
        except Exception as e:
            if isinstance(e.__cause__, IntegrityError):
                existing = self.find_by_url(values["url"])
                if existing is not None:
                    raise UsageError(
                        f"source {existing.id} already has this URL: {values['url']}"
                    ) from e
            raise
        return self.get(new_id)

    def add_missing(self, values: dict[str, Any]) -> Source | None:
        """Add a source unless one has its URL already (perhaps added by another worker this
        very moment, as when several hosts import the same OPML file); ``None`` then."""
        with self._storage.begin() as conn:
            new_id = conn.execute(self._storage.insert_ignoring_conflicts(sources).values(**values)
                                  .returning(sources.c.id)).scalar()
        return self.get(new_id) if new_id is not None else None

    def get(self, source_id: int) -> Source:
        with self._storage.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.id == source_id)).first()
        if row is None:
            raise SourceNotFoundError(source_id)
        return _to_source(row)

    def find_by_url(self, url: str) -> Source | None:
        with self._storage.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.url == url)).first()
        return _to_source(row) if row is not None else None

    def list(self, *, active_only: bool = False, due_before: datetime | None = None) -> list[Source]:
        """Sources by id; ``due_before``: active ones due by then that no other worker is polling."""
        query = select(sources).where(*_chosen(active_only, due_before)).order_by(sources.c.id)
        with self._storage.connect() as conn:
            return [_to_source(row) for row in conn.execute(query)]

    def count(self, *, active_only: bool = False, due_before: datetime | None = None) -> int:
        """How many sources :meth:`list` would return, counted by the database."""
        query = select(func.count()).select_from(sources).where(*_chosen(active_only, due_before))
        with self._storage.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def update(self, source_id: int, values: dict[str, Any], conn: Connection | None = None) -> None:
        if conn is None:
            with self._storage.begin() as conn:
                self.update(source_id, values, conn)
            return
        result = conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
        if result.rowcount == 0:
            raise SourceNotFoundError(source_id)

    def remove(self, source_id: int) -> None:
        with self._storage.begin() as conn:
            if conn.execute(delete(sources).where(sources.c.id == source_id)).rowcount == 0:
                raise SourceNotFoundError(source_id)

    def claim(self, wanted: Mapping[int, datetime | None], worker: str, now: datetime,
              expires: datetime) -> dict[int, tuple[str | None, str | None]]:
        """Take sources for polling; returns the ETag and Last-Modified of each one taken.

        ``wanted`` maps source ids to the next poll time the caller read. A source is
        taken only if no other worker holds an unexpired claim on it and its next poll
        time is unchanged: a source another worker polled meanwhile has moved on, so one
        cycle never polls it twice (and a claim from a killed worker simply expires).
        On PostgreSQL the rows are first locked with ``FOR UPDATE SKIP LOCKED``, so
        workers claiming at the same moment pass each other by instead of queueing; on
        SQLite, with one writer at a time, the conditional UPDATE alone decides.
        The claim is committed before the caller goes to the network.
        """
        if not wanted:
            return {}
        with self._storage.begin() as conn:
            candidates = sorted(wanted)
            if not self._storage.is_sqlite:
                candidates = list(conn.execute(
                    select(sources.c.id).where(sources.c.id.in_(candidates), free(sources, now))
                    .order_by(sources.c.id).with_for_update(skip_locked=True)
                ).scalars())
            if not candidates:
                return {}
            # one statement for the whole batch; the few whose next poll time moved on are
            # handed back before the commit, so no other worker ever sees them claimed
            conn.execute(update(sources).where(sources.c.id.in_(candidates), free(sources, now))
                         .values(**taken_by(worker, expires)))
            rows = conn.execute(select(sources.c.id, sources.c.etag, sources.c.last_modified, sources.c.next_poll_at)
                                .where(sources.c.id.in_(candidates), sources.c.claimed_by == worker,
                                       sources.c.claim_expires_at == expires)).all()
            moved_on = {row.id for row in rows if row.next_poll_at != wanted[row.id]}
            if moved_on:
                conn.execute(update(sources).where(sources.c.id.in_(sorted(moved_on))).values(**RELEASED))
            return {row.id: (row.etag, row.last_modified) for row in rows if row.id not in moved_on}

    def record_quiet_polls(self, polls: Sequence[tuple[int, datetime, datetime]]) -> None:
        """Record polls that found nothing new, ``(source id, polled at, next poll)``, in one
        transaction, releasing their claims; a source removed meanwhile is left out."""
        if not polls:
            return
        with self._storage.begin() as conn:
            conn.execute(update(sources).where(sources.c.id == bindparam("_id")).values(
                last_polled_at=bindparam("_at"), last_success_at=bindparam("_at"), next_poll_at=bindparam("_next"),
                **RELEASED,
            ), [{"_id": i, "_at": at, "_next": next_poll} for i, at, next_poll in polls])

    def release(self, source_ids: Iterable[int], worker: str) -> None:
        """Drop ``worker``'s claims on sources it did not get to poll."""
        ids = list(source_ids)
        if not ids:
            return
        with self._storage.begin() as conn:
            conn.execute(update(sources).where(sources.c.id.in_(ids), sources.c.claimed_by == worker)
                         .values(**RELEASED))



def _chosen(active_only: bool, due_before: datetime | None) -> list[ColumnElement[bool]]:
    """The conditions of :meth:`SourceStore.list` and :meth:`SourceStore.count`."""
    conditions: list[ColumnElement[bool]] = []
    if active_only or due_before is not None:
        conditions.append(sources.c.active.is_(True))
    if due_before is not None:
        conditions += [or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at <= due_before),
                       free(sources, due_before)]
    return conditions
