"""The schema and its migrations, in one place.

A fresh database gets every table at the current version; an older one is
brought forward step by step by :data:`MIGRATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    column,
    delete,
    func,
    insert,
    inspect,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python.

    PostgreSQL stores ``timestamp with time zone``, so other tools reading the data
    (and sessions in any ``TimeZone``) see the right instant; SQLite keeps no zone,
    so there it is naive UTC text.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("title", Text),
    Column("organisation", Text),
    Column("municipality", String(6)),
    Column("ambassador", Text),
    Column("trusted", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_kind", String(16)),  # the ErrorKind of last_error (version 4)
    Column("last_problem", Text),  # a defect the parser worked around (bozo feed)
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_poll_at", UTCDateTime),
    Column("deactivated_reason", Text),
    # a worker polling this source now, and until when the claim holds
    Column("claimed_by", Text),
    Column("claim_expires_at", UTCDateTime),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    # NULL for entries without a link: those are identified by their sighting only
    Column("canonical_url", Text, unique=True),
    Column("title", Text, nullable=False),
    Column("content_html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("excerpt", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("author", Text),
    Column("image_url", Text),
    Column("content_hash", String(64), nullable=False),
    Column("publisher", Text),
    Column("publisher_url", Text),
)
Index("ix_stories_published_at", stories.c.published_at)
Index("ix_stories_status", stories.c.status)
Index("ix_stories_source", stories.c.source_id)
# the coverage pass finds the items to match (of a kind, changed since matched) in this index
# alone, never reading the rows (their texts) of the items it skips
Index("ix_stories_kind_changed", stories.c.kind, stories.c.changed_at)
# the alert step finds the items fetched this week here, never reading the rows of the others
Index("ix_stories_first_seen", stories.c.first_seen_at)

sightings = Table(
    "sightings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("entry_key", Text, nullable=False),
    Column("link", Text),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("source_id", "entry_key", name="uq_sightings_source_entry"),
)
Index("ix_sightings_story", sightings.c.story_id)
# a source sights a story once, however often its feed changes the entry's key
Index("uq_sightings_source_story", sightings.c.source_id, sightings.c.story_id, unique=True)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("note", Text),
)
Index("ix_decisions_story", decisions.c.story_id)

syndications = Table(
    "syndications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("destination", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("remote_id", Text),
    Column("remote_url", Text),
    Column("content_hash", String(64)),  # of what was last sent successfully
    # the copy as the destination held it right after we sent it (adapters/base.EditAware):
    # a later difference is a member's edit
    Column("sent_state_hash", String(64)),
    # an unlinked copy (state "unlinked"): when, by whom and how (a term on the site, the CLI)
    Column("unlinked_at", UTCDateTime),
    Column("unlinked_by", Text),
    Column("unlinked_how", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # a worker that took this record for a remote call, and until when the claim holds
    Column("claimed_by", Text),
    Column("claim_expires_at", UTCDateTime),
    UniqueConstraint("story_id", "destination", name="uq_syndications_story_destination"),
)

remote_media = Table(
    "remote_media",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("destination", Text, nullable=False),
    Column("image_url", Text, nullable=False),
    Column("remote_id", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("destination", "image_url", name="uq_remote_media_destination_url"),
)

outlets = Table(
    "outlets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("domain", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("type", String(24), nullable=False),
    Column("municipality", String(6)),
    Column("province", Text),
    Column("reach", Integer),
    Column("created_at", UTCDateTime, nullable=False),
)

mentions = Table(
    "mentions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("outlet_id", Integer, ForeignKey("outlets.id"), nullable=False),
    Column("url", Text),
    Column("published_at", UTCDateTime, nullable=False),
    Column("municipality", String(6)),
    Column("excluded_by", Text),  # the exclusion term that stopped it being counted
    Column("counted", Boolean, nullable=False),
    Column("own_channel", Boolean, nullable=False, default=False),
    Column("cluster_id", Integer),
    Column("matched_at", UTCDateTime, nullable=False),
    # what decided the match besides the text (coverage.engine.generation), and the text's
    # digest; NULL: matched before they were recorded
    Column("generation", String(16)),
    Column("text_digest", BigInteger),
)
Index("ix_mentions_published_counted", mentions.c.published_at, mentions.c.counted)
Index("ix_mentions_cluster", mentions.c.cluster_id)

# One row per matched organisation, theme, term or ambassador of a mention, so the
# report's figures per organisation and theme are plain SQL aggregates.
mention_facts = Table(
    "mention_facts",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Text, nullable=False),
)
# Covering, and the only index: the report reaches facts through the period's mentions
# (a range on mentions.published_at), never through a kind, which would be most of the table.
Index("ix_mention_facts_mention_kind_value", mention_facts.c.mention_id, mention_facts.c.kind,
      mention_facts.c.value)

# The pickup index (see coverage.pickups): for each counted mention of the last weeks, enough
# of its shingle fingerprints that a near-duplicate arriving later must share a few of them.
# Looked up by token only, so on SQLite the rows live in the primary key's b-tree alone. The
# rows are in parts by the three weeks their mention was published in (pickup_part), so that a
# pass's new rows go into the part of these weeks, at most a third of the index: in one b-tree
# for all, each batch's rows touched most of its pages, which every commit then wrote again
# (at a year of 1,000,000 items, 10,000 new ones: commits 2.95 -> 1.7 s, inserts 1.4 -> 0.9 s).
# A lookup asks every part: a few more steps in the b-tree per token (2.4 -> 2.8 s there).
pickup_fingerprints = Table(
    "pickup_fingerprints",
    metadata,
    Column("part", SmallInteger, primary_key=True, autoincrement=False),
    Column("token", BigInteger, primary_key=True, autoincrement=False),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    # how many of these a text must share with the mention to be compared with it
    Column("enough", Integer, nullable=False),
    sqlite_with_rowid=False,
)
Index("ix_pickup_fingerprints_mention", pickup_fingerprints.c.mention_id)
#: Parts of the pickup index, each for the mentions of PICKUP_PART_DAYS in turn: together more
#: than the pickup window, so that a part's mentions are out of the index when it comes round
#: again (and if some are not, the part is only larger). Every part costs a lookup a step more.
PICKUP_PARTS = 3
PICKUP_PART_DAYS = 21


def pickup_part(published_at: datetime) -> int:
    """The part of the pickup index for a mention published then."""
    return (published_at.astimezone(timezone.utc).date().toordinal() // PICKUP_PART_DAYS) % PICKUP_PARTS

# Small facts about the coverage data as a whole, by key (e.g. the cluster threshold the
# pickup index was built with).
coverage_state = Table(
    "coverage_state",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", Text, nullable=False, unique=True),  # e.g. report:month:2026-11-01:2026-11-30
    Column("kind", String(16), nullable=False),
    Column("message_id", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("recipients", Text, nullable=False),  # tab-separated
    Column("message", LargeBinary, nullable=False),  # the whole MIME message, as sent
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("next_attempt_at", UTCDateTime),
    Column("claimed_by", Text),
    Column("claim_expires_at", UTCDateTime),
)

# Review in WordPress: a new story waits on the hub as a pending post; what the
# editor publishes there (possibly edited) is the version members receive.
hub_reviews = Table(
    "hub_reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("remote_id", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | approved | rejected
    Column("queued_at", UTCDateTime, nullable=False),
    Column("story_hash", String(64), nullable=False),  # the original's content when last pushed
    Column("pushed_hash", String(64), nullable=False),  # the hub post right after our last push
    Column("conflict", Text),  # the original changed after an editor edited the pending post
    Column("decided_at", UTCDateTime),
    Column("title", Text),  # the editor's version, once published on the hub
    Column("content_html", Text),
    Column("categories", Text),  # tab-separated names
    Column("tags", Text),
    Column("image_url", Text),
    Column("version_hash", String(64)),
    Column("checked_at", UTCDateTime),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("summary", Text, nullable=False),
    Column("errors", Text),
)

# Erased items (AVG/GDPR): never imported again. Holds no content, only the address.
suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("reason", Text),
)

# Alerts (see alerts.py): each counted mention is looked at once by the alert step; a row here
# says it was (and whether it was mailed is in the outbox). Rows of mentions fetched longer ago
# than alerts look back are pruned: those never alert anyway.
alerted_mentions = Table(
    "alerted_mentions",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("seen_at", UTCDateTime, nullable=False),
)
Index("ix_alerted_mentions_seen", alerted_mentions.c.seen_at)

# A spike alert per spike: whether the spike of a scope ("all") is on, since when, and the
# outbox key of its alert; re-armed when the count falls back below the threshold.
alert_spikes = Table(
    "alert_spikes",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("since", UTCDateTime),
    Column("checked_at", UTCDateTime, nullable=False),
)

# Webhooks (see webhooks.py): an outbox of events, one row per event and webhook that wants it,
# written in the transaction of the change that caused it. Delivered in ``id`` order per story
# and webhook; ``body`` is the JSON sent, the same on every attempt (only the signature's
# timestamp is new).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False),  # the receiver's deduplication key
    Column("webhook", Text, nullable=False),
    Column("type", String(32), nullable=False),
    # the story whose events go out in order; erasing a story (AVG) takes its events along
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE")),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime),
    Column("claimed_by", Text),
    Column("claim_expires_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("webhook", "event_id", name="uq_webhook_events_webhook_event"),
)
# the undelivered events, and a story's earlier undelivered ones, without reading delivered rows
Index("ix_webhook_events_undelivered", webhook_events.c.delivered_at, webhook_events.c.webhook,
      webhook_events.c.story_id, webhook_events.c.id)


def _add_columns(conn: Connection, table: Table, *names: str) -> None:
    """ALTER TABLE ... ADD COLUMN for columns of ``table`` the database lacks (nullable ones)."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in present:
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


def _to_version_2(conn: Connection) -> None:
    """Tables added since version 1, source claims, and zoned timestamps on PostgreSQL."""
    metadata.create_all(conn)  # only the tables that do not exist yet
    _add_columns(conn, sources, "claimed_by", "claim_expires_at")
    if conn.dialect.name == "postgresql":
        # version 1 stored naive UTC in `timestamp without time zone`
        naive = {(row.table_name, row.column_name) for row in conn.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND data_type = 'timestamp without time zone'"))}
        for table in metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, UTCDateTime) and (table.name, column.name) in naive:
                    conn.execute(text(
                        f"ALTER TABLE {table.name} ALTER COLUMN {column.name}"
                        f" TYPE timestamp with time zone USING {column.name} AT TIME ZONE 'UTC'"))


def _to_version_3(conn: Connection) -> None:
    """The pickup index (filled by the next `coverage match`), stories by source, mentions by
    cluster, and one covering index on mention facts instead of two that made the planner
    scan by kind."""
    metadata.create_all(conn)  # only the tables that do not exist yet
    conn.execute(text("DROP INDEX IF EXISTS ix_mention_facts_mention"))
    conn.execute(text("DROP INDEX IF EXISTS ix_mention_facts_kind_value"))
    for index in (*mention_facts.indexes, *stories.indexes, *mentions.indexes):
        index.create(conn, checkfirst=True)


def _to_version_4(conn: Connection) -> None:
    """What kind of failure a source's last error was (an ``ErrorKind`` value), for the report."""
    _add_columns(conn, sources, "last_error_kind")


def _to_version_5(conn: Connection) -> None:
    """One sighting per source and story: the duplicates a feed that changes its GUIDs on every
    poll left behind are merged into the newest (which carries the latest key), and a unique
    index keeps it so."""
    newest = select(func.max(sightings.c.id)).group_by(sightings.c.source_id, sightings.c.story_id)
    conn.execute(delete(sightings).where(sightings.c.id.not_in(newest)))
    for index in sightings.indexes:
        index.create(conn, checkfirst=True)


def _to_version_6(conn: Connection) -> None:
    """Resumable rematching: the generation each mention was matched under and the digest of
    its text (NULL for the mentions made before), the pickup index's threshold, stories by kind."""
    metadata.create_all(conn)  # only the tables that do not exist yet
    _add_columns(conn, mentions, "generation", "text_digest")
    for index in stories.indexes:
        index.create(conn, checkfirst=True)


def _to_version_7(conn: Connection) -> None:
    """Alerts: the mentions already looked at, spike state and stories by when they were
    fetched. The mentions fetched within the alert window are marked seen, so an upgrade
    never mails the recent history."""
    from .alerts import FETCHED_WITHIN  # the window alerts look back, defined once

    metadata.create_all(conn)  # only the tables that do not exist yet
    for index in stories.indexes:
        index.create(conn, checkfirst=True)
    now = datetime.now(timezone.utc)
    recent = (select(mentions.c.id, literal(now, UTCDateTime))
              .select_from(mentions.join(stories, stories.c.id == mentions.c.story_id))
              .where(stories.c.first_seen_at >= now - FETCHED_WITHIN)
              .where(~select(alerted_mentions.c.mention_id)
                     .where(alerted_mentions.c.mention_id == mentions.c.id).exists()))
    conn.execute(insert(alerted_mentions).from_select(["mention_id", "seen_at"], recent))


def _to_version_8(conn: Connection) -> None:
    """Webhooks: the outbox of events."""
    metadata.create_all(conn)  # only the tables that do not exist yet


def _to_version_9(conn: Connection) -> None:
    """Local edits are kept: what each copy looked like on its destination when we last sent it."""
    _add_columns(conn, syndications, "sent_state_hash")


def _to_version_10(conn: Connection) -> None:
    """Unlinking: who unlinked a copy, when and how."""
    _add_columns(conn, syndications, "unlinked_at", "unlinked_by", "unlinked_how")


def _to_version_11(conn: Connection) -> None:
    """The pickup index in parts by week: its rows move to the new table, each to its part."""
    metadata.create_all(conn)  # only the tables that do not exist yet
    if not inspect(conn).has_table("pickup_shingles"):
        return
    conn.execute(text("CREATE TEMPORARY TABLE pickup_parts (mention_id INTEGER PRIMARY KEY, part INTEGER NOT NULL)"))
    old = table("pickup_shingles", column("mention_id"))
    published = conn.execute(select(mentions.c.id, mentions.c.published_at)
                             .where(mentions.c.id.in_(select(old.c.mention_id))))
    parts = [{"m": mention_id, "p": pickup_part(when)} for mention_id, when in published]
    if parts:
        conn.execute(text("INSERT INTO pickup_parts (mention_id, part) VALUES (:m, :p)"), parts)
    conn.execute(text(
        "INSERT INTO pickup_fingerprints (part, token, mention_id, enough)"
        " SELECT pickup_parts.part, token, pickup_shingles.mention_id, enough FROM pickup_shingles"
        " JOIN pickup_parts ON pickup_parts.mention_id = pickup_shingles.mention_id"
        " ORDER BY pickup_parts.part, token, pickup_shingles.mention_id"))
    conn.execute(text("DROP TABLE pickup_parts"))
    conn.execute(text("DROP TABLE pickup_shingles"))


#: Steps that bring a database from version N-1 to N (index N-1 holds step N).
#: A fresh database is created whole at the latest version instead.
MIGRATIONS: list[Callable[[Connection], None]] = [
    lambda conn: metadata.create_all(conn),
    _to_version_2,
    _to_version_3,
    _to_version_4,
    _to_version_5,
    _to_version_6,
    _to_version_7,
    _to_version_8,
    _to_version_9,
    _to_version_10,
    _to_version_11,
]

LATEST_VERSION = len(MIGRATIONS)
