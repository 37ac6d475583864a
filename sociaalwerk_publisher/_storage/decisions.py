"""Reads and writes of editorial decisions (the audit trail) and story states."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select, update

from ..clock import utcnow
from ..exceptions import StoryNotFoundError
from ..types import Decision, StoryStatus
from ._schema import decisions, stories

if TYPE_CHECKING:
    from . import Storage

#: the webhook event a decision to this status is
EVENTS = {StoryStatus.APPROVED: "story.approved", StoryStatus.RETRACTED: "story.retracted"}


class DecisionStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def status(self, conn: Connection, story_id: int) -> StoryStatus:
        value = conn.execute(select(stories.c.status).where(stories.c.id == story_id)).scalar()
        if value is None:
            raise StoryNotFoundError(f"no story with id {story_id}", story_id)
        return StoryStatus(value)

    def record(self, conn: Connection, decision: Decision) -> bool:
        """Apply and log a decision; false if the story left ``from_status`` meanwhile."""
        changed = conn.execute(
            update(stories)
            .where(stories.c.id == decision.story_id)
            .where(stories.c.status == decision.from_status.value)
            .values(status=decision.to_status.value)
        ).rowcount
        if changed:
            conn.execute(insert(decisions).values(
                story_id=decision.story_id, from_status=decision.from_status.value,
                to_status=decision.to_status.value, decided_by=decision.decided_by,
                decided_at=decision.decided_at, note=decision.note,
            ))
            kind = EVENTS.get(decision.to_status)
            if kind is not None and self._storage.webhooks.wants(kind):
                story = conn.execute(select(stories.c.title, stories.c.canonical_url)
                                     .where(stories.c.id == decision.story_id)).one()
                self._storage.webhooks.record(conn, kind, {
                    "story_id": decision.story_id, "title": story.title, "url": story.canonical_url,
                    "from_status": decision.from_status.value, "decided_by": decision.decided_by,
                    "decided_at": decision.decided_at.isoformat(), "note": decision.note,
                }, utcnow(), story_id=decision.story_id)
        return bool(changed)

    def history(self, story_id: int) -> list[Decision]:
        query = select(decisions).where(decisions.c.story_id == story_id).order_by(decisions.c.id)
        with self._storage.connect() as conn:
            return [
                Decision(row.story_id, StoryStatus(row.from_status), StoryStatus(row.to_status),
                         row.decided_by, row.decided_at, row.note)
                for row in conn.execute(query)
            ]
