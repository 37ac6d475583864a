"""XML from strangers: entity expansion (billion laughs) and external entities go nowhere.

feedparser parses with expat, whose amplification limit (expat >= 2.4) stops the
expansion, and then falls back to its loose parser, which leaves unknown
entities as text. listparser reads OPML with an HTML parser that does not expand
DTD entities; ElementTree (for our extra outline attributes) uses expat too.
External entities are never loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sociaalwerk_publisher.feeds.opml import read_opml
from sociaalwerk_publisher.feeds.parse import parse_feed

LAUGHS = '<!ENTITY lol0 "lol">' + "".join(
    f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))


@pytest.mark.timeout(60)
def test_a_billion_laughs_opml_file_is_read_without_expanding_it() -> None:
    opml = (f'<?xml version="1.0"?><!DOCTYPE opml [{LAUGHS}]><opml version="2.0"><head><title>&lol9;</title>'
            '</head><body><outline text="&lol9;" xmlUrl="https://welzijn.example.nl/feed"/></body></opml>')
    (source,) = read_opml(opml.encode())
    assert source.url == "https://welzijn.example.nl/feed"
    assert "lollol" not in repr(source)


@pytest.mark.timeout(60)
def test_a_billion_laughs_feed_is_parsed_without_expanding_it() -> None:
    rss = (f'<?xml version="1.0"?><!DOCTYPE rss [{LAUGHS}]><rss version="2.0"><channel><title>&lol9;</title>'
           '<item><guid>a</guid><title>&lol9;</title><description>&lol9;</description></item></channel></rss>')
    feed = parse_feed(rss.encode(), "https://welzijn.example.nl/feed", {})
    assert len(feed.entries) == 1
    assert "lollol" not in repr(feed)


def test_external_entities_in_feeds_and_opml_are_not_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "geheim.txt"
    secret.write_text("GEHEIM-7f3a", encoding="utf-8")
    doctype = f'<!DOCTYPE x [<!ENTITY buit SYSTEM "{secret.as_uri()}">]>'
    rss = (f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>t&buit;</title>'
           '<item><guid>a</guid><title>A&buit;</title><description>&buit;</description></item></channel></rss>')
    opml = (f'<?xml version="1.0"?>{doctype}<opml version="2.0"><head><title>&buit;</title></head>'
            '<body><outline text="&buit;" title="&buit;" xmlUrl="https://welzijn.example.nl/feed"/></body></opml>')
    assert "GEHEIM" not in repr(parse_feed(rss.encode(), "https://welzijn.example.nl/feed", {}))
    assert "GEHEIM" not in repr(read_opml(opml.encode()))
