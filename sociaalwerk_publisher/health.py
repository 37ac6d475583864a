"""What `status` and `doctor` report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FailingSourceStatus:
    id: int
    title: str
    url: str
    consecutive_failures: int
    last_success_at: datetime | None  #: failing since (about) then
    error: str
    active: bool


@dataclass(frozen=True)
class DestinationStatus:
    name: str
    adapter: str
    last_success: datetime | None
    states: dict[str, int]  #: syndication records per state
    last_error: str | None


@dataclass(frozen=True)
class LastRun:
    host: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    summary: str
    errors: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    checked_at: datetime
    sources: int
    failing_sources: tuple[FailingSourceStatus, ...]
    destinations: tuple[DestinationStatus, ...]
    outbox: dict[str, int]
    database: str  #: the URL without its password
    database_bytes: int | None
    schema_version: int
    last_run: LastRun | None
    #: review in WordPress: stories whose original changed after an editor edited the hub post
    review_conflicts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """One `doctor` check: what was checked, whether it is fine, and what to do if not."""

    check: str
    ok: bool
    message: str
