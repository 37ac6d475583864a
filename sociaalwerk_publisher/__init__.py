"""sociaalwerk-publisher: local social-work stories made visible nationally.

Aggregate members' blogs and media feeds, review stories, syndicate them to
WordPress sites and track press coverage. Start with :func:`make_publisher`.
"""

from __future__ import annotations

import logging

from ._version import __version__
from .core import Publisher, make_publisher
from .exceptions import (
    AdapterError,
    AlreadyRunningError,
    AuthenticationError,
    ConfigError,
    DestinationError,
    ErrorKind,
    FetchError,
    InvalidTransitionError,
    MailError,
    NotAFeedError,
    PublisherError,
    RemoteRejectedError,
    ReportError,
    SchemaOutdatedError,
    SourceError,
    SourceNotFoundError,
    StorageError,
    StoryError,
    StoryNotFoundError,
    TemplateError,
    TransportError,
    UsageError,
)
from .types import (
    FetchOutcome,
    FetchResult,
    OutboxItem,
    Source,
    SourceKind,
    SourceUpdate,
    Story,
    StoryFilter,
    StoryStatus,
    Syndication,
    SyndicationAction,
    SyndicationResult,
    SyndicationState,
    WebhookCounts,
    WebhookDelivery,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AdapterError",
    "AlreadyRunningError",
    "AuthenticationError",
    "ConfigError",
    "DestinationError",
    "ErrorKind",
    "FetchError",
    "FetchOutcome",
    "FetchResult",
    "InvalidTransitionError",
    "MailError",
    "make_publisher",
    "NotAFeedError",
    "OutboxItem",
    "Publisher",
    "PublisherError",
    "RemoteRejectedError",
    "ReportError",
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
    "Syndication",
    "SyndicationAction",
    "SyndicationResult",
    "SyndicationState",
    "TemplateError",
    "TransportError",
    "UsageError",
    "WebhookCounts",
    "WebhookDelivery",
    "__version__",
]
