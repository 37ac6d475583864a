"""Editorial states of a story and the one table of allowed transitions."""

from __future__ import annotations

import getpass
import os

from typing import TYPE_CHECKING

from .exceptions import InvalidTransitionError
from .types import SourceKind, Story, StoryStatus

if TYPE_CHECKING:
    from .config import Config

#: Which decisions may follow which state. Anything else is refused.
TRANSITIONS: dict[StoryStatus, frozenset[StoryStatus]] = {
    StoryStatus.NEW: frozenset({StoryStatus.APPROVED, StoryStatus.REJECTED}),
    StoryStatus.REJECTED: frozenset({StoryStatus.APPROVED}),  # a reconsidered decision
    StoryStatus.APPROVED: frozenset({StoryStatus.RETRACTED}),
    StoryStatus.RETRACTED: frozenset(),
}

#: Who made a decision the program took by itself (trusted sources).
AUTO = "auto"


def check_transition(story_id: int, current: StoryStatus, wanted: StoryStatus) -> None:
    """Raises: InvalidTransitionError when ``wanted`` may not follow ``current``."""
    if wanted not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing"
        raise InvalidTransitionError(
            f"story {story_id} is {current.value}; it cannot become {wanted.value}"
            f" (from {current.value} only: {allowed})",
            story_id,
        )


def reviewable_kinds(config: Config) -> frozenset[SourceKind]:
    """The kinds of item an editor decides on: blog stories, and press items of a kind some
    destination publishes (``filter.kinds``; an empty list takes every kind). Other press
    items only count as coverage."""
    kinds = {SourceKind.BLOG}
    for destination in config.destinations:
        kinds |= {SourceKind(k) for k in destination.filter.kinds} if destination.filter.kinds else set(SourceKind)
    return frozenset(kinds)


def check_reviewable(story: Story, reviewable: frozenset[SourceKind]) -> None:
    """Raises: InvalidTransitionError for a press item no destination publishes: approving it
    would promise a publication that never comes."""
    if story.kind not in reviewable:
        kind = story.kind.value
        raise InvalidTransitionError(
            f"story {story.id} is a press item ({kind}): it counts as press coverage and is not"
            f" reviewed, since no destination publishes {kind} items (destinations.filter.kinds)",
            story.id,
        )


def current_user() -> str:
    """The OS user, recorded when no ``--by`` is given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or f"uid {os.getuid()}"
