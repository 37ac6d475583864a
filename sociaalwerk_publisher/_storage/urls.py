"""Database URLs: checked and shown without the rest of the package knowing SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

SUPPORTED = "only SQLite and PostgreSQL are supported (sqlite:///path or postgresql+psycopg://user@host/name)"


def url_problem(url: str) -> str | None:
    """What is wrong with a database URL, in words that never repeat it (it may hold a
    password); ``None`` when the store can be opened with it."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"not a database URL: {SUPPORTED}"
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        return f"{backend} is not supported: {SUPPORTED}"
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return "the port must be from 1 to 65535"
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        return f"unknown driver {parsed.drivername!r}: {SUPPORTED}"
    return None


def redacted_url(url: str) -> str:
    """A database URL as it may be shown: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)
