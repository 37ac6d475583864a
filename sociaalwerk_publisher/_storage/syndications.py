"""Reads and writes of syndication records and uploaded media."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, and_, case, exists, select, update

from ..types import StoryStatus, Syndication, SyndicationState
from ._schema import remote_media, stories, syndications
from .claims import RELEASED, free, taken_by
from .records import SyndicationRecord

if TYPE_CHECKING:
    from . import Storage


def _to_syndication(row: Row[Any]) -> Syndication:
    return Syndication(row.story_id, row.destination, SyndicationState(row.state), row.remote_id,
                       row.remote_url, row.attempts, row.last_error, row.updated_at,
                       row.unlinked_at, row.unlinked_by, row.unlinked_how)


def _to_record(row: Row[Any]) -> SyndicationRecord:
    return SyndicationRecord(row.story_id, row.destination, SyndicationState(row.state), row.remote_id,
                             row.remote_url, row.content_hash, row.sent_state_hash, row.attempts,
                             row.last_error, row.next_attempt_at)


class SyndicationStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def for_destination(self, destination: str) -> dict[int, SyndicationRecord]:
        """Every record of one destination, by story id."""
        query = select(syndications).where(syndications.c.destination == destination)
        with self._storage.connect() as conn:
            return {row.story_id: _to_record(row) for row in conn.execute(query)}

    def for_story(self, story_id: int) -> list[Syndication]:
        query = select(syndications).where(syndications.c.story_id == story_id).order_by(syndications.c.id)
        with self._storage.connect() as conn:
            return [_to_syndication(row) for row in conn.execute(query)]

    def claim(self, story_id: int, destination: str, worker: str, now: datetime,
              expires: datetime, states: tuple[SyndicationState, ...],
              story_status: StoryStatus) -> SyndicationRecord | None:
        """Take the record for a remote call, creating it (as pending) if needed.

        One conditional UPDATE decides, so two workers can never both hold a
        claim, on SQLite or PostgreSQL. Returns the claimed record, or ``None``
        when another worker holds an unexpired claim, the record is no longer in
        one of ``states`` or the story no longer has ``story_status`` (so a story
        retracted a moment ago is never published). The claim is committed before the caller goes to
        the network; a failed record becomes pending again. On PostgreSQL the row is first
        locked with ``FOR UPDATE SKIP LOCKED``: a record another worker is claiming at this
        moment is passed by at once instead of waited for.
        """
        where = and_(syndications.c.story_id == story_id, syndications.c.destination == destination)
        with self._storage.begin() as conn:
            conn.execute(
                self._storage.insert_ignoring_conflicts(syndications).values(
                    story_id=story_id, destination=destination, state=SyndicationState.PENDING.value,
                    attempts=0, created_at=now, updated_at=now,
                )
            )
            if not self._storage.is_sqlite and conn.execute(
                    select(syndications.c.id).where(where).with_for_update(skip_locked=True)).first() is None:
                return None
            failed_or_pending = syndications.c.state.in_(
                [SyndicationState.FAILED.value, SyndicationState.PENDING.value])
            claimed = conn.execute(
                update(syndications)
                .where(where)
                .where(syndications.c.state.in_([s.value for s in states]))
                .where(exists().where(and_(stories.c.id == story_id,
                                           stories.c.status == story_status.value)))
                .where(free(syndications, now, worker))
                .values(
                    **taken_by(worker, expires), updated_at=now,
                    attempts=syndications.c.attempts + 1,
                    state=case((failed_or_pending, SyndicationState.PENDING.value),
                               else_=syndications.c.state),
                )
            ).rowcount
            if not claimed:
                return None
            return _to_record(conn.execute(select(syndications).where(where)).one())

    def finish(self, story_id: int, destination: str, now: datetime,
               event: tuple[str, dict[str, Any]] | None = None, **values: Any) -> None:
        """Record the outcome of a remote call and release the claim; with ``event``, record
        that webhook event (type, data) in the same transaction."""
        with self._storage.begin() as conn:
            conn.execute(
                update(syndications)
                .where(and_(syndications.c.story_id == story_id, syndications.c.destination == destination))
                .values(**values, updated_at=now, **RELEASED)
            )
            if event is not None:
                self._storage.webhooks.record(conn, event[0], event[1], now, story_id=story_id)

    def unlink(self, story_id: int, destination: str, now: datetime, by: str, how: str,
               states: tuple[SyndicationState, ...]) -> Syndication | None:
        """Mark a copy unlinked, if its record is in one of ``states`` and no worker holds it;
        the record as it is now (``None``: there is none)."""
        where = and_(syndications.c.story_id == story_id, syndications.c.destination == destination)
        with self._storage.begin() as conn:
            conn.execute(
                update(syndications).where(where)
                .where(syndications.c.state.in_([s.value for s in states]))
                .where(free(syndications, now))
                .values(state=SyndicationState.UNLINKED.value, unlinked_at=now, unlinked_by=by,
                        unlinked_how=how, next_attempt_at=None, updated_at=now)
            )
            row = conn.execute(select(syndications).where(where)).first()
        return _to_syndication(row) if row is not None else None

    def kept_by_members(self, since: datetime | None) -> list[Syndication]:
        """Copies a member's editor changed or unlinked (states edited and unlinked), by the
        time they were recorded, those recorded after ``since`` only when it is given."""
        query = select(syndications).where(syndications.c.state.in_(
            [SyndicationState.EDITED.value, SyndicationState.UNLINKED.value]))
        if since is not None:
            query = query.where(syndications.c.updated_at > since)
        with self._storage.connect() as conn:
            return [_to_syndication(row) for row in conn.execute(query.order_by(syndications.c.updated_at))]

    def claimants(self) -> list[str]:
        """Workers that hold claims now."""
        query = select(syndications.c.claimed_by).where(syndications.c.claimed_by.is_not(None)).distinct()
        with self._storage.connect() as conn:
            return [row.claimed_by for row in conn.execute(query)]

    def release(self, worker: str) -> None:
        """Drop every claim of ``worker``."""
        with self._storage.begin() as conn:
            conn.execute(update(syndications).where(syndications.c.claimed_by == worker).values(**RELEASED))

    def media_id(self, destination: str, image_url: str) -> str | None:
        query = select(remote_media.c.remote_id).where(
            and_(remote_media.c.destination == destination, remote_media.c.image_url == image_url))
        with self._storage.connect() as conn:
            return conn.execute(query).scalar()

    def remember_media(self, destination: str, image_url: str, remote_id: str, now: datetime) -> None:
        """Remember an upload; one another worker remembered first is kept."""
        with self._storage.begin() as conn:
            conn.execute(self._storage.insert_ignoring_conflicts(remote_media).values(
                destination=destination, image_url=image_url, remote_id=remote_id, created_at=now))

    def forget_media(self, destination: str, image_url: str) -> None:
        """A remembered upload the destination no longer has."""
        with self._storage.begin() as conn:
            conn.execute(remote_media.delete().where(and_(
                remote_media.c.destination == destination, remote_media.c.image_url == image_url)))
