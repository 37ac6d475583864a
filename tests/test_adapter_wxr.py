"""The WXR adapter: one WordPress eXtended RSS 1.2 file that WordPress's importer reads.

WordPress's importer (the ``wordpress-importer`` plugin) is not packaged in Debian, so
the file is read here the way its parsers read it: :func:`read_like_simplexml` does
what ``WXR_Parser_SimpleXML::parse`` extracts, :func:`read_like_xml_parser` reads the
literal prefixed tag names as ``WXR_Parser_XML`` does, and, when ``php`` is installed,
one test lets PHP's own SimpleXML read the file.
"""

from __future__ import annotations

import errno
import fcntl
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sociaalwerk_publisher.adapters import Adapter, adapter_factory
from sociaalwerk_publisher.adapters.base import Image, Post
from sociaalwerk_publisher.adapters.wxr import WxrAdapter
from sociaalwerk_publisher.adapters.wxr_format import term_slug
from sociaalwerk_publisher.config import DestinationConfig
from sociaalwerk_publisher.exceptions import AdapterError, RemoteRejectedError, TransportError

REPO = Path(__file__).resolve().parent.parent
WP = "http://wordpress.org/export/1.2/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
EXCERPT = "http://wordpress.org/export/1.2/excerpt/"
DC = "http://purl.org/dc/elements/1.1/"

TRICKY_TITLE = "Súdwest-Fryslân “quote” & <b> 👍"
SUMMER = datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc)  # CEST: 14:00 in Amsterdam
WINTER = datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc)  # CET: 11:30 in Amsterdam


# --------------------------------------------------------------------------- helpers


def make_adapter(base_dir: Path, path: str = "export/demo.xml", **settings: Any) -> WxrAdapter:
    config = DestinationConfig(name="demo", adapter="wxr", path=path, **settings)
    return WxrAdapter(config, None, base_dir)


def make_post(n: int = 1, **changes: Any) -> Post:
    post = Post(
        title=f"Verhaal {n}",
        content_html=f"<p>Tekst van verhaal {n}.</p><!-- swp:{n:04d} -->",
        excerpt=f"Samenvatting {n}",
        slug=f"verhaal-{n}",
        marker=f"swp:{n:04d}",
        status="publish",
        date=SUMMER,
        categories=("Zorg",),
        tags=("mantelzorg",),
        source_url=f"https://www.example.nl/verhaal-{n}",
    )
    return replace(post, **changes)


def image(url: str = "https://www.example.nl/foto.jpg") -> Image:
    return Image(url=url, filename=url.rsplit("/", 1)[-1], content_type="image/jpeg", data=b"\xff\xd8")


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


def read_like_simplexml(path: Path) -> dict[str, Any]:
    """What ``WXR_Parser_SimpleXML::parse`` returns for the file (the parts the importer uses)."""
    data = path.read_bytes()
    assert b"<!DOCTYPE" not in data, "the importer refuses files with a doctype"
    root = ET.fromstring(data)
    namespaces = dict(re.findall(rb'xmlns:(\w+)="([^"]+)"', data[: data.index(b">", data.index(b"<rss"))]))
    namespaces = {k.decode(): v.decode() for k, v in namespaces.items()}
    channel = root.find("channel")
    assert root.tag == "rss" and channel is not None
    version = channel.find(f"{{{WP}}}wxr_version")
    assert version is not None and re.fullmatch(r"\d+\.\d+", _text(version).strip())
    w = lambda name: f"{{{WP}}}{name}"  # noqa: E731
    authors = {}
    for author in channel.findall(w("author")):
        login = _text(author.find(w("author_login")))
        authors[login] = {"author_id": int(_text(author.find(w("author_id"))) or 0), "author_login": login,
                          "author_display_name": _text(author.find(w("author_display_name")))}
    categories = [{"term_id": int(_text(t.find(w("term_id"))) or 0),
                   "category_nicename": _text(t.find(w("category_nicename"))),
                   "category_parent": _text(t.find(w("category_parent"))),
                   "cat_name": _text(t.find(w("cat_name")))} for t in channel.findall(w("category"))]
    tags = [{"term_id": int(_text(t.find(w("term_id"))) or 0),
             "tag_slug": _text(t.find(w("tag_slug"))),
             "tag_name": _text(t.find(w("tag_name")))} for t in channel.findall(w("tag"))]
    posts = []
    for item in channel.findall("item"):
        post: dict[str, Any] = {
            "post_title": _text(item.find("title")),
            "guid": _text(item.find("guid")),
            "post_author": _text(item.find(f"{{{DC}}}creator")),
            "post_content": _text(item.find(f"{{{CONTENT}}}encoded")),
            "post_excerpt": _text(item.find(f"{{{namespaces['excerpt']}}}encoded")),
            "post_id": int(_text(item.find(w("post_id"))) or 0),
            "post_date": _text(item.find(w("post_date"))),
            "post_date_gmt": _text(item.find(w("post_date_gmt"))),
            "comment_status": _text(item.find(w("comment_status"))),
            "ping_status": _text(item.find(w("ping_status"))),
            "post_name": _text(item.find(w("post_name"))),
            "status": _text(item.find(w("status"))),
            "post_parent": int(_text(item.find(w("post_parent"))) or 0),
            "menu_order": int(_text(item.find(w("menu_order"))) or 0),
            "post_type": _text(item.find(w("post_type"))),
            "post_password": _text(item.find(w("post_password"))),
            "is_sticky": int(_text(item.find(w("is_sticky"))) or 0),
            "pubDate": _text(item.find("pubDate")),
        }
        if item.find(w("attachment_url")) is not None:
            post["attachment_url"] = _text(item.find(w("attachment_url")))
        terms = [{"name": _text(c), "slug": c.get("nicename"), "domain": c.get("domain")}
                 for c in item.findall("category") if c.get("nicename") is not None]
        if terms:
            post["terms"] = terms
        meta = [{"key": _text(m.find(w("meta_key"))), "value": _text(m.find(w("meta_value")))}
                for m in item.findall(w("postmeta"))]
        if meta:
            post["postmeta"] = meta
        posts.append(post)
    return {
        "namespaces": namespaces,
        "version": _text(version).strip(),
        "base_url": _text(channel.find(w("base_site_url"))).strip(),
        "base_blog_url": _text(channel.find(w("base_blog_url"))).strip(),
        "language": _text(channel.find("language")),
        "authors": authors,
        "categories": categories,
        "tags": tags,
        "posts": posts,
    }


def read_like_xml_parser(path: Path) -> list[dict[str, Any]]:
    """Posts as ``WXR_Parser_XML`` sees them: expat without namespaces, matching ``wp:post_id`` literally."""
    fields = {"title": "post_title", "content:encoded": "post_content", "excerpt:encoded": "post_excerpt",
              "dc:creator": "post_author", "wp:post_id": "post_id", "wp:post_name": "post_name",
              "wp:status": "status", "wp:post_type": "post_type", "wp:post_date": "post_date"}
    posts: list[dict[str, Any]] = []
    state: dict[str, Any] = {"post": None, "field": None, "text": [], "term": None}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "item":
            state["post"] = {"terms": []}
        elif state["post"] is not None and tag in fields:
            state["field"], state["text"] = fields[tag], []
        elif state["post"] is not None and tag == "category" and "domain" in attrs and "nicename" in attrs:
            state["term"], state["text"] = (attrs["domain"], attrs["nicename"]), []

    def data(text: str) -> None:
        state["text"].append(text)

    def end(tag: str) -> None:
        post = state["post"]
        if tag == "item":
            posts.append(post)
            state["post"] = None
        elif post is not None and tag in fields and state["field"]:
            post[state["field"]] = "".join(state["text"])
            state["field"] = None
        elif post is not None and tag == "category" and state["term"]:
            post["terms"].append((*state["term"], "".join(state["text"])))
            state["term"] = None

    parser = xml.parsers.expat.ParserCreate("UTF-8")  # no namespace processing, like xml_parser_create()
    parser.StartElementHandler, parser.CharacterDataHandler, parser.EndElementHandler = start, data, end
    parser.Parse(path.read_bytes(), True)
    return posts


def posts_of(parsed: dict[str, Any], post_type: str = "post") -> list[dict[str, Any]]:
    return [p for p in parsed["posts"] if p["post_type"] == post_type]


def by_id(parsed: dict[str, Any]) -> dict[int, dict[str, Any]]:
    ids = [p["post_id"] for p in parsed["posts"]]
    assert len(ids) == len(set(ids)), f"an item is in the file twice: {ids}"
    return {p["post_id"]: p for p in parsed["posts"]}


def meta(post: dict[str, Any]) -> dict[str, str]:
    return {m["key"]: m["value"] for m in post.get("postmeta", [])}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- the file WordPress imports


def test_the_adapter_is_registered_and_implements_the_protocol(tmp_path: Path) -> None:
    factory = adapter_factory("wxr")
    adapter = factory(DestinationConfig(name="demo", adapter="wxr", path="demo.xml"), None, tmp_path)
    assert isinstance(adapter, Adapter) and adapter.name == "demo"
    assert adapter.path == tmp_path / "demo.xml"
    adapter.close()


def test_a_published_post_is_a_wxr_1_2_file_wordpress_can_import(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    remote = adapter.publish(make_post(1))

    path = tmp_path / "export" / "demo.xml"  # the folder is created
    parsed = read_like_simplexml(path)
    assert parsed["version"] == "1.2"
    assert parsed["namespaces"] == {
        "excerpt": EXCERPT, "content": CONTENT, "wfw": "http://wellformedweb.org/CommentAPI/", "dc": DC, "wp": WP,
    }
    assert parsed["language"] == "nl-NL"
    assert parsed["base_url"] == parsed["base_blog_url"] == "https://www.sociaalwerknederland.nl"
    assert list(parsed["authors"]) == ["syndicatie"]
    [post] = parsed["posts"]
    assert post["post_author"] == "syndicatie"  # maps onto the author block
    assert post["post_id"] == 1 and remote.id == "1"
    assert post["guid"] == "https://www.sociaalwerknederland.nl/?p=1"
    assert post["post_type"] == "post" and post["status"] == "publish" == remote.status
    assert (post["comment_status"], post["ping_status"]) == ("closed", "closed")
    assert (post["post_parent"], post["menu_order"], post["is_sticky"], post["post_password"]) == (0, 0, 0, "")
    assert post["post_name"] == "verhaal-1"
    assert meta(post) == {"swp_marker": "swp:0001", "swp_original_url": "https://www.example.nl/verhaal-1"}
    assert remote.url == f"{path.as_uri()}#post-1"
    assert remote.image_id is None


def test_titles_content_and_excerpts_round_trip_escaped(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    content = '<p>Code: <code>a[b[0]]>c</code> &amp; "quotes" ]]></p><!-- swp:0001 -->'
    adapter.publish(make_post(1, title=TRICKY_TITLE, content_html=content, excerpt="Eén & <twee> ]]> 👍"))

    path = adapter.path
    [post] = read_like_simplexml(path)["posts"]
    # WordPress treats titles and excerpts as HTML: the plain text arrives escaped
    assert post["post_title"] == "Súdwest-Fryslân “quote” &amp; &lt;b&gt; 👍"
    assert html.unescape(post["post_title"]) == TRICKY_TITLE
    assert post["post_excerpt"] == "Eén &amp; &lt;twee&gt; ]]&gt; 👍"
    assert post["post_content"] == content  # HTML already: as it was
    # ]]> is split over two CDATA sections, as WordPress's wxr_cdata() does
    assert "]]]]><![CDATA[>" in path.read_text(encoding="utf-8")


def test_dates_are_amsterdam_local_time_and_gmt(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1, date=SUMMER))
    adapter.publish(make_post(2, date=WINTER))
    adapter.publish(make_post(3, date=datetime(2024, 3, 31, 3, 15, tzinfo=timezone(timedelta(hours=2)))))

    summer, winter, other = read_like_simplexml(adapter.path)["posts"]
    assert (summer["post_date"], summer["post_date_gmt"]) == ("2024-07-01 14:00:00", "2024-07-01 12:00:00")
    assert (winter["post_date"], winter["post_date_gmt"]) == ("2024-01-15 11:30:00", "2024-01-15 10:30:00")
    # the morning the clocks went forward: 01:15 UTC is 03:15 CEST
    assert (other["post_date"], other["post_date_gmt"]) == ("2024-03-31 03:15:00", "2024-03-31 01:15:00")
    assert summer["pubDate"] == "Mon, 01 Jul 2024 12:00:00 +0000"  # RFC 2822, as WordPress writes it
    assert winter["pubDate"] == "Mon, 15 Jan 2024 10:30:00 +0000"


def test_categories_and_tags_are_defined_in_the_channel_and_set_on_the_post(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1, categories=("Súdwest-Fryslân", "Zorg", "zorg "), tags=("Armoede & schulden", "👍")))
    adapter.publish(make_post(2, categories=("Zorg",), tags=("jeugd",)))

    parsed = read_like_simplexml(adapter.path)
    assert [(c["category_nicename"], c["cat_name"]) for c in parsed["categories"]] == [
        ("sudwest-fryslan", "Súdwest-Fryslân"), ("zorg", "Zorg")]
    thumbs_up = term_slug("👍")
    assert [(t["tag_slug"], t["tag_name"]) for t in parsed["tags"]] == [
        ("armoede-schulden", "Armoede & schulden"), (thumbs_up, "👍"), ("jeugd", "jeugd")]
    ids = [t["term_id"] for t in parsed["categories"] + parsed["tags"]]
    assert len(set(ids)) == len(ids) and all(i > 0 for i in ids)
    first, second = parsed["posts"]
    assert first["terms"] == [
        {"name": "Súdwest-Fryslân", "slug": "sudwest-fryslan", "domain": "category"},
        {"name": "Zorg", "slug": "zorg", "domain": "category"},  # "zorg " is the same term
        {"name": "Armoede & schulden", "slug": "armoede-schulden", "domain": "post_tag"},
        {"name": "👍", "slug": thumbs_up, "domain": "post_tag"},
    ]
    assert second["terms"] == [{"name": "Zorg", "slug": "zorg", "domain": "category"},
                               {"name": "jeugd", "slug": "jeugd", "domain": "post_tag"}]


@pytest.mark.parametrize("name, slug", [
    ("Súdwest-Fryslân", "sudwest-fryslan"),
    ("Armoede & schulden", "armoede-schulden"),
    ("  Jongeren/Jeugd  ", "jongeren-jeugd"),
    ("Straße Ĳsselstein", "strasse-ijsselstein"),
    ("GGZ", "ggz"),
])
def test_term_slugs_are_lowercase_ascii_with_diacritics_folded(name: str, slug: str) -> None:
    assert term_slug(name) == slug


def test_the_file_also_reads_with_literal_prefixes_like_the_xml_parser_fallback(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1, title=TRICKY_TITLE, content_html="<p>a ]]> b</p> swp:0001"))
    [post] = read_like_xml_parser(adapter.path)
    assert html.unescape(post["post_title"]) == TRICKY_TITLE and post["post_content"] == "<p>a ]]> b</p> swp:0001"
    assert post["post_author"] == "syndicatie" and post["post_id"] == "1" and post["post_type"] == "post"
    assert post["terms"] == [("category", "zorg", "Zorg"), ("post_tag", "mantelzorg", "mantelzorg")]


def test_the_layout_suits_the_line_based_regex_fallback(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1))
    lines = adapter.path.read_text(encoding="utf-8").splitlines()
    assert "\t<wp:wxr_version>1.2</wp:wxr_version>" in lines
    assert any(re.fullmatch(r"\s*<wp:author>.*</wp:author>", line) for line in lines)  # one line
    assert lines.count("\t<item>") == lines.count("\t</item>") == 1
    assert '\t\t<category domain="category" nicename="zorg"><![CDATA[Zorg]]></category>' in lines


# --------------------------------------------------------------------------- publish, update, retract


def test_each_post_gets_the_next_id_after_the_highest(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    ids = [adapter.publish(make_post(n)).id for n in (1, 2, 3)]
    assert ids == ["1", "2", "3"]
    adapter.retract("1", delete=True)
    assert adapter.publish(make_post(4)).id == "4"
    assert [p["post_id"] for p in read_like_simplexml(adapter.path)["posts"]] == [2, 3, 4]


def test_update_replaces_the_fields_and_keeps_the_id_and_the_slug(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1))
    adapter.publish(make_post(2))
    remote = adapter.update("1", make_post(1, title="Nieuwe titel", content_html="<p>nieuw</p> swp:0001",
                                           excerpt="kort", slug="nieuwe-titel", status="draft", date=WINTER,
                                           categories=("Welzijn",), tags=(), source_url=None))
    assert (remote.id, remote.status) == ("1", "draft")

    parsed = read_like_simplexml(adapter.path)
    # the new version is written at the end of the file, the old one removed: each id once
    second, first = parsed["posts"]
    assert first["post_id"] == 1 and first["guid"] == "https://www.sociaalwerknederland.nl/?p=1"
    assert (first["post_title"], first["post_content"], first["post_excerpt"]) == (
        "Nieuwe titel", "<p>nieuw</p> swp:0001", "kort")
    # the slug stays what it was: a copy's public address never changes
    assert (first["post_name"], first["status"], first["post_date"]) == ("verhaal-1", "draft", "2024-01-15 11:30:00")
    assert first["terms"] == [{"name": "Welzijn", "slug": "welzijn", "domain": "category"}]
    assert meta(first) == {"swp_marker": "swp:0001"}
    assert second["post_title"] == "Verhaal 2"  # untouched
    assert {c["category_nicename"] for c in parsed["categories"]} == {"zorg", "welzijn"}


def test_term_ids_stay_the_same_across_writes(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1, categories=("Zorg",)))
    before = read_like_simplexml(adapter.path)["categories"]
    adapter.publish(make_post(2, categories=("Wonen", "Zorg")))
    after = {c["category_nicename"]: c["term_id"] for c in read_like_simplexml(adapter.path)["categories"]}
    assert after["zorg"] == before[0]["term_id"] and after["wonen"] != after["zorg"]


def test_updating_a_post_that_is_not_there_is_refused(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1))
    for missing in ("99", "niet-een-getal"):
        with pytest.raises(RemoteRejectedError) as caught:
            adapter.update(missing, make_post(1))
        assert caught.value.status == 404 and caught.value.destination == "demo"


@pytest.mark.parametrize("delete", [False, True])
def test_a_retracted_post_leaves_the_file_with_its_text_and_image(tmp_path: Path, delete: bool) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1, content_html="<p>Geheim verhaal.</p><!-- swp:0001 -->", image=image()))
    adapter.publish(make_post(2))
    adapter.retract("1", delete=delete)  # a file has no trash an import could bring it back from
    parsed = read_like_simplexml(adapter.path)
    assert [(p["post_id"], p["post_type"]) for p in parsed["posts"]] == [(3, "post")]  # its image went too
    assert [c["category_nicename"] for c in parsed["categories"]] == ["zorg"]
    assert b"Geheim" not in adapter.path.read_bytes()
    assert adapter.find_existing(make_post(1)) is None
    with pytest.raises(RemoteRejectedError):
        adapter.update("1", make_post(1))


def test_retracting_what_is_not_there_is_fine(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.retract("1")  # no file at all: none is created
    assert not adapter.path.exists()
    adapter.publish(make_post(1))
    before = adapter.path.read_bytes()
    adapter.retract("42")
    adapter.retract("42", delete=True)
    adapter.retract("geen-id")
    assert adapter.path.read_bytes() == before


def test_find_existing_by_marker_only_ignoring_the_trash(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    assert adapter.find_existing(make_post(1)) is None  # no file yet
    adapter.publish(make_post(1))
    adapter.publish(make_post(2))

    found = adapter.find_existing(make_post(2))
    assert found is not None and (found.id, found.status) == ("2", "publish")
    assert adapter.find_existing(make_post(9, slug="verhaal-1")) is None  # its slug, not its marker: not ours
    assert adapter.find_existing(make_post(9)) is None

    adapter.retract("2")
    assert adapter.find_existing(make_post(2)) is None


def test_a_new_post_takes_the_plain_slug_unless_another_item_in_the_file_has_it(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    first = adapter.publish(make_post(1, slug="buurtloket", fallback_slug="buurtloket-0001"))
    second = adapter.publish(make_post(2, slug="buurtloket", fallback_slug="buurtloket-0002"))
    # an attachment's name counts too: WordPress would not give the post that name either
    third = adapter.publish(make_post(3, slug="zomer", fallback_slug="zomer-0003", image=image()))  # foto.jpg
    fourth = adapter.publish(make_post(4, slug="foto", fallback_slug="foto-0004"))
    names = {p["post_id"]: p["post_name"] for p in read_like_simplexml(adapter.path)["posts"]}
    assert "foto" in names.values()  # the attachment's
    assert [names[int(r.id)] for r in (first, second, third, fourth)] == [
        "buurtloket", "buurtloket-0002", "zomer", "foto-0004"]
    adapter.update(second.id, make_post(2, slug="buurtloket", fallback_slug="buurtloket-0002"))
    adapter.retract(first.id)  # the plain slug is free again, but a copy keeps its address
    adapter.update(second.id, make_post(2, slug="buurtloket", fallback_slug="buurtloket-0002"))
    assert by_id(read_like_simplexml(adapter.path))[int(second.id)]["post_name"] == "buurtloket-0002"


def test_a_foreign_item_with_the_plain_slug_is_neither_adopted_nor_changed(tmp_path: Path) -> None:
    from sociaalwerk_publisher.adapters.wxr_format import TAIL, Channel, Item, header, item_bytes

    foreign = Item(post_id=1, title="Buurtloket", post_name="buurtloket", content="<p>Van iemand anders.</p>")
    path = tmp_path / "export" / "demo.xml"
    path.parent.mkdir()
    path.write_bytes(header(Channel("Oud", "https://oud.example.nl", ""), [], datetime(2024, 1, 1, tzinfo=timezone.utc))
                     + item_bytes(foreign) + TAIL)
    adapter = make_adapter(tmp_path)
    ours = make_post(5, title="Buurtloket", slug="buurtloket", fallback_slug="buurtloket-0005")
    assert adapter.find_existing(ours) is None  # an earlier attempt is found by its marker only
    remote = adapter.publish(ours)
    posts = by_id(read_like_simplexml(path))
    assert (posts[1]["post_name"], posts[1]["post_content"]) == ("buurtloket", "<p>Van iemand anders.</p>")
    assert posts[int(remote.id)]["post_name"] == "buurtloket-0005"
    assert adapter.find_existing(ours).id == remote.id  # type: ignore[union-attr]


def test_a_featured_image_is_an_attachment_reused_for_the_same_url(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    first = adapter.publish(make_post(1, image=image()))
    second = adapter.publish(make_post(2, image=image()))
    third = adapter.publish(make_post(3, image=image("https://www.example.nl/ander.png")))

    parsed = read_like_simplexml(adapter.path)
    attachments = posts_of(parsed, "attachment")
    assert [(a["post_id"], a["attachment_url"], a["post_parent"]) for a in attachments] == [
        (2, "https://www.example.nl/foto.jpg", 1), (5, "https://www.example.nl/ander.png", 4)]
    assert (first.image_id, second.image_id, third.image_id) == ("2", "2", "5")
    posts = posts_of(parsed)
    assert [meta(p)["_thumbnail_id"] for p in posts] == ["2", "2", "5"]
    assert all(a["status"] == "inherit" and a["guid"] == a["attachment_url"] for a in attachments)

    # dropping the image from a post keeps an attachment another post still uses
    adapter.update(first.id, make_post(1))
    adapter.retract(third.id, delete=True)
    parsed = read_like_simplexml(adapter.path)
    assert [a["post_id"] for a in posts_of(parsed, "attachment")] == [2]
    assert "_thumbnail_id" not in meta(by_id(parsed)[1])
    assert adapter.find_existing(make_post(2)).image_id == "2"  # type: ignore[union-attr]


def test_an_image_id_from_an_earlier_post_is_reused_while_it_is_in_the_file(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    first = adapter.publish(make_post(1, image=image()))
    second = adapter.publish(make_post(2, image_id=first.image_id))
    assert second.image_id == first.image_id and second.warnings == ()
    assert meta(posts_of(read_like_simplexml(adapter.path))[1])["_thumbnail_id"] == first.image_id

    # an id that is not (or no longer) an attachment in the file: left out, with a warning
    third = adapter.publish(make_post(3, image_id="999"))
    assert third.image_id is None and "999" in third.warnings[0]
    assert "_thumbnail_id" not in meta(posts_of(read_like_simplexml(adapter.path))[2])


# --------------------------------------------------------------------------- writing in place


def test_an_added_post_leaves_the_rest_of_the_file_untouched(tmp_path: Path) -> None:
    with make_adapter(tmp_path) as adapter:
        for n in range(1, 21):
            adapter.publish(make_post(n))
    before, inode = adapter.path.read_bytes(), adapter.path.stat().st_ino
    with make_adapter(tmp_path) as adapter:
        adapter.publish(make_post(21, categories=("Nieuw",)))
    after = adapter.path.read_bytes()
    end = before.rindex(b"</channel>")
    assert after[:end] == before[:end] and adapter.path.stat().st_ino == inode  # written at the end, in place
    parsed = read_like_simplexml(adapter.path)
    assert len(by_id(parsed)) == 21
    # a term new to the file is defined after the items, where every parser of the importer finds it
    assert [c["category_nicename"] for c in parsed["categories"]] == ["zorg", "nieuw"]
    assert [p["post_title"] for p in read_like_xml_parser(adapter.path)][-1] == "Verhaal 21"


def test_once_indexed_no_call_reads_or_rewrites_the_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with make_adapter(tmp_path) as adapter:
        ids = {n: adapter.publish(make_post(n, image=image() if n % 2 else None)).id for n in range(1, 11)}
    inode = adapter.path.stat().st_ino
    assert ids[1] == "1" and ids[3] == "4"  # the shared image is attachment 2, made with post 1

    def whole_file(*args: Any) -> None:
        raise AssertionError("the whole file was read")

    monkeypatch.setattr("sociaalwerk_publisher.adapters.wxr.parse", whole_file)
    with make_adapter(tmp_path) as adapter:
        ids[11] = adapter.publish(make_post(11, image=image())).id
        updated = adapter.update(ids[3], make_post(3, title="Nieuw", image=image("https://www.example.nl/ander.jpg")))
        adapter.retract(ids[1])  # the shared image stays: other posts use it
        assert adapter.find_existing(make_post(5)).id == ids[5]  # type: ignore[union-attr]
        assert adapter.find_existing(make_post(1)) is None
    monkeypatch.undo()
    assert adapter.path.stat().st_ino == inode
    parsed = read_like_simplexml(adapter.path)
    posts = by_id(parsed)
    assert sorted(str(p["post_id"]) for p in posts_of(parsed)) == sorted(ids[n] for n in range(2, 12))
    assert posts[4]["post_title"] == "Nieuw" and meta(posts[4])["_thumbnail_id"] == updated.image_id == "13"
    attachments = {a["post_id"]: a for a in posts_of(parsed, "attachment")}
    assert sorted(attachments) == [2, 13]
    assert attachments[2]["post_parent"] == int(ids[5])  # moved off post 1, to the first post using it
    assert attachments[13]["post_parent"] == 4


def test_a_run_that_changes_every_post_rewrites_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with make_adapter(tmp_path) as adapter:
        for n in range(1, 11):
            adapter.publish(make_post(n))
    rewrites: list[object] = []
    real_replace = os.replace

    def replace(*args: Any) -> None:
        rewrites.append(args)
        real_replace(*args)

    monkeypatch.setattr(os, "replace", replace)
    with make_adapter(tmp_path) as adapter:
        for n in range(1, 11):
            adapter.update(str(n), make_post(n, title=f"Verhaal {n} (bijgewerkt)"))
        assert rewrites == []  # while the run lasts, the old versions are blanked out
        assert b" " * 500 in adapter.path.read_bytes()
    assert len(rewrites) == 1  # at its end, once, because half the file was whitespace
    text = adapter.path.read_bytes()
    assert b" " * 100 not in text and text.endswith(b"</channel>\n</rss>\n")
    parsed = read_like_simplexml(adapter.path)
    assert [p["post_title"] for p in parsed["posts"]] == [f"Verhaal {n} (bijgewerkt)" for n in range(1, 11)]
    with make_adapter(tmp_path) as adapter:  # and the index follows the rewritten file
        assert adapter.find_existing(make_post(7)).id == "7"  # type: ignore[union-attr]
        assert adapter.publish(make_post(11)).id == "11"


def test_a_file_from_before_is_taken_over_and_its_trashed_stories_leave(tmp_path: Path) -> None:
    from sociaalwerk_publisher.adapters.wxr_format import TAIL, Channel, Item, header, item_bytes

    ours = Item(post_id=1, title="Verhaal 1", post_name="verhaal-1", meta=[("swp_marker", "swp:0001")])
    retracted = Item(post_id=2, title="Ingetrokken", status="trash", content="<p>Weg ermee.</p>",
                     meta=[("swp_marker", "swp:0002"), ("_wp_trash_meta_status", "publish")])
    page = Item(post_id=7, post_type="page", title="Over ons", status="trash")  # not ours: kept as it is
    path = tmp_path / "export" / "demo.xml"
    path.parent.mkdir()
    path.write_bytes(header(Channel("Oud", "https://oud.example.nl", ""), [], datetime(2024, 1, 1, tzinfo=timezone.utc))
                     + b"".join(item_bytes(i) for i in (ours, retracted, page)) + TAIL)
    adapter = make_adapter(tmp_path)
    assert adapter.find_existing(make_post(1)).id == "1"  # type: ignore[union-attr]
    assert adapter.publish(make_post(3)).id == "8"
    assert [(p["post_id"], p["status"]) for p in read_like_simplexml(path)["posts"]] == [
        (1, "publish"), (7, "trash"), (8, "publish")]
    assert b"Weg ermee" not in path.read_bytes()


@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_a_lost_or_damaged_index_is_rebuilt_from_the_file(tmp_path: Path, damage: str) -> None:
    with make_adapter(tmp_path) as adapter:
        for n in (1, 2, 3):
            adapter.publish(make_post(n))
    if damage == "deleted":
        adapter.index_path.unlink()
    else:
        adapter.index_path.write_bytes(b"dit is geen database" * 100)
    with make_adapter(tmp_path) as adapter:
        assert adapter.find_existing(make_post(2)).id == "2"  # type: ignore[union-attr]
        assert adapter.publish(make_post(4)).id == "4"
    assert sorted(by_id(read_like_simplexml(adapter.path))) == [1, 2, 3, 4]


def test_a_file_edited_by_hand_is_read_again(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    for n in (1, 2, 3):
        adapter.publish(make_post(n))
    text = adapter.path.read_text(encoding="utf-8")
    second = re.search(r"\t<item>\n(?:(?!\t</item>).)*<wp:post_id>2</wp:post_id>.*?\t</item>\n", text, re.S)
    assert second is not None
    adapter.path.write_text(text.replace(second.group(0), ""), encoding="utf-8")  # an editor removes post 2
    assert adapter.find_existing(make_post(2)) is None
    assert adapter.publish(make_post(4)).id == "4"
    assert sorted(by_id(read_like_simplexml(adapter.path))) == [1, 3, 4]


def text_with(*pieces: str, max_size: int) -> st.SearchStrategy[str]:
    """Any XML-representable text, with the given awkward pieces mixed in often."""
    return st.lists(st.one_of(st.characters(exclude_categories=("Cs", "Cc", "Cn")), st.sampled_from(pieces)),
                    max_size=max_size).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=text_with("&", "<", ">", '"', "]]>", "\t", max_size=40),
    content=text_with("\n", "]]>", "]]", "<![CDATA[", "&amp;", "<p>", max_size=200),
)
def test_any_text_round_trips(title: str, content: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        adapter = make_adapter(Path(folder))
        adapter.publish(make_post(1, title=title, content_html=content + " swp:0001"))
        [post] = read_like_simplexml(adapter.path)["posts"]
        assert html.unescape(post["post_title"]) == title
        assert post["post_content"] == content + " swp:0001"


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize("failing", ["pwrite", "fdatasync"])
def test_a_failed_write_leaves_the_previous_file_intact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1))
    before = adapter.path.read_bytes()

    def crash(*args: Any) -> None:
        raise OSError(errno.EIO, "simulated crash")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(TransportError) as caught:
        adapter.publish(make_post(2))
    monkeypatch.undo()
    assert "simulated crash" in str(caught.value) and "demo.xml" in str(caught.value)
    assert adapter.path.read_bytes() == before
    assert leftovers(adapter.path.parent) == []
    assert adapter.publish(make_post(2)).id == "2"  # and the next write works


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs (the kernel still releases the lock)."""


def well_formed(path: Path) -> bool:
    try:
        ET.fromstring(path.read_bytes())
    except ET.ParseError:
        return False
    return True


# (what the call was doing, where it died, what the file holds afterwards)
CUT_SHORT = [
    ("publish", "torn", "before"),  # dying during the one write at the end: cut off
    ("publish", "written", "after"),  # the item was written whole: it stays, and is found
    ("update", "journaled", "before"),  # the bytes to overwrite were noted; nothing written yet
    ("update", "torn", "before"),  # the old version half blanked out: put back
    ("update", "written", "before"),  # both written, the index not told: undone from the journal
    ("retract", "journaled", "before"),
    ("retract", "torn", "before"),
    ("retract", "written", "before"),
]


@pytest.mark.parametrize("call, point, outcome", CUT_SHORT)
def test_a_call_cut_short_anywhere_is_settled_by_the_next_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, point: str, outcome: str) -> None:
    from sociaalwerk_publisher.adapters.wxr_index import Index

    with make_adapter(tmp_path) as adapter:
        for n in (1, 2, 3, 4):
            adapter.publish(make_post(n, image=image() if n % 2 == 0 else None))  # 2 and 4 share one
    before = read_like_simplexml(adapter.path)
    dying = make_adapter(tmp_path)
    dying.find_existing(make_post(1))  # index open, as in a run

    def die(*args: Any) -> None:
        raise Killed

    real_pwrite, real_journal = os.pwrite, Index.write_journal

    def torn(fd: int, data: Any, offset: int) -> int:
        real_pwrite(fd, bytes(data)[:100], offset)  # into the first item (or blank) of the write
        raise Killed

    def journal_then_die(index: Index, before: Any) -> None:
        real_journal(index, before)
        raise Killed

    monkeypatch.setattr(WxrAdapter, "_undo", die)  # a dead process cleans nothing up
    if point == "torn":
        monkeypatch.setattr(os, "pwrite", torn)
    elif point == "written":
        monkeypatch.setattr(Index, "commit", die)
    else:
        monkeypatch.setattr(Index, "write_journal", journal_then_die)
    with pytest.raises(Killed):
        if call == "publish":
            dying.publish(make_post(5))
        elif call == "update":
            dying.update("4", make_post(3, title="Bijgewerkt"))  # story 3 is post 4
        else:
            dying.retract("2")  # story 2: its attachment stays for story 4, and moves to it
    monkeypatch.undo()
    assert well_formed(adapter.path) or point == "torn"  # only a write cut in half leaves the file torn

    with make_adapter(tmp_path) as adapter:  # the next call, of this run or the next
        adapter.find_existing(make_post(1))
        after = read_like_simplexml(adapter.path)
        by_id(after)  # nothing twice
        if outcome == "before":
            assert after["posts"] == before["posts"]
        else:
            assert [p["post_name"] for p in posts_of(after)] == ["verhaal-1", "verhaal-2", "verhaal-3", "verhaal-4",
                                                                 "verhaal-5"]
        # and the engine's retry of the call leaves each post once
        if call == "publish" and adapter.find_existing(make_post(5)) is None:
            adapter.publish(make_post(5))
        elif call == "update":
            adapter.update("4", make_post(3, title="Bijgewerkt"))
        elif call == "retract":
            adapter.retract("2")
    final = read_like_simplexml(adapter.path)
    names = [p["post_name"] for p in posts_of(final)]
    assert len(names) == len(set(names)) == {"publish": 5, "update": 4, "retract": 3}[call]
    assert call != "update" or by_id(final)[4]["post_title"] == "Bijgewerkt"
    assert {str(a["post_id"]) for a in posts_of(final, "attachment")} == {
        meta(p)["_thumbnail_id"] for p in posts_of(final) if "_thumbnail_id" in meta(p)}


def test_killed_at_random_moments_each_post_is_in_the_file_at_most_once(tmp_path: Path) -> None:
    import random
    import signal

    rng = random.Random(15)
    code = ("import sys; from tests.test_adapter_wxr import _run; print('ready', flush=True); "
            "_run(sys.argv[1], 1, 40)")
    path = tmp_path / "export" / "demo.xml"
    kills = 0
    for _attempt in range(6):
        child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        killed = child.wait(timeout=60) == -signal.SIGKILL
        child.stdout.close()
        kills += killed
        if path.exists():
            with make_adapter(tmp_path) as adapter:  # the next call settles what the kill left
                adapter.find_existing(make_post(1))
            assert well_formed(path)
            posts = posts_of(read_like_simplexml(path))
            names = [p["post_name"] for p in posts]
            assert len(names) == len(set(names)), "a post is in the file twice"
    assert kills >= 3  # most children died mid-run (a quick one may have finished first)
    _run(str(tmp_path), 1, 40)  # the run that finally gets through
    expect_runs(path, (1, 40))


def test_a_stale_temporary_file_from_a_crash_does_no_harm(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1))
    (adapter.path.parent / ".demo.xml.999.deadbeef.tmp").write_text("<rss><chan", encoding="utf-8")
    assert adapter.publish(make_post(2)).id == "2"
    assert len(read_like_simplexml(adapter.path)["posts"]) == 2


def _publish_many(folder: str, prefix: int, count: int) -> None:
    """Run in another process by the concurrency test."""
    with make_adapter(Path(folder)) as adapter:
        for n in range(count):
            adapter.publish(make_post(prefix + n))


def _run(folder: str, first: int, count: int) -> None:
    """A run as the engine makes one, and restartable like it: each story is published unless an
    earlier (killed) run did; every third is updated, every fifth retracted; every fourth has an image."""
    with make_adapter(Path(folder)) as adapter:
        for n in range(first, first + count):
            found = adapter.find_existing(make_post(n))
            if found is None and n % 5 == 0 and adapter.find_existing(make_post(n, slug="")) is None:
                continue  # retracted by an earlier run (found by marker only: that is how it was made)
            if found is None:
                found = adapter.publish(make_post(n, image=image() if n % 4 == 0 else None))
            if n % 3 == 0:
                adapter.update(found.id, make_post(n, title=f"Verhaal {n} (bijgewerkt)"))
            if n % 5 == 0:
                adapter.retract(found.id)


def expect_runs(path: Path, *runs: tuple[int, int]) -> None:
    """The file holds what the runs leave: each story once, updated ones updated, retracted ones gone."""
    parsed = read_like_simplexml(path)
    posts = {p["post_name"]: p for p in by_id(parsed).values() if p["post_type"] == "post"}
    stories = [n for first, count in runs for n in range(first, first + count)]
    assert sorted(posts) == sorted(f"verhaal-{n}" for n in stories if n % 5)
    for n in stories:
        if n % 5:
            assert posts[f"verhaal-{n}"]["post_title"] == f"Verhaal {n}" + (" (bijgewerkt)" if n % 3 == 0 else "")
    markers = [meta(p)["swp_marker"] for p in posts.values()]
    assert len(markers) == len(set(markers))
    thumbnails = {meta(p).get("_thumbnail_id") for p in posts.values()} - {None}
    assert {str(a["post_id"]) for a in posts_of(parsed, "attachment")} == thumbnails  # no orphans


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    code = "import sys; from tests.test_adapter_wxr import _publish_many; " \
           "_publish_many(sys.argv[1], int(sys.argv[2]), 20)"
    workers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(prefix)], cwd=REPO)
               for prefix in (1000, 2000)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    posts = read_like_simplexml(tmp_path / "export" / "demo.xml")["posts"]
    assert len(posts) == 40
    assert len({p["post_id"] for p in posts}) == 40
    assert {p["post_name"] for p in posts} == {f"verhaal-{1000 + n}" for n in range(20)} | {
        f"verhaal-{2000 + n}" for n in range(20)}


def test_two_processes_publishing_updating_and_retracting_at_once_keep_the_file_whole(tmp_path: Path) -> None:
    code = "import sys; from tests.test_adapter_wxr import _run; _run(sys.argv[1], int(sys.argv[2]), 60)"
    workers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(first)], cwd=REPO)
               for first in (1000, 2000)]
    assert [w.wait(timeout=180) for w in workers] == [0, 0]
    expect_runs(tmp_path / "export" / "demo.xml", (1000, 60), (2000, 60))


def test_two_threads_with_their_own_adapters_lose_nothing(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def work(prefix: int) -> None:
        try:
            _publish_many(str(tmp_path), prefix, 20)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(prefix,)) for prefix in (1000, 2000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    posts = read_like_simplexml(tmp_path / "export" / "demo.xml")["posts"]
    assert sorted(p["post_id"] for p in posts) == list(range(1, 41))


def test_a_file_locked_by_another_process_is_waited_for_then_reported(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path, timeout=0.3)
    adapter.publish(make_post(1))
    with open(adapter.lock_path, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(TransportError, match="locked"):
            adapter.publish(make_post(2))
    assert adapter.publish(make_post(2)).id == "2"


# --------------------------------------------------------------------------- with the engine


@pytest.mark.parametrize("step", ["after-publish", "after-find", "after-update"])
def test_a_run_killed_at_any_step_and_run_again_leaves_each_story_once_in_the_file(tmp_path: Path, step: str) -> None:
    from sociaalwerk_publisher import make_publisher

    from .stories import seed

    config = tmp_path / "sociaalwerk-publisher.toml"
    config.write_text('[fetch]\nparse_processes = 1\n\n[[destinations]]\nname = "archief"\nadapter = "wxr"\n'
                      'path = "archief.xml"\n', encoding="utf-8")
    with make_publisher(config) as publisher:
        seed(publisher, tmp_path, [{"guid": f"g{n}", "title": f"Verhaal {n}", "html": f"<p>Tekst {n}.</p>"}
                                   for n in (1, 2, 3)])
        publisher.approve_story(*(s.id for s in publisher.list_stories()))
    crash = [sys.executable, "-m", "tests.crash_syndicate", str(config)]
    if step != "after-publish":  # a retry: an earlier attempt wrote the post and died before recording it
        subprocess.run([*crash, "after-publish"], cwd=REPO, timeout=120, capture_output=True)
    killed = subprocess.run([*crash, step], cwd=REPO, timeout=120, capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    with make_publisher(config) as publisher:
        results = list(publisher.syndicate())
        assert results and all(r.ok for r in results), results
        assert list(publisher.syndicate()) == []
    posts = posts_of(read_like_simplexml(tmp_path / "archief.xml"))
    assert sorted(p["post_title"] for p in posts) == ["Verhaal 1", "Verhaal 2", "Verhaal 3"]


# --------------------------------------------------------------------------- errors and check()


@pytest.mark.parametrize("text", [
    "dit is geen XML",
    "<html><body>Geen feed</body></html>",
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Gewone RSS</title></channel></rss>',
])
def test_a_file_that_is_not_wxr_is_refused_and_left_alone(tmp_path: Path, text: str) -> None:
    adapter = make_adapter(tmp_path, path="demo.xml")
    adapter.path.write_text(text, encoding="utf-8")
    with pytest.raises(RemoteRejectedError) as caught:
        adapter.publish(make_post(1))
    assert str(adapter.path) in str(caught.value) and "demo:" in str(caught.value)
    with pytest.raises(AdapterError):
        adapter.find_existing(make_post(1))
    assert adapter.path.read_text(encoding="utf-8") == text
    result = adapter.check()
    assert not result.ok and str(adapter.path) in result.problems[0]


def test_a_path_that_cannot_be_written_is_a_transport_error(tmp_path: Path) -> None:
    (tmp_path / "blokkade").write_text("een bestand, geen map", encoding="utf-8")
    adapter = make_adapter(tmp_path, path="blokkade/demo.xml")
    with pytest.raises(TransportError) as caught:
        adapter.publish(make_post(1))
    assert "blokkade" in str(caught.value)
    result = adapter.check()
    assert not result.ok and "blokkade" in result.problems[0]


def test_an_unknown_status_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RemoteRejectedError):
        make_adapter(tmp_path).publish(make_post(1, status="gepubliceerd"))


def test_check_passes_for_a_new_file_and_an_existing_one(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    result = adapter.check()
    assert result.ok and result.destination == "demo"
    assert not (tmp_path / "export").exists()  # checking writes nothing
    adapter.publish(make_post(1))
    adapter.publish(make_post(2, image=image()))
    adapter.retract("1")
    result = adapter.check()
    assert result.ok and "1 post, 1 attachment" in result.details
    assert leftovers(adapter.path.parent) == []


# --------------------------------------------------------------------------- PHP's SimpleXML, when present

PHP_READER = r"""<?php
// Reads the file the way WXR_Parser_SimpleXML does: DOMDocument, no doctype, xpath for the version.
libxml_use_internal_errors(true);
$dom = new DOMDocument;
if (!$dom->loadXML(file_get_contents($argv[1])) || isset($dom->doctype)) { fwrite(STDERR, "parse error\n"); exit(1); }
$xml = simplexml_import_dom($dom);
$version = $xml->xpath('/rss/channel/wp:wxr_version');
if (!$version || !preg_match('/^\d+\.\d+$/', trim((string) $version[0]))) { fwrite(STDERR, "no version\n"); exit(1); }
$ns = $xml->getDocNamespaces();
$out = ['version' => trim((string) $version[0]), 'authors' => [], 'categories' => [], 'tags' => [], 'posts' => []];
foreach ($xml->xpath('/rss/channel/wp:author') as $a) {
    $a = $a->children($ns['wp']);
    $out['authors'][] = (string) $a->author_login;
}
foreach ($xml->xpath('/rss/channel/wp:category') as $t) {
    $t = $t->children($ns['wp']);
    $out['categories'][] = [(int) $t->term_id, (string) $t->category_nicename, (string) $t->cat_name];
}
foreach ($xml->xpath('/rss/channel/wp:tag') as $t) {
    $t = $t->children($ns['wp']);
    $out['tags'][] = [(int) $t->term_id, (string) $t->tag_slug, (string) $t->tag_name];
}
foreach ($xml->channel->item as $item) {
    $post = ['post_title' => (string) $item->title, 'guid' => (string) $item->guid];
    $post['post_author'] = (string) $item->children('http://purl.org/dc/elements/1.1/')->creator;
    $post['post_content'] = (string) $item->children('http://purl.org/rss/1.0/modules/content/')->encoded;
    $post['post_excerpt'] = (string) $item->children($ns['excerpt'])->encoded;
    $wp = $item->children($ns['wp']);
    $post['post_id'] = (int) $wp->post_id;
    $post['post_date'] = (string) $wp->post_date;
    $post['post_date_gmt'] = (string) $wp->post_date_gmt;
    $post['post_name'] = (string) $wp->post_name;
    $post['status'] = (string) $wp->status;
    $post['post_parent'] = (int) $wp->post_parent;
    $post['post_type'] = (string) $wp->post_type;
    if (isset($wp->attachment_url)) { $post['attachment_url'] = (string) $wp->attachment_url; }
    $post['terms'] = [];
    foreach ($item->category as $c) {
        $att = $c->attributes();
        if (isset($att['nicename'])) {
            $post['terms'][] = ['name' => (string) $c, 'slug' => (string) $att['nicename'],
                                'domain' => (string) $att['domain']];
        }
    }
    $post['postmeta'] = [];
    foreach ($wp->postmeta as $meta) {
        $post['postmeta'][] = ['key' => (string) $meta->meta_key, 'value' => (string) $meta->meta_value];
    }
    $out['posts'][] = $post;
}
echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
"""


@pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")
def test_php_simplexml_reads_the_file_like_the_python_reader(tmp_path: Path) -> None:
    adapter = make_adapter(tmp_path)
    adapter.publish(make_post(1, title=TRICKY_TITLE, content_html="<p>a ]]> b &amp; c</p> swp:0001",
                             categories=("Súdwest-Fryslân",), tags=("Armoede & schulden",), image=image()))
    adapter.publish(make_post(2, date=WINTER, status="draft"))
    adapter.publish(make_post(3))
    adapter.retract("4")  # removed: whitespace where it was, which PHP reads past
    script = tmp_path / "read.php"
    script.write_text(PHP_READER, encoding="utf-8")
    done = subprocess.run(["php", str(script), str(adapter.path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    php = json.loads(done.stdout)

    ours = read_like_simplexml(adapter.path)
    assert php["version"] == "1.2" and php["authors"] == ["syndicatie"]
    assert php["categories"] == [[c["term_id"], c["category_nicename"], c["cat_name"]] for c in ours["categories"]]
    assert php["tags"] == [[t["term_id"], t["tag_slug"], t["tag_name"]] for t in ours["tags"]]
    keys = ("post_title", "guid", "post_author", "post_content", "post_excerpt", "post_id", "post_date",
            "post_date_gmt", "post_name", "status", "post_parent", "post_type")
    for from_php, from_python in zip(php["posts"], ours["posts"], strict=True):
        assert {k: from_php[k] for k in keys} == {k: from_python[k] for k in keys}
        assert from_php["terms"] == from_python.get("terms", [])
        assert from_php["postmeta"] == from_python.get("postmeta", [])
        assert from_php.get("attachment_url") == from_python.get("attachment_url")
    assert [p["post_id"] for p in php["posts"]] == [1, 2, 3]
    first = php["posts"][0]
    assert html.unescape(first["post_title"]) == TRICKY_TITLE
    assert first["post_content"] == "<p>a ]]> b &amp; c</p> swp:0001"
    assert first["post_date"] == "2024-07-01 14:00:00" and php["posts"][2]["post_date"] == "2024-01-15 11:30:00"
    assert php["posts"][1]["post_type"] == "attachment" and php["posts"][1]["post_parent"] == 1
