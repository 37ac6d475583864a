"""Numbers in English sentences, for the command line and the messages of the library."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 outlet``, ``2 outlets`` (``plural`` where adding an s is wrong)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
