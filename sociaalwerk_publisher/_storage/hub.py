"""Reads and writes of stories under review on the hub."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, insert, select, update

from ._schema import hub_reviews
from .records import EditorVersion, HubReviewRecord

if TYPE_CHECKING:
    from . import Storage


def _to_record(row: Row[Any]) -> HubReviewRecord:
    return HubReviewRecord(
        row.story_id, row.remote_id, row.state, row.queued_at, row.story_hash, row.pushed_hash, row.conflict,
        row.decided_at, row.checked_at, row.version_hash,
    )


class HubStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def all(self) -> dict[int, HubReviewRecord]:
        with self._storage.connect() as conn:
            return {row.story_id: _to_record(row) for row in conn.execute(select(hub_reviews))}

    def get(self, story_id: int) -> HubReviewRecord | None:
        with self._storage.connect() as conn:
            row = conn.execute(select(hub_reviews).where(hub_reviews.c.story_id == story_id)).first()
        return _to_record(row) if row is not None else None

    def add(self, **values: Any) -> None:
        with self._storage.begin() as conn:
            conn.execute(insert(hub_reviews).values(**values))

    def update(self, story_id: int, **values: Any) -> None:
        with self._storage.begin() as conn:
            conn.execute(update(hub_reviews).where(hub_reviews.c.story_id == story_id).values(**values))

    def versions(self) -> dict[int, EditorVersion]:
        """Editors' versions of approved stories, by story id."""
        query = select(hub_reviews).where(hub_reviews.c.version_hash.is_not(None))
        with self._storage.connect() as conn:
            return {row.story_id: EditorVersion(row.title, row.content_html, row.categories, row.tags,
                                                row.image_url, row.version_hash)
                    for row in conn.execute(query)}

    def queued_since(self, since: datetime | None) -> int:
        query = select(hub_reviews.c.id).where(hub_reviews.c.state == "pending")
        if since is not None:
            query = query.where(hub_reviews.c.queued_at > since)
        with self._storage.connect() as conn:
            return len(conn.execute(query).all())

    def conflicts(self) -> list[HubReviewRecord]:
        query = select(hub_reviews).where(hub_reviews.c.conflict.is_not(None))
        with self._storage.connect() as conn:
            return [_to_record(row) for row in conn.execute(query)]
