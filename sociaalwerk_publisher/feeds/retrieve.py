"""Retrievers: download a feed's bytes politely and within limits.

The retriever owns the wire (session, conditional GET, redirects, limits,
error translation); the caller owns policy (when to poll, backoff).
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from .._version import __version__
from ..config import FetchConfig
from ..exceptions import ErrorKind, FetchError
from ..netguard import RefusedAddress, guarded_session
from ..network import Deadline, DeadlineAdapter, describe

MAX_REDIRECTS = 5
_PERMANENT = frozenset({301, 308})
_TEMPORARY = frozenset({302, 303, 307})
_CHUNK = 64 * 1024
FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.5, */*;q=0.1"
)


@dataclass(frozen=True)
class Retrieved:
    """What a retrieval brought back; ``content`` is ``None`` when not modified."""

    url: str  #: where the bytes finally came from
    content: bytes | None
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    #: the new address when every redirect on the way was permanent (301/308)
    moved_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.content is None


def user_agent(contact_url: str) -> str:
    return f"sociaalwerk-publisher/{__version__} (+{contact_url})"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class HttpRetriever:
    """HTTP(S) with connection pooling, conditional GET and hard limits.

    Where it may connect depends on who chose the URL. With ``trust_given_url``
    (feeds the operator configured) the URL given and redirects on its own host
    go wherever they point. Every other hop (a redirect to another host, and
    every URL when ``trust_given_url`` is false: URLs from feed content) connects
    only to public addresses (see :mod:`..netguard`), unless
    ``allow_private_networks`` lifts that rule.
    """

    def __init__(self, config: FetchConfig, *, trust_given_url: bool = True,
                 allow_private_networks: bool = False, accept: str = FEED_ACCEPT) -> None:
        self._config = config
        self._trust_given_url = trust_given_url
        headers = {
            "User-Agent": user_agent(config.contact_url),
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate",
        }
        self.session = requests.Session()
        adapter = DeadlineAdapter(pool_connections=config.concurrency, pool_maxsize=config.concurrency)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(headers)
        self._guarded: requests.Session | None = None
        if not allow_private_networks:
            self._guarded = guarded_session(config.concurrency)
            self._guarded.headers.update(headers)
        for session in filter(None, (self.session, self._guarded)):
            _settle_environment(session)

    def retrieve(self, url: str, etag: str | None = None, last_modified: str | None = None, *,
                 accept: str | None = None, content_types: tuple[str, ...] = (),
                 max_bytes: int | None = None) -> Retrieved:
        """Download ``url``, following at most five redirects.

        ``[fetch] deadline`` bounds the whole exchange, from the first connect to the last
        byte of the last hop, TLS handshakes included (see :mod:`..network`).

        Args:
            accept: the Accept header, instead of the one given when built.
            content_types: the answer's Content-Type must be one of these
                (``image/*`` matches every image type); checked before the body is read.
            max_bytes: a limit lower than the configured one.

        Raises:
            FetchError: network failure, error status, too large, too slow, an
                unwanted Content-Type, or a refused address ("refused: ..."); its
                ``reason`` says which.
        """
        limit = min(self._config.max_bytes, max_bytes or self._config.max_bytes)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        exchange = Deadline(self._config.deadline, connect=self._config.connect_timeout,
                            read=self._config.read_timeout)
        try:
            with exchange:
                return self._follow(url, headers, content_types, limit, exchange)
        except (requests.RequestException, Urllib3HTTPError, OSError) as e:
            failure = describe(e, exchange)
            raise FetchError(failure.message, url, reason=failure.kind) from e

    def _follow(self, url: str, headers: dict[str, str], content_types: tuple[str, ...], limit: int,
                exchange: Deadline) -> Retrieved:
        etag, last_modified = headers.get("If-None-Match"), headers.get("If-Modified-Since")
        current, permanent = url, True
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get(self._session_for(url, current), current, url, headers, exchange)
            try:
                status = response.status_code
                if status in _PERMANENT or status in _TEMPORARY:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchError(f"HTTP {status} without a Location", url, status=status,
                                         reason=ErrorKind.REDIRECTS)
                    current = urljoin(current, location)
                    permanent = permanent and status in _PERMANENT
                    continue
                moved_to = current if permanent and current != url else None
                if status == 304:
                    return Retrieved(current, None, dict(response.headers), etag, last_modified,
                                     moved_to)
                if status >= 400:
                    raise _status_error(response, url)
                if content_types:
                    _check_content_type(response, content_types, url)
                content = self._read_body(response, url, limit)
                return Retrieved(
                    current, content, dict(response.headers),
                    response.headers.get("ETag"), response.headers.get("Last-Modified"), moved_to,
                )
            finally:
                _release(response)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects", url, reason=ErrorKind.REDIRECTS)

    def _session_for(self, given: str, current: str) -> requests.Session:
        if urlsplit(current).scheme.lower() not in ("http", "https"):
            raise FetchError("refused: only http and https URLs are fetched"
                             + (" (a redirect pointed elsewhere)" if current != given else ""), given,
                             reason=ErrorKind.BLOCKED)
        if self._guarded is None or (self._trust_given_url and _same_host(given, current)):
            return self.session
        return self._guarded

    def _get(self, session: requests.Session, current: str, url: str, headers: dict[str, str],
             exchange: Deadline) -> requests.Response:
        # prepared here from the session settled once (_settle_environment), not merged with
        # the session's settings and the environment again for every request as session.get
        # does (a sixth of a quiet poll's CPU); proxies are still resolved per request (send)
        request = requests.PreparedRequest()
        request.prepare(method="GET", url=current, headers=CaseInsensitiveDict({**session.headers, **headers}),
                        cookies=session.cookies)
        try:
            return session.send(request, stream=True, allow_redirects=False, timeout=exchange.timeouts)
        except RefusedAddress as e:
            redirected = " (after a redirect)" if current != url else ""
            raise FetchError(f"{e}{redirected}", url, reason=ErrorKind.BLOCKED) from e

    def _read_body(self, response: requests.Response, url: str, limit: int) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"larger than the limit of {limit} bytes ({declared})", url,
                             reason=ErrorKind.TOO_LARGE)
        body = bytearray()
        while True:
            # read1 returns what has arrived: the limit is checked as the body grows
            chunk = response.raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise FetchError(f"larger than the limit of {limit} bytes (decompressed)", url,
                                 reason=ErrorKind.TOO_LARGE)
        return bytes(body)

    def close(self) -> None:
        self.session.close()
        if self._guarded is not None:
            self._guarded.close()


def _settle_environment(session: requests.Session) -> None:
    """Read the environment once, not on every request (a tenth of a quiet poll's CPU).

    The CA bundle variables do not change while we run. Without proxy variables nothing else
    in the environment matters to requests; with them, requests applies NO_PROXY per host, so
    that is left to it.
    """
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    if not urllib.request.getproxies():
        session.trust_env = False


class FileRetriever:
    """``file://`` URLs: bundled examples and feeds produced on this machine."""

    def __init__(self, config: FetchConfig) -> None:
        self._config = config

    def retrieve(self, url: str, etag: str | None = None, last_modified: str | None = None
                 ) -> Retrieved:
        path = Path(unquote(urlsplit(url).path))
        try:
            stat = path.stat()
            if stat.st_size > self._config.max_bytes:
                raise FetchError(f"larger than the limit of {self._config.max_bytes} bytes", url,
                                 reason=ErrorKind.TOO_LARGE)
            # mtime and size stand in for an ETag, so an unchanged file is not re-parsed
            tag = '"' + hashlib.sha1(f"{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest() + '"'
            if etag == tag:
                return Retrieved(url, None, {}, etag, None)
            content = path.read_bytes()
        except FileNotFoundError as e:
            raise FetchError(f"file not found: {path}", url, reason=ErrorKind.FILE) from e
        except OSError as e:
            raise FetchError(f"cannot read {path}: {e.strerror}", url, reason=ErrorKind.FILE) from e
        modified = datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc)
        headers = {"Content-Type": "application/xml"}  # feedparser sniffs the real encoding
        return Retrieved(url, content, headers, tag, email.utils.format_datetime(modified, usegmt=True))

    def close(self) -> None:
        pass


class Retrievers:
    """Retrievers by URL scheme, for the operator's feeds; :meth:`for_content` for URLs from feeds."""

    def __init__(self, config: FetchConfig, *, allow_private_networks: bool = False) -> None:
        self._config = config
        self._allow_private_networks = allow_private_networks
        self.http = HttpRetriever(config, allow_private_networks=allow_private_networks)
        self._by_scheme: dict[str, HttpRetriever | FileRetriever] = {
            "http": self.http, "https": self.http, "file": FileRetriever(config)}
        self._for_content: dict[bool, HttpRetriever] = {}
        self._lock = threading.Lock()

    def retrieve(self, url: str, etag: str | None = None, last_modified: str | None = None
                 ) -> Retrieved:
        """Raises: FetchError."""
        retriever = self._by_scheme.get(urlsplit(url).scheme.lower())
        if retriever is None:
            raise FetchError("only http, https and file URLs can be fetched", url, reason=ErrorKind.BLOCKED)
        return retriever.retrieve(url, etag, last_modified)

    def for_content(self, allow_private_networks: bool | None = None) -> HttpRetriever:
        """The retriever for URLs that come from feed content (images, article pages).

        http(s) only, and every hop to public addresses only unless
        ``allow_private_networks`` (default: as this object was built) says otherwise.
        """
        allow = self._allow_private_networks if allow_private_networks is None else allow_private_networks
        with self._lock:
            if allow not in self._for_content:
                self._for_content[allow] = HttpRetriever(
                    self._config, trust_given_url=False, allow_private_networks=allow, accept="*/*")
            return self._for_content[allow]

    def close(self) -> None:
        self.http.close()
        with self._lock:
            for retriever in self._for_content.values():
                retriever.close()
            self._for_content.clear()


def _release(response: requests.Response) -> None:
    """Give the connection back to the pool for the next feed when its answer is read
    completely (keep-alive saves a TCP and TLS handshake per feed); otherwise close it.

    A short rest (a 304, a redirect page) is read first; a long or unknown one is not,
    so a hostile server cannot make us read more than we chose to.
    """
    raw = response.raw
    declared = response.headers.get("Content-Length", "")
    try:
        if not raw.isclosed() and (response.status_code == 304
                                   or (declared.isdigit() and int(declared) <= 65536)):
            raw.drain_conn()
        if raw.isclosed():
            raw.release_conn()
            return
    except (OSError, Urllib3HTTPError):
        pass
    response.close()


def _status_error(response: requests.Response, url: str) -> FetchError:
    status = response.status_code
    said = f"HTTP {status} {response.reason or ''}".strip()
    if status == 410:
        return FetchError(f"{said}: the feed is gone", url, status=status, gone=True, reason=ErrorKind.GONE)
    if status in (429, 503):
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        limited = status == 429 or wait is not None
        return FetchError(said, url, status=status, retry_after=wait,
                          reason=ErrorKind.RATE_LIMITED if limited else ErrorKind.HTTP_STATUS)
    return FetchError(said, url, status=status, reason=ErrorKind.HTTP_STATUS)


def _check_content_type(response: requests.Response, wanted: tuple[str, ...], url: str) -> None:
    declared = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    for pattern in wanted:
        if declared == pattern or (pattern.endswith("/*") and declared.startswith(pattern[:-1])):
            return
    shown = "".join(c for c in declared if c.isprintable())[:60] or "missing"
    raise FetchError(f"Content-Type {shown} is not {' or '.join(wanted)}", url, reason=ErrorKind.WRONG_TYPE)


def _same_host(given: str, current: str) -> bool:
    return (urlsplit(given).hostname or "") == (urlsplit(current).hostname or "")


def is_file_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() == "file"


def path_to_url(path: str | os.PathLike[str]) -> str:
    return Path(path).resolve().as_uri()
