"""sociaalwerk-publisher: local social-work stories made visible nationally.

Aggregate members' blogs and media feeds, review stories, syndicate them to
WordPress sites and track press coverage. Start with :func:`make_publisher`.
"""

from __future__ import annotations

import logging

from .core import Publisher, make_publisher
from .exceptions import (
    ConfigError,
    ErrorKind,
    FetchError,
    NotAFeedError,
    PublisherError,
    SchemaOutdatedError,
    SourceError,
    SourceNotFoundError,
    StorageError,
    StoryError,
    StoryNotFoundError,
    UsageError,
)
from .types import (
    FetchResult,
    FetchOutcome,
    Source,
    SourceKind,
    SourceUpdate,
    Story,
    StoryFilter,
    StoryStatus,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ConfigError",
    "ErrorKind",
    "FetchError",
    "FetchOutcome",
    "FetchResult",
    "NotAFeedError",
    "Publisher",
    "PublisherError",
    "SchemaOutdatedError",
    "Source",
    "SourceError",
    "SourceKind",
    "SourceNotFoundError",
    "SourceUpdate",
    "StorageError",
    "Story",
    "StoryError",
    "StoryFilter",
    "StoryNotFoundError",
    "StoryStatus",
    "UsageError",
    "make_publisher",
]
