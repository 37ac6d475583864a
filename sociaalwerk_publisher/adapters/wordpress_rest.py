"""WordPress over the REST API (``/wp/v2``) with an application password.

The REST root is discovered from the site (the ``Link: rel="https://api.w.org/"``
header) rather than assumed: with plain permalinks ``/wp-json/`` answers 200
with the HTML home page. Redirects are never followed, and a REST root announced
on another origin (scheme, host, port) is refused, so credentials never travel
to another address and a write is never replayed. The destination's ``timeout``
bounds each whole request, from connecting to the last byte of the answer.
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ..config import DestinationConfig
from ..exceptions import AdapterError, AuthenticationError, RemoteRejectedError, TransportError
from ..network import Deadline, DeadlineAdapter, describe
from ..types import CheckResult
from .base import (
    CopyState,
    Image,
    Post,
    RemotePost,
    RemoteState,
    check_site_settings,
    edit_digest,
)
from .wxr_format import term_slug

API_REL = "https://api.w.org/"
#: The post meta the companion plugin (integrations/wordpress/) registers for the canonical link.
ORIGINAL_URL_META = "swp_original_url"
#: The states in which WordPress stores a post's slug as given, even when another post has it.
UNCHECKED_SLUG_STATUSES = ("draft", "pending")
#: Every state in which an earlier attempt's post still counts as existing.
LIVE_STATUSES = "publish,future,draft,pending,private"
REQUIRED_CAPABILITIES = {
    "publish_posts": "publish posts",
    "edit_published_posts": "update published posts",
    "delete_published_posts": "retract published posts",
    "upload_files": "upload featured images",
    "manage_categories": "create missing categories",
}


class WordPressRestAdapter:
    """Publishes to one WordPress site over its REST API."""

    check_settings = staticmethod(check_site_settings)

    def __init__(self, config: DestinationConfig, secret: str | None, base_dir: Path | None = None) -> None:
        self.name = config.name
        self._config = config
        self._site = config.url.rstrip("/") + "/"
        self._session = requests.Session()
        for scheme in ("http://", "https://"):
            self._session.mount(scheme, DeadlineAdapter())
        self._session.auth = (config.username, secret or "")
        self._session.headers["User-Agent"] = "sociaalwerk-publisher (WordPress REST adapter)"
        self._root: str | None = None
        self._terms: dict[tuple[str, str], int] = {}
        self._canonical: bool | None = None  #: whether the site has the companion plugin, once asked
        self._unlinking: dict[tuple[str, int], str] | None = None  #: see _unlink_terms

    # -- the wire ------------------------------------------------------------------

    def _exchange(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """One request and its whole answer, within the destination's ``timeout``.

        Raises:
            TransportError: the site could not be reached or did not answer in time.
        """
        exchange = Deadline(self._config.timeout)
        try:
            with exchange:
                return self._session.request(method, url, timeout=exchange.timeouts,
                                             allow_redirects=False, **kwargs)
        except (requests.RequestException, OSError) as e:
            failure = describe(e, exchange)
            raise TransportError(f"{what}: {failure}", self.name, reason=failure.kind) from e

    def _discover_root(self) -> str:
        response = self._exchange("HEAD", self._site, f"HEAD {self._site}")
        if response.status_code in (405, 501):
            response = self._exchange("GET", self._site, f"GET {self._site}")
        if response.is_redirect:
            raise AdapterError(
                f"{self._site} redirects to {response.headers.get('Location')}: set url to the final address",
                self.name,
            )
        link = response.links.get(API_REL, {}).get("url")
        root = urljoin(self._site, link) if link else urljoin(self._site, "?rest_route=/")
        if _origin(root) != _origin(self._site):
            # our credentials go to the configured address only, never to one a page names
            raise AdapterError(
                f"{self._site} announces its REST API at {root}, another address:"
                " set url to that site if it is the same one", self.name)
        return root

    def _url(self, route: str) -> str:
        if self._root is None:
            self._root = self._discover_root()
        if "rest_route=" in self._root:
            return self._root + route
        return self._root.rstrip("/") + "/" + route

    def _request(self, method: str, route: str, **kwargs: Any) -> Any:
        response = self._exchange(method, self._url(route), f"{method} {route}", **kwargs)
        if response.is_redirect or response.is_permanent_redirect:
            raise AdapterError(
                f"{method} {route} was redirected to {response.headers.get('Location')};"
                " writes never follow redirects: set url to the final address", self.name)
        if response.status_code >= 400:
            raise self._error(method, route, response)
        try:
            return response.json()
        except ValueError as e:
            raise TransportError(
                f"{method} {route}: the answer is not JSON (is {self._site} a WordPress site?)", self.name
            ) from e

    def _error(self, method: str, route: str, response: requests.Response) -> AdapterError:
        try:
            body = response.json()
            code, message = body.get("code", ""), html.unescape(str(body.get("message", "")))
        except (ValueError, AttributeError):
            body, code, message = {}, "", response.reason or ""
        status = response.status_code
        if code == "rest_invalid_param":
            # a parameter refused for lack of rights (a post status only editors may list) is
            # wrapped as invalid: the refusal inside is what happened
            details = (body.get("data") or {}).get("details") or {}
            inner = {d.get("data", {}).get("status") for d in details.values() if isinstance(d, dict)}
            status = next((s for s in (401, 403) if s in inner), status)
        what = f"{method} {route}: HTTP {response.status_code} {code}".rstrip()
        credentials = f"check username {self._config.username!r} and the application password in ${self._config.password_env}"
        if status == 401 and code == "rest_not_logged_in":
            return AuthenticationError(
                f"{what}: WordPress did not log us in although credentials were sent: {credentials}."
                " If they are right, the web server strips the Authorization header (Apache: add"
                " `SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1`), or application passwords"
                " are off (they need HTTPS unless WP_ENVIRONMENT_TYPE is 'local')", self.name)
        if status == 401:
            return AuthenticationError(
                f"{what}: not allowed ({message}): {credentials}, and that the user may publish", self.name)
        if status == 403:
            return AuthenticationError(
                f"{what}: user {self._config.username!r} lacks the rights for this ({message})", self.name)
        if status >= 500 or status in (408, 429):
            return TransportError(f"{what}: {message}", self.name)
        return RemoteRejectedError(f"{what}: {message}", self.name, status=status)

    # -- terms and media -------------------------------------------------------------

    def _term_ids(self, taxonomy: str, names: tuple[str, ...]) -> list[int]:
        ids = []
        for name in dict.fromkeys(n.strip() for n in names if n.strip()):
            key = (taxonomy, name.casefold())
            if key not in self._terms:
                self._terms[key] = self._find_or_create_term(taxonomy, name)
            ids.append(self._terms[key])
        return ids

    def _find_or_create_term(self, taxonomy: str, name: str) -> int:
        found = self._request("GET", f"wp/v2/{taxonomy}", params={"search": name, "per_page": 100})
        for term in found:
            if html.unescape(term["name"]).casefold() == name.casefold():
                return int(term["id"])
        try:
            return int(self._request("POST", f"wp/v2/{taxonomy}", json={"name": name})["id"])
        except RemoteRejectedError as e:
            if "term_exists" in str(e):  # created meanwhile, or differs only in a way search misses
                found = self._request("GET", f"wp/v2/{taxonomy}", params={"search": name, "per_page": 100})
                for term in found:
                    if html.unescape(term["name"]).casefold() == name.casefold():
                        return int(term["id"])
            raise

    def _media_id(self, post: Post) -> int | None:
        if post.image_id:
            return int(post.image_id)
        if post.image is None:
            return None
        return self._upload(post.image)

    def _upload(self, image: Image) -> int:
        media = self._request(
            "POST", "wp/v2/media", data=image.data,
            headers={"Content-Type": image.content_type,
                     "Content-Disposition": f'attachment; filename="{image.filename}"'},
        )
        return int(media["id"])

    # -- the companion plugin ---------------------------------------------------------

    def canonical_links(self) -> bool:
        """Whether the site has the companion plugin, so a copy can name its original.

        Asked once per adapter: the plugin registers the post meta ``swp_original_url``
        for REST, which the posts route's schema then lists. Core WordPress silently drops
        an unregistered meta key from a write; without the plugin none is sent.
        """
        if self._canonical is None:
            schema = self._request("OPTIONS", "wp/v2/posts").get("schema", {})
            meta = schema.get("properties", {}).get("meta", {}).get("properties")
            # PHP's empty array arrives as a JSON list
            self._canonical = isinstance(meta, dict) and ORIGINAL_URL_META in meta
        return self._canonical

    # -- the Adapter protocol --------------------------------------------------------

    def _fields(self, post: Post) -> dict[str, Any]:
        fields: dict[str, Any] = {
            # WordPress treats titles as HTML: plain text must arrive escaped
            "title": html.escape(post.title, quote=False),
            "content": post.content_html,
            "excerpt": html.escape(post.excerpt, quote=False),
            "status": post.status,
            "date_gmt": post.date.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "categories": self._term_ids("categories", post.categories),
            "tags": self._term_ids("tags", post.tags),
        }
        if post.source_url and self.canonical_links():
            fields["meta"] = {ORIGINAL_URL_META: post.source_url}
        return fields

    def _send(self, route: str, post: Post, slug: str | None = None) -> tuple[RemotePost, dict[str, Any]]:
        """Create or change the post (its slug only when given); the result and WordPress's answer."""
        fields = self._fields(post)
        if slug is not None:
            fields["slug"] = slug
        media_id = self._media_id(post)
        if media_id is not None:
            fields["featured_media"] = media_id
        answer = self._request("POST", route, json=fields)
        # a write's answer shows the post in the edit context: its digest needs no read-back
        return replace(self._remote(answer, fields), digest=_digest(answer)), answer

    def _remote(self, answer: dict[str, Any], sent: dict[str, Any]) -> RemotePost:
        # REST silently ignores unknown term and media ids (201 all the same): verify
        warnings = []
        for key in ("categories", "tags"):
            missing = set(sent.get(key, [])) - set(answer.get(key, []))
            if missing:
                warnings.append(f"{key} {sorted(missing)} were not applied")
        if sent.get("featured_media") and answer.get("featured_media") != sent["featured_media"]:
            warnings.append(f"featured image {sent['featured_media']} was not applied")
        image_id = answer.get("featured_media") or None
        return RemotePost(
            id=str(answer["id"]), url=answer.get("link"), status=answer.get("status", ""),
            image_id=str(image_id) if image_id else None, warnings=tuple(warnings),
        )

    def publish(self, post: Post) -> RemotePost:
        # WordPress makes a slug unique itself, except for drafts and pending posts
        # (wp_unique_post_slug): only those are asked about first, one request saved per post
        slug = post.new_slug(self._slug_taken) if post.status in UNCHECKED_SLUG_STATUSES else post.slug
        remote, answer = self._send("wp/v2/posts", post, slug=slug)
        if answer.get("slug") != slug and post.fallback_slug not in ("", slug):
            # WordPress made the slug unique itself (taken meanwhile, or a word it reserves):
            # the fallback is ours alone, and the post is seconds old
            fixed = self._request("POST", f"wp/v2/posts/{remote.id}", json={"slug": post.fallback_slug})
            remote = replace(remote, url=fixed.get("link") or remote.url)
        return remote

    def update(self, remote_id: str, post: Post) -> RemotePost:
        # no slug: the post keeps the one it has, so its public address never changes
        return self._send(f"wp/v2/posts/{int(remote_id)}", post)[0]

    def _slug_taken(self, slug: str) -> bool:
        """Whether a post in any state has ``slug`` (WordPress keeps drafts' slugs as given)."""
        found = self._request("GET", "wp/v2/posts", params={
            "slug": slug, "status": f"{LIVE_STATUSES},trash", "context": "edit", "per_page": 1,
            "_fields": "id"})
        return bool(found)

    def retract(self, remote_id: str, *, delete: bool = False) -> None:
        params = {"force": "true"} if delete else {}
        try:
            self._request("DELETE", f"wp/v2/posts/{int(remote_id)}", params=params)
        except RemoteRejectedError as e:
            # 410 already trashed, 404 already deleted: the post is gone either way
            if e.status not in (404, 410):
                raise
            if e.status == 410 and delete:
                self._request("DELETE", f"wp/v2/posts/{int(remote_id)}", params={"force": "true"})

    def find_existing(self, post: Post) -> RemotePost | None:
        base = {"status": LIVE_STATUSES, "context": "edit", "_fields": "id,link,status,featured_media,content"}
        # by the marker in the raw content only: a post with our slug may be someone else's.
        # Search may be replaced by a plugin that does not index HTML comments, so the
        # latest posts created (by id: the post date is the story's own) are looked at too
        for params in ({**base, "search": post.marker, "per_page": 20},
                       {**base, "orderby": "id", "order": "desc", "per_page": 50}):
            for found in self._request("GET", "wp/v2/posts", params=params):
                if post.marker in found.get("content", {}).get("raw", ""):
                    return self._remote(found, {})
        return None

    def copy_state(self, remote_id: str) -> CopyState | None:
        try:
            post = self._request("GET", f"wp/v2/posts/{int(remote_id)}", params={
                "context": "edit", "_fields": "title,content,categories,tags,featured_media,modified_gmt"})
        except RemoteRejectedError as e:
            if e.status in (404, 410):
                return None
            raise
        held = [(taxonomy, int(i)) for taxonomy in ("categories", "tags") for i in post.get(taxonomy) or ()]
        unlinking = self._unlink_terms() if held else {}
        return CopyState(_digest(post), next((unlinking[t] for t in held if t in unlinking), None),
                         _gmt(post.get("modified_gmt")))

    def _unlink_terms(self) -> dict[tuple[str, int], str]:
        """The site's categories and tags that unlink a copy, each with how that reads ("tag
        niet-bijwerken"); asked once per adapter, and only when a copy is looked at."""
        if self._unlinking is None:
            self._unlinking = {}
            wanted = self._config.unlink_term
            for taxonomy, word in (("categories", "categorie"), ("tags", "tag")) if wanted else ():
                # search covers names and slugs; the match itself is exact
                for term in self._request("GET", f"wp/v2/{taxonomy}", params={
                        "search": wanted, "per_page": 100, "_fields": "id,name,slug"}):
                    name = html.unescape(term["name"])
                    if term["slug"] == term_slug(wanted) or name.casefold() == wanted.casefold():
                        self._unlinking[(taxonomy, int(term["id"]))] = f"{word} {name}"
        return self._unlinking

    def read(self, remote_id: str) -> RemoteState | None:
        try:
            post = self._request("GET", f"wp/v2/posts/{int(remote_id)}", params={"context": "edit"})
        except RemoteRejectedError as e:
            if e.status in (404, 410):
                return None
            raise
        names = {}
        for taxonomy in ("categories", "tags"):
            ids = post.get(taxonomy) or []
            found = self._request("GET", f"wp/v2/{taxonomy}", params={
                "include": ",".join(map(str, ids)), "per_page": 100}) if ids else []
            names[taxonomy] = tuple(html.unescape(t["name"]) for t in found)
        image_url = None
        if post.get("featured_media"):
            try:
                image_url = self._request("GET", f"wp/v2/media/{post['featured_media']}").get("source_url")
            except RemoteRejectedError:
                image_url = None  # the image was deleted from the media library
        return RemoteState(
            id=str(post["id"]), status=post["status"], title=html.unescape(post["title"]["raw"]),
            content_html=post["content"]["raw"], categories=names["categories"], tags=names["tags"],
            image_url=image_url,
            modified=_gmt(post.get("modified_gmt")),
            modified_by=self._last_editor(post["id"]), url=post.get("link"),
        )

    def _last_editor(self, post_id: int) -> str | None:
        # the post only names its author; the newest revision names who changed it last
        try:
            revisions = self._request("GET", f"wp/v2/posts/{post_id}/revisions",
                                      params={"per_page": 1, "context": "edit"})
            if revisions:
                user = self._request("GET", f"wp/v2/users/{revisions[0]['author']}", params={"context": "edit"})
                return str(user.get("username") or user.get("name"))
        except AdapterError:
            return None
        return None

    def set_status(self, remote_id: str, status: str) -> None:
        self._request("POST", f"wp/v2/posts/{int(remote_id)}", json={"status": status})

    def check(self) -> CheckResult:
        try:
            me = self._request("GET", "wp/v2/users/me", params={"context": "edit"})
        except AdapterError as e:
            return CheckResult(self.name, self._config.username, problems=(str(e),))
        capabilities = me.get("capabilities", {})
        problems = tuple(
            f"user {me.get('username') or self._config.username!r} cannot {what} ({capability})"
            for capability, what in REQUIRED_CAPABILITIES.items() if not capabilities.get(capability)
        )
        details: tuple[str, ...] = (f"REST root {self._root}", f"roles: {', '.join(me.get('roles', [])) or '-'}")
        try:
            canonical: bool | None = self.canonical_links()
        except AdapterError as e:
            canonical = None
            details += (f"could not tell whether the companion plugin is installed: {e}",)
        return CheckResult(self.name, me.get("username") or self._config.username, problems, details,
                           canonical_links=canonical)

    def close(self) -> None:
        self._session.close()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or {"http": 80, "https": 443}.get(scheme)


def _gmt(value: str | None) -> datetime | None:
    """A REST ``*_gmt`` field (UTC without an offset) as an aware time."""
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc) if value else None


def _digest(post: dict[str, Any]) -> str:
    """:func:`~.base.edit_digest` of a post as REST shows it in the edit context."""
    return edit_digest(post["title"]["raw"], post["content"]["raw"], post.get("categories") or (),
                       post.get("tags") or (), post.get("featured_media"))
