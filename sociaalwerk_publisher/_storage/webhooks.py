"""Reads and writes of webhook events: recorded with the change that causes them, each claimed
while it is delivered."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, case, delete, func, or_, select, update
from sqlalchemy.sql import Select

from ._schema import webhook_events
from .claims import RELEASED, free, taken_by

if TYPE_CHECKING:
    from . import Storage

#: the namespace of event ids derived from what an event is about (a mention, a report)
_NAMESPACE = uuid.UUID("4f1c7f5e-2b1d-4d7e-9a57-5b3c9f0e6a21")


class WebhookStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        # event type -> the webhooks that want it. Events are written deep in the store, in the
        # transaction of the change (a decision, a syndication record, a batch of mentions), so
        # the store itself knows who wants what; the publisher sets it from the config.
        self._wanted: dict[str, tuple[str, ...]] = {}

    def want(self, wanted: Mapping[str, Sequence[str]]) -> None:
        """Which webhooks (by name) want each event type; an event nobody wants is not written."""
        self._wanted = {kind: tuple(names) for kind, names in wanted.items() if names}

    def wants(self, kind: str) -> bool:
        return bool(self._wanted.get(kind))

    def record(self, conn: Connection, kind: str, data: Mapping[str, Any], now: datetime, *,
               story_id: int | None = None, about: str | None = None) -> None:
        """Record an event for each webhook that wants ``kind``, inside ``conn``'s transaction.

        ``about`` names what the event is about once and for all (e.g. a mention): its id is
        derived from it, so an event recorded twice (two hosts matching the same item) is kept
        once. Without it the event gets a random id.
        """
        self.record_many(conn, kind, [(data, story_id, about)], now)

    def record_many(self, conn: Connection, kind: str,
                    events: Sequence[tuple[Mapping[str, Any], int | None, str | None]], now: datetime) -> None:
        """:meth:`record` for several events of one kind: (data, story id, about) each."""
        names = self._wanted.get(kind)
        if not names or not events:
            return
        rows = []
        for data, story_id, about in events:
            event_id = str(uuid.uuid5(_NAMESPACE, f"{kind}:{about}") if about else uuid.uuid4())
            body = json.dumps({"id": event_id, "type": kind, "created_at": now.isoformat(), "data": data},
                              ensure_ascii=False, separators=(",", ":"), default=str)
            rows += [{"event_id": event_id, "webhook": name, "type": kind, "story_id": story_id, "body": body,
                      "created_at": now, "attempts": 0} for name in names]
        conn.execute(self._storage.insert_ignoring_conflicts(webhook_events), rows)

    def due(self, now: datetime, webhooks: Sequence[str], *, force: bool = False, limit: int = 1000) -> list[Row[Any]]:
        """Undelivered events of these webhooks whose attempt is due (any with ``force``), oldest first."""
        query = select(webhook_events.c.id, webhook_events.c.webhook, webhook_events.c.story_id) \
            .where(webhook_events.c.delivered_at.is_(None), webhook_events.c.webhook.in_(list(webhooks)))
        if not force:
            query = query.where(or_(webhook_events.c.next_attempt_at.is_(None),
                                    webhook_events.c.next_attempt_at <= now))
        with self._storage.connect() as conn:
            return list(conn.execute(query.order_by(webhook_events.c.id).limit(limit)))

    def claim(self, event: int, worker: str, now: datetime, hold: timedelta) -> Row[Any] | None:
        """The undelivered event, claimed by ``worker`` for ``hold``; ``None`` when another worker
        holds it, it was delivered meanwhile, or an earlier event of its story and webhook is
        still undelivered (events of a story go out in order)."""
        with self._storage.begin() as conn:
            claimed = conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id == event, webhook_events.c.delivered_at.is_(None),
                       free(webhook_events, now), ~_earlier_undelivered().exists())
                .values(**taken_by(worker, now + hold), attempts=webhook_events.c.attempts + 1)
            ).rowcount
            return conn.execute(select(webhook_events).where(webhook_events.c.id == event)).first() \
                if claimed else None

    def finish(self, event: int, **values: Any) -> None:
        """Record how delivery went and release the claim."""
        with self._storage.begin() as conn:
            conn.execute(update(webhook_events).where(webhook_events.c.id == event).values(**RELEASED, **values))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per webhook: events pending (not tried yet), failed (tried, still retried) and delivered."""
        state = case((webhook_events.c.delivered_at.is_not(None), "delivered"),
                     (webhook_events.c.attempts > 0, "failed"), else_="pending")
        query = select(webhook_events.c.webhook, state.label("state"), func.count()) \
            .group_by(webhook_events.c.webhook, state)
        found: dict[str, dict[str, int]] = {}
        with self._storage.connect() as conn:
            for webhook, name, n in conn.execute(query):
                found.setdefault(webhook, {})[name] = int(n)
        return found

    def prune_delivered(self, before: datetime) -> None:
        """Forget events delivered before ``before``."""
        with self._storage.begin() as conn:
            conn.execute(delete(webhook_events).where(webhook_events.c.delivered_at < before))


def _earlier_undelivered() -> Select[Any]:
    """An earlier undelivered event of the same story and webhook as the row being updated."""
    earlier = webhook_events.alias("earlier")
    this = webhook_events
    return select(earlier.c.id).where(and_(
        this.c.story_id.is_not(None), earlier.c.story_id == this.c.story_id, earlier.c.webhook == this.c.webhook,
        earlier.c.delivered_at.is_(None), earlier.c.id < this.c.id))
