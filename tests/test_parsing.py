"""Parsing: every feed format members and outlets use, and what is stored from it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sociaalwerk_publisher import NotAFeedError
from sociaalwerk_publisher.feeds.parse import parse_feed

from .conftest import feed_bytes

FEED_URL = "https://feeds.example.nl/feed.xml"


@pytest.mark.parametrize(
    "name, feed_title, title, url, published",
    [
        ("rss091.xml", "Buurtwerk Oost", "Koffie in de wijk", "https://buurtwerk.example.nl/koffie", None),
        ("rss10.xml", "Opbouwwerk Zuid", "Bewoners knappen speeltuin op",
         "https://opbouwwerk.example.nl/speeltuin", datetime(2026, 11, 20, 8, tzinfo=timezone.utc)),
        ("rss20.xml", "Welzijn West", "Mantelzorgers in het zonnetje",
         "https://welzijnwest.example.nl/mantelzorg", datetime(2026, 11, 23, 9, tzinfo=timezone.utc)),
        ("atom03.xml", "Jongerenwerk Noord", "Huiswerkklas draait op volle toeren",
         "https://jongerenwerk.example.nl/huiswerkklas", datetime(2026, 11, 21, 12, tzinfo=timezone.utc)),
        ("atom10.xml", "Wijkteam Centrum", "Wijkteam opent spreekuur in de bibliotheek",
         "https://wijkteam.example.nl/spreekuur", datetime(2026, 11, 22, 8, tzinfo=timezone.utc)),
    ],
)
def test_every_feed_format_yields_its_entries(name, feed_title, title, url, published) -> None:
    feed = parse_feed(feed_bytes(name), FEED_URL)
    assert feed.title == feed_title
    assert feed.problem is None
    (entry,) = feed.entries
    assert (entry.title, entry.canonical_url, entry.published_at or entry.updated_at) == (title, url, published)
    assert entry.text


def test_atom_updated_only_entry_has_its_update_date() -> None:
    (entry,) = parse_feed(feed_bytes("atom10.xml"), FEED_URL).entries
    assert entry.updated_at == datetime(2026, 11, 22, 8, tzinfo=timezone.utc)


def test_windows_1252_feed_is_decoded() -> None:
    feed = parse_feed(feed_bytes("cp1252.xml"), FEED_URL, {"Content-Type": "application/rss+xml"})
    assert feed.title == "Café Sociaal"
    (entry,) = feed.entries
    assert entry.title == "Crèche en café: “samen” sterk"
    assert entry.text == "Naïef? Nee, coöperatief."


def test_charset_in_the_content_type_header_wins() -> None:
    body = '<?xml version="1.0"?><rss version="2.0"><channel><title>Fryslân</title><item><title>Súdwest</title><guid>1</guid></item></channel></rss>'
    feed = parse_feed(body.encode("iso-8859-1", errors="replace").replace(b"?", b"\xe2", 0),
                      FEED_URL, {"Content-Type": "text/xml; charset=iso-8859-1"})
    assert feed.title == "Fryslân"
    assert feed.entries[0].title == "Súdwest"


def test_broken_xml_that_still_has_entries_is_used_and_the_problem_recorded() -> None:
    feed = parse_feed(feed_bytes("broken.xml"), FEED_URL)
    assert [e.title for e in feed.entries] == ["Buurthuis & bibliotheek samen", "Tweede bericht"]
    assert feed.problem


def test_an_empty_feed_is_a_feed_without_entries() -> None:
    feed = parse_feed(feed_bytes("empty.xml"), FEED_URL)
    assert feed.entries == () and feed.title == "Nog niets"


def test_an_html_page_is_reported_as_not_a_feed() -> None:
    with pytest.raises(NotAFeedError, match="HTML page"):
        parse_feed(feed_bytes("homepage.html"), FEED_URL, {"Content-Type": "text/html"})


def test_garbage_is_reported_as_not_a_feed() -> None:
    with pytest.raises(NotAFeedError, match="not an RSS or Atom feed"):
        parse_feed(b"\x89PNG\r\n\x1a\n\x00\x00garbage", FEED_URL, {"Content-Type": "image/png"})


def test_entry_identity_is_guid_then_link_then_title_and_date() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>a</title><guid>guid-1</guid><link>https://x.nl/a</link></item>
      <item><title>b</title><link>https://x.nl/b</link></item>
      <item><title>c</title><pubDate>Mon, 23 Nov 2026 10:00:00 +0100</pubDate></item>
    </channel></rss>"""
    a, b, c = parse_feed(body, FEED_URL).entries
    assert a.key == "guid-1"
    assert b.key == "https://x.nl/b"
    assert len(c.key) == 64 and c.canonical_url is None


def test_relative_entry_links_resolve_against_the_feed_url() -> None:
    body = b'<rss version="2.0"><channel><title>t</title><item><title>a</title><link>/blog/a</link></item></channel></rss>'
    (entry,) = parse_feed(body, FEED_URL).entries
    assert entry.canonical_url == "https://feeds.example.nl/blog/a"


def test_first_image_from_enclosure_media_or_content() -> None:
    body = b"""<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
      <item><title>a</title><guid>1</guid><enclosure url="https://x.nl/e.jpg" type="image/jpeg" length="1"/>
        <description>&lt;img src="https://x.nl/inline.jpg"&gt;</description></item>
      <item><title>b</title><guid>2</guid><media:thumbnail url="https://x.nl/t.jpg"/></item>
      <item><title>c</title><guid>3</guid><link>https://x.nl/c/</link><description>&lt;p&gt;&lt;img src="foto.png"&gt;&lt;/p&gt;</description></item>
      <item><title>d</title><guid>4</guid><enclosure url="https://x.nl/a.mp3" type="audio/mpeg" length="1"/></item>
    </channel></rss>"""
    images = [e.image_url for e in parse_feed(body, FEED_URL).entries]
    assert images == ["https://x.nl/e.jpg", "https://x.nl/t.jpg", "https://x.nl/c/foto.png", None]


def test_google_alerts_links_are_unwrapped_and_bold_markup_dropped() -> None:
    (entry,) = parse_feed(feed_bytes("google-alerts.xml"), FEED_URL).entries
    assert entry.canonical_url == "https://www.rtvutrecht.example.nl/nieuws/3401/gemeente-investeert-in-sociaal-werk"
    assert entry.title == "Gemeente Utrecht investeert in sociaal werk in de wijk"
    assert "sociaal werk in Overvecht" in entry.text


def test_google_news_items_keep_their_article_link() -> None:
    (entry,) = parse_feed(feed_bytes("google-news.xml"), FEED_URL).entries
    assert entry.canonical_url == "https://news.google.com/rss/articles/CBMiZ2h0dHBzOi8vbm9zLm5s?oc=5"
    assert entry.title == "Sociaal werkers slaan alarm over wachtlijsten - NOS"
    assert "<font" not in entry.content_html


def test_xss_payloads_in_titles_content_links_and_images_are_neutralised() -> None:
    first, second = parse_feed(feed_bytes("xss.xml"), FEED_URL).entries
    assert first.title == 'Titel met [31mkleur'
    assert first.link is None and first.canonical_url is None  # javascript: link dropped
    assert first.image_url == "https://feeds.example.nl/ok.png"  # javascript: media ignored
    html = first.content_html.lower()
    for bad in ("script", "onclick", "onerror", "style", "iframe", "javascript", "data:", "svg",
                "math", "<form", "<input", "display:none", "target="):
        assert bad not in html, bad
    assert '<a href="https://feeds.example.nl/relatief" rel="noopener">relatief</a>' in first.content_html
    assert "vbscript" not in second.content_html
    assert second.canonical_url is None or '"' not in second.canonical_url


def test_a_url_urllib_cannot_parse_drops_that_url_not_the_entry_or_the_feed() -> None:
    feed = b"""<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>x</title>
      <item><guid>1</guid><title>Goed</title><link>https://blog.example.nl/1</link></item>
      <item><guid>2</guid><title>Haakje</title><link>http://[::1</link></item>
      <item><guid>3</guid><title>Poort</title><link>https://blog.example.nl:99999/3</link>
        <enclosure url="http://[zz" type="image/png" length="1"/>
        <media:content url="https://img.example.nl:70000/x.png" medium="image"/>
        <source url="http://[q">Q</source></item>
      <item><guid>4</guid><title>Omleiding</title><link>https://www.google.com/url?url=http://[::1/x</link></item>
    </channel></rss>"""
    entries = {e.title: e for e in parse_feed(feed, "https://blog.example.nl/feed").entries}
    assert list(entries) == ["Goed", "Haakje", "Poort", "Omleiding"]
    assert entries["Goed"].canonical_url == "https://blog.example.nl/1"
    assert [(e.link, e.image_url, e.publisher_url) for e in (entries["Haakje"], entries["Poort"])] == [(None,) * 3] * 2
    assert entries["Omleiding"].canonical_url.startswith("https://www.google.com/url?")  # not unwrapped
