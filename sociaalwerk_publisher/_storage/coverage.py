"""Reads and writes of outlets and mentions, and the report's aggregate queries."""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    Text,
    bindparam,
    and_,
    cast,
    delete,
    distinct,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from ..coverage.model import MentionScope
from ..exceptions import UsageError
from ._schema import (
    PICKUP_PARTS,
    coverage_state,
    mention_facts,
    mentions,
    outlets,
    pickup_fingerprints,
    pickup_part,
    sources,
    stories,
    syndications,
)
from .records import OutletRecord

if TYPE_CHECKING:
    from . import Storage

FACT_KINDS = ("organisation", "theme", "term", "ambassador", "gouden")
#: The columns of a mention that matching writes (besides its cluster, and when and under which
#: generation it was matched).
MENTION_VALUES = ("story_id", "outlet_id", "url", "published_at", "municipality", "excluded_by", "counted",
                  "own_channel", "text_digest")


def _to_outlet(row: Row[Any]) -> OutletRecord:
    return OutletRecord(row.id, row.domain, row.name, row.type, row.municipality, row.province, row.reach)


class CoverageStore:
    def __init__(self, storage: Storage, conn: Connection | None = None) -> None:
        self._storage = storage
        self._conn = conn  # bound to one transaction (see transaction())

    @contextmanager
    def transaction(self) -> Iterator[CoverageStore]:
        """This store bound to one transaction, for the writes of one batch of the matching
        pass and the reads between them: the batch commits whole or not at all.

        Matching hosts take it one after the other. On SQLite the write lock is taken at
        once: a transaction that reads first cannot write later once another connection
        has written in between (the WAL snapshot is stale).
        """
        with self._storage.begin() as conn:
            if self._storage.is_sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                self._storage.serialise(conn, "mentions")
            yield CoverageStore(self._storage, conn)

    @property
    def _mark(self) -> str:
        """The driver's parameter placeholder, for statements sent to it straight."""
        return "?" if self._storage.is_sqlite else "%s"

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """The bound transaction's connection, or a short transaction of its own."""
        if self._conn is not None:
            yield self._conn
        else:
            with self._storage.begin() as conn:
                yield conn

    # -- outlets -----------------------------------------------------------------------

    def outlets(self, *, unclassified_only: bool = False,
                domains: Iterable[str] | None = None) -> list[OutletRecord]:
        query = select(outlets).order_by(outlets.c.domain)
        if unclassified_only:
            query = query.where(outlets.c.type == "unclassified")
        if domains is not None:
            query = query.where(outlets.c.domain.in_(list(domains)))
        with self._begin() as conn:
            return [_to_outlet(row) for row in conn.execute(query)]

    def outlet_rows(self, ids: Iterable[int]) -> dict[int, OutletRecord]:
        wanted = list(set(ids))
        with self._storage.connect() as conn:
            return {row.id: _to_outlet(row) for row in conn.execute(select(outlets).where(outlets.c.id.in_(wanted)))}

    def add_outlets(self, rows: Sequence[dict[str, Any]]) -> int:
        """Create outlets that do not exist yet (by domain); returns how many were created."""
        created = 0
        with self._begin() as conn:
            for row in rows:
                created += conn.execute(self._storage.insert_ignoring_conflicts(outlets).values(**row)).rowcount
        return created

    def set_outlet(self, domain: str, values: dict[str, Any], now: datetime) -> OutletRecord:
        with self._storage.begin() as conn:
            if values:
                known = conn.execute(update(outlets).where(outlets.c.domain == domain).values(**values)).rowcount
            else:  # nothing to change: only make sure the outlet exists
                known = conn.execute(select(outlets.c.id).where(outlets.c.domain == domain)).first() is not None
            if not known:
                if "name" not in values:
                    values = {**values, "name": domain}
                conn.execute(insert(outlets).values(domain=domain, created_at=now,
                                                    **{"type": "unclassified", **values}))
            return _to_outlet(conn.execute(select(outlets).where(outlets.c.domain == domain)).one())

    # -- mentions ----------------------------------------------------------------------

    def items_to_match(self, generation: str | None, *, changed_since: datetime | None = None) -> array[int]:
        """Ids of the media and alert items to match, in id order: those without a mention,
        and with a ``generation`` also those whose mention was matched under another one or
        before the item last changed.

        Only ids, 8 bytes an item, from an index and the mentions table: never the rows of
        the items, whose texts make up most of the store.

        Args:
            changed_since: only items without a mention that changed at or after this time
                (see :meth:`match_watermark`): the index on (kind, changed_at) then reads the
                last hours instead of a year of items.
        """
        query = select(stories.c.id).where(stories.c.kind.in_(["media", "alert"])).order_by(stories.c.id)
        if changed_since is not None:
            query = query.where(stories.c.changed_at >= changed_since)
        if generation is None:
            query = query.where(~select(mentions.c.id).where(mentions.c.story_id == stories.c.id).exists())
        else:
            query = (query.select_from(stories.outerjoin(mentions, mentions.c.story_id == stories.c.id))
                     .where(or_(mentions.c.id.is_(None), mentions.c.generation.is_(None),
                                mentions.c.generation != generation, stories.c.changed_at > mentions.c.matched_at)))
        found = array("q")
        with self._storage.connect() as conn:
            for (story_id,) in conn.execution_options(yield_per=10_000).execute(query):
                found.append(story_id)
        return found

    def match_watermark(self) -> datetime | None:
        """The time from which a normal matching pass looks for new items (None: everywhere)."""
        with self._storage.connect() as conn:
            value = conn.execute(select(coverage_state.c.value)
                                 .where(coverage_state.c.key == "match_watermark")).scalar()
        return None if value is None else datetime.fromisoformat(value)

    def set_match_watermark(self, value: datetime) -> None:
        with self._storage.begin() as conn:
            conn.execute(self._storage.upserting(coverage_state, ["key"], ["value"])
                         .values(key="match_watermark", value=value.astimezone(timezone.utc).isoformat()))

    def candidates(self, story_ids: Sequence[int]) -> list[Row[Any]]:
        """These items, in id order, with what matching needs of their source and, for those
        matched before, their mention: ``mention_id`` (None for the others), ``mention_<value>``
        for each of :data:`MENTION_VALUES`, ``cluster_id`` and whether it is in the pickup index
        (``indexed``)."""
        indexed = select(pickup_fingerprints.c.mention_id).where(pickup_fingerprints.c.mention_id == mentions.c.id).exists()
        query = (
            select(stories.c.id, stories.c.title, stories.c.text, stories.c.canonical_url,
                   stories.c.published_at, stories.c.publisher, stories.c.publisher_url,
                   sources.c.municipality.label("source_municipality"), mentions.c.id.label("mention_id"),
                   *(mentions.c[name].label(f"mention_{name}") for name in MENTION_VALUES if name != "story_id"),
                   mentions.c.cluster_id, indexed.label("indexed"))
            .select_from(stories.outerjoin(sources, stories.c.source_id == sources.c.id)
                         .outerjoin(mentions, mentions.c.story_id == stories.c.id))
            .order_by(stories.c.id)
        )
        found: list[Row[Any]] = []
        with self._storage.connect() as conn:
            for chunk in _chunks(story_ids, 500):
                found.extend(conn.execute(query.where(stories.c.id.in_(chunk))))
        return found

    def blog_story_urls(self) -> list[str]:
        """One story URL per blog source (members' own sites)."""
        first = (select(func.min(stories.c.canonical_url)).where(stories.c.source_id == sources.c.id)
                 .scalar_subquery())
        with self._storage.connect() as conn:
            return [url for (url,) in conn.execute(select(first).where(sources.c.kind == "blog")) if url]

    def facts(self, mention_ids: Sequence[int]) -> dict[int, set[tuple[str, str]]]:
        """The (kind, value) facts of each of these mentions."""
        found: dict[int, set[tuple[str, str]]] = {m: set() for m in mention_ids}
        query = select(mention_facts.c.mention_id, mention_facts.c.kind, mention_facts.c.value)
        with self._storage.connect() as conn:
            for chunk in _chunks(mention_ids, 500):
                for mention_id, kind, value in conn.execute(query.where(mention_facts.c.mention_id.in_(chunk))):
                    found[mention_id].add((kind, value))
        return found

    def add_mentions(self, rows: Sequence[Mapping[str, Any]]) -> dict[int, int]:
        """Mentions of items that had none (by ``story_id``; one matched a moment ago by another
        host is overwritten); returns the mention id of each story id."""
        if not rows:
            return {}
        upsert = self._storage.upserting(mentions, ["story_id"], [n for n in rows[0] if n != "story_id"])
        with self._begin() as conn:
            saved = conn.execute(upsert.returning(mentions.c.story_id, mentions.c.id), list(rows))
            return {story_id: mention_id for story_id, mention_id in saved}

    def wants(self, kind: str) -> bool:
        """Whether a webhook wants events of ``kind`` (else their data need not be made)."""
        return self._storage.webhooks.wants(kind)

    def announce_mentions(self, events: Sequence[tuple[int, Mapping[str, Any]]], now: datetime) -> None:
        """Record the ``mention.new`` webhook event of each (mention id, data), in this transaction."""
        with self._begin() as conn:
            self._storage.webhooks.record_many(
                conn, "mention.new", [(data, None, str(mention_id)) for mention_id, data in events], now)

    def update_mentions(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set the values of mentions (by ``id``)."""
        if not rows:
            return
        names = [n for n in rows[0] if n != "id"]
        statement = (update(mentions).where(mentions.c.id == bindparam("_id"))
                     .values({n: bindparam(f"_{n}") for n in names}))
        with self._begin() as conn:
            conn.execute(statement, [{f"_{k}": v for k, v in row.items()} for row in rows])

    def stamp_mentions(self, mention_ids: Sequence[int], generation: str, now: datetime) -> None:
        """Record that these mentions were matched now, under ``generation``."""
        with self._begin() as conn:
            for chunk in _chunks(mention_ids, 500):
                conn.execute(update(mentions).where(mentions.c.id.in_(chunk))
                             .values(generation=generation, matched_at=now))

    def replace_facts(self, facts: Mapping[int, Iterable[tuple[str, str]]]) -> None:
        """Make these the facts of each mention (each fact once, so the report can count rows
        instead of distinct mentions)."""
        if not facts:
            return
        rows = [{"mention_id": m, "kind": kind, "value": value}
                for m, pairs in facts.items() for kind, value in dict.fromkeys(pairs)]
        with self._begin() as conn:
            for chunk in _chunks(list(facts), 500):
                conn.execute(delete(mention_facts).where(mention_facts.c.mention_id.in_(chunk)))
            if rows:
                conn.execute(insert(mention_facts), rows)

    # -- pickup index (see coverage.pickups) --------------------------------------------

    def pickup_candidates(self, probes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """For (token, item) probes: each (item, indexed mention) pair that shares enough tokens.

        The counting runs in the database, on a temporary table of the probes: a month's new
        items share a token or two with millions of stored ones, far too many rows to fetch.
        """
        with self._begin() as conn:
            found = _shared_pairs(conn.exec_driver_sql(self._probing(conn, probes)).scalar())
            # SQLite keeps a temporary table with the pooled connection (a failed transaction
            # takes its rows back with it); PostgreSQL drops it at the commit
            conn.exec_driver_sql("DELETE FROM pickup_probe")
        return found

    def look_up_pickups(self, probes: Sequence[tuple[int, int]]) -> PickupLookup | None:
        """:meth:`pickup_candidates` in the committed index, done by a thread while the caller
        goes on, or None where another thread would see another database (in-memory SQLite)."""
        if not self._storage.shares_between_threads:
            return None
        return PickupLookup(self, probes)

    def _probing(self, conn: Connection, probes: Sequence[tuple[int, int]]) -> str:
        """Put the probes in the connection's temporary table; returns the query that counts, as
        one row: a thread waiting for Python's lock after each row would wait for every one."""
        conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS pickup_probe"
                             " (item INTEGER NOT NULL, token BIGINT NOT NULL)"
                             + ("" if self._storage.is_sqlite else " ON COMMIT DROP"))
        if probes:  # straight to the driver: hundreds of thousands of rows
            mark = self._mark
            conn.exec_driver_sql(f"INSERT INTO pickup_probe (token, item) VALUES ({mark}, {mark})", probes)
        # CROSS JOIN: SQLite then walks the probes and looks each up in every part of the index
        # (knowing nothing of the temporary table, it scanned the index instead)
        parts = ", ".join(map(str, range(PICKUP_PARTS)))
        joined = "group_concat" if self._storage.is_sqlite else "string_agg"
        return (f"SELECT {joined}(CAST(item AS TEXT) || ' ' || CAST(mention_id AS TEXT), ' ') FROM"
                " (SELECT p.item AS item, s.mention_id AS mention_id"
                " FROM pickup_probe AS p CROSS JOIN pickup_fingerprints AS s"
                f" WHERE s.part IN ({parts}) AND s.token = p.token"
                " GROUP BY p.item, s.mention_id, s.enough HAVING count(*) >= s.enough) AS shared")

    def pickup_writes(self) -> int:
        """How many transactions have changed the pickup index: a lookup outside a transaction
        holds in it while this number is the same."""
        with self._begin() as conn:
            value = conn.execute(select(coverage_state.c.value).where(coverage_state.c.key == "pickup_writes")).scalar()
        return int(value or 0)

    def _count_pickup_write(self, conn: Connection) -> None:
        # in the database, not read and written back: two hosts' counts never come out as one
        conn.execute(self._storage.insert_ignoring_conflicts(coverage_state).values(key="pickup_writes", value="0"))
        conn.execute(update(coverage_state).where(coverage_state.c.key == "pickup_writes")
                     .values(value=cast(cast(coverage_state.c.value, BigInteger) + 1, Text)))

    def pickup_texts(self, mention_ids: Iterable[int]) -> list[Row[Any]]:
        """Id, cluster id, title and text of mentions."""
        query = (select(mentions.c.id, mentions.c.cluster_id, stories.c.title, stories.c.text)
                 .select_from(mentions.join(stories, mentions.c.story_id == stories.c.id)))
        found: list[Row[Any]] = []
        with self._begin() as conn:
            for chunk in _chunks(sorted(set(mention_ids)), 500):
                found.extend(conn.execute(query.where(mentions.c.id.in_(chunk))))
        return found

    def index_pickups(self, index: Sequence[tuple[int, int, int]]) -> None:
        """Put (token, mention id, enough) rows in the pickup index."""
        with self._begin() as conn:
            self._storage.serialise(conn, "mentions")
            # another host may have replaced these mentions since they were saved: theirs count
            # (and on SQLite may carry the same ids, with the same text, indexed already)
            part: dict[int, int] = {}
            for chunk in _chunks(sorted({m for _, m, _ in index}), 500):
                part.update((m, pickup_part(when)) for m, when in conn.execute(
                    select(mentions.c.id, mentions.c.published_at).where(mentions.c.id.in_(chunk))))
            # by part and token: the index's order (the rows come by token; a stable sort by part)
            rows = sorted([(part[m], token, m, enough) for token, m, enough in index if m in part], key=itemgetter(0))
            if rows:  # straight to the driver, like the probes
                mark = self._mark
                conn.exec_driver_sql("INSERT INTO pickup_fingerprints (part, token, mention_id, enough)"
                                     f" VALUES ({mark}, {mark}, {mark}, {mark}) ON CONFLICT DO NOTHING", rows)
                self._count_pickup_write(conn)

    def save_clusters(self, clusters: dict[int, int], renamed: dict[int, int]) -> None:
        """Set mentions' cluster ids and rename clusters."""
        with self._begin() as conn:
            self._storage.serialise(conn, "mentions")
            if clusters:
                conn.execute(update(mentions).where(mentions.c.id == bindparam("_id"))
                             .values(cluster_id=bindparam("_cluster")),
                             [{"_id": m, "_cluster": c} for m, c in clusters.items()])
            if renamed:
                conn.execute(update(mentions).where(mentions.c.cluster_id == bindparam("_old"))
                             .values(cluster_id=bindparam("_new")),
                             [{"_old": old, "_new": new} for old, new in renamed.items()])

    def has_pickups(self) -> bool:
        with self._storage.connect() as conn:
            return conn.execute(select(pickup_fingerprints.c.token).limit(1)).first() is not None

    def prune_pickups(self, before: datetime, overlap: timedelta) -> None:
        """Take mentions published before ``before`` out of the pickup index.

        Only those published since ``overlap`` before the last prune's ``before``: the earlier
        ones left the index then, and a pass indexes no mention older than its own window, so
        only a host whose clock is more than ``overlap`` behind could have put one back.
        """
        with self._storage.begin() as conn:
            last = conn.execute(select(coverage_state.c.value)
                                .where(coverage_state.c.key == "pickups_pruned_before")).scalar()
            old = select(mentions.c.id).where(mentions.c.published_at < before)
            if last is not None:
                old = old.where(mentions.c.published_at >= datetime.fromisoformat(last) - overlap)
            if conn.execute(delete(pickup_fingerprints).where(pickup_fingerprints.c.mention_id.in_(old))).rowcount:
                self._count_pickup_write(conn)
            if last is None or before > datetime.fromisoformat(last):
                conn.execute(self._storage.upserting(coverage_state, ["key"], ["value"])
                             .values(key="pickups_pruned_before", value=before.astimezone(timezone.utc).isoformat()))

    def unlink_pickups(self, mention_ids: Sequence[int]) -> None:
        """Take these mentions out of the pickup index and out of their clusters."""
        with self._begin() as conn:
            for chunk in _chunks(mention_ids, 500):
                conn.execute(delete(pickup_fingerprints).where(pickup_fingerprints.c.mention_id.in_(chunk)))
                conn.execute(update(mentions).where(mentions.c.id.in_(chunk)).values(cluster_id=None))
            if mention_ids:
                self._count_pickup_write(conn)

    def indexed_members(self, cluster_ids: Iterable[int]) -> list[Row[Any]]:
        """Id, title and text of the mentions in the pickup index that belong to these clusters."""
        indexed = select(pickup_fingerprints.c.mention_id).where(pickup_fingerprints.c.mention_id == mentions.c.id).exists()
        query = (select(mentions.c.id, stories.c.title, stories.c.text)
                 .select_from(mentions.join(stories, mentions.c.story_id == stories.c.id)).where(indexed))
        found: list[Row[Any]] = []
        with self._begin() as conn:
            for chunk in _chunks(sorted(set(cluster_ids)), 500):
                found.extend(conn.execute(query.where(mentions.c.cluster_id.in_(chunk))))
        return found

    def pickup_threshold(self) -> float | None:
        """The cluster threshold the pickup index was built with (None: not recorded)."""
        with self._storage.connect() as conn:
            value = conn.execute(select(coverage_state.c.value)
                                 .where(coverage_state.c.key == "pickup_threshold")).scalar()
        return None if value is None else float(value)

    def clear_pickups(self, since: datetime, threshold: float, *, rematch: bool = False) -> None:
        """Empty the pickup index, to be built again at ``threshold``, and forget the clusters of
        mentions published since ``since`` (with ``rematch`` also the generation they were
        matched under, so that the next pass matches and indexes every one of them again)."""
        values: dict[str, Any] = {"cluster_id": None, **({"generation": None} if rematch else {})}
        with self._storage.begin() as conn:
            self._storage.serialise(conn, "mentions")
            conn.execute(delete(pickup_fingerprints))
            self._count_pickup_write(conn)
            conn.execute(update(mentions).where(mentions.c.published_at >= since).values(**values))
            conn.execute(self._storage.upserting(coverage_state, ["key"], ["value"])
                         .values(key="pickup_threshold", value=repr(threshold)))

    def counted_texts(self, since: datetime, after_id: int, limit: int) -> list[Row[Any]]:
        """Id, title and text of counted mentions published since ``since``, by id from ``after_id``."""
        query = (select(mentions.c.id, stories.c.title, stories.c.text)
                 .select_from(mentions.join(stories, mentions.c.story_id == stories.c.id))
                 .where(mentions.c.counted.is_(True), mentions.c.published_at >= since, mentions.c.id > after_id)
                 .order_by(mentions.c.id).limit(limit))
        with self._storage.connect() as conn:
            return list(conn.execute(query))

    def list_mentions(self, start: datetime | None, end: datetime | None, *, counted: bool | None = True,
                      limit: int = 0, outlet: str | None = None, municipality: str | None = None,
                      facts_wanted: Sequence[tuple[str, str]] = (), clusters: Sequence[int] = (),
                      scope: MentionScope | None = None) -> Iterator[tuple[Any, ...]]:
        """Mentions, newest first, as rows of (published_at, title, url, outlet name, outlet type,
        municipality code, cluster id, facts as ``kind:value`` joined by tabs, the story's
        headline, the outlet's reach, the source's URL), streamed: a month's CSV is written row
        by row, never held whole.

        Only those of ``outlet`` (domain or name), ``municipality`` (CBS code), with every fact
        in ``facts_wanted`` ((kind, value), the value in any case), of the pickup ``clusters``
        and within ``scope``, where given."""
        fact = mention_facts.c.kind + ":" + mention_facts.c.value
        # per listed mention through the covering index: aggregating all facts first and
        # joining that would read the whole table for a month's list
        facts = (select(func.group_concat(fact, "\t") if self._storage.is_sqlite else func.string_agg(fact, "\t"))
                 .where(mention_facts.c.mention_id == mentions.c.id).scalar_subquery())
        # a pickup's story is named after the mention its cluster is named after (the first)
        head, head_story = aliased(mentions), aliased(stories)
        query = (
            select(mentions.c.published_at, stories.c.title, func.coalesce(stories.c.canonical_url, mentions.c.url, ""),
                   outlets.c.name, outlets.c.type, mentions.c.municipality, mentions.c.cluster_id, facts,
                   func.coalesce(head_story.c.title, stories.c.title), outlets.c.reach, sources.c.url)
            .select_from(mentions.join(stories, mentions.c.story_id == stories.c.id)
                         .join(outlets, mentions.c.outlet_id == outlets.c.id)
                         .outerjoin(sources, stories.c.source_id == sources.c.id)
                         .outerjoin(head, head.c.id == mentions.c.cluster_id)
                         .outerjoin(head_story, head_story.c.id == head.c.story_id))
            .order_by(mentions.c.published_at.desc(), mentions.c.id.desc())
        )
        if start is not None:
            query = query.where(mentions.c.published_at >= start)
        if end is not None:
            query = query.where(mentions.c.published_at < end)
        if counted is not None:
            query = query.where(mentions.c.counted.is_(counted))
        if outlet:
            query = query.where(or_(outlets.c.domain == outlet.lower(), func.lower(outlets.c.name) == outlet.lower()))
        if municipality:
            query = query.where(mentions.c.municipality == municipality)
        for kind, value in facts_wanted:
            query = query.where(exists().where(mention_facts.c.mention_id == mentions.c.id)
                                .where(mention_facts.c.kind == kind)
                                .where(func.lower(mention_facts.c.value) == value.lower()))
        if clusters:
            query = query.where(mentions.c.cluster_id.in_(list(clusters)))
        if scope is not None:
            query = query.where(_scoped(scope))
        if limit:
            query = query.limit(limit)
        with self._storage.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(query):
                yield tuple(row)

    def has_unmatched(self, start: datetime, end: datetime) -> bool:
        """Whether a media or alert item published in [start, end) has not been matched yet."""
        query = (select(stories.c.id).where(stories.c.kind.in_(["media", "alert"]),
                                            stories.c.published_at >= start, stories.c.published_at < end)
                 .where(~exists().where(mentions.c.story_id == stories.c.id)).limit(1))
        with self._storage.connect() as conn:
            return conn.execute(query).first() is not None

    # -- report aggregates ---------------------------------------------------------------

    def _in(self, start: datetime, end: datetime, scope: MentionScope | None = None) -> Any:
        counted = and_(mentions.c.counted.is_(True), mentions.c.published_at >= start,
                       mentions.c.published_at < end)
        return counted if scope is None else and_(counted, _scoped(scope))

    def headline(self, start: datetime, end: datetime, scope: MentionScope | None = None) -> dict[str, int]:
        with self._storage.connect() as conn:
            row = conn.execute(select(
                func.count(),
                func.count(distinct(func.coalesce(mentions.c.cluster_id, -mentions.c.id))),
                func.count(distinct(mentions.c.outlet_id)),
                func.count(distinct(mentions.c.municipality)),
            ).where(self._in(start, end, scope))).one()
            own_stories = and_(True, *_own_stories(scope))
            own = conn.execute(select(func.count()).where(and_(
                stories.c.kind == "blog", stories.c.published_at >= start, stories.c.published_at < end,
                own_stories))).scalar()
            syndicated = conn.execute(select(func.count()).select_from(syndications.join(stories)).where(and_(
                syndications.c.state == "published", syndications.c.created_at >= start,
                syndications.c.created_at < end, own_stories))).scalar()
            own_mentions = conn.execute(select(func.count()).where(and_(
                mentions.c.own_channel.is_(True), mentions.c.published_at >= start,
                mentions.c.published_at < end, _scoped(scope)))).scalar()
        return {"mentions": row[0], "stories": row[1], "outlets": row[2], "municipalities": row[3],
                "own_stories": own or 0, "syndicated": syndicated or 0, "own_mentions": own_mentions or 0}

    def count_by(self, column: str, start: datetime, end: datetime,
                 scope: MentionScope | None = None) -> dict[Any, int]:
        """Counted mentions per outlet type, municipality or outlet (id)."""
        key = {"outlet_type": outlets.c.type, "municipality": mentions.c.municipality,
               "outlet": mentions.c.outlet_id}[column]
        query = (select(key, func.count()).select_from(mentions.join(outlets, mentions.c.outlet_id == outlets.c.id))
                 .where(self._in(start, end, scope)).where(key.is_not(None)).group_by(key))
        with self._storage.connect() as conn:
            return {k: n for k, n in conn.execute(query)}

    def count_facts(self, kinds: Sequence[str], start: datetime, end: datetime,
                    scope: MentionScope | None = None) -> dict[str, dict[str, int]]:
        """Counted mentions per value of each fact kind (organisation, theme, term, ambassador, gouden)."""
        query = (select(mention_facts.c.kind, mention_facts.c.value, func.count())
                 .select_from(mentions.join(mention_facts, mention_facts.c.mention_id == mentions.c.id))
                 .where(mention_facts.c.kind.in_(list(kinds))).where(self._in(start, end, scope))
                 .group_by(mention_facts.c.kind, mention_facts.c.value))
        counts: dict[str, dict[str, int]] = {kind: {} for kind in kinds}
        with self._storage.connect() as conn:
            for kind, value, n in conn.execute(query):
                counts[kind][value] = n
        return counts

    def hourly_counts(self, start: datetime, end: datetime,
                      scope: MentionScope | None = None) -> list[tuple[datetime, int]]:
        """Counted mentions per UTC hour (the hour's start): few rows, and whole hours map to
        local days correctly across daylight saving time."""
        if self._storage.is_sqlite:
            hour = func.strftime("%Y-%m-%d %H:00:00", mentions.c.published_at)
        else:
            hour = func.date_trunc("hour", mentions.c.published_at)
        query = select(hour.label("hour"), func.count()).where(self._in(start, end, scope)).group_by("hour")
        with self._storage.connect() as conn:
            return [(datetime.fromisoformat(h).replace(tzinfo=timezone.utc) if isinstance(h, str) else h, n)
                    for h, n in conn.execute(query)]

    def top_clusters(self, start: datetime, end: datetime, limit: int,
                     scope: MentionScope | None = None) -> list[tuple[int, int]]:
        """(cluster id, mentions) of the most picked-up stories, at least two pickups."""
        query = (select(mentions.c.cluster_id, func.count().label("n")).where(self._in(start, end, scope))
                 .where(mentions.c.cluster_id.is_not(None)).group_by(mentions.c.cluster_id)
                 .having(func.count() > 1).order_by(func.count().desc(), mentions.c.cluster_id).limit(limit))
        with self._storage.connect() as conn:
            return [(c, n) for c, n in conn.execute(query)]

    def fact_mentions(self, kind: str, start: datetime, end: datetime,
                      scope: MentionScope | None = None) -> list[tuple[str, int, int | None, datetime, str]]:
        """(value, mention id, cluster id, published_at, outlet name) of the counted mentions
        with a fact of ``kind``: what the top headlines per member are picked from."""
        query = (select(mention_facts.c.value, mentions.c.id, mentions.c.cluster_id, mentions.c.published_at,
                        outlets.c.name)
                 .select_from(mentions.join(mention_facts, mention_facts.c.mention_id == mentions.c.id)
                              .join(outlets, mentions.c.outlet_id == outlets.c.id))
                 .where(mention_facts.c.kind == kind).where(self._in(start, end, scope)))
        with self._storage.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def headlines(self, mention_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """The story headline and URL of each mention (see :meth:`list_mentions`)."""
        head, head_story = aliased(mentions), aliased(stories)
        query = (select(mentions.c.id, func.coalesce(head_story.c.title, stories.c.title),
                        func.coalesce(head_story.c.canonical_url, stories.c.canonical_url, mentions.c.url, ""))
                 .select_from(mentions.join(stories, mentions.c.story_id == stories.c.id)
                              .outerjoin(head, head.c.id == mentions.c.cluster_id)
                              .outerjoin(head_story, head_story.c.id == head.c.story_id)))
        found: dict[int, tuple[str, str]] = {}
        with self._storage.connect() as conn:
            for chunk in _chunks(sorted(set(mention_ids)), 500):
                found.update((i, (title, url)) for i, title, url in conn.execute(query.where(mentions.c.id.in_(chunk))))
        return found

    def prune_unmatched(self, before: datetime) -> int:
        """Drop the text of candidates that matched nothing and were first seen before ``before``.

        The item itself stays (so the next poll does not import it again); only its
        text, which a changed watchlist could have re-matched, goes.
        """
        unmatched = select(mentions.c.story_id).where(and_(
            mentions.c.counted.is_(False), mentions.c.own_channel.is_(False)))
        with self._storage.begin() as conn:
            return conn.execute(
                update(stories).where(stories.c.id.in_(unmatched)).where(stories.c.first_seen_at < before)
                .where(stories.c.text != "").values(text="", content_html="", excerpt="")
            ).rowcount or 0


    def live_copies(self, organisation: str, start: datetime, end: datetime) -> list[Row[Any]]:
        """The published copies of the stories ``organisation``'s sources published in the
        period: story id, title, link, date, destination and the copy's address; oldest first."""
        query = (select(stories.c.id, stories.c.title, stories.c.canonical_url, stories.c.published_at,
                        syndications.c.destination, syndications.c.remote_url)
                 .select_from(stories.join(syndications))
                 .where(syndications.c.state == "published", stories.c.published_at >= start,
                        stories.c.published_at < end, *_own_stories(MentionScope(organisation)))
                 .order_by(stories.c.published_at, stories.c.id, syndications.c.destination))
        with self._storage.connect() as conn:
            return list(conn.execute(query))


def _own_stories(scope: MentionScope | None) -> list[Any]:
    """The conditions that keep a story to the member organisation of ``scope``, if any."""
    if scope is None or scope.organisation is None:
        return []
    return [stories.c.source_id.in_(select(sources.c.id).where(sources.c.organisation == scope.organisation))]


def _scoped(scope: MentionScope | None) -> Any:
    """The condition that keeps a mention within ``scope`` (None: every mention)."""
    conditions: list[Any] = []
    if scope is None:
        return and_(True)
    if scope.organisation is not None:
        # an alias of its own: the queries it is added to may join mention_facts themselves
        fact = mention_facts.alias("scope_fact")
        conditions.append(exists().where(fact.c.mention_id == mentions.c.id, fact.c.kind == "organisation",
                                         fact.c.value == scope.organisation))
    if scope.municipalities:
        conditions.append(mentions.c.municipality.in_(list(scope.municipalities)))
    return and_(True, *conditions)


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def check_domain(domain: str) -> str:
    domain = domain.strip().lower().removeprefix("www.")
    if not domain or "/" in domain or " " in domain:
        raise UsageError(f"not a domain name: {domain!r}")
    return domain


def _shared_pairs(joined: str | None) -> list[tuple[int, int]]:
    """(item, mention id) pairs of the lookup's one row: ``"item mention item mention ..."``."""
    numbers = [int(n) for n in joined.split()] if joined else []
    return list(zip(numbers[::2], numbers[1::2]))


class PickupLookup:
    """:meth:`CoverageStore.pickup_candidates` in the index as last committed, on a connection
    of its own, the counting done by a thread: the database counts with Python's lock released,
    so the lookup takes another core while the caller writes the batch it is for.

    :attr:`writes` is :meth:`CoverageStore.pickup_writes` as of before the lookup: the pairs
    hold for a transaction that reads the same number (no one changed the index in between).
    """

    def __init__(self, store: CoverageStore, probes: Sequence[tuple[int, int]]) -> None:
        self._storage = store._storage
        self._found: list[tuple[int, int]] = []
        self._failure: SQLAlchemyError | None = None
        try:
            self._conn: Connection | None = self._storage.engine.connect()
            try:
                self.writes = CoverageStore(self._storage, self._conn).pickup_writes()
                # the probes go in here: binding each row needs Python's lock, the counting does not
                counting = store._probing(self._conn, probes)
            except BaseException:
                self._conn.close()
                raise
        except SQLAlchemyError as e:
            raise self._storage.error(e) from e
        self._thread = threading.Thread(target=self._count, args=(counting,), name="pickup lookup", daemon=True)
        self._thread.start()

    def _count(self, counting: str) -> None:
        assert self._conn is not None
        try:
            self._found = _shared_pairs(self._conn.exec_driver_sql(counting).scalar())
        except SQLAlchemyError as e:
            self._failure = e

    def result(self) -> list[tuple[int, int]]:
        """The (item, mention id) pairs, once the thread has them.

        Raises:
            StorageError: the lookup failed.
        """
        self.close()
        if self._failure is not None:
            raise self._storage.error(self._failure) from self._failure
        return self._found

    def close(self) -> None:
        """Wait for the thread and give the connection back (its probes go with the rollback)."""
        self._thread.join()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
