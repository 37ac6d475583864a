"""Reads and writes of sources and their polling state."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..exceptions import SourceNotFoundError, UsageError
from ..types import Source, SourceKind
from ._schema import sources

if TYPE_CHECKING:
    from . import Storage

_PUBLIC = (
    "id", "url", "kind", "title", "organisation", "municipality", "ambassador", "trusted",
    "active", "created_at", "last_polled_at", "last_success_at", "last_error",
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
                new_id = conn.execute(insert(sources).values(**values)).inserted_primary_key[0]
        except Exception as e:
            if isinstance(e.__cause__, IntegrityError):
                existing = self.find_by_url(values["url"])
                if existing is not None:
                    raise UsageError(
                        f"source {existing.id} already has this URL: {values['url']}"
                    ) from e
            raise
        return self.get(new_id)

    def get(self, source_id: int) -> Source:
        with self._storage.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.id == source_id)).first()
        if row is None:
            raise SourceNotFoundError(f"no source with id {source_id}")
        return _to_source(row)

    def find_by_url(self, url: str) -> Source | None:
        with self._storage.connect() as conn:
            row = conn.execute(select(sources).where(sources.c.url == url)).first()
        return _to_source(row) if row is not None else None

    def list(self, *, active_only: bool = False, due_before: datetime | None = None) -> list[Source]:
        query = select(sources).order_by(sources.c.id)
        if active_only or due_before is not None:
            query = query.where(sources.c.active.is_(True))
        if due_before is not None:
            query = query.where(
                or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at <= due_before)
            )
        with self._storage.connect() as conn:
            return [_to_source(row) for row in conn.execute(query)]

    def update(self, source_id: int, values: dict[str, Any], conn: Connection | None = None) -> None:
        if conn is None:
            with self._storage.begin() as conn:
                self.update(source_id, values, conn)
            return
        result = conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
        if result.rowcount == 0:
            raise SourceNotFoundError(f"no source with id {source_id}")

    def remove(self, source_id: int) -> None:
        with self._storage.begin() as conn:
            if conn.execute(delete(sources).where(sources.c.id == source_id)).rowcount == 0:
                raise SourceNotFoundError(f"no source with id {source_id}")

    def validators(self, source_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
        """The ETag and Last-Modified last seen per source, for conditional GETs."""
        query = select(sources.c.id, sources.c.etag, sources.c.last_modified)
        with self._storage.connect() as conn:
            return {
                row.id: (row.etag, row.last_modified)
                for row in conn.execute(query.where(sources.c.id.in_(source_ids)))
            }
