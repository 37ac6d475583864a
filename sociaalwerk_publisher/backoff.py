"""How long to wait before trying again: one rule for failing feeds, posts and mail."""

from __future__ import annotations

import random
from datetime import timedelta

_RANDOM = random.Random()


def backoff(failures: int, first: timedelta, most: timedelta, *, jitter: float = 0.2,
            rng: random.Random | None = None) -> timedelta:
    """The wait after ``failures`` failures in a row: ``first``, twice that, four times ... up to
    ``most``, each spread by ±``jitter`` so that what failed together does not retry together."""
    delay = min(first * 2.0 ** max(failures - 1, 0), most)
    return delay * (rng or _RANDOM).uniform(1 - jitter, 1 + jitter) if jitter else delay
