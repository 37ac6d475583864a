"""What storage hands up besides the public types: typed, frozen copies of rows.

Only the package itself sees these; the public records (``Source``, ``Story``, ...) are in
:mod:`..types`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..types import SyndicationState


@dataclass(frozen=True)
class SyndicationRecord:
    """Where one story stands on one destination, as the engine plans and claims by."""

    story_id: int
    destination: str
    state: SyndicationState
    remote_id: str | None
    remote_url: str | None
    content_hash: str | None  #: of what was last sent successfully
    #: the copy as the destination held it right after we sent it: a later difference is a member's edit
    sent_state_hash: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class HubReviewRecord:
    """A story placed on the hub for review."""

    story_id: int
    remote_id: str  #: the hub post
    state: str  #: pending, approved or rejected
    queued_at: datetime
    story_hash: str  #: the original's content when last pushed
    pushed_hash: str  #: the hub post right after our last push
    conflict: str | None  #: the original changed after an editor edited the pending post
    decided_at: datetime | None
    checked_at: datetime | None
    version_hash: str | None  #: of the editor's version, once published on the hub


@dataclass(frozen=True)
class EditorVersion:
    """An approved story as an editor published it on the hub: what member sites receive."""

    title: str
    content_html: str
    categories: str | None  #: tab-separated names
    tags: str | None  #: tab-separated names
    image_url: str | None
    version_hash: str


@dataclass(frozen=True)
class OutletRecord:
    """A known outlet, by its domain (``type`` is an :class:`~..coverage.model.OutletType` value)."""

    id: int
    domain: str
    name: str
    type: str
    municipality: str | None  #: CBS code
    province: str | None
    reach: int | None
