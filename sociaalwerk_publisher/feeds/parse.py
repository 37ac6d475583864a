"""Parse downloaded bytes into normalised entries (feedparser).

Pure and picklable, so parsing can run in worker processes: on a first poll
parsing is nearly all of the work, and a second core halves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import feedparser

from ..exceptions import NotAFeedError
from .normalise import NormalisedEntry, normalise_entry
from .sanitise import plain_text


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None
    entries: tuple[NormalisedEntry, ...]
    #: a defect feedparser worked around (broken XML, wrong encoding), if any
    problem: str | None = None


def parse_feed(content: bytes, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0 or Atom 0.3/1.0 bytes.

    Args:
        content: the body as downloaded.
        url: where it came from; relative links are resolved against it.
        headers: the HTTP response headers (the charset in Content-Type matters).

    Raises:
        NotAFeedError: the content is not a feed (an HTML page, an image, garbage).
    """
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    # a missing Content-Type is not the feed's fault; XML lets feedparser sniff the encoding.
    # No content-location: feedparser would turn a plain guid into a URL, so ids would change
    # when a feed moves; links are resolved against the feed URL in normalise_entry instead.
    response_headers.setdefault("content-type", "application/xml")
    # nh3 sanitises and resolves links afterwards; feedparser's own pass would be wasted work
    parsed = feedparser.parse(
        content, response_headers=response_headers,
        sanitize_html=False, resolve_relative_uris=False,
    )
    problem = _problem(parsed) if parsed.get("bozo") else None
    if not parsed.get("version") and not parsed.entries:
        content_type = response_headers.get("content-type", "")
        if "html" in content_type or content[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
            raise NotAFeedError("this is an HTML page, not a feed (try adding it for autodiscovery)", url)
        raise NotAFeedError(f"not an RSS or Atom feed{': ' + problem if problem else ''}", url)
    feed = parsed.get("feed", {})
    entries = tuple(normalise_entry(entry, url) for entry in parsed.entries)
    return ParsedFeed(
        title=plain_text(feed.get("title") or "") or None,
        link=feed.get("link"),
        entries=entries,
        problem=problem,
    )


def _problem(parsed: feedparser.FeedParserDict) -> str:
    exception = parsed.get("bozo_exception")
    name = type(exception).__name__ if exception else "problem"
    message = str(exception).splitlines()[0] if exception and str(exception) else ""
    return f"{name}: {message}"[:300] if message else name
