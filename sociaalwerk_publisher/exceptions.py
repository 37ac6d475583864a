"""One exception tree for the whole package.

Every public method raises only these; foreign exceptions (sqlite3, requests,
xmlrpc.client, smtplib, jinja2) are translated at the boundary and chained as
``__cause__``. Each error carries the identity of what failed as an attribute.
"""

from __future__ import annotations

from enum import Enum


class ErrorKind(str, Enum):
    """What went wrong, for a program (the report says it in Dutch); the message says it in words.

    Kept on :class:`FetchError` and :class:`TransportError` as ``reason``, and stored with a
    source's last error (``sources.last_error_kind``).
    """

    DNS = "dns"  #: the host name does not resolve
    REFUSED = "refused"  #: nothing listens there (connection refused)
    UNREACHABLE = "unreachable"  #: no route to the host
    TIMEOUT = "timeout"  #: no (complete) answer within the time allowed
    TLS = "tls"  #: no trusted encrypted connection (certificate, handshake)
    RESET = "reset"  #: the server broke off the connection
    PROTOCOL = "protocol"  #: the answer is not valid HTTP (or cannot be decompressed)
    TOO_LARGE = "too-large"  #: above the size limit
    HTTP_STATUS = "http-status"  #: an error status; ``status`` holds it
    GONE = "gone"  #: HTTP 410: it will never come back
    RATE_LIMITED = "rate-limited"  #: HTTP 429 (or 503 with Retry-After); ``retry_after`` says how long
    REDIRECTS = "redirects"  #: too many redirects, or one without a Location
    BLOCKED = "blocked"  #: refused by us: not http(s), or an address that is not public
    WRONG_TYPE = "wrong-type"  #: not the kind of content asked for (e.g. not an image)
    NOT_A_FEED = "not-a-feed"  #: no valid RSS or Atom
    FILE = "file"  #: a local file is missing or unreadable
    OTHER = "other"  #: anything else; the message says what



class PublisherError(Exception):
    """Base of every error this package raises."""

    #: Exit code the CLI uses when this error ends a command.
    exit_code = 1


class ConfigError(PublisherError):
    """The configuration is invalid; ``key`` names the offending setting."""

    exit_code = 2

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


class UsageError(PublisherError):
    """A request that cannot be carried out as asked (unknown id, bad filter)."""

    exit_code = 2


class StorageError(PublisherError):
    """The store could not be read or written."""


class SchemaOutdatedError(StorageError):
    """The database schema is older than this version and must be upgraded."""

    exit_code = 2


class SourceError(PublisherError):
    """A source could not be added, found or fetched."""

    def __init__(self, message: str, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)


class SourceNotFoundError(SourceError, UsageError):
    """No source has the given id (``source_id``)."""

    exit_code = 2

    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        super().__init__(f"no source with id {source_id}")


class FetchError(SourceError):
    """Retrieving or parsing a feed failed.

    ``retry_after`` is set (seconds) when the server asked us to wait;
    ``gone`` is true when the feed will never come back (HTTP 410);
    ``reason`` says what went wrong as an :class:`ErrorKind` (``None`` when unknown).
    """

    default_reason: ErrorKind | None = None

    def __init__(
        self,
        message: str,
        url: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        gone: bool = False,
        reason: ErrorKind | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.gone = gone
        self.reason = reason or self.default_reason
        super().__init__(message, url)


class NotAFeedError(FetchError):
    """The URL answered with something that is not an RSS or Atom feed."""

    default_reason = ErrorKind.NOT_A_FEED


class StoryError(PublisherError):
    """A story could not be found or changed."""

    def __init__(self, message: str, story_id: int | None = None) -> None:
        self.story_id = story_id
        super().__init__(message)


class StoryNotFoundError(StoryError, UsageError):
    """No story has the given id."""

    exit_code = 2


class InvalidTransitionError(StoryError, UsageError):
    """The decision does not fit the story's state (e.g. retracting a rejected story)."""

    exit_code = 2


class DestinationError(PublisherError):
    """A destination (a WordPress site, a WXR file) could not be used."""

    def __init__(self, message: str, destination: str | None = None) -> None:
        self.destination = destination
        super().__init__(f"{destination}: {message}" if destination else message)


class AdapterError(DestinationError):
    """The adapter talking to a destination failed."""


class AuthenticationError(AdapterError):
    """The destination refused our credentials or rights; retrying will not help."""


class RemoteRejectedError(AdapterError):
    """The destination understood the request and refused it (4xx, an XML-RPC fault)."""

    def __init__(self, message: str, destination: str | None = None, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message, destination)


class TransportError(AdapterError):
    """The destination could not be reached or failed on its side; worth retrying later.

    ``reason`` says what went wrong on the network as an :class:`ErrorKind`, when known.
    """

    def __init__(self, message: str, destination: str | None = None, *,
                 reason: ErrorKind | None = None) -> None:
        self.reason = reason
        super().__init__(message, destination)


class TemplateError(PublisherError):
    """A template is missing or failed to render; ``template`` names it."""

    exit_code = 2

    def __init__(self, message: str, template: str | None = None) -> None:
        self.template = template
        super().__init__(f"template {template}: {message}" if template else message)


class ReportError(PublisherError):
    """A report could not be built or written."""


class MailError(PublisherError):
    """A message could not be handed to the SMTP server; ``key`` names the outbox item."""

    def __init__(self, message: str, key: str | None = None, *, permanent: bool = False) -> None:
        self.key = key
        self.permanent = permanent
        super().__init__(message)


class AlreadyRunningError(PublisherError):
    """Another run holds the lock; this one did nothing."""

    exit_code = 75
