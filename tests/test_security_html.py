"""No URL we emit in HTML leads anywhere but http, https or mailto, as a browser reads it.

Every output is parsed by html5lib and every URL in it by ada (WHATWG), see ``htmlcheck``:
what the sanitiser stores, what the post template, the WXR file, the REST/XML-RPC post
fields (a recording fake gets the same ``Post``), the report and the digest carry.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from html.entities import html5
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import update

from sociaalwerk_publisher import Publisher, SourceKind, StoryFilter, reports
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.adapters.base import Adapter
from sociaalwerk_publisher._storage._schema import stories
from sociaalwerk_publisher.config import Config, DestinationConfig, DestinationFilter
from sociaalwerk_publisher.coverage.model import TopStory
from sociaalwerk_publisher.feeds.normalise import normalise_entry
from sociaalwerk_publisher.feeds.sanitise import safe_url, sanitise_html, text_and_first_image
from sociaalwerk_publisher.rendering import render
from sociaalwerk_publisher.syndication import make_adapter

from .conftest import FIXTURES, make_config
from .fakes import RecordingAdapter
from .fixtures.report_data import MENTIONS, REPORT
from .htmlcheck import unsafe_parts, unsafe_url, web_url
from .stories import seed

BASE = "https://welzijn.example.nl/2026/11/verhaal/"

# -- what hostile URLs are made of ----------------------------------------------------------

#: spaces Python's str.strip() removes and a browser does not (WHATWG strips C0 and U+0020 only)
UNICODE_SPACES = ("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                  "\u2028\u2029\u202f\u205f\u3000\x85")
CONTROLS = "".join(map(chr, range(0x21))) + "".join(map(chr, range(0x7f, 0xa0)))
#: zero-width, bidi and other invisible formatting characters
INVISIBLE = ("\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
             "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")
JUNK = UNICODE_SPACES + CONTROLS + INVISIBLE
SCHEMES = ("javascript", "JaVaScRiPt", "JAVASCRIPT", "vbscript", "VBScript", "data", "livescript",
           "file", "jar", "blob", "http", "https", "mailto")
PAYLOADS = ("alert(1)", "//evil.example/x", "text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "info@welzijn.example.nl", "")
#: named references for one character: &colon; &Tab; &NewLine; &nbsp; &ZeroWidthSpace; ...
NAMES: dict[str, list[str]] = {}
for _name, _char in html5.items():
    if len(_char) == 1:
        NAMES.setdefault(_char, []).append(_name)


@st.composite
def references(draw: st.DrawFn, char: str) -> str:
    """``char`` as written in an HTML attribute: itself or a character reference."""
    code = ord(char)
    spellings = [char, f"&#{code};", f"&#{code}", f"&#x{code:x};", f"&#X{code:X}", f"&#{code:07d};",
                 *(f"&{name}" for name in NAMES.get(char, ()))]
    return str(draw(st.sampled_from(spellings)))


@st.composite
def hostile_urls(draw: st.DrawFn) -> str:
    """An attribute value: junk, a scheme with junk inside, a colon, a payload; each character
    written as itself or as a character reference (``_`` as the junk stands for none)."""
    junk = st.text(alphabet=JUNK, max_size=3)
    scheme = draw(st.sampled_from(SCHEMES))
    cut = draw(st.integers(0, len(scheme)))
    url = draw(junk) + scheme[:cut] + draw(junk) + scheme[cut:] + draw(junk) + ":" + draw(st.sampled_from(PAYLOADS))
    return "".join(draw(references(char)) for char in url)


def fragment(url: str, quote: str = '"') -> str:
    """Every URL attribute the sanitiser allows, set to ``url``."""
    q = quote
    return (f"<p><a href={q}{url}{q}>link</a> <img src={q}{url}{q} alt=\"foto\"></p>"
            f"<blockquote cite={q}{url}{q}><p>citaat</p></blockquote><q cite={q}{url}{q}>kort</q>")


# -- the sanitiser ---------------------------------------------------------------------------


@pytest.mark.parametrize("space", ["\u2028", "\u2029", "\u00a0", "\u3000", "\u2000", "\u205f", "\u1680"])
@pytest.mark.parametrize("base", [None, BASE])
def test_a_unicode_space_before_javascript_does_not_become_a_live_link(space: str, base: str | None) -> None:
    cleaned = sanitise_html(f'<a href="{space}javascript:alert(1)">x</a><img src="{space}javascript:alert(2)">', base)
    assert unsafe_parts(cleaned) == []
    assert "javascript" not in cleaned.lower()


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u200e", "\u202e", "\u2066", "\u2060",
                                       "\ufeff", "&#x200b;", "&ZeroWidthSpace;", "&lrm;", "&#8238;"])
@pytest.mark.parametrize("base", [None, BASE])
def test_an_invisible_character_inside_javascript_does_not_become_a_live_link(invisible: str,
                                                                              base: str | None) -> None:
    cleaned = sanitise_html(f'<a href="java{invisible}script:alert(1)">x</a>'
                            f'<img src="java{invisible}script:alert(2)">', base)
    assert unsafe_parts(cleaned) == []
    assert "javascript:" not in cleaned.lower()


def test_the_image_stored_for_an_entry_is_an_http_url_a_browser_reads_as_such() -> None:
    entry = {"id": "1", "title": "Titel", "link": BASE,
             "content": [{"type": "text/html", "value": '<p>x</p><img src="\u2028javascript:alert(1)">'}]}
    normalised = normalise_entry(entry, BASE)
    assert normalised.image_url is None
    assert unsafe_parts(normalised.content_html) == []


def test_the_first_image_is_read_from_the_tag_not_from_an_attribute_that_mentions_one() -> None:
    cleaned = sanitise_html('<img alt=" src=" src="https://welzijn.example.nl/a.jpg">', BASE)
    assert text_and_first_image(cleaned)[1] == "https://welzijn.example.nl/a.jpg"


@pytest.mark.parametrize("url, expected", [
    ("https://x.nl/a", "https://x.nl/a"),
    ("mailto:info@x.nl", "mailto:info@x.nl"),
    (" \x01https://x.nl/a\x1f ", "https://x.nl/a"),  # C0 and space at either end go, as in a browser
    ("ht\ttp\n://x.nl/a\r", "http://x.nl/a"),  # tabs and newlines anywhere go
    ("JaVaScRiPt:alert(1)", None),
    ("\x00javascript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    ("data:text/html,x", None),
    ("\u2028javascript:alert(1)", None),  # relative to a browser: not an absolute http(s) URL
    ("java\u200bscript:alert(1)", None),
    ("//evil.example/x", None),
    ("/pad", None),
    ("j\u017fcript:x", None),  # U+017F folds to "s" under re.IGNORECASE, never in a scheme
])
def test_a_url_is_safe_only_with_the_scheme_a_browser_would_read(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_relative_urls_are_safe_where_the_page_gives_the_scheme() -> None:
    assert safe_url("/pad", relative=True) == "/pad"
    assert safe_url("\u2028javascript:alert(1)", relative=True) == "\u2028javascript:alert(1)"
    assert safe_url(" javascript:alert(1)", relative=True) is None


@settings(max_examples=500, deadline=None)
@given(url=hostile_urls(), quote=st.sampled_from(['"', "'"]), base=st.sampled_from([None, BASE]))
def test_every_url_the_sanitiser_keeps_is_http_https_or_mailto_to_a_browser(url: str, quote: str,
                                                                            base: str | None) -> None:
    cleaned = sanitise_html(fragment(url, quote), base)
    assert unsafe_parts(cleaned) == [], cleaned
    assert sanitise_html(cleaned, base) == cleaned  # idempotent
    image = text_and_first_image(cleaned)[1]
    assert image is None or web_url(image)


def _corpus() -> Iterator[tuple[str, int, str]]:
    for path in sorted((FIXTURES / "xss").glob("*.json")):
        for number, payload in enumerate(json.loads(path.read_text(encoding="utf-8")), 1):
            yield path.stem, number, payload


CORPUS = list(_corpus())


def test_no_payload_of_the_public_xss_corpora_survives_sanitising() -> None:
    assert len(CORPUS) == 389  # see tests/fixtures/xss/README.md
    unsafe = {(source, number, base): problems
              for source, number, payload in CORPUS for base in (None, BASE)
              if (problems := unsafe_parts(sanitise_html(payload, base)))}
    assert unsafe == {}
    assert all(sanitise_html(sanitise_html(p, BASE), BASE) == sanitise_html(p, BASE) for _, _, p in CORPUS)


# -- what we publish and send ----------------------------------------------------------------

WXR = "bestand"
FAKE = "site"


class _Site(RecordingAdapter):
    """A REST or XML-RPC site as the engine sees it; the image's address is all we check."""

    needs_image_data = False


class _Destinations:
    """The real WXR adapter, and a recording fake for the REST/XML-RPC sites (same ``Post``)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.fake = _Site(FAKE)

    def __call__(self, destination: DestinationConfig) -> Adapter:
        return self.fake if destination.name == FAKE else make_adapter(self.config, destination)


#: the organisation of the hostile blog; the file export takes only its stories (the corpus blog's
#: go to the recording site, which gets the same posts: writing hundreds into one WXR file is slow)
HOSTILE_BLOG = "Welzijn Vijandig"


def _publisher(tmp_path: Path) -> tuple[Publisher, _Destinations, Path]:
    export = tmp_path / "export.xml"
    config = dataclasses.replace(make_config(tmp_path), destinations=(
        DestinationConfig(name=WXR, adapter="wxr", path=str(export),
                          filter=DestinationFilter(organisations=(HOSTILE_BLOG,))),
        DestinationConfig(name=FAKE, adapter="wordpress-rest", url="https://leden.example.nl"),
    ))
    sites = _Destinations(config)
    return Publisher(config, open_storage(config.database_url), adapter_for=sites), sites, export


def _local(element: ET.Element) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def unsafe_in_wxr(path: Path, title: str | None = None) -> list[str]:
    """What a WordPress import of ``path`` (its items titled ``title``, or all) would take in that
    is unsafe: HTML fields checked as HTML, URL fields (links, guids, attachments, the source URL)
    as URLs."""
    problems = []
    for item in ET.parse(path).getroot().iter("item"):
        if title is not None and item.findtext("title") != title:
            continue
        for element in item.iter():
            name, text = _local(element), element.text or ""
            if name in ("encoded", "title", "description"):
                problems += unsafe_parts(text)
            elif name in ("link", "guid", "attachment_url") and unsafe_url(text):
                problems.append(f"<{name}>{text!r}")
            elif name == "postmeta":
                meta = {_local(child): child.text or "" for child in element}
                if meta.get("meta_key") == "swp_original_url" and unsafe_url(meta.get("meta_value", "")):
                    problems.append(f"swp_original_url {meta!r}")
    return problems


def unsafe_in_posts(adapter: RecordingAdapter, title: str | None = None) -> list[str]:
    """What the REST and XML-RPC adapters would send that is unsafe (they get the same ``Post``)
    in the posts titled ``title``, or all."""
    problems = []
    for post in (copy.post for copy in adapter.posts.values()):
        if title is not None and post.title != title:
            continue
        problems += unsafe_parts(post.content_html)
        if post.image and unsafe_url(post.image.url):
            problems.append(f"image {post.image.url!r}")
        if post.source_url and unsafe_url(post.source_url):
            problems.append(f"source_url {post.source_url!r}")
    return problems


def _make_stored_story_hostile(publisher: Publisher, story_id: int, url: str) -> None:
    """What a store written before this fix may hold: unsanitised HTML and URLs (the story's
    own URL made unique with its id, as the store requires)."""
    plain = html.unescape(url)
    with publisher._storage.begin() as conn:
        conn.execute(update(stories).where(stories.c.id == story_id).values(
            content_html=fragment(url), canonical_url=f"{plain}{story_id}", image_url=plain))


@pytest.fixture
def published(tmp_path: Path) -> Iterator[tuple[Publisher, _Destinations, Path]]:
    publisher, sites, export = _publisher(tmp_path)
    with publisher:
        yield publisher, sites, export


_examples = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=hostile_urls())
def test_every_url_in_what_we_publish_and_mail_is_http_https_or_mailto(
        url: str, published: tuple[Publisher, _Destinations, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    publisher, sites, export = published
    monkeypatch.setattr(reports, "chart_png", lambda data: b"PNG")  # a picture holds no URL; drawing it is slow
    n = next(_examples)
    seed(publisher, tmp_path, [{"guid": f"g{n}", "title": f"Verhaal {n}", "html": "<p>tekst</p>",
                                "link": f"https://welzijn.example.nl/verhaal/{n}"}], organisation=HOSTILE_BLOG)
    story = next(s for s in publisher.list_stories(StoryFilter(limit=0)) if s.title == f"Verhaal {n}")
    _make_stored_story_hostile(publisher, story.id, url)
    publisher.approve_story(story.id)
    assert all(r.ok for r in publisher.syndicate())
    assert unsafe_in_wxr(export, story.title) == []
    assert unsafe_in_posts(sites.fake, story.title) == []

    plain = html.unescape(url)
    digest = render("digest.html.j2", hub_name="landelijk", stories=[dict(
        title="Titel", source="Blog", organisation=None, municipality=None, excerpt="Tekst",
        url=plain, edit_url=plain)], copies=[dict(
        id=1, title="Titel", destination="lid", url=plain, unlinked=True, how="tag <b>x</b>")])
    assert unsafe_parts(digest, document=True) == []
    data = dataclasses.replace(REPORT, mentions=(dataclasses.replace(MENTIONS[0], url=plain),),
                               top_stories=(TopStory("Titel", plain, 3, ("A", "B", "C")),))
    report = reports.render_report(data)
    own = [f"cid:{cid}" for cid in (report.chart_cid, report.map_cid) if cid]  # the chart and the map
    assert unsafe_parts(report.html, document=True, own_urls=own) == []


def test_a_story_stored_unsanitised_is_sanitised_again_on_the_way_out(
        published: tuple[Publisher, _Destinations, Path], tmp_path: Path) -> None:
    publisher, sites, export = published
    seed(publisher, tmp_path, [{"guid": "oud", "title": "Oud verhaal", "html": "<p>tekst</p>"}],
         organisation=HOSTILE_BLOG)
    (story,) = publisher.list_stories()
    _make_stored_story_hostile(publisher, story.id, "javascript:alert(1)")
    publisher.approve_story(story.id)
    results = list(publisher.syndicate())
    assert all(r.ok for r in results)
    assert unsafe_in_wxr(export) == [] and unsafe_in_posts(sites.fake) == []
    assert "javascript" not in export.read_text(encoding="utf-8")
    assert "javascript" not in sites.fake.live()[0].post.content_html
    # the featured image is left out, and the result says why
    assert any("featured image left out: 'javascript:alert(1)'" in w for r in results for w in r.warnings)


def test_the_digest_links_only_to_http_urls() -> None:
    digest = render("digest.html.j2", hub_name="landelijk", stories=[dict(
        title="Titel", source="Blog", organisation=None, municipality=None, excerpt="Tekst",
        url="\x01javascript:alert(1)", edit_url="java\tscript:alert(2)")], copies=[dict(
        # a copy's address is what the member's site answered
        id=1, title="<script>x</script>", destination="lid", url="javascript:alert(3)", unlinked=False, how=None)])
    assert unsafe_parts(digest, document=True) == []


# -- end to end: a hostile feed fetched, stored, published and reported ---------------------

NOV = "Tue, 10 Nov 2026 09:00:00 +0100"
Entry = tuple[str, str, str, str | None]  #: guid, link, html, image
#: the bypasses of issue 11 and their relatives, as feed entries
HOSTILE_ENTRIES: list[Entry] = [
    ("ls", "https://welzijn.example.nl/a", '<p>sociaal werk</p><a href="\u2028javascript:alert(1)">x</a>'
                                           '<img src="\u2028javascript:alert(2)">', None),
    ("zw", "https://welzijn.example.nl/b", '<p>sociaal werk</p><a href="java\u200bscript:alert(3)">x</a>'
                                           '<img src="java&#x200b;script:alert(4)">', None),
    ("nb", "\u00a0javascript:alert(5)", '<p>sociaal werk <a href="&#xA0;javascript:alert(6)">x</a></p>',
     "\u3000javascript:alert(7)"),
    ("ent", "https://welzijn.example.nl/c", '<p>sociaal werk <a href="&#106;avascript&colon;alert(8)">x</a>'
                                            '<q cite="j&#x61;vascript:alert(9)">q</q></p>', "data:image/png,x"),
    ("tab", "java\tscript:alert(10)", '<p>sociaal werk <a href="jav&#x09;ascript:alert(11)">x</a></p>',
     "https://welzijn.example.nl/ok.png"),
]


def _xml_text(payload: str) -> str:
    """``payload`` escaped into an XML text node; characters XML 1.0 cannot hold become HTML
    character references, which the HTML parser reads as those characters again."""
    payload = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", lambda m: f"&#x{ord(m.group()):x};", payload)
    return html.escape(payload, quote=False)


def _feed(items: list[Entry]) -> bytes:
    parts = []
    for guid, link, content, image in items:
        enclosure = f'<enclosure url="{_xml_text(image)}" type="image/png" length="1"/>' if image else ""
        parts.append(f"<item><guid>{guid}</guid><title>Sociaal werk {guid}</title><link>{_xml_text(link)}</link>"
                     f"<pubDate>{NOV}</pubDate>{enclosure}<description>{_xml_text(content)}</description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Vijandig</title>'
            f'{"".join(parts)}</channel></rss>').encode()


def test_a_hostile_feed_leaves_no_unsafe_url_in_the_store_the_posts_the_export_or_the_report(
        published: tuple[Publisher, _Destinations, Path], httpserver: HTTPServer) -> None:
    publisher, sites, export = published
    corpus: list[Entry] = [(f"{source}-{number}", f"https://corpus.example.nl/{source}/{number}",
                            f"<p>sociaal werk</p>{payload}", None) for source, number, payload in CORPUS]
    outlet = [(guid, link.replace("welzijn.", "krant."), content, image)
              for guid, link, content, image in HOSTILE_ENTRIES]
    rss = {"Content-Type": "application/rss+xml; charset=utf-8"}
    for path, items in (("/blog", HOSTILE_ENTRIES), ("/corpus", corpus), ("/krant", outlet)):
        httpserver.expect_request(path).respond_with_data(_feed(items), headers=rss)
    publisher.add_source(httpserver.url_for("/blog"), SourceKind.BLOG, organisation=HOSTILE_BLOG, discover=False)
    publisher.add_source(httpserver.url_for("/corpus"), SourceKind.BLOG, organisation="Corpus", discover=False)
    publisher.add_source(httpserver.url_for("/krant"), SourceKind.MEDIA, discover=False)
    assert all(r.ok for r in publisher.fetch_sources())

    stored = publisher.list_stories(StoryFilter(limit=0))
    assert len(stored) == 2 * len(HOSTILE_ENTRIES) + len(CORPUS)
    for story in stored:
        assert unsafe_parts(story.content_html) == [], story.title
        assert story.image_url is None or web_url(story.image_url), story.title
        assert story.url is None or web_url(story.url), story.title

    blog = [s.id for s in stored if s.kind is SourceKind.BLOG]
    publisher.approve_story(*blog)
    assert all(r.ok for r in publisher.syndicate())
    assert len(sites.fake.posts) == len(blog) == len(HOSTILE_ENTRIES) + len(CORPUS)
    assert unsafe_in_posts(sites.fake) == []
    assert unsafe_in_wxr(export) == []
    assert len(ET.parse(export).getroot().findall("channel/item")) >= len(HOSTILE_ENTRIES)

    publisher.match_coverage()
    data = publisher.build_report(publisher.report_period(start=date(2026, 11, 1), end=date(2026, 11, 30)))
    assert data.mentions  # the outlet's items were counted, so their URLs are in the report
    for for_file in (False, True):
        report = publisher.render_report(data, for_file=for_file)
        chart = re.findall(r'src="(data:image/png;base64,[^"]+)"', report.html) if for_file \
            else [f"cid:{cid}" for cid in (report.chart_cid, report.map_cid) if cid]
        assert unsafe_parts(report.html, document=True, own_urls=chart) == []
    assert not any(unsafe_url(m.url) for m in data.mentions)
