"""Put stories in a store the way users do: a feed on disk, added as a source, fetched."""

from __future__ import annotations

import itertools
from html import escape
from pathlib import Path

from sociaalwerk_publisher import Publisher, Source, SourceKind

_counter = itertools.count(1)


def write_feed(path: Path, items: list[dict[str, str]], title: str = "Welzijn Test") -> None:
    """An RSS 2.0 file; each item dict has guid, title, html and optional link, image, date."""
    parts = []
    for item in items:
        link = item.get("link", f"https://welzijn.example.nl/verhaal/{item['guid']}")
        image = f'<enclosure url="{escape(item["image"])}" type="image/png" length="1"/>' if item.get("image") else ""
        date = f"<pubDate>{item['date']}</pubDate>" if item.get("date") else ""
        parts.append(
            f"<item><guid>{escape(item['guid'])}</guid><title>{escape(item['title'])}</title>"
            f"<link>{escape(link)}</link>{date}{image}"
            f"<description>{escape(item['html'])}</description></item>"
        )
    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f'{"".join(parts)}</channel></rss>', encoding="utf-8")


def seed(publisher: Publisher, folder: Path, items: list[dict[str, str]], *, kind: SourceKind = SourceKind.BLOG,
         title: str = "Welzijn Test", **fields: object) -> Source:
    """A source whose feed holds ``items``, fetched once; returns the source."""
    path = folder / f"feed-{next(_counter)}.xml"
    write_feed(path, items, title)
    source = publisher.add_source(path.as_uri(), kind, discover=False, **fields)  # type: ignore[arg-type]
    list(publisher.fetch_sources([source.id]))
    return source


def refetch(publisher: Publisher, source: Source, items: list[dict[str, str]], title: str = "Welzijn Test") -> None:
    """Rewrite a seeded source's feed and fetch it again."""
    path = Path(source.url.removeprefix("file://"))
    write_feed(path, items, title)
    import os
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new mtime is a new ETag
    list(publisher.fetch_sources([source.id]))
