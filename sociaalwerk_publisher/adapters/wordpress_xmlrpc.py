"""Publish to a WordPress site over XML-RPC (``xmlrpc.php``), with python-wordpress-xmlrpc.

For sites whose REST API is blocked. Authentication is an application password
(WordPress >= 5.6 accepts it over XML-RPC too), sent with every request and
only ever to the configured site: the transport never follows redirects and
uses no proxy.

What WordPress does with the fields: titles and excerpts are HTML to WordPress,
so the plain text of :class:`~.base.Post` is HTML-escaped (as the REST adapter
does) and shows exactly as given; content goes as given, except that
WordPress's XML-RPC parser trims leading and trailing whitespace of every string.
The post date goes as ``post_date_gmt``. The marker and the original's address are also
stored as custom fields ``swp_marker`` and ``swp_original_url``; the companion plugin
(``integrations/wordpress/``) makes the latter the copy's canonical link, and without
the plugin it is an inert custom field, so it is always set.

What python-wordpress-xmlrpc 2.3 gets wrong on today's Python is worked around,
without patching it, in :mod:`.wordpress_xmlrpc_compat`.
"""

from __future__ import annotations

import html
import http.client
import mimetypes
import re
import unicodedata
import xml.parsers.expat
import xmlrpc.client
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from wordpress_xmlrpc import WordPressTerm
from wordpress_xmlrpc.exceptions import (
    FieldConversionError,
    InvalidCredentialsError,
    ServerConnectionError,
    UnsupportedXmlrpcMethodError,
    XmlrpcDisabledError,
)
from wordpress_xmlrpc.methods import media, posts, taxonomies

from .._version import __version__
from ..config import DestinationConfig
from ..exceptions import AdapterError, AuthenticationError, RemoteRejectedError, TransportError
from ..network import Deadline, create_connection, describe, watch
from ..types import CheckResult
from .base import CopyState, Image, Post, RemotePost, check_site_settings, edit_digest
from .wordpress_rest import WordPressRestAdapter
from .wxr_format import term_slug
from .wordpress_xmlrpc_compat import (
    GetMediaLibrary,
    GetPost,
    GetPosts,
    GetProfile,
    GetTerms,
    GetUsersBlogs,
    LazyClient,
    OutgoingPost,
)

__all__ = ["WordPressXmlRpcAdapter"]

#: Every status a live (not trashed) post can have; what an earlier attempt may have left.
LIVE_STATUSES = ("publish", "future", "draft", "pending", "private")
#: WordPress renames the slug of a trashed post to ``<slug>__trashed``.
TRASHED_SUFFIX = "__trashed"
MARKER_FIELD = "swp_marker"
ORIGINAL_FIELD = "swp_original_url"
#: what ``ORIGINAL_FIELD`` was called before the companion plugin; removed on update
OLD_ORIGINAL_FIELD = "swp_source_url"
TAXONOMIES = (("category", "category"), ("post_tag", "tag"))
DEFAULT_TIMEOUT = 30.0

# Characters XML 1.0 does not allow (C0 controls, lone surrogates, U+FFFE/FFFF): a
# request containing one is rejected by the server's parser as a whole.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _TimeoutTransport(xmlrpc.client.Transport):
    """HTTP in which ``timeout`` bounds each whole request, from connecting (TLS included)
    to the last byte of the answer (see :mod:`...network`). Never follows redirects."""

    def __init__(self, timeout: float, user_agent: str) -> None:
        super().__init__()
        self.timeout = timeout
        self.user_agent = user_agent
        #: the limits of the request in flight or the last one, to say what went wrong
        self.exchange = Deadline(timeout)

    def request(self, host: Any, handler: str, request_body: Any, verbose: bool = False) -> Any:
        self.exchange = Deadline(self.timeout)
        with self.exchange:
            return super().request(host, handler, request_body, verbose)

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self.timeout  # for each socket operation
        connection._create_connection = create_connection  # type: ignore[attr-defined]
        if connection.sock is not None:  # kept alive since an earlier request
            watch(connection.sock, connection.host)
        return connection


class _SafeTimeoutTransport(_TimeoutTransport, xmlrpc.client.SafeTransport):  # type: ignore[misc]
    """The same over HTTPS, certificates verified (``make_connection`` gives an HTTPSConnection)."""


# --------------------------------------------------------------------------- helpers


def xmlrpc_endpoint(url: str) -> str:
    """The ``xmlrpc.php`` address of a site (``url`` may already be that address)."""
    url = url.strip()
    if urlsplit(url).path.endswith("/xmlrpc.php"):
        return url
    return url.rstrip("/") + "/xmlrpc.php"


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _term_key(name: str) -> str:
    """How WordPress tells term names apart: entities decoded, whitespace and case ignored."""
    return " ".join(html.unescape(name).split()).casefold()


def _folded(key: str) -> str:
    """``key`` without accents, as MySQL's default collation compares names."""
    return "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))


def _gmt(value: datetime) -> datetime:
    """An aware datetime as the naive UTC time WordPress takes in ``post_date_gmt``."""
    if value.tzinfo is None:  # the contract says aware; UTC is the only sane reading
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)


def _search_word(marker: str) -> str:
    """The part of ``marker`` to give WordPress search.

    WordPress splits a search on spaces and treats a word starting with ``-`` as
    an exclusion, so an HTML-comment marker like ``<!-- swp:12 -->`` must not be
    passed whole; its longest word still narrows the search to a handful of posts.
    """
    words = [w.lstrip("-") for w in re.findall(r"[^\s\"'<>]+", marker)]
    words = [w for w in words if re.search(r"\w", w)]
    return max(words, key=len, default="")


def _upload_name(image: Image) -> str:
    """A file name WordPress accepts: a bare name with an extension matching the type."""
    name = PurePosixPath(image.filename.replace("\\", "/")).name.strip() or "image"
    if not PurePosixPath(name).suffix:
        extension = mimetypes.guess_extension(image.content_type.split(";")[0].strip()) or ""
        name += extension
    return name


def _thumbnail_id(wp_post: Any) -> str | None:
    thumbnail = getattr(wp_post, "thumbnail", None)
    if isinstance(thumbnail, dict) and thumbnail.get("attachment_id"):
        return str(thumbnail["attachment_id"])
    return None


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


# --------------------------------------------------------------------------- the adapter


class WordPressXmlRpcAdapter:
    """A WordPress destination reached over XML-RPC.

    Every method raises only :class:`~sociaalwerk_publisher.exceptions.AdapterError`
    subclasses, with ``destination`` set to the destination's name.
    """

    check_settings = staticmethod(check_site_settings)

    def __init__(self, config: DestinationConfig, secret: str | None, base_dir: Path | None = None) -> None:
        self.name = config.name
        self.config = config
        self.xmlrpc_url = xmlrpc_endpoint(config.url)
        self._secret = secret or ""
        timeout = config.timeout if config.timeout > 0 else DEFAULT_TIMEOUT
        agent = f"sociaalwerk-publisher/{__version__} (XML-RPC)"
        secure = urlsplit(self.xmlrpc_url).scheme == "https"
        transport_class = _SafeTimeoutTransport if secure else _TimeoutTransport
        self._transport = transport_class(timeout, agent)
        try:
            self._client = LazyClient(self.xmlrpc_url, config.username, self._secret, self._transport)
        except OSError as e:  # ServerProxy refuses anything but http(s)
            raise AdapterError(f"{config.url!r} is not an http(s) address", self.name) from e
        self._authenticated = False  #: a call succeeded, so a later fault 403 is not the login
        self._terms: dict[str, dict[str, str]] = {}  #: taxonomy -> term key -> term id
        self._uploads: dict[str, str] = {}  #: image URL -> media id

    # ------------------------------------------------------------------ the Protocol

    def publish(self, post: Post) -> RemotePost:
        """Create the post with its terms, featured image and marker; read it back to verify."""
        warnings: list[str] = []
        terms = self._resolve_terms(post, warnings)
        image_id = self._image_id(post, warnings)
        outgoing = self._outgoing(post, terms, image_id, self._custom_fields(post, []))
        outgoing.slug = _xml_text(post.slug)
        new_id = str(self._send(posts.NewPost, outgoing, post, "create the post", warnings))
        if getattr(outgoing, "thumbnail", None) is None:  # dropped: the reused media is gone
            image_id = None
        remote, stored = self._read_back(new_id, post, terms, image_id, warnings)
        given = unquote(getattr(stored, "slug", None) or post.slug)
        if given != post.slug and post.fallback_slug not in ("", post.slug):
            remote = self._rename(remote, post.fallback_slug)
        return remote

    def _rename(self, remote: RemotePost, slug: str) -> RemotePost:
        """Give a new post ``slug``: WordPress made the plain one unique, so another post has it.

        XML-RPC cannot look posts up by slug, so WordPress is the judge: it makes the slug
        of a post that is not a draft unique among the posts in any state but the trash
        (whose slugs it sets aside). The fallback is ours alone, and the post seconds old.
        """
        # a bare struct: a WordPressPost would send its default title "Untitled" too
        self._call(posts.EditPost(int(remote.id), {"post_name": _xml_text(slug)}),
                   f"set the slug of post {remote.id}")
        try:
            link = getattr(self._call(GetPost(int(remote.id), ["link"]), f"read post {remote.id}"), "link", None)
        except AdapterError:
            link = None  # renamed all the same; only its address is not known
        return replace(remote, url=link or None)

    def update(self, remote_id: str, post: Post) -> RemotePost:
        """Replace title, content, excerpt, status, date, terms, image and fields of a post (not its slug)."""
        post_id = self._post_id(remote_id)
        try:
            current = self._call(GetPost(post_id), f"read post {post_id}")
        except RemoteRejectedError as e:
            if e.status == 404:
                self._reject(f"post {post_id} no longer exists on the site", 404, e)
            raise
        if getattr(current, "post_type", "post") != "post":
            self._reject(f"{post_id} is not a post but a {current.post_type}", None)
        if getattr(current, "post_status", "") == "trash":
            self._reject(f"post {post_id} is in the trash on the site; it is not brought back", None)
        warnings: list[str] = []
        terms = self._resolve_terms(post, warnings)
        image_id = self._image_id(post, warnings)
        fields = self._custom_fields(post, getattr(current, "custom_fields", None) or [])
        # no image: remove the old one (0 deletes); an image that failed to upload leaves it
        no_image = post.image is None and not post.image_id
        outgoing = self._outgoing(post, terms, image_id if image_id else (0 if no_image else None), fields)
        self._send(lambda content: posts.EditPost(post_id, content), outgoing, post,
                   f"update post {post_id}", warnings)
        if not getattr(outgoing, "thumbnail", None):
            image_id = None
        return self._read_back(str(post_id), post, terms, image_id, warnings)[0]

    def retract(self, remote_id: str, *, delete: bool = False) -> None:
        """Move the post to the trash, or delete it for good; a post already gone is fine.

        ``wp.deletePost`` trashes a live post and deletes a trashed one, so the
        status is read first: retracting a trashed post must not delete it.
        """
        post_id = self._post_id(remote_id)
        try:
            current = self._call(GetPost(post_id, ["post"]), f"read post {post_id}")
            if getattr(current, "post_status", "") != "trash":
                self._call(posts.DeletePost(post_id), f"move post {post_id} to the trash")
            if delete:
                self._call(posts.DeletePost(post_id), f"delete post {post_id}")
        except RemoteRejectedError as e:
            if e.status != 404:
                raise

    def find_existing(self, post: Post) -> RemotePost | None:
        """The live post an earlier attempt created, by its marker (in the content or the field)."""
        statuses = list(LIVE_STATUSES)
        found = []
        word = _search_word(post.marker)
        if word:
            query = {"post_type": "post", "post_status": statuses, "number": 20, "s": word}
            found = [p for p in self._call(GetPosts(query), "search for an earlier attempt") or []
                     if self._is_live(p) and self._has_marker(p, post.marker)]
        if not found:
            # Search may be replaced by a plugin, or the marker not indexed: look at
            # the latest posts created (by id, as the post date is the story's own).
            query = {"post_type": "post", "post_status": statuses, "number": 50,
                     "orderby": "ID", "order": "DESC"}
            recent = [p for p in self._call(GetPosts(query), "list recent posts") or [] if self._is_live(p)]
            found = [p for p in recent if self._has_marker(p, post.marker)]
        if not found:
            return None
        first = min(found, key=lambda p: int(p.id))  # the original, should there be duplicates
        return self._remote(first, _thumbnail_id(first), [])

    def copy_state(self, remote_id: str) -> CopyState | None:
        post_id = self._post_id(remote_id)
        try:
            wp_post = self._call(GetPost(post_id, ["post_title", "post_content", "terms", "post_thumbnail",
                                                   "post_modified_gmt"]), f"read post {post_id}")
        except RemoteRejectedError as e:
            if e.status == 404:
                return None
            raise
        terms = getattr(wp_post, "terms", None) or []
        wanted = self.config.unlink_term
        unlinking = next((f"{'categorie' if t.taxonomy == 'category' else 'tag'} {t.name}" for t in terms
                          if wanted and t.taxonomy in ("category", "post_tag")
                          and (t.slug == term_slug(wanted) or str(t.name).casefold() == wanted.casefold())),
                         None)
        modified = getattr(wp_post, "date_modified", None)
        return CopyState(
            edit_digest(getattr(wp_post, "title", "") or "", getattr(wp_post, "content", "") or "",
                        [t.id for t in terms if t.taxonomy == "category"],
                        [t.id for t in terms if t.taxonomy == "post_tag"], _thumbnail_id(wp_post)),
            unlinking, modified.replace(tzinfo=timezone.utc) if isinstance(modified, datetime) else None)

    def check(self) -> CheckResult:
        """Log in and find out what the user may do, without writing anything.

        Every failure, refused credentials, XML-RPC switched off or an unreachable
        site, is reported as a problem rather than raised.
        """
        details: list[str] = [f"endpoint: {self.xmlrpc_url}"]
        if urlsplit(self.xmlrpc_url).scheme == "http" and \
                urlsplit(self.xmlrpc_url).hostname not in ("127.0.0.1", "localhost", "::1"):
            details.append("the address is http://, so the application password travels unencrypted")
        try:
            blogs = self._call(GetUsersBlogs(), "log in") or []
        except AdapterError as e:
            return CheckResult(self.name, None, problems=(self._plain(e),), details=tuple(details))
        problems: list[str] = []
        try:
            user = self._check_rights(blogs, problems, details)
        except AdapterError as e:
            user = self.config.username
            problems.append(self._plain(e))
        return CheckResult(self.name, user, problems=tuple(problems), details=tuple(details),
                           canonical_links=self._canonical_links(details))

    def _canonical_links(self, details: list[str]) -> bool | None:
        """Whether the companion plugin is installed, as the site's REST schema says.

        XML-RPC cannot tell (custom fields are listed whether a plugin registered them
        or not), so the same site is asked over REST; where REST is blocked it stays unknown.
        """
        site = replace(self.config, url=self.xmlrpc_url.removesuffix("xmlrpc.php"))
        rest = WordPressRestAdapter(site, self._secret)
        try:
            return rest.canonical_links()
        except AdapterError as e:
            details.append("could not tell whether the companion plugin is installed "
                           f"(the REST API did not answer: {self._plain(e)})")
            return None
        finally:
            rest.close()

    def _check_rights(self, blogs: list[Any], problems: list[str], details: list[str]) -> str:
        is_admin = any(getattr(b, "is_admin", False) for b in blogs)
        for blog in blogs[:1]:
            details.append(f"site: {blog.name!s} ({blog.url})")
        user = self.config.username
        roles: list[str] = []
        try:
            profile = self._call(GetProfile(), "read the user's profile")
            user = getattr(profile, "username", None) or user
            roles = list(getattr(profile, "roles", None) or [])
        except AuthenticationError as e:
            details.append(f"could not read the user's profile: {self._plain(e)}")
        details.append(f"logged in as {user} (role: {', '.join(roles) or 'unknown'}"
                       f"{', site administrator' if is_admin else ''})")

        # posts: wp.getPosts needs edit_posts; publish_posts has no harmless probe, so the role tells
        if self._refused(GetPosts({"post_type": "post", "number": 1}, ["post_id"])):
            problems.append(f"user {user} may not write posts: give it the Author, Editor or Administrator role")
        elif is_admin or {"administrator", "editor", "author"} & set(roles):
            details.append("may publish posts")
        elif {"contributor", "subscriber"} & set(roles):
            message = f"user {user} may not publish posts, only submit them for review"
            if self.config.status == "publish":
                problems.append(f"{message}: give it the Author or Editor role, or set status = \"pending\"")
            else:
                details.append(message)
        else:
            details.append(f"could not tell from the role ({', '.join(roles) or 'none'}) whether "
                           f"{user} may publish posts")

        # uploads: wp.getMediaLibrary is refused without upload_files
        if self._refused(GetMediaLibrary({"number": 1})):
            problems.append(f"user {user} may not upload files, so featured images would be left out: "
                            "give it the Author role or higher")
        else:
            details.append("may upload files")

        # terms: wp.newTerm checks the right before it refuses an empty name, so
        # asking for a nameless category creates nothing and answers which it is
        if self._refused(taxonomies.NewTerm(WordPressTerm({"taxonomy": "category", "name": ""}))):
            message = f"user {user} may not create categories or tags"
            if self._uses_terms():
                problems.append(f"{message}, so new terms would be left out: give it the Editor role")
            else:
                details.append(message)
        else:
            details.append("may create categories and tags")
        return user

    def close(self) -> None:
        """Close the kept-alive connection; the adapter reconnects if used again."""
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing a socket must not fail a run
            pass

    def __enter__(self) -> WordPressXmlRpcAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ posts

    def _send(self, method: Any, outgoing: OutgoingPost, post: Post, action: str, warnings: list[str]) -> Any:
        """Create or edit the post; without the featured image if a reused media id is gone."""
        try:
            return self._call(method(outgoing), action)
        except RemoteRejectedError as e:
            self._terms.clear()  # "Invalid term ID.": a cached term was deleted; ask again next time
            reused = post.image is None and post.image_id and \
                getattr(outgoing, "thumbnail", None) == int(post.image_id)
            if e.status != 404 or not reused:
                raise
        # WordPress refuses the whole post over an unknown attachment ("Invalid attachment ID.")
        warnings.append(f"the featured image uploaded earlier (media {post.image_id}) is gone from the site; "
                        "the post was saved without it")
        del outgoing.thumbnail
        return self._call(method(outgoing), action)

    def _image_id(self, post: Post, warnings: list[str]) -> str | None:
        """The featured image's media id: uploaded now, or the earlier upload the caller remembers."""
        if post.image is not None:
            return self._upload(post.image, warnings)
        if post.image_id and not str(post.image_id).strip().isdigit():
            warnings.append(f"the featured image was left out: {post.image_id!r} is not a WordPress media id")
            return None
        return str(post.image_id).strip() if post.image_id else None

    def _outgoing(self, post: Post, terms: dict[str, list[tuple[str, str]]], thumbnail: str | int | None,
                  fields: list[dict[str, Any]]) -> OutgoingPost:
        outgoing = OutgoingPost()
        outgoing.post_type = "post"
        # WordPress treats titles (and excerpts) as HTML: plain text must arrive escaped.
        # XML-RPC escapes it once more for XML, which the server undoes.
        outgoing.title = html.escape(_xml_text(post.title), quote=False)
        outgoing.content = _xml_text(post.content_html)  # WordPress trims it (IXR trims every string)
        outgoing.excerpt = html.escape(_xml_text(post.excerpt), quote=False)
        # no slug: a new post gets one in publish; an updated one keeps its own (its address)
        outgoing.post_status = post.status
        outgoing.date = _gmt(post.date)  # sent as post_date_gmt
        # an empty list clears the tags; no categories at all is left to WordPress, which
        # gives a new post its default category and an updated one keeps what it has
        outgoing.terms = {taxonomy: [int(term_id) for _, term_id in items] for taxonomy, items in terms.items()
                          if items or taxonomy != "category"}
        outgoing.custom_fields = fields
        if thumbnail is not None:
            outgoing.thumbnail = int(thumbnail)
        return outgoing

    @staticmethod
    def _custom_fields(post: Post, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Our fields, updating (by id) the ones the post has and removing duplicates and leftovers."""
        wanted = {MARKER_FIELD: _xml_text(post.marker)}
        if post.source_url:
            wanted[ORIGINAL_FIELD] = _xml_text(post.source_url)
        fields: list[dict[str, Any]] = []
        done = set()
        for field in existing:
            key = field.get("key")
            if key not in (MARKER_FIELD, ORIGINAL_FIELD, OLD_ORIGINAL_FIELD) or "id" not in field:
                continue
            if key in wanted and key not in done:
                fields.append({"id": field["id"], "key": key, "value": wanted[key]})
                done.add(key)
            else:
                fields.append({"id": field["id"]})  # an id alone deletes the field
        fields += [{"key": key, "value": value} for key, value in wanted.items() if key not in done]
        return fields

    def _read_back(self, post_id: str, post: Post, terms: dict[str, list[tuple[str, str]]],
                   image_id: str | None, warnings: list[str]) -> tuple[RemotePost, Any]:
        """The post as WordPress stored it, with a warning for each term or image it did not take;
        and the stored post itself (``None`` when it could not be read)."""
        try:
            stored = self._call(GetPost(int(post_id)), f"read back post {post_id}")
        except AdapterError as e:
            # the post exists; failing now would make the caller create it again
            warnings.append(f"the post was saved but could not be read back to verify it: {self._plain(e)}")
            return RemotePost(post_id, None, post.status, image_id, tuple(warnings)), None
        applied = {(t.taxonomy, str(t.id)) for t in getattr(stored, "terms", None) or []}
        labels = dict(TAXONOMIES)
        for taxonomy, items in terms.items():
            for name, term_id in items:
                if (taxonomy, term_id) not in applied:
                    warnings.append(f"{labels[taxonomy]} {name!r} was not applied to the post")
        thumbnail = _thumbnail_id(stored)
        if image_id and thumbnail != image_id:
            warnings.append(f"the featured image (media {image_id}) was not applied to the post")
        return self._remote(stored, thumbnail, warnings), stored

    def _remote(self, wp_post: Any, image_id: str | None, warnings: list[str]) -> RemotePost:
        return RemotePost(id=str(wp_post.id), url=getattr(wp_post, "link", None) or None,
                          status=getattr(wp_post, "post_status", "") or "", image_id=image_id,
                          warnings=tuple(warnings))

    @staticmethod
    def _is_live(wp_post: Any) -> bool:
        return getattr(wp_post, "post_status", "") != "trash" and \
            not (getattr(wp_post, "slug", "") or "").endswith(TRASHED_SUFFIX)

    @staticmethod
    def _has_marker(wp_post: Any, marker: str) -> bool:
        if marker and marker in (getattr(wp_post, "content", "") or ""):
            return True
        return any(f.get("key") == MARKER_FIELD and f.get("value") == marker
                   for f in getattr(wp_post, "custom_fields", None) or [])

    def _post_id(self, remote_id: str) -> int:
        try:
            post_id = int(str(remote_id).strip())
        except ValueError:
            post_id = 0
        if post_id <= 0:
            self._reject(f"{remote_id!r} is not a WordPress post id", None)
        return post_id

    # ------------------------------------------------------------------ terms and images

    def _resolve_terms(self, post: Post, warnings: list[str]) -> dict[str, list[tuple[str, str]]]:
        """``{taxonomy: [(name, id)]}`` for the post's categories and tags, creating missing terms."""
        resolved: dict[str, list[tuple[str, str]]] = {}
        for (taxonomy, label), names in zip(TAXONOMIES, (post.categories, post.tags)):
            resolved[taxonomy] = []
            for name in names:
                name = " ".join(_xml_text(name).split())
                if not name:
                    continue
                term_id = self._term_id(taxonomy, name, label, warnings)
                if term_id and term_id not in (i for _, i in resolved[taxonomy]):
                    resolved[taxonomy].append((name, term_id))
        return resolved

    def _known_terms(self, taxonomy: str, *, refresh: bool = False) -> dict[str, str]:
        if refresh or taxonomy not in self._terms:
            # without a filter wp.getTerms returns every term, unused ones included
            found = self._call(GetTerms(taxonomy), f"list the {taxonomy} terms") or []
            self._terms[taxonomy] = {_term_key(str(t.name)): str(t.id) for t in found}
        return self._terms[taxonomy]

    def _lookup(self, taxonomy: str, name: str, *, refresh: bool = False) -> str | None:
        known = self._known_terms(taxonomy, refresh=refresh)
        key = _term_key(name)
        if key in known:
            return known[key]
        if refresh:  # WordPress said it exists: it compares accent-insensitively
            return next((term_id for k, term_id in known.items() if _folded(k) == _folded(key)), None)
        return None

    def _term_id(self, taxonomy: str, name: str, label: str, warnings: list[str]) -> str | None:
        term_id = self._lookup(taxonomy, name)
        if term_id:
            return term_id
        try:
            term_id = str(self._call(taxonomies.NewTerm(WordPressTerm({"taxonomy": taxonomy, "name": name})),
                                     f"create the {label} {name!r}"))
        except (RemoteRejectedError, AuthenticationError) as e:
            # most often it was created meanwhile (or differs only in accents): look again
            term_id = self._lookup(taxonomy, name, refresh=True)
            if not term_id:
                warnings.append(f"{label} {name!r} could not be created: {self._plain(e)}")
            return term_id
        self._terms[taxonomy][_term_key(name)] = term_id
        return term_id

    def _upload(self, image: Image, warnings: list[str]) -> str | None:
        """The media id of ``image``, uploaded once per adapter; None (and a warning) if refused."""
        if image.url in self._uploads:
            return self._uploads[image.url]
        data = {"name": _upload_name(image), "type": image.content_type,
                "bits": xmlrpc.client.Binary(image.data)}
        try:
            result = self._call(media.UploadFile(data), f"upload the image {data['name']}")
        except (RemoteRejectedError, AuthenticationError) as e:
            warnings.append(f"the featured image {image.url} was not uploaded: {self._plain(e)}")
            return None
        media_id = (result.get("attachment_id") or result.get("id")) if isinstance(result, dict) else None
        if not media_id:
            warnings.append(f"the featured image {image.url} was uploaded but WordPress gave no media id")
            return None
        self._uploads[image.url] = str(media_id)
        return str(media_id)

    # ------------------------------------------------------------------ rights

    def _uses_terms(self) -> bool:
        t = self.config.terms
        return bool(t.categories or t.tags) or any(
            getattr(t, fact) != "none" for fact in ("organisation", "municipality", "theme", "source"))

    def _refused(self, method: Any) -> bool:
        """Whether WordPress refuses ``method`` for lack of rights (fault 401)."""
        try:
            self._client.call(method)
        except xmlrpc.client.Fault as e:
            return e.faultCode == 401  # anything else: allowed, but the probe's data was refused
        except InvalidCredentialsError:
            return False  # 403 after logging in: the answer to a nameless term, "name cannot be empty"
        except Exception as e:  # noqa: BLE001 - translated
            self._fail(e, f"call {method.method_name}")
        return False

    # ------------------------------------------------------------------ errors

    def _call(self, method: Any, action: str) -> Any:
        """Run an XML-RPC method; any failure becomes an :class:`AdapterError` subclass."""
        if not self._secret:
            variable = self.config.password_env or "the configured environment variable"
            raise AuthenticationError(f"no application password: set {variable}", self.name)
        try:
            result = self._client.call(method)
        except Exception as e:  # noqa: BLE001 - every foreign error is translated below
            self._fail(e, action)
        self._authenticated = True
        return result

    def _fail(self, error: Exception, action: str) -> NoReturn:
        site = self.config.url or self.xmlrpc_url
        if isinstance(error, AdapterError):
            raise error
        if isinstance(error, xmlrpc.client.Fault):
            code = error.faultCode
            if code == 403:
                error = InvalidCredentialsError(error.faultString)
            elif code == 405:
                error = XmlrpcDisabledError(error.faultString)
        if isinstance(error, InvalidCredentialsError):
            # the login answers 403; once logged in, a 403 is WordPress refusing the data
            if self._authenticated:
                self._raise(RemoteRejectedError, f"could not {action}: {error}", error, status=403)
            variable = f"the environment variable {self.config.password_env}" if self.config.password_env \
                else "the configured environment variable"
            self._raise(AuthenticationError,
                        f"WordPress refused the login of user {self.config.username!r} over XML-RPC "
                        f"({error}): check the username and the application password in {variable}", error)
        if isinstance(error, XmlrpcDisabledError):
            self._raise(AuthenticationError,
                        f"XML-RPC is disabled on {site}: enable it or use the wordpress-rest adapter", error)
        if isinstance(error, UnsupportedXmlrpcMethodError):
            self._raise(AuthenticationError,
                        f"the XML-RPC method {error} is not available on {site} (switched off by a plugin?): "
                        "enable it or use the wordpress-rest adapter", error)
        if isinstance(error, xmlrpc.client.Fault):
            if error.faultCode == 401:
                self._raise(AuthenticationError,
                            f"user {self.config.username!r} may not {action}: {error.faultString}", error)
            self._raise(RemoteRejectedError, f"could not {action}: {error.faultString} (fault {error.faultCode})",
                        error, status=error.faultCode if isinstance(error.faultCode, int) else None)
        if isinstance(error, xmlrpc.client.ProtocolError):
            self._transport.close()  # an unread error body would block the next request
            self._http_error(error, action, site)
        if isinstance(error, (xmlrpc.client.ResponseError, xml.parsers.expat.ExpatError,
                              FieldConversionError, ServerConnectionError)):
            self._raise(TransportError, f"could not {action}: {self.xmlrpc_url} did not answer with valid "
                        f"XML-RPC ({type(error).__name__}: {error})", error)
        if isinstance(error, (OSError, http.client.HTTPException)):
            failure = describe(error, self._transport.exchange)
            self._raise(TransportError, f"could not {action}: {failure}", error, reason=failure.kind)
        self._raise(AdapterError, f"could not {action}: unexpected {type(error).__name__}: {error}", error)

    def _http_error(self, error: xmlrpc.client.ProtocolError, action: str, site: str) -> NoReturn:
        code = error.errcode
        if code in (301, 302, 303, 307, 308):
            location = _header(error.headers, "Location") or "an address it did not give"
            self._raise(TransportError,
                        f"could not {action}: {self.xmlrpc_url} answered HTTP {code}, a redirect to {location}; "
                        "XML-RPC requests are not redirected, so that credentials only go to the configured "
                        "address: if the site moved, change url in the configuration", error)
        if code == 405:
            self._raise(AuthenticationError,
                        f"XML-RPC is disabled on {site}: enable it or use the wordpress-rest adapter "
                        f"({self.xmlrpc_url} answered HTTP 405)", error)
        if code in (401, 403, 404, 410):
            self._raise(AuthenticationError,
                        f"XML-RPC is disabled on {site}: enable it or use the wordpress-rest adapter "
                        f"({self.xmlrpc_url} answered HTTP {code}: blocked by the web server or a security "
                        "plugin, or the url is wrong)", error)
        if code == 429 or code >= 500:
            self._raise(TransportError, f"could not {action}: {self.xmlrpc_url} answered HTTP {code} "
                        f"{error.errmsg}", error)
        self._raise(RemoteRejectedError, f"could not {action}: {self.xmlrpc_url} answered HTTP {code} "
                    f"{error.errmsg}", error, status=code)

    def _raise(self, cls: type[AdapterError], message: str, cause: BaseException | None,
               **kwargs: Any) -> NoReturn:
        if self._secret:  # never, whatever a server echoes
            message = message.replace(self._secret, "***")
        raise cls(message, self.name, **kwargs) from cause

    def _reject(self, message: str, status: int | None, cause: BaseException | None = None) -> NoReturn:
        self._raise(RemoteRejectedError, message, cause, status=status)

    def _plain(self, error: AdapterError) -> str:
        """The message of an error without the ``<destination>: `` prefix."""
        return str(error).removeprefix(f"{self.name}: ")
