"""Reads and writes for running the tool: run history, health figures, retention, erasure."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, select, update

from ..types import LastRun
from ._schema import outbox, runs, sightings, stories, suppressions, syndications

if TYPE_CHECKING:
    from . import Storage


class OperationsStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def record_run(self, host: str, started: datetime, finished: datetime, ok: bool, summary: str,
                   errors: list[str]) -> None:
        with self._storage.begin() as conn:
            conn.execute(insert(runs).values(host=host, started_at=started, finished_at=finished, ok=ok,
                                              summary=summary, errors="\n".join(errors) or None))

    def last_run(self) -> LastRun | None:
        with self._storage.connect() as conn:
            last = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(1)).first()
        if last is None:
            return None
        return LastRun(last.host, last.started_at, last.finished_at, last.ok, last.summary,
                       tuple((last.errors or "").splitlines()))

    def destination_health(self) -> dict[str, dict[str, Any]]:
        """Per destination: last successful publication, records per state, last error."""
        health: dict[str, dict[str, Any]] = {}
        with self._storage.connect() as conn:
            for name, state, count, last in conn.execute(
                select(syndications.c.destination, syndications.c.state, func.count(),
                       func.max(syndications.c.updated_at))
                .group_by(syndications.c.destination, syndications.c.state)
            ):
                entry = health.setdefault(name, {"states": {}, "last_success": None, "last_error": None})
                entry["states"][state] = count
                if state == "published" and (entry["last_success"] is None or last > entry["last_success"]):
                    entry["last_success"] = last
            for name, error in conn.execute(
                select(syndications.c.destination, syndications.c.last_error)
                .where(syndications.c.last_error.is_not(None)).order_by(syndications.c.updated_at)
            ):
                health[name]["last_error"] = error
        return health

    def outbox_counts(self) -> dict[str, int]:
        with self._storage.connect() as conn:
            return {state: n for state, n in conn.execute(
                select(outbox.c.state, func.count()).group_by(outbox.c.state))}

    def prune_text(self, before: datetime) -> int:
        """Drop the text and HTML of items published before ``before``; rows and counts stay."""
        with self._storage.begin() as conn:
            return conn.execute(
                update(stories).where(and_(stories.c.published_at < before, stories.c.text != ""))
                .values(text="", content_html="", excerpt="")
            ).rowcount or 0

    def is_suppressed(self, url: str) -> bool:
        with self._storage.connect() as conn:
            return conn.execute(select(suppressions.c.id).where(suppressions.c.url == url)).first() is not None

    def suppress(self, url: str, by: str, reason: str | None, now: datetime) -> None:
        with self._storage.begin() as conn:
            conn.execute(self._storage.insert_ignoring_conflicts(suppressions).values(
                url=url, created_at=now, created_by=by, reason=reason))

    def erase_story(self, story_id: int) -> None:
        """Delete the local copy and everything hanging off it (sightings, mentions, audit)."""
        with self._storage.begin() as conn:
            conn.execute(delete(sightings).where(sightings.c.story_id == story_id))
            conn.execute(delete(stories).where(stories.c.id == story_id))
