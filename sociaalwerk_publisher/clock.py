"""The time, in a module that depends on nothing of ours, so every layer may ask it."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
