"""The one small interface every destination adapter implements.

The facade decides *what* to send (which story, rendered how, with which
terms); the adapter decides *how* (protocol, auth, retries on the wire, error
translation). Adding a CMS is adding one module that implements :class:`Adapter`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

from ..types import CheckResult

if TYPE_CHECKING:
    from ..config import DestinationConfig


@dataclass(frozen=True)
class Image:
    """A featured image, downloaded once and handed to the adapter as bytes."""

    url: str  #: where it came from (the original)
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Post:
    """What to publish: already rendered, sanitised and escaped where needed."""

    #: plain text; WordPress treats post titles as HTML, so its adapters escape it
    title: str
    content_html: str  #: the rendered body, attribution and marker included
    excerpt: str  #: plain text
    #: the public slug wanted, plain from the title; a new post takes it unless another post has it
    slug: str
    marker: str  #: a token in ``content_html`` that identifies this (story, destination)
    status: str  #: publish | draft | pending
    date: datetime  #: aware; the post date the destination shows
    categories: tuple[str, ...] = ()  #: term names; missing terms are created
    tags: tuple[str, ...] = ()
    image: Image | None = None
    #: the destination's media id of this image from an earlier upload, to reuse instead
    image_id: str | None = None
    source_url: str | None = None  #: the original, for adapters that can store a link
    #: a new post's slug when ``slug`` is taken: ``slug`` with a suffix only this (story,
    #: destination) has; empty: none, the destination makes ``slug`` unique its own way
    fallback_slug: str = ""

    def new_slug(self, taken: Callable[[str], bool]) -> str:
        """The slug a new post gets: :attr:`slug`, unless ``taken(slug)`` says another post has it."""
        return self.fallback_slug if self.fallback_slug and taken(self.slug) else self.slug


@dataclass(frozen=True)
class RemotePost:
    """A post as it exists on the destination."""

    id: str
    url: str | None
    status: str
    #: the remote media id of the featured image, when one was set
    image_id: str | None = None
    #: anything the adapter found amiss but could work around (e.g. image refused)
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: :func:`edit_digest` of the post, when the site's answer held it (no read-back needed)
    digest: str | None = None


@dataclass(frozen=True)
class RemoteState:
    """A post as an editor left it on a site (read back for review in WordPress)."""

    id: str
    status: str  #: publish | future | draft | pending | private | trash
    title: str  #: plain text
    content_html: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    image_url: str | None  #: the featured image's address on the site
    modified: datetime | None  #: last change, by anyone
    modified_by: str | None  #: who made the last change, where the site says
    url: str | None = None


def state_hash(state: RemoteState) -> str:
    """A digest of what an editor can change in a post (title, content, terms, image)."""
    parts = (state.title, state.content_html, "\t".join(state.categories), "\t".join(state.tags),
             state.image_url or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def edit_digest(title: str, content_html: str, category_ids: Iterable[object], tag_ids: Iterable[object],
                image_id: object) -> str:
    """A digest of what an editor can change in a post, from the post alone (terms and image
    by id): one request to the site, however many terms it has."""
    parts = (title, content_html, ",".join(sorted(map(str, category_ids))), ",".join(sorted(map(str, tag_ids))),
             str(image_id or ""))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def check_site_settings(destination: DestinationConfig) -> list[tuple[str, str]]:
    """What a WordPress site needs: ``url`` (http or https), ``username`` and ``password_env``."""
    problems = [(key, f"is required for the {destination.adapter} adapter")
                for key in ("url", "username", "password_env") if not getattr(destination, key)]
    if destination.url and not destination.url.startswith(("http://", "https://")):
        problems.append(("url", "must start with https:// (or http://)"))
    elif destination.url:
        try:
            parts = urlsplit(destination.url)
            parts.port  # noqa: B018 - raises for a port that is not a number up to 65535
        except ValueError:
            problems.append(("url", "is not a valid URL (host or port)"))
        else:
            if not parts.hostname:
                problems.append(("url", "names no host"))
    return problems


@runtime_checkable
class Adapter(Protocol):
    """A destination's transport.

    Every method raises only :class:`~sociaalwerk_publisher.exceptions.AdapterError`
    subclasses: :class:`AuthenticationError` (stop using this destination for the
    run), :class:`RemoteRejectedError` (this post was refused) or
    :class:`TransportError` (retry later).

    An adapter that only passes the image's address on (a file export) may set
    ``needs_image_data = False``; the image is then not downloaded for it and
    ``Post.image.data`` is empty.

    An adapter class may state what its destination settings need with a class method
    ``check_settings(destination) -> list[tuple[str, str]]`` of (key, problem) pairs, which
    the config calls when it loads (:func:`check_site_settings` is the WordPress sites').

    An adapter that can serve as the review hub (``[review] mode = "wordpress"``)
    also has :class:`HubAdapter`'s ``read`` and ``set_status``.
    """

    name: str

    def publish(self, post: Post) -> RemotePost:
        """Create the post; never follows redirects.

        Its slug is ``post.slug`` unless another post on the destination has that slug
        (in any state the destination counts), then ``post.fallback_slug``.
        """
        ...

    def update(self, remote_id: str, post: Post) -> RemotePost:
        """Replace title, content, terms, image and status of an existing post.

        The slug the post has stays, so that its public address never changes.
        """
        ...

    def retract(self, remote_id: str, *, delete: bool = False) -> None:
        """Trash the post (or delete it for good); a post already gone is not an error."""
        ...

    def find_existing(self, post: Post) -> RemotePost | None:
        """The post an earlier, interrupted attempt may have created, found by ``post.marker``.

        Never by slug: a plain slug may be another post's, which must not be adopted.
        """
        ...

    def check(self) -> CheckResult:
        """Verify credentials and rights without posting anything."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class CopyState:
    """A copy as its destination holds it now, as far as edits and unlinking go."""

    digest: str  #: :func:`edit_digest` of the post
    #: how the member unlinked the copy ("tag niet-bijwerken", "categorie ..."), if it did
    unlinked_by_term: str | None = None
    modified: datetime | None = None  #: its last change, by anyone, where the site says


@runtime_checkable
class EditAware(Protocol):
    """A destination that can tell whether someone changed or unlinked a copy since we sent it.

    A copy is unlinked when it is in a category or tag named (or slugged) as the destination's
    ``unlink_term``.
    """

    def copy_state(self, remote_id: str) -> CopyState | None:
        """The post as the site holds it now, ``None`` when it is gone."""
        ...


@runtime_checkable
class HubAdapter(Adapter, Protocol):
    """A destination whose editors review stories in their own CMS."""

    def read(self, remote_id: str) -> RemoteState | None:
        """The post as it is now, or ``None`` when it was deleted for good."""
        ...

    def set_status(self, remote_id: str, status: str) -> None:
        """Change only the post's status (publish, pending, ...), keeping an editor's edits."""
        ...
