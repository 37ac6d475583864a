"""Reads and writes of alerts: which mentions the alert step has looked at, and spike state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, delete, func, select, update

from ._schema import alert_spikes, alerted_mentions, mention_facts, mentions, outlets, stories

if TYPE_CHECKING:
    from . import Storage

#: Only mentions fetched this recently alert: an upgrade, a new source with a long history or a
#: big import never mails the past.
FETCHED_WITHIN = timedelta(days=7)


def _press() -> Any:
    """A mention that counts as press coverage (not excluded, not our own channel)."""
    return and_(mentions.c.counted.is_(True), mentions.c.own_channel.is_(False))


class AlertStore:
    def __init__(self, storage: Storage, conn: Connection | None = None) -> None:
        self._storage = storage
        self._conn = conn

    @contextmanager
    def turn(self) -> Iterator[AlertStore]:
        """This store bound to one transaction that hosts take one after the other: what one
        looks at, marks seen and queues commits whole before the next one looks.

        On SQLite the write lock is taken at once (BEGIN IMMEDIATE), so the second waits and
        then sees the first one's marks; on PostgreSQL an advisory lock does the same.
        """
        with self._storage.begin() as conn:
            if self._storage.is_sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                self._storage.serialise(conn, "alerts")
            yield AlertStore(self._storage, conn)

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "use within turn()"
        return self._conn

    def new_mentions(self, fetched_since: datetime) -> list[Row[Any]]:
        """Press mentions of items fetched since ``fetched_since`` that no alert step has looked
        at, newest first: id, title, text, url, published_at, outlet, municipality."""
        seen = select(alerted_mentions.c.mention_id).where(alerted_mentions.c.mention_id == mentions.c.id)
        query = (
            select(mentions.c.id, stories.c.title, stories.c.text,
                   func.coalesce(mentions.c.url, stories.c.canonical_url).label("url"), mentions.c.published_at,
                   outlets.c.name.label("outlet"), mentions.c.municipality)
            .select_from(mentions.join(stories, stories.c.id == mentions.c.story_id)
                         .join(outlets, outlets.c.id == mentions.c.outlet_id))
            .where(_press(), stories.c.first_seen_at >= fetched_since, ~seen.exists())
            .order_by(mentions.c.published_at.desc(), mentions.c.id.desc())
        )
        return list(self.conn.execute(query))

    def facts(self, mention_ids: Sequence[int], kinds: Sequence[str]) -> dict[int, set[tuple[str, str]]]:
        """The (kind, value) facts of these kinds of each of these mentions."""
        found: dict[int, set[tuple[str, str]]] = {m: set() for m in mention_ids}
        query = select(mention_facts.c.mention_id, mention_facts.c.kind, mention_facts.c.value) \
            .where(mention_facts.c.kind.in_(list(kinds)))
        for chunk in _chunks(mention_ids, 500):
            for mention_id, kind, value in self.conn.execute(query.where(mention_facts.c.mention_id.in_(chunk))):
                found[mention_id].add((kind, value))
        return found

    def mark_seen(self, mention_ids: Sequence[int], now: datetime) -> None:
        for chunk in _chunks(mention_ids, 500):
            self.conn.execute(self._storage.insert_ignoring_conflicts(alerted_mentions),
                              [{"mention_id": m, "seen_at": now} for m in chunk])

    def prune_seen(self, before: datetime) -> None:
        """Forget marks older than ``before``: their mentions are out of the alert window."""
        self.conn.execute(delete(alerted_mentions).where(alerted_mentions.c.seen_at < before))

    def counted(self, after: datetime, until: datetime) -> int:
        """Press mentions published after ``after``, up to and including ``until``."""
        query = select(func.count()).select_from(mentions).where(
            _press(), mentions.c.published_at > after, mentions.c.published_at <= until)
        return int(self.conn.execute(query).scalar() or 0)

    def published(self, after: datetime, until: datetime, limit: int) -> list[Row[Any]]:
        """The newest ``limit`` press mentions published in that time, as :meth:`new_mentions`."""
        query = (
            select(mentions.c.id, stories.c.title, func.coalesce(mentions.c.url, stories.c.canonical_url).label("url"),
                   mentions.c.published_at, outlets.c.name.label("outlet"), mentions.c.municipality)
            .select_from(mentions.join(stories, stories.c.id == mentions.c.story_id)
                         .join(outlets, outlets.c.id == mentions.c.outlet_id))
            .where(_press(), mentions.c.published_at > after, mentions.c.published_at <= until)
            .order_by(mentions.c.published_at.desc(), mentions.c.id.desc()).limit(limit)
        )
        return list(self.conn.execute(query))

    def spike(self, scope: str) -> Row[Any] | None:
        return self.conn.execute(select(alert_spikes).where(alert_spikes.c.scope == scope)).first()

    def set_spike(self, scope: str, *, active: bool, since: datetime | None, now: datetime) -> None:
        values = {"active": active, "since": since, "checked_at": now}
        if not self.conn.execute(update(alert_spikes).where(alert_spikes.c.scope == scope).values(**values)).rowcount:
            self.conn.execute(alert_spikes.insert().values(scope=scope, **values))


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
