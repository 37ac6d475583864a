"""Editorial states of a story and the one table of allowed transitions."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import datetime

from .exceptions import InvalidTransitionError
from .types import StoryStatus

#: Which decisions may follow which state. Anything else is refused.
TRANSITIONS: dict[StoryStatus, frozenset[StoryStatus]] = {
    StoryStatus.NEW: frozenset({StoryStatus.APPROVED, StoryStatus.REJECTED}),
    StoryStatus.REJECTED: frozenset({StoryStatus.APPROVED}),  # a reconsidered decision
    StoryStatus.APPROVED: frozenset({StoryStatus.RETRACTED}),
    StoryStatus.RETRACTED: frozenset(),
}

#: Who made a decision the program took by itself (trusted sources).
AUTO = "auto"


@dataclass(frozen=True)
class Decision:
    """One recorded editorial decision: who, when, from which state to which, and why."""

    story_id: int
    from_status: StoryStatus
    to_status: StoryStatus
    decided_by: str
    decided_at: datetime
    note: str | None = None


def check_transition(story_id: int, current: StoryStatus, wanted: StoryStatus) -> None:
    """Raises: InvalidTransitionError when ``wanted`` may not follow ``current``."""
    if wanted not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing"
        raise InvalidTransitionError(
            f"story {story_id} is {current.value}; it cannot become {wanted.value}"
            f" (from {current.value} only: {allowed})",
            story_id,
        )


def current_user() -> str:
    """The OS user, recorded when no ``--by`` is given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or f"uid {os.getuid()}"
