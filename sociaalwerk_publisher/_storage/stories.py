"""Reads and writes of stories and the sightings that tie them to sources."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, or_, select, update

from ..exceptions import StoryNotFoundError
from ..feeds.normalise import NormalisedEntry
from ..types import SourceKind, Story, StoryFilter, StoryStatus
from ._schema import sightings, sources, stories, suppressions

if TYPE_CHECKING:
    from . import Storage

_sighting_count = (
    select(func.count())
    .where(sightings.c.story_id == stories.c.id)
    .correlate(stories)
    .scalar_subquery()
    .label("sightings")
)

_STORY_QUERY = select(
    stories,
    sources.c.organisation,
    sources.c.municipality,
    sources.c.ambassador,
    sources.c.trusted.label("source_trusted"),
    sources.c.title.label("source_title"),
    _sighting_count,
).select_from(stories.outerjoin(sources, stories.c.source_id == sources.c.id))


def _to_story(row: Row[Any]) -> Story:
    m = row._mapping
    return Story(
        id=m["id"],
        url=m["canonical_url"],
        title=m["title"],
        content_html=m["content_html"],
        text=m["text"],
        excerpt=m["excerpt"],
        kind=SourceKind(m["kind"]),
        source_id=m["source_id"],
        status=StoryStatus(m["status"]),
        first_seen_at=m["first_seen_at"],
        published_at=m["published_at"],
        updated_at=m["updated_at"],
        author=m["author"],
        image_url=m["image_url"],
        organisation=m["organisation"],
        municipality=m["municipality"],
        source_title=m["source_title"],
        ambassador=m["ambassador"],
        source_trusted=bool(m["source_trusted"]),
        content_hash=m["content_hash"],
        sightings=m["sightings"],
        publisher=m["publisher"],
        publisher_url=m["publisher_url"],
    )


class StoryStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def get(self, story_id: int) -> Story:
        with self._storage.connect() as conn:
            row = conn.execute(_STORY_QUERY.where(stories.c.id == story_id)).first()
        if row is None:
            raise StoryNotFoundError(f"no story with id {story_id}", story_id)
        return _to_story(row)

    def find_by_url(self, url: str) -> Story | None:
        with self._storage.connect() as conn:
            row = conn.execute(_STORY_QUERY.where(stories.c.canonical_url == url)).first()
        return _to_story(row) if row is not None else None

    def list(self, criteria: StoryFilter) -> list[Story]:
        query = _STORY_QUERY.order_by(stories.c.published_at.desc(), stories.c.id.desc())
        if criteria.kind is not None:
            query = query.where(stories.c.kind == criteria.kind.value)
        if criteria.source_id is not None:
            seen_in = select(sightings.c.story_id).where(sightings.c.source_id == criteria.source_id)
            query = query.where(stories.c.id.in_(seen_in))
        if criteria.organisation is not None:
            query = query.where(func.lower(sources.c.organisation) == criteria.organisation.lower())
        if criteria.municipality is not None:
            query = query.where(sources.c.municipality == criteria.municipality)
        if criteria.status is not None:
            query = query.where(stories.c.status == criteria.status.value)
        if criteria.trusted is not None:
            query = query.where(sources.c.trusted.is_(criteria.trusted))
        if criteria.since is not None:
            query = query.where(stories.c.published_at >= criteria.since)
        if criteria.text:
            pattern = f"%{criteria.text.lower()}%"
            query = query.where(
                or_(func.lower(stories.c.title).like(pattern), func.lower(stories.c.text).like(pattern))
            )
        if criteria.limit:
            query = query.limit(criteria.limit)
        with self._storage.connect() as conn:
            return [_to_story(row) for row in conn.execute(query)]

    def save_entries(
        self,
        conn: Connection,
        source_id: int,
        kind: SourceKind,
        entries: Sequence[NormalisedEntry],
        now: datetime,
    ) -> tuple[int, int, int]:
        """Insert new entries, update changed ones; returns (new, updated, unchanged).

        A source sights a story once. Its entries are known by their key, else by their
        canonical URL, else (an entry without a link) by their content: a feed that gives
        its entries new GUIDs on every poll moves its sightings to the new keys instead of
        adding more. A canonical URL already stored from another source adds a sighting
        to that story instead of a copy.
        """
        new = updated = unchanged = 0
        by_key: dict[str, NormalisedEntry] = {}
        articles: set[str] = set()
        for entry in entries:  # a feed repeating a GUID or an article: the first occurrence wins
            article = _article(entry.canonical_url, entry.content_hash)
            if entry.key not in by_key and article not in articles:
                by_key[entry.key] = entry
                articles.add(article)
        seen = {
            row.entry_key: row
            for row in conn.execute(
                select(sightings.c.id, sightings.c.entry_key, sightings.c.story_id,
                       sightings.c.content_hash)
                .where(sightings.c.source_id == source_id)
                .where(sightings.c.entry_key.in_(list(by_key)))
            )
        }
        fresh = [e for key, e in by_key.items() if key not in seen]
        if fresh:  # erased items (AVG) are never imported again
            erased = {row.url for row in conn.execute(select(suppressions.c.url).where(
                suppressions.c.url.in_([e.canonical_url for e in fresh if e.canonical_url])))}
            for entry in fresh:
                if entry.canonical_url in erased:
                    del by_key[entry.key]
            fresh = [e for e in fresh if e.canonical_url not in erased]
        seen.update(self._move_sightings(conn, source_id, fresh, {row.id for row in seen.values()}))
        fresh = [e for e in fresh if e.key not in seen]
        urls = [e.canonical_url for e in fresh if e.canonical_url]
        # another worker may be storing the same URLs from another feed right now: wait for
        # it (in one order, so never in a circle), then find what it stored
        self._storage.serialise(conn, *(f"story {url}" for url in urls))
        known_urls = {
            row.canonical_url: row.id
            for row in conn.execute(
                select(stories.c.id, stories.c.canonical_url).where(stories.c.canonical_url.in_(urls))
            )
        } if urls else {}
        # new stories in one batched INSERT (a first poll of a big feed is thousands of rows)
        to_create = [e for e in fresh if not (e.canonical_url and e.canonical_url in known_urls)]
        created: dict[str, int] = {}
        rows = {e.key: {**_story_values(e, now), "kind": kind.value, "source_id": source_id,
                        "status": StoryStatus.NEW.value, "first_seen_at": now} for e in to_create}
        with_url = [e for e in to_create if e.canonical_url]
        if with_url:
            # another worker may have stored one of these URLs a moment ago: the unique URL
            # decides, and the loser adds a sighting to the winner's story
            stored: dict[str, int] = dict(conn.execute(
                self._storage.insert_ignoring_conflicts(stories)
                .returning(stories.c.canonical_url, stories.c.id),
                [rows[e.key] for e in with_url],
            ).all())
            missing = [e.canonical_url for e in with_url if e.canonical_url not in stored]
            if missing:
                known_urls.update(conn.execute(select(stories.c.canonical_url, stories.c.id)
                                               .where(stories.c.canonical_url.in_(missing))).all())
            created.update({e.key: stored[e.canonical_url] for e in with_url if e.canonical_url in stored})
            known_urls.update(stored)
        without_url = [e for e in to_create if not e.canonical_url]
        if without_url:
            ids = conn.execute(insert(stories).returning(stories.c.id, sort_by_parameter_order=True),
                               [rows[e.key] for e in without_url]).scalars().all()
            created.update({e.key: story_id for e, story_id in zip(without_url, ids)})
        new = len(created)
        fresh_sightings = []
        for key, entry in by_key.items():
            previous = seen.get(key)
            if previous is None:
                story_id = created.get(key) or known_urls[entry.canonical_url]
                if key not in created:
                    unchanged += 1
                fresh_sightings.append({
                    "story_id": story_id, "source_id": source_id, "entry_key": key, "link": entry.link,
                    "first_seen_at": now, "content_hash": entry.content_hash,
                })
            elif previous.content_hash != entry.content_hash:
                conn.execute(
                    update(sightings).where(sightings.c.id == previous.id)
                    .values(content_hash=entry.content_hash)
                )
                # only the story's own source may rewrite it; other sightings are copies
                values = _story_values(entry, now)
                del values["canonical_url"]  # identity never changes with the content
                if entry.published_at is None and entry.updated_at is None:
                    del values["published_at"]  # keep the first-seen date
                conn.execute(
                    update(stories)
                    .where(and_(stories.c.id == previous.story_id, stories.c.source_id == source_id))
                    .values(**values)
                )
                updated += 1
            else:
                unchanged += 1
        if fresh_sightings:
            conn.execute(insert(sightings), fresh_sightings)
        return new, updated, unchanged

    @staticmethod
    def _move_sightings(conn: Connection, source_id: int, entries: Sequence[NormalisedEntry],
                        taken: set[int]) -> dict[str, Row[Any, Any, Any, Any]]:
        """The sightings this source has of the articles ``entries`` carry under other keys,
        moved to the entries' keys; by new key. ``taken``: sightings matched by key already."""
        wanted = {_article(e.canonical_url, e.content_hash): e for e in entries}
        if not wanted:
            return {}
        urls = [e.canonical_url for e in entries if e.canonical_url]
        contents = [e.content_hash for e in entries if not e.canonical_url]
        rows = conn.execute(
            select(sightings.c.id, sightings.c.story_id, sightings.c.content_hash, stories.c.canonical_url)
            .join(stories, stories.c.id == sightings.c.story_id)
            .where(sightings.c.source_id == source_id,
                   or_(stories.c.canonical_url.in_(urls),
                       and_(stories.c.canonical_url.is_(None), sightings.c.content_hash.in_(contents))))
            .order_by(sightings.c.id)
        )
        moved: dict[str, Row[Any, Any, Any, Any]] = {}
        changes = []
        for row in rows:
            entry = wanted.get(_article(row.canonical_url, row.content_hash))
            if entry is not None and entry.key not in moved and row.id not in taken:
                moved[entry.key] = row
                taken.add(row.id)
                changes.append({"_id": row.id, "_key": entry.key, "_link": entry.link})
        if changes:
            conn.execute(update(sightings).where(sightings.c.id == bindparam("_id"))
                         .values(entry_key=bindparam("_key"), link=bindparam("_link")), changes)
        return moved


def _article(canonical_url: str | None, content_hash: str) -> str:
    """What an entry is about, whatever its key: its canonical URL, else (no link) its content."""
    return f"url {canonical_url}" if canonical_url else f"content {content_hash}"


def _story_values(entry: NormalisedEntry, now: datetime) -> dict[str, Any]:
    return {
        "canonical_url": entry.canonical_url,
        "title": entry.title,
        "content_html": entry.content_html,
        "text": entry.text,
        "excerpt": entry.excerpt,
        "published_at": entry.published_at or entry.updated_at or now,
        "updated_at": entry.updated_at,
        "changed_at": now,
        "author": entry.author,
        "image_url": entry.image_url,
        "content_hash": entry.content_hash,
        "publisher": entry.publisher,
        "publisher_url": entry.publisher_url,
    }
