"""The WordPress eXtended RSS (WXR 1.2) format: items, parsing and serialising, no I/O.

A WXR file is an RSS 2.0 document whose ``<channel>`` holds the site's description,
its authors, term definitions (``<wp:category>``, ``<wp:tag>``) and one ``<item>`` per
post or attachment. The layout here follows what WordPress's importer (the
``wordpress-importer`` plugin) reads with each of its parsers: ``WXR_Parser_SimpleXML``,
``WXR_Parser_XML`` (which matches literal prefixed tag names) and the line-based
``WXR_Parser_Regex`` fallback. So: the usual prefixes (``wp:``, ``content:``,
``excerpt:``, ``dc:``), one element per line, text in CDATA with ``]]>`` split as
``]]]]><![CDATA[>`` like WordPress's own ``wxr_cdata()``, the author block on one line,
``<category domain=".." nicename="..">`` attributes in that order, and no doctype.

Every parser collects term definitions wherever they stand in the channel, and the
importer creates terms before posts, so definitions may follow the items they serve:
that is what lets a writer add an item and its new terms at the end of a file.

The serialised pieces are bytes so that a writer can place them by offset:
:func:`header`, :func:`term_definitions`, :func:`item_bytes`, :data:`TAIL`, and
:func:`filler` (whitespace, which may stand between any two of them).
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ..slugs import slugify

__all__ = [
    "AUTHOR_LOGIN", "NAMESPACES", "TAIL", "Channel", "Document", "Item", "TermDef", "WxrFormatError",
    "clean", "complete_length", "filler", "header", "item_bytes", "parse", "parse_items", "post_dates",
    "term_definitions", "term_slug",
]

#: The namespaces of a WXR 1.2 file, by the prefixes the importer expects.
NAMESPACES = {
    "excerpt": "http://wordpress.org/export/1.2/excerpt/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "wp": "http://wordpress.org/export/1.2/",
}
WXR_VERSION = "1.2"
#: The one author of every post (``dc:creator``); the importer maps it to a user.
AUTHOR_LOGIN = "syndicatie"
AUTHOR_DISPLAY_NAME = "Sociaal Werk Nederland"
LANGUAGE = "nl-NL"
#: ``wp:post_date`` is the site's local time
LOCAL_TIME = ZoneInfo("Europe/Amsterdam")
#: How every file written here ends; whatever is added goes in front of it.
TAIL = b"</channel>\n</rss>\n"

_WP_NS_PREFIX = "http://wordpress.org/export/"
_VERSION_RE = re.compile(r"^\d+\.\d+$")
#: Characters XML 1.0 cannot carry at all; dropped rather than producing a file no parser reads.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_SLUG = 200
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_CONTENT = NAMESPACES["content"]
_DC = NAMESPACES["dc"]


class WxrFormatError(ValueError):
    """The bytes are not a WXR file (or item) that can be read back and written again."""


# --------------------------------------------------------------------------- text


def term_slug(name: str) -> str:
    """A WordPress term slug: lowercase ASCII, diacritics folded, other runs → ``-``.

    A name with no letters or digits at all (``"👍"``) gets a stable ``term-<hash>``.
    """
    return slugify(name, _MAX_SLUG) or "term-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def clean(text: str) -> str:
    """Text an XML file can carry: line ends normalised, forbidden characters dropped."""
    return _INVALID_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _cdata(text: str) -> str:
    """A CDATA section for any text, ``]]>`` split across two sections (as ``wxr_cdata()`` does)."""
    return "<![CDATA[" + clean(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _esc(text: str) -> str:
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return '"' + _esc(text).replace('"', "&quot;") + '"'


def post_dates(when: datetime) -> tuple[str, str, str]:
    """``wp:post_date`` (Amsterdam), ``wp:post_date_gmt`` and the RFC 2822 ``pubDate`` of ``when``.

    A naive ``when`` is taken as UTC.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=timezone.utc)
    utc = when.astimezone(timezone.utc)
    local = utc.astimezone(LOCAL_TIME)
    return local.strftime(_DATE_FORMAT), utc.strftime(_DATE_FORMAT), email.utils.format_datetime(utc)


# --------------------------------------------------------------------------- the model


@dataclass
class Item:
    """One ``<item>``: a post, an attachment or anything else WordPress exports."""

    post_id: int
    post_type: str = "post"
    title: str = ""
    link: str = ""
    pub_date: str = ""
    creator: str = AUTHOR_LOGIN
    guid: str = ""
    description: str = ""
    content: str = ""
    excerpt: str = ""
    post_date: str = ""
    post_date_gmt: str = ""
    comment_status: str = "closed"
    ping_status: str = "closed"
    post_name: str = ""
    status: str = "publish"
    post_parent: int = 0
    menu_order: int = 0
    post_password: str = ""
    is_sticky: int = 0
    attachment_url: str | None = None
    terms: list[tuple[str, str, str]] = field(default_factory=list)  #: (domain, slug, name)
    meta: list[tuple[str, str]] = field(default_factory=list)

    def get_meta(self, key: str) -> str | None:
        """The first value of postmeta ``key``, if any."""
        return next((v for k, v in self.meta if k == key), None)

    def set_meta(self, key: str, value: str | None) -> None:
        """Replace every value of ``key`` by ``value`` (or remove it), keeping its place."""
        kept: list[tuple[str, str]] = []
        placed = False
        for k, v in self.meta:
            if k != key:
                kept.append((k, v))
            elif value is not None and not placed:
                kept.append((key, value))
                placed = True
        if value is not None and not placed:
            kept.append((key, value))
        self.meta = kept

    @property
    def is_post(self) -> bool:
        """Everything but an attachment."""
        return self.post_type != "attachment"


@dataclass(frozen=True)
class TermDef:
    """A term definition in the channel."""

    taxonomy: str  #: category | post_tag
    slug: str
    name: str
    term_id: int


@dataclass(frozen=True)
class Channel:
    """What the channel says about the site the file comes from."""

    title: str
    link: str
    description: str


@dataclass
class Document:
    """A parsed file: its items in file order and the term ids it defines."""

    items: list[Item] = field(default_factory=list)
    term_ids: dict[tuple[str, str], int] = field(default_factory=dict)  #: by (taxonomy, slug)


# --------------------------------------------------------------------------- parsing


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _int(text: str, what: str) -> int:
    text = text.strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise WxrFormatError(f"has an item or term WordPress cannot import: {what} is not a number: {text!r}") \
            from None


def parse(data: bytes) -> Document:
    """Read a WXR file the way the importer's SimpleXML parser does; empty bytes hold no items.

    Raises:
        WxrFormatError: the bytes are not a WXR file (or not one the importer accepts).
    """
    if not data.strip():
        return Document()  # an empty file (e.g. made by `touch`) holds no posts to lose
    start = data.find(b"<rss")
    if b"<!DOCTYPE" in (data[:start] if start >= 0 else data):
        raise WxrFormatError("has a DOCTYPE, which WordPress's importer refuses")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise WxrFormatError(f"is not well-formed XML ({e})") from e
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise WxrFormatError("is not an RSS file (no <rss><channel>)")
    version = next((c for c in channel if isinstance(c.tag, str) and c.tag.startswith("{" + _WP_NS_PREFIX)
                    and c.tag.endswith("}wxr_version")), None)
    if version is None or not _VERSION_RE.match(_text(version).strip()):
        raise WxrFormatError("is not a WXR file (missing or invalid wp:wxr_version)")
    wp = version.tag[1:].split("}")[0]

    def w(name: str) -> str:
        return f"{{{wp}}}{name}"

    document = Document()
    for taxonomy, tag, slug_tag in (("category", "category", "category_nicename"), ("post_tag", "tag", "tag_slug")):
        for term in channel.findall(w(tag)):
            term_id = _int(_text(term.find(w("term_id"))), "wp:term_id")
            slug = _text(term.find(w(slug_tag))).strip()
            if slug and term_id:
                document.term_ids[(taxonomy, slug)] = term_id
    document.items = [_parse_item(element, w, wp + "excerpt/") for element in channel.findall("item")]
    return document


def _channel_opening() -> bytes:
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    return f"<rss {declarations}><channel><wp:wxr_version>{WXR_VERSION}</wp:wxr_version>".encode()


def parse_items(data: bytes) -> list[Item]:
    """The items in bytes made by :func:`item_bytes` (with :func:`filler` or term definitions between).

    Raises:
        WxrFormatError: the bytes are not such items.
    """
    return parse(_channel_opening() + data + TAIL).items


def complete_length(data: bytes) -> int:
    """How much of ``data`` (channel content, cut off anywhere) is whole items, terms and whitespace.

    Reading stops at the first element that does not end, and at the end of the channel.
    """
    opening = _channel_opening()
    parser = xml.parsers.expat.ParserCreate("UTF-8")
    depth, complete = 0, 0

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1

    def end(name: str) -> None:
        nonlocal depth, complete
        depth -= 1
        if depth == 2:  # a child of the channel just closed: the position of its end tag's "<"
            close = data.find(b">", parser.CurrentByteIndex - len(opening)) + 1
            complete = close + 1 if data[close:close + 1] == b"\n" else close
        elif depth == 1:
            raise StopIteration  # the channel's end

    parser.StartElementHandler, parser.EndElementHandler = start, end
    with contextlib.suppress(xml.parsers.expat.ExpatError, StopIteration):
        parser.Parse(opening + data, False)
    return complete


def _parse_item(element: ET.Element, w: Callable[[str], str], excerpt_ns: str) -> Item:
    def wp_text(name: str) -> str:
        return _text(element.find(w(name)))

    post_id = _int(wp_text("post_id"), "wp:post_id")
    if post_id <= 0:
        raise WxrFormatError("has an item WordPress cannot import: wp:post_id is missing")
    attachment = element.find(w("attachment_url"))
    return Item(
        post_id=post_id,
        post_type=wp_text("post_type").strip() or "post",
        title=_text(element.find("title")),
        link=_text(element.find("link")).strip(),
        pub_date=_text(element.find("pubDate")).strip(),
        creator=_text(element.find(f"{{{_DC}}}creator")),
        guid=_text(element.find("guid")),
        description=_text(element.find("description")),
        content=_text(element.find(f"{{{_CONTENT}}}encoded")),
        excerpt=_text(element.find(f"{{{excerpt_ns}}}encoded")),
        post_date=wp_text("post_date").strip(),
        post_date_gmt=wp_text("post_date_gmt").strip(),
        comment_status=wp_text("comment_status").strip(),
        ping_status=wp_text("ping_status").strip(),
        post_name=wp_text("post_name").strip(),
        status=wp_text("status").strip(),
        post_parent=_int(wp_text("post_parent"), "wp:post_parent"),
        menu_order=_int(wp_text("menu_order"), "wp:menu_order"),
        post_password=wp_text("post_password"),
        is_sticky=_int(wp_text("is_sticky"), "wp:is_sticky"),
        attachment_url=_text(attachment).strip() if attachment is not None else None,
        terms=[(c.get("domain", ""), c.get("nicename", ""), _text(c))
               for c in element.findall("category") if c.get("nicename") is not None],
        meta=[(_text(m.find(w("meta_key"))), _text(m.find(w("meta_value"))))
              for m in element.findall(w("postmeta"))],
    )


# --------------------------------------------------------------------------- writing


def _lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def header(channel: Channel, terms: Iterable[TermDef], now: datetime) -> bytes:
    """Everything before the first item: declaration, namespaces, channel, author and terms.

    ``now`` is the channel's ``pubDate``, when the file was written.
    """
    return _lines([
        '<?xml version="1.0" encoding="UTF-8" ?>',
        "<!-- A WordPress eXtended RSS file written by sociaalwerk-publisher. -->",
        "<!-- Import it in WordPress: Tools > Import > WordPress. -->",
        '<rss version="2.0"',
        *(f'\txmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items()),
        ">",
        "",
        "<channel>",
        f"\t<title>{_esc(channel.title)}</title>",
        f"\t<link>{_esc(channel.link)}</link>",
        f"\t<description>{_esc(channel.description)}</description>",
        f"\t<pubDate>{email.utils.format_datetime(now.astimezone(timezone.utc))}</pubDate>",
        f"\t<language>{LANGUAGE}</language>",
        f"\t<wp:wxr_version>{WXR_VERSION}</wp:wxr_version>",
        f"\t<wp:base_site_url>{_esc(channel.link)}</wp:base_site_url>",
        f"\t<wp:base_blog_url>{_esc(channel.link)}</wp:base_blog_url>",
        "",
        # on one line: the regex fallback parser reads the author block only so
        "\t<wp:author><wp:author_id>1</wp:author_id>"
        f"<wp:author_login>{_cdata(AUTHOR_LOGIN)}</wp:author_login>"
        f"<wp:author_email>{_cdata('')}</wp:author_email>"
        f"<wp:author_display_name>{_cdata(AUTHOR_DISPLAY_NAME)}</wp:author_display_name>"
        f"<wp:author_first_name>{_cdata('')}</wp:author_first_name>"
        f"<wp:author_last_name>{_cdata('')}</wp:author_last_name></wp:author>",
        "",
    ]) + term_definitions(terms) + _lines(["", "\t<generator>sociaalwerk-publisher</generator>", ""])


def term_definitions(terms: Iterable[TermDef]) -> bytes:
    """``<wp:category>`` and ``<wp:tag>`` blocks, in the order given."""
    out: list[str] = []
    for term in terms:
        if term.taxonomy == "category":
            out += ["\t<wp:category>",
                    f"\t\t<wp:term_id>{term.term_id}</wp:term_id>",
                    f"\t\t<wp:category_nicename>{_cdata(term.slug)}</wp:category_nicename>",
                    f"\t\t<wp:category_parent>{_cdata('')}</wp:category_parent>",
                    f"\t\t<wp:cat_name>{_cdata(term.name)}</wp:cat_name>",
                    "\t</wp:category>"]
        else:
            out += ["\t<wp:tag>",
                    f"\t\t<wp:term_id>{term.term_id}</wp:term_id>",
                    f"\t\t<wp:tag_slug>{_cdata(term.slug)}</wp:tag_slug>",
                    f"\t\t<wp:tag_name>{_cdata(term.name)}</wp:tag_name>",
                    "\t</wp:tag>"]
    return _lines(out) if out else b""


def item_bytes(item: Item) -> bytes:
    """One ``<item>`` block, laid out like WordPress's own export (one element per line)."""
    lines = [
        "\t<item>",
        f"\t\t<title>{_cdata(item.title)}</title>",
        f"\t\t<link>{_esc(item.link)}</link>",
        f"\t\t<pubDate>{_esc(item.pub_date)}</pubDate>",
        f"\t\t<dc:creator>{_cdata(item.creator)}</dc:creator>",
        f'\t\t<guid isPermaLink="false">{_esc(item.guid)}</guid>',
        f"\t\t<description>{_esc(item.description)}</description>",
        f"\t\t<content:encoded>{_cdata(item.content)}</content:encoded>",
        f"\t\t<excerpt:encoded>{_cdata(item.excerpt)}</excerpt:encoded>",
        f"\t\t<wp:post_id>{item.post_id}</wp:post_id>",
        f"\t\t<wp:post_date>{_cdata(item.post_date)}</wp:post_date>",
        f"\t\t<wp:post_date_gmt>{_cdata(item.post_date_gmt)}</wp:post_date_gmt>",
        f"\t\t<wp:comment_status>{_cdata(item.comment_status)}</wp:comment_status>",
        f"\t\t<wp:ping_status>{_cdata(item.ping_status)}</wp:ping_status>",
        f"\t\t<wp:post_name>{_cdata(item.post_name)}</wp:post_name>",
        f"\t\t<wp:status>{_cdata(item.status)}</wp:status>",
        f"\t\t<wp:post_parent>{item.post_parent}</wp:post_parent>",
        f"\t\t<wp:menu_order>{item.menu_order}</wp:menu_order>",
        f"\t\t<wp:post_type>{_cdata(item.post_type)}</wp:post_type>",
        f"\t\t<wp:post_password>{_cdata(item.post_password)}</wp:post_password>",
        f"\t\t<wp:is_sticky>{item.is_sticky}</wp:is_sticky>",
    ]
    if item.attachment_url is not None:
        lines.append(f"\t\t<wp:attachment_url>{_cdata(item.attachment_url)}</wp:attachment_url>")
    for domain, slug, name in item.terms:
        lines.append(f"\t\t<category domain={_attr(domain)} nicename={_attr(slug)}>{_cdata(name)}</category>")
    for key, value in item.meta:
        lines += ["\t\t<wp:postmeta>",
                  f"\t\t\t<wp:meta_key>{_cdata(key)}</wp:meta_key>",
                  f"\t\t\t<wp:meta_value>{_cdata(value)}</wp:meta_value>",
                  "\t\t</wp:postmeta>"]
    lines.append("\t</item>")
    return _lines(lines)


def filler(size: int) -> bytes:
    """``size`` bytes of whitespace (spaces, then a line end), to stand where an item was."""
    return b" " * (size - 1) + b"\n" if size > 0 else b""
