"""A destination that is one WordPress eXtended RSS (WXR 1.2) file.

Every post sent to the destination lives in a single file that any WordPress
site imports with *Tools → Import → WordPress* (the ``wordpress-importer``
plugin). It is the default destination of the offline demo: no site, no
credentials, and the result can still be loaded into a real WordPress.

The file is the adapter's whole state:

* :meth:`WxrAdapter.publish` appends an ``<item>`` with a new ``wp:post_id``
  (the highest id in the file plus one);
* :meth:`WxrAdapter.update` rewrites that item's fields (its id and guid stay);
* :meth:`WxrAdapter.retract` sets ``wp:status`` to ``trash`` (remembering the
  previous status in ``_wp_trash_meta_status``, as WordPress does, so *Restore*
  works after an import) or, with ``delete=True``, removes the item;
* :meth:`WxrAdapter.find_existing` looks for a non-trashed post whose content
  holds the post's marker, then for one whose ``wp:post_name`` is its slug.

Each change is a read-modify-write under an exclusive ``fcntl.flock`` on the
sibling file ``<name>.lock`` (so two processes never lose each other's posts),
and the new file is written to a temporary file in the same folder, fsynced and
moved over the old one with :func:`os.replace`: a crash leaves either the old or
the new file, never half of one.

The format follows what the importer's parsers read
(``WXR_Parser_SimpleXML``, ``WXR_Parser_XML`` which matches literal prefixed
tag names, and the line-based ``WXR_Parser_Regex`` fallback): the usual
prefixes (``wp:``, ``content:``, ``excerpt:``, ``dc:``), text in CDATA with
``]]>`` split as ``]]]]><![CDATA[>`` like WordPress's own ``wxr_cdata()``, the
author block on one line, ``<category domain=".." nicename="..">`` attributes
in that order, and no doctype.

Titles and excerpts are plain text and WordPress treats them as HTML, so they
are written HTML-escaped (``&`` → ``&amp;``, ``<`` → ``&lt;``), as the REST
adapter sends them; content is HTML already and term names WordPress escapes
itself. On top of that every text is XML-escaped (CDATA) for the file.

A featured image becomes an attachment item (``wp:attachment_url`` is the
original image URL, which the importer downloads when *Download and import file
attachments* is ticked) and a ``_thumbnail_id`` postmeta on the post, which the
importer remaps to the new attachment. Posts sharing an image URL share one
attachment; ``Post.image_id`` (an attachment id from an earlier post) is reused
while that attachment is in the file; an attachment no post refers to any more
is dropped. ``RemotePost.image_id`` is the attachment's ``wp:post_id``.

``RemotePost.url`` is the file's ``file://`` URI with the fragment
``#post-<id>``: the post exists nowhere else until someone imports the file.
Item links and guids use the destination's ``url`` (when configured, else the
campaign site) as WordPress would: ``<url>/?p=<id>``.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import hashlib
import html
import os
import re
import secrets
import stat
import threading
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TypeVar

from ..config import DEFAULT_CONTACT, DestinationConfig
from ..exceptions import AdapterError, RemoteRejectedError, TransportError
from .base import CheckResult, Post, RemotePost

try:  # pragma: no cover - always present on POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: a lock within this process only
    fcntl = None  # type: ignore[assignment]

__all__ = ["WxrAdapter", "term_slug", "NAMESPACES", "AUTHOR_LOGIN"]

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
TIMEZONE_NAME = "Europe/Amsterdam"

META_MARKER = "swp_marker"
META_SOURCE_URL = "swp_source_url"
META_THUMBNAIL = "_thumbnail_id"
META_TRASH_STATUS = "_wp_trash_meta_status"
META_TRASH_TIME = "_wp_trash_meta_time"
_OUR_META = (META_MARKER, META_SOURCE_URL, META_THUMBNAIL, META_TRASH_STATUS, META_TRASH_TIME)

#: Statuses a post may be sent with (``trash`` is reached through :meth:`WxrAdapter.retract`).
POST_STATUSES = ("publish", "draft", "pending", "private", "future")

_CDN = {"content": NAMESPACES["content"], "dc": NAMESPACES["dc"]}
_WP_NS_PREFIX = "http://wordpress.org/export/"
_VERSION_RE = re.compile(r"^\d+\.\d+$")
#: Characters XML 1.0 cannot carry at all; dropped rather than producing a file no parser reads.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SLUG_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
                             "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "þ": "th", "Þ": "th"})
_MAX_SLUG = 200
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

T = TypeVar("T")


# --------------------------------------------------------------------------- helpers


def term_slug(name: str) -> str:
    """A WordPress term slug: lowercase ASCII, diacritics folded, other runs → ``-``.

    A name with no letters or digits at all (``"👍"``) gets a stable ``term-<hash>``.
    """
    folded = unicodedata.normalize("NFKD", name.translate(_SLUG_EXTRA))
    ascii_name = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:_MAX_SLUG].rstrip("-")
    return slug or "term-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def _amsterdam() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(TIMEZONE_NAME)
    except Exception:  # pragma: no cover - no tz database (install tzdata)
        return _EuCentralTime()


class _EuCentralTime(tzinfo):  # pragma: no cover - only without a tz database
    """CET/CEST by the EU rule (summer time from the last Sunday of March to that of October, 01:00 UTC)."""

    @staticmethod
    def _last_sunday(year: int, month: int) -> datetime:
        day = datetime(year, month + 1, 1, 1, tzinfo=timezone.utc) - timedelta(days=1)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    def _summer(self, utc: datetime) -> bool:
        return self._last_sunday(utc.year, 3) <= utc < self._last_sunday(utc.year, 10)

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=timezone.utc)
        return (dt + timedelta(hours=2 if self._summer(utc) else 1)).replace(tzinfo=self)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(hours=1)
        guess = dt.replace(tzinfo=timezone.utc) - timedelta(hours=1)
        return timedelta(hours=2 if self._summer(guess) else 1)

    def dst(self, dt: datetime | None) -> timedelta:
        return self.utcoffset(dt) - timedelta(hours=1)

    def tzname(self, dt: datetime | None) -> str:
        return "CEST" if self.dst(dt) else "CET"


_LOCAL = _amsterdam()


def _clean(text: str) -> str:
    """Text an XML file can carry: line ends normalised, forbidden characters dropped."""
    return _INVALID_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _cdata(text: str) -> str:
    """A CDATA section for any text, ``]]>`` split across two sections (as ``wxr_cdata()`` does)."""
    return "<![CDATA[" + _clean(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _esc(text: str) -> str:
    return _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(text: str) -> str:
    return '"' + _esc(text).replace('"', "&quot;") + '"'


def _dates(when: datetime) -> tuple[str, str, str]:
    """``wp:post_date`` (Amsterdam), ``wp:post_date_gmt`` and the RFC 2822 ``pubDate``."""
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=timezone.utc)  # documented as aware; naive is taken as UTC
    utc = when.astimezone(timezone.utc)
    local = utc.astimezone(_LOCAL)
    return local.strftime(_DATE_FORMAT), utc.strftime(_DATE_FORMAT), email.utils.format_datetime(utc)


# --------------------------------------------------------------------------- the model


@dataclass
class _Item:
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
        return next((v for k, v in self.meta if k == key), None)

    def set_meta(self, key: str, value: str | None) -> None:
        """Replace every value of ``key`` by ``value`` (or remove it), keeping its place."""
        kept: list[tuple[str, str]] = []
        placed = value is None
        for k, v in self.meta:
            if k != key:
                kept.append((k, v))
            elif not placed:
                kept.append((key, value))  # type: ignore[arg-type]
                placed = True
        if not placed:
            kept.append((key, value))  # type: ignore[arg-type]
        self.meta = kept

    @property
    def is_post(self) -> bool:
        return self.post_type != "attachment"


@dataclass
class _State:
    items: list[_Item] = field(default_factory=list)
    #: term ids already given out, by (taxonomy, slug), kept stable across writes
    term_ids: dict[tuple[str, str], int] = field(default_factory=dict)

    def find(self, post_id: int) -> _Item | None:
        return next((i for i in self.items if i.post_id == post_id and i.is_post), None)

    def next_id(self) -> int:
        return max((i.post_id for i in self.items), default=0) + 1


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _int(text: str, what: str) -> int:
    text = text.strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} is not a number: {text!r}") from None


class _NotWxr(Exception):
    """The file exists but is not a WXR file this adapter can keep writing."""


def _parse(data: bytes) -> _State:
    """Read a WXR file the way the importer's SimpleXML parser does."""
    if not data.strip():
        return _State()  # an empty file (e.g. made by `touch`) holds no posts to lose
    start = data.find(b"<rss")
    if b"<!DOCTYPE" in (data[:start] if start >= 0 else data):
        raise _NotWxr("has a DOCTYPE, which WordPress's importer refuses")
    try:
        return _parse_xml(data)
    except ValueError as e:  # a number that is not one
        raise _NotWxr(f"has an item or term WordPress cannot import: {e}") from e


def _parse_xml(data: bytes) -> _State:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise _NotWxr(f"is not well-formed XML ({e})") from e
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise _NotWxr("is not an RSS file (no <rss><channel>)")
    version = next((c for c in channel if isinstance(c.tag, str) and c.tag.startswith("{" + _WP_NS_PREFIX)
                    and c.tag.endswith("}wxr_version")), None)
    if version is None or not _VERSION_RE.match(_text(version).strip()):
        raise _NotWxr("is not a WXR file (missing or invalid wp:wxr_version)")
    wp = version.tag[1:].split("}")[0]
    excerpt_ns = wp + "excerpt/"

    def w(name: str) -> str:
        return f"{{{wp}}}{name}"

    state = _State()
    for taxonomy, tag, slug_tag in (("category", "category", "category_nicename"), ("post_tag", "tag", "tag_slug")):
        for term in channel.findall(w(tag)):
            term_id = _int(_text(term.find(w("term_id"))), "wp:term_id")
            slug = _text(term.find(w(slug_tag))).strip()
            if slug and term_id:
                state.term_ids[(taxonomy, slug)] = term_id
    state.items = [_parse_item(element, w, excerpt_ns) for element in channel.findall("item")]
    return state


def _parse_item(element: ET.Element, w: Callable[[str], str], excerpt_ns: str) -> _Item:
    def wp_text(name: str) -> str:
        return _text(element.find(w(name)))

    post_id = _int(wp_text("post_id"), "wp:post_id")
    if post_id <= 0:
        raise ValueError("wp:post_id is missing")
    attachment = element.find(w("attachment_url"))
    return _Item(
        post_id=post_id,
        post_type=wp_text("post_type").strip() or "post",
        title=_text(element.find("title")),
        link=_text(element.find("link")).strip(),
        pub_date=_text(element.find("pubDate")).strip(),
        creator=_text(element.find(f"{{{_CDN['dc']}}}creator")),
        guid=_text(element.find("guid")),
        description=_text(element.find("description")),
        content=_text(element.find(f"{{{_CDN['content']}}}encoded")),
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


@dataclass(frozen=True)
class _Channel:
    title: str
    link: str
    description: str


def _serialise(state: _State, channel: _Channel) -> bytes:
    """The whole file, laid out like WordPress's own export (one element per line)."""
    # Term definitions for every term an item uses, ids kept from earlier writes.
    used: dict[tuple[str, str], str] = {}
    for item in state.items:
        for domain, slug, name in item.terms:
            if domain in ("category", "post_tag") and slug:
                used.setdefault((domain, slug), name)
    next_term = max(state.term_ids.values(), default=0) + 1
    term_ids: dict[tuple[str, str], int] = {}
    for key in used:
        if key in state.term_ids:
            term_ids[key] = state.term_ids[key]
        else:
            term_ids[key] = next_term
            next_term += 1
    state.term_ids = term_ids

    out: list[str] = [
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
        f"\t<pubDate>{email.utils.format_datetime(datetime.now(timezone.utc))}</pubDate>",
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
    ]
    for (taxonomy, slug), term_id in sorted(term_ids.items(), key=lambda kv: kv[1]):
        name = used[(taxonomy, slug)]
        if taxonomy == "category":
            out += ["\t<wp:category>",
                    f"\t\t<wp:term_id>{term_id}</wp:term_id>",
                    f"\t\t<wp:category_nicename>{_cdata(slug)}</wp:category_nicename>",
                    f"\t\t<wp:category_parent>{_cdata('')}</wp:category_parent>",
                    f"\t\t<wp:cat_name>{_cdata(name)}</wp:cat_name>",
                    "\t</wp:category>"]
        else:
            out += ["\t<wp:tag>",
                    f"\t\t<wp:term_id>{term_id}</wp:term_id>",
                    f"\t\t<wp:tag_slug>{_cdata(slug)}</wp:tag_slug>",
                    f"\t\t<wp:tag_name>{_cdata(name)}</wp:tag_name>",
                    "\t</wp:tag>"]
    out += ["", "\t<generator>sociaalwerk-publisher</generator>", ""]
    for item in state.items:
        out += _serialise_item(item)
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out).encode("utf-8")


def _serialise_item(item: _Item) -> list[str]:
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
    return lines


# --------------------------------------------------------------------------- the adapter

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


class WxrAdapter:
    """Publishes into one WXR file; see the module documentation for the format and guarantees.

    Args:
        config: the destination; ``config.path`` is the file, relative to ``base_dir``.
        secret: unused (a file needs no credentials).
        base_dir: the config file's folder.
    """

    #: the importer downloads ``attachment_url`` itself, so the image is never fetched here
    needs_image_data = False

    def __init__(self, config: DestinationConfig, secret: str | None = None,
                 base_dir: Path | str | None = None) -> None:
        self.name = config.name
        self.config = config
        folder = Path(base_dir) if base_dir is not None else Path.cwd()
        self.path = (folder / os.path.expanduser(config.path or f"{config.name}.xml")).absolute()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.site_url = (config.url or DEFAULT_CONTACT).rstrip("/")
        self.lock_timeout = config.timeout if config.timeout > 0 else 30.0

    @classmethod
    def check_settings(cls, destination: DestinationConfig) -> list[tuple[str, str]]:
        """What the destination's settings lack, as (key, problem): a file needs its ``path``."""
        return [] if destination.path else [("path", "is required for the wxr adapter")]

    # ----------------------------------------------------------------- Protocol

    def publish(self, post: Post) -> RemotePost:
        """Append the post (and its featured image) with the next free id."""
        _check_post(post, self.name)

        def change(state: _State) -> RemotePost:
            item = _Item(post_id=state.next_id())
            item.link = item.guid = f"{self.site_url}/?p={item.post_id}"
            state.items.append(item)
            return self._remote(item, self._fill(state, item, post))

        return self._guard("publish to", lambda: self._modify(change))

    def update(self, remote_id: str, post: Post) -> RemotePost:
        """Replace the item's title, content, excerpt, slug, dates, terms, image and status."""
        _check_post(post, self.name)

        def change(state: _State) -> RemotePost:
            item = state.find(_post_id(remote_id) or -1)
            if item is None:
                raise RemoteRejectedError(f"no post {remote_id!r} in {self.path}", self.name, status=404)
            return self._remote(item, self._fill(state, item, post))

        return self._guard("update", lambda: self._modify(change))

    def retract(self, remote_id: str, *, delete: bool = False) -> None:
        """Move the post to the trash, or remove it; a post (or file) already gone is fine."""
        wanted = _post_id(remote_id)
        if wanted is None:
            return

        def change(state: _State) -> bool:
            item = state.find(wanted)
            if item is None:
                return False
            if delete:
                state.items.remove(item)
                _drop_unused_attachments(state)
                return True
            if item.status == "trash":
                return False  # nothing to write
            item.set_meta(META_TRASH_STATUS, item.status)
            item.set_meta(META_TRASH_TIME, str(int(time.time())))
            item.status = "trash"
            return True

        def run() -> None:
            if self.path.exists():
                self._modify(change)

        self._guard("retract from", run)

    def find_existing(self, post: Post) -> RemotePost | None:
        """A non-trashed post holding ``post.marker`` in its content, else one named ``post.slug``."""

        def run() -> RemotePost | None:
            posts = [i for i in self._read().items
                     if i.is_post and i.post_type == "post" and i.status != "trash"]
            if post.marker:
                for item in posts:
                    if post.marker in item.content:
                        return self._remote(item)
            if post.slug:
                for item in posts:
                    if item.post_name == post.slug:
                        return self._remote(item)
            return None

        return self._guard("read", run)

    def check(self) -> CheckResult:
        """Whether the folder can be written and the file (if any) is a WXR file we can keep."""
        problems: list[str] = []
        details: list[str] = [f"file: {self.path}"]
        try:
            self._check(problems, details)
        except OSError as e:
            problems.append(f"cannot check {e.filename or self.path}: {e.strerror or e}")
        except Exception as e:  # never let a foreign exception escape the adapter
            problems.append(f"cannot check {self.path}: {type(e).__name__}: {e}")
        return CheckResult(destination=self.name, user=AUTHOR_LOGIN, problems=tuple(problems),
                           details=tuple(details))

    def _check(self, problems: list[str], details: list[str]) -> None:
        folder = self.path.parent
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            problems.append(f"{existing} is not a folder, so {folder} cannot be created")
        elif existing != folder:
            if not os.access(existing, os.W_OK | os.X_OK):
                problems.append(f"{folder} does not exist and {existing} is not writable")
            else:
                details.append(f"{folder} will be created")
        else:
            problem = _probe_writable(folder)
            if problem:
                problems.append(problem)
        if self.path.exists() or self.path.is_symlink():
            try:
                if not self.path.is_file():
                    problems.append(f"{self.path} is not a regular file")
                else:
                    state = _parse(self.path.read_bytes())
                    posts = [i for i in state.items if i.is_post]
                    trashed = sum(1 for i in posts if i.status == "trash")
                    attachments = len(state.items) - len(posts)
                    details.append(f"{len(posts)} posts ({trashed} in the trash), {attachments} attachments")
            except _NotWxr as e:
                problems.append(f"{self.path} {e}")
            except OSError as e:
                problems.append(f"cannot read {self.path}: {e.strerror or e}")
        else:
            details.append("the file does not exist yet; the first post creates it")

    def close(self) -> None:
        """Nothing to release: every operation opens and closes the file itself."""

    def __enter__(self) -> WxrAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WxrAdapter({self.name!r}, {str(self.path)!r})"

    # ----------------------------------------------------------------- internals

    def _fill(self, state: _State, item: _Item, post: Post) -> tuple[str, ...]:
        """Write ``post`` into ``item`` (keeping its id, guid and foreign postmeta); the warnings."""
        warnings: tuple[str, ...] = ()
        item.post_date, item.post_date_gmt, item.pub_date = _dates(post.date)
        item.post_type = "post"
        # WordPress treats titles and excerpts as HTML: plain text goes in escaped
        item.title = html.escape(post.title, quote=False)
        item.content = post.content_html
        item.excerpt = html.escape(post.excerpt, quote=False)
        item.post_name = post.slug
        item.status = post.status
        item.creator = AUTHOR_LOGIN
        item.comment_status = item.ping_status = "closed"
        item.terms = []
        for domain, names in (("category", post.categories), ("post_tag", post.tags)):
            seen: set[str] = set()
            for name in names:
                name = _clean(name).strip()
                slug = term_slug(name) if name else ""
                if slug and slug not in seen:
                    seen.add(slug)
                    item.terms.append((domain, slug, name))
        item.set_meta(META_TRASH_STATUS, None)
        item.set_meta(META_TRASH_TIME, None)
        item.set_meta(META_MARKER, post.marker)
        item.set_meta(META_SOURCE_URL, post.source_url or None)
        attachment = None
        if post.image_id:  # reuse an earlier upload, when it is still in the file
            attachment = next((i for i in state.items if not i.is_post
                               and str(i.post_id) == post.image_id.strip()), None)
        if attachment is None and post.image is not None:
            attachment = next((i for i in state.items if not i.is_post
                               and i.attachment_url == post.image.url), None)
            if attachment is None:
                attachment = _Item(post_id=state.next_id(), post_type="attachment")
                stem = post.image.filename.rsplit(".", 1)[0] or post.image.filename or "afbeelding"
                attachment.title = stem
                attachment.post_name = term_slug(stem)
                attachment.post_date, attachment.post_date_gmt, attachment.pub_date = _dates(post.date)
                attachment.status = "inherit"
                attachment.comment_status = attachment.ping_status = "closed"
                attachment.post_parent = item.post_id
                attachment.attachment_url = attachment.guid = post.image.url
                attachment.link = f"{self.site_url}/?attachment_id={attachment.post_id}"
                state.items.append(attachment)
        item.set_meta(META_THUMBNAIL, str(attachment.post_id) if attachment is not None else None)
        if post.image_id and attachment is None:
            warnings = (f"featured image {post.image_id} is no longer in {self.path.name}; left out",)
        _drop_unused_attachments(state)
        return warnings

    def _remote(self, item: _Item, warnings: tuple[str, ...] = ()) -> RemotePost:
        thumbnail = item.get_meta(META_THUMBNAIL)
        return RemotePost(id=str(item.post_id), url=f"{self.path.as_uri()}#post-{item.post_id}",
                          status=item.status, image_id=thumbnail or None, warnings=warnings)

    def _channel(self) -> _Channel:
        return _Channel(
            title=f"{AUTHOR_DISPLAY_NAME} – {self.name}",
            link=self.site_url,
            description="Verhalen uit het lokale sociaal werk, om in WordPress te importeren "
                        "(Extra → Importeren → WordPress).",
        )

    def _read(self) -> _State:
        """The current state; a missing file is an empty one."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return _State()
        return _parse(data)

    def _modify(self, change: Callable[[_State], T]) -> T:
        """Read, change and atomically rewrite the file under the lock."""
        with self._locked():
            state = self._read()
            result = change(state)
            if result is not False:
                self._write(_serialise(state, self._channel()))
            return result

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _process_lock(self.lock_path, self.lock_timeout, self.name):
            if fcntl is None:  # pragma: no cover
                yield
                return
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                deadline = time.monotonic() + self.lock_timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as e:
                        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                            raise
                        if time.monotonic() > deadline:
                            raise TransportError(
                                f"{self.path} stayed locked by another process for {self.lock_timeout:g}s "
                                f"(lock file {self.lock_path})", self.name) from e
                        time.sleep(0.01)
                yield
            finally:
                os.close(fd)  # releases the flock

    def _write(self, data: bytes) -> None:
        """Write a temporary file beside the target, fsync it and move it over the target."""
        folder = self.path.parent
        while True:
            temporary = folder / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:  # pragma: no cover - 32 random bits
                continue
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(OSError):  # keep the old file's permissions
                os.chmod(temporary, stat.S_IMODE(os.stat(self.path).st_mode))
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _guard(self, doing: str, action: Callable[[], T]) -> T:
        """Run ``action``, translating every failure into the adapter's exceptions."""
        try:
            return action()
        except AdapterError:
            raise
        except _NotWxr as e:
            raise RemoteRejectedError(f"cannot {doing} {self.path}: the file {e}", self.name) from e
        except OSError as e:
            where = e.filename or self.path
            raise TransportError(f"cannot {doing} {where}: {e.strerror or e}", self.name) from e
        except Exception as e:  # never let a foreign exception escape the adapter
            raise AdapterError(f"cannot {doing} {self.path}: {type(e).__name__}: {e}", self.name) from e


def _post_id(remote_id: str) -> int | None:
    try:
        value = int(str(remote_id).strip())
    except ValueError:
        return None
    return value if value > 0 else None


def _check_post(post: Post, destination: str) -> None:
    if post.status not in POST_STATUSES:
        raise RemoteRejectedError(
            f"post status {post.status!r} is not one of {', '.join(POST_STATUSES)}", destination)


def _drop_unused_attachments(state: _State) -> None:
    """Remove attachments no item points at; re-parent shared ones whose parent is gone."""
    users: dict[int, list[int]] = {}
    for item in state.items:
        if item.is_post:
            thumbnail = _post_id(item.get_meta(META_THUMBNAIL) or "")
            if thumbnail:
                users.setdefault(thumbnail, []).append(item.post_id)
    ids = {i.post_id for i in state.items}
    kept = []
    for item in state.items:
        if not item.is_post:
            if item.post_id not in users:
                continue
            if item.post_parent not in users[item.post_id] and item.post_parent not in ids:
                item.post_parent = users[item.post_id][0]
        kept.append(item)
    state.items = kept


def _probe_writable(folder: Path) -> str | None:
    """Create and remove a file in ``folder``; the problem, if that fails."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    probe = folder / f".wxr-check.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return f"{folder} is not writable: {e.strerror or e}"
    return None


@contextlib.contextmanager
def _process_lock(path: Path, timeout: float, destination: str) -> Iterator[None]:
    """Serialise threads of this process on one file (flock does the rest across processes)."""
    with _process_locks_guard:
        lock = _process_locks.setdefault(str(path), threading.Lock())
    if not lock.acquire(timeout=timeout):
        raise TransportError(f"{path} stayed locked by another thread for {timeout:g}s", destination)
    try:
        yield
    finally:
        lock.release()
