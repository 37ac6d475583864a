"""Reads and writes of the outbox: messages stored before sending, each claimed while it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, or_, select, update

from ..types import OutboxItem
from ._schema import outbox
from .claims import RELEASED, free, taken_by

if TYPE_CHECKING:
    from . import Storage

#: the outbox kinds that are reports (national and a member's)
REPORT_KINDS = ("report", "member-report")


class OutboxStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def has(self, key: str) -> bool:
        with self._storage.connect() as conn:
            return conn.execute(select(outbox.c.id).where(outbox.c.key == key)).first() is not None

    def add(self, key: str, kind: str, message_id: str, subject: str, recipients: Sequence[str],
            message: bytes, now: datetime, conn: Connection | None = None) -> bool:
        """Store a message under ``key``; false if that key is already in the outbox.

        With ``conn``, inside that transaction (so it commits with what the message is about).
        """
        if conn is None:
            with self._storage.begin() as own:
                return self.add(key, kind, message_id, subject, recipients, message, now, own)
        # several hosts may build the same report at once: the unique key keeps the first
        added = conn.execute(self._storage.insert_ignoring_conflicts(outbox).values(
            key=key, kind=kind, message_id=message_id, subject=subject, recipients="\t".join(recipients),
            message=message, state="pending", attempts=0, created_at=now,
        )).rowcount
        return bool(added)

    def items(self) -> list[OutboxItem]:
        with self._storage.connect() as conn:
            return [
                OutboxItem(r.key, r.kind, r.subject, tuple(r.recipients.split("\t")), r.state, r.attempts,
                           r.last_error, r.created_at, r.sent_at, r.message_id)
                for r in conn.execute(select(outbox).order_by(outbox.c.id))
            ]

    def due(self, now: datetime, *, keys: Sequence[str] | None = None, force: bool = False) -> list[str]:
        """Keys of pending messages whose next attempt is due (any pending one with ``force``)."""
        query = select(outbox.c.key).where(outbox.c.state == "pending")
        if not force:
            query = query.where(or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
        if keys is not None:
            query = query.where(outbox.c.key.in_(list(keys)))
        with self._storage.connect() as conn:
            return [row.key for row in conn.execute(query.order_by(outbox.c.id))]

    def claim(self, key: str, worker: str, now: datetime, hold: timedelta) -> Row[Any] | None:
        """The pending message under ``key``, claimed by ``worker`` for ``hold``; ``None`` when
        another worker holds it or it is no longer pending."""
        with self._storage.begin() as conn:
            claimed = conn.execute(
                update(outbox).where(outbox.c.key == key, outbox.c.state == "pending", free(outbox, now))
                .values(**taken_by(worker, now + hold), attempts=outbox.c.attempts + 1)
            ).rowcount
            return conn.execute(select(outbox).where(outbox.c.key == key)).first() if claimed else None

    def finish(self, key: str, **values: Any) -> None:
        """Record how sending went and release the claim; a report sent is a ``report.sent``
        webhook event, recorded in the same transaction."""
        with self._storage.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.key == key).values(**RELEASED, **values))
            if values.get("state") == "sent" and self._storage.webhooks.wants("report.sent"):
                row = conn.execute(select(outbox.c.kind, outbox.c.subject, outbox.c.message_id, outbox.c.recipients)
                                   .where(outbox.c.key == key, outbox.c.kind.in_(REPORT_KINDS))).first()
                if row is not None:
                    self._storage.webhooks.record(conn, "report.sent", {
                        "key": key, "kind": row.kind, "subject": row.subject, "message_id": row.message_id,
                        "recipients": len(row.recipients.split("\t")), "sent_at": values["sent_at"].isoformat(),
                    }, values["sent_at"], about=key)
