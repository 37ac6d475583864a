"""Pure functions that turn a parsed feed entry into what we store."""

from __future__ import annotations

import calendar
import hashlib
import time
from html import escape
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from .sanitise import WEB_SCHEMES, excerpt, plain_text, safe_url, sanitise_html, text_and_first_image

TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
    "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
    "vero_id", "wt_mc", "ocid", "cmpid", "s_cid", "ref_src", "at_medium", "at_campaign",
})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are in a path; quotes, spaces and angle brackets get escaped
# so that no URL from a feed can break out of an HTML attribute or a terminal line.
_PATH_SAFE = "/%:@!$&()*+,;=-._~"


@dataclass(frozen=True)
class NormalisedEntry:
    """One feed entry, cleaned: what the store keeps for it."""

    key: str  #: identity within its source: guid, else link, else hash of title+date
    canonical_url: str | None
    link: str | None  #: the link as the feed gave it (absolute)
    title: str
    content_html: str
    text: str
    excerpt: str
    author: str | None
    image_url: str | None
    published_at: datetime | None
    updated_at: datetime | None
    content_hash: str
    #: the outlet as the feed names it (Google News ``<source url=...>NOS</source>``)
    publisher: str | None = None
    publisher_url: str | None = None


def unwrap_redirect(url: str) -> str:
    """The target of a Google redirect link (``google.*/url?...&url=TARGET``), else ``url``."""
    try:  # urllib raises on what a feed may write, e.g. ``http://[::1``
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.path == "/url" and (host.startswith("google.") or ".google." in host):
            query = dict(parse_qsl(parts.query))
            target = query.get("url") or query.get("q")
            # a target urllib cannot read is left wrapped, as any URL it cannot read is dropped
            if target and safe_url(target, schemes=WEB_SCHEMES) and absolute_url("", target):
                return target
    except ValueError:
        pass
    return url


def absolute_url(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base``; ``None`` for a URL urllib cannot parse, so one
    malformed link drops that link, never the entry or the feed."""
    try:
        joined = urljoin(base, href)
        urlsplit(joined).port  # noqa: B018 - raises for a port that is not a number up to 65535
    except ValueError:
        return None
    return joined


def canonical_url(url: str) -> str | None:
    """A stable form of an article URL for de-duplication; ``None`` if not http(s).

    Lowercase scheme and host, no default port, no fragment, no tracking
    parameters, Google redirects unwrapped.
    """
    url = unwrap_redirect(url.strip())
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if port and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMETERS]
    )
    return urlunsplit((scheme, host, quote(parts.path, safe=_PATH_SAFE) or "/", query, ""))


def _to_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        return None


def _content(entry: Any) -> str:
    contents = entry.get("content") or []
    htmls: list[str] = [c.get("value", "") for c in contents if "html" in (c.get("type") or "")]
    if htmls:
        return max(htmls, key=len)
    if contents:
        return _text_to_html(contents[0].get("value", ""))
    summary = entry.get("summary", "")
    detail = entry.get("summary_detail") or {}
    return summary if "html" in (detail.get("type") or "text/html") else _text_to_html(summary)


def _text_to_html(text: str) -> str:
    return "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def _declared_image(entry: Any, base: str | None) -> str | None:
    candidates: list[str] = []
    for enclosure in entry.get("enclosures") or []:
        if (enclosure.get("type") or "").startswith("image/") and enclosure.get("href"):
            candidates.append(enclosure["href"])
    for media in entry.get("media_content") or []:
        if (media.get("medium") == "image" or (media.get("type") or "").startswith("image/")) \
                and media.get("url"):
            candidates.append(media["url"])
    for thumbnail in entry.get("media_thumbnail") or []:
        if thumbnail.get("url"):
            candidates.append(thumbnail["url"])
    for candidate in candidates:
        absolute = absolute_url(base or "", candidate.strip())
        if absolute and safe_url(absolute, schemes=WEB_SCHEMES):
            return absolute
    return None


def normalise_entry(entry: Any, feed_url: str) -> NormalisedEntry:
    """Turn one feedparser entry into a :class:`NormalisedEntry`.

    Args:
        entry: a ``feedparser`` entry dict.
        feed_url: the URL the feed was fetched from, to make relative links absolute.
    """
    raw_link = (entry.get("link") or "").strip()
    joined = absolute_url(feed_url, raw_link) if raw_link else None
    # javascript:, data: and friends are never followed or shown
    link = safe_url(quote(joined, safe=_PATH_SAFE + "?#"), schemes=WEB_SCHEMES) if joined else None
    canonical = canonical_url(link) if link else None
    base = canonical or feed_url
    content_html = sanitise_html(_content(entry), base)
    text, inline_image = text_and_first_image(content_html)
    title = plain_text(entry.get("title") or "") or excerpt(text, 80) or "(zonder titel)"
    published = _to_datetime(entry.get("published_parsed"))
    # plain dict.get: feedparser's own get() silently maps updated to published
    updated = _to_datetime(dict.get(entry, "updated_parsed"))
    image = _declared_image(entry, base) or inline_image
    author = plain_text(entry.get("author") or "") or None
    guid = (entry.get("id") or "").strip()
    key = guid or link or _digest(title, str(published or updated or ""))
    content_hash = _digest(title, content_html, image or "", author or "")
    source = entry.get("source") or {}
    publisher_url = canonical_url(source.get("href") or "") if source.get("href") else None
    return NormalisedEntry(
        key=key,
        canonical_url=canonical,
        link=link,
        title=title,
        content_html=content_html,
        text=text,
        excerpt=excerpt(text),
        author=author,
        image_url=image,
        published_at=published,
        updated_at=updated,
        content_hash=content_hash,
        publisher=plain_text(source.get("title") or "") or None,
        publisher_url=publisher_url,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
