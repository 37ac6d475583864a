"""Feed autodiscovery: find the feed an HTML page links to."""

from __future__ import annotations

from bs4 import BeautifulSoup

from .normalise import absolute_url

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


def discover_feeds(page: bytes, page_url: str) -> list[str]:
    """Absolute URLs of ``<link rel="alternate">`` feeds in an HTML page, in page order.

    Comment feeds come last, since a site's main feed is what people mean.
    """
    soup = BeautifulSoup(page, "html.parser")
    found: list[str] = []
    for link in soup.find_all("link", href=True):
        rel: object = link.get("rel") or []
        rels = [str(r).lower() for r in (rel if isinstance(rel, list) else str(rel).split())]
        kind = str(link.get("type", "")).lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES:
            url = absolute_url(page_url, str(link["href"]).strip())
            if url and url not in found:
                found.append(url)
    return sorted(found, key=lambda u: "comment" in u.lower())
