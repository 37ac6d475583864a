"""What a destination receives: whether it wants a story, and the post it gets for one.

The post is the story rendered with the destination's template, terms and featured image, or,
where an editor reviewed the story on the hub, the editor's version. Syndication composes the
posts for every destination with it, review in WordPress (hub.py) the pending post on the hub.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from .adapters.base import Image, Post, RemotePost
from .clock import utcnow
from .exceptions import FetchError
from .feeds.sanitise import WEB_SCHEMES, safe_url, sanitise_html
from .images import download_image, image_filename
from .municipalities import municipalities
from .rendering import render
from .slugs import slugify
from .themes import story_themes
from .types import Story

if TYPE_CHECKING:
    from ._storage import Storage
    from ._storage.records import EditorVersion
    from .config import Config, DestinationConfig
    from .feeds.retrieve import Retrievers


#: a copy's slug is cut here: an address people read, shorter than WordPress's 200
POST_SLUG_LIMIT = 60


def marker_for(story: Story, destination: str) -> str:
    """The token in a post's content that identifies (story, destination) on the remote.

    Built from the original's URL, so it survives moving the store to another database.
    """
    identity = story.url or f"story:{story.id}"
    return "swp-" + hashlib.sha256(f"{identity}\x1f{destination}".encode()).hexdigest()[:20]


def passes_filter(story: Story, destination: DestinationConfig, themes: tuple[str, ...]) -> bool:
    """Whether ``destination`` wants ``story`` (every non-empty filter list must match)."""
    f = destination.filter
    if f.kinds and story.kind.value not in f.kinds:
        return False
    if f.organisations and (story.organisation or "").casefold() not in {o.casefold() for o in f.organisations}:
        return False
    if f.municipalities and story.municipality not in f.municipalities:
        return False
    return not f.themes or bool(set(f.themes) & set(themes))


class PostComposer:
    """Builds the post a destination receives for a story; see :meth:`compose`.

    Downloaded featured images are kept for the composer's lifetime, so a story sent to
    several destinations downloads its image once (threads may share a composer).
    """

    def __init__(self, storage: Storage, config: Config, retrievers: Retrievers) -> None:
        self._storage = storage
        self._config = config
        self._retrievers = retrievers
        # image URLs come from feed content: public addresses only, unless the config allows more
        self._image_retriever = retrievers.for_content(config.security.allow_private_networks)
        self._images: dict[str, Image | str] = {}
        self._images_lock = threading.Lock()

    def compose(self, story: Story, destination: DestinationConfig, now: datetime, *,
                version: EditorVersion | None = None, status: str | None = None, with_image: bool = True,
                download: bool = True) -> tuple[Post, str | None]:
        """The post for ``story`` on ``destination``, and why its image was left out, if it was.

        Args:
            version: the editor's version of the story as published on the hub, sent instead
                of the story rendered with the destination's template and terms.
            status: the post status instead of the destination's.
            with_image: whether the post carries the featured image at all.
            download: whether the image is downloaded (an adapter that sends only its
                address does not need the data).
        """
        marker = marker_for(story, destination.name)
        municipality = municipalities().get(story.municipality or "")
        if version is not None:
            # the editor's version as published on the hub: attribution included, terms as chosen.
            # That HTML is the hub's, not ours: it is sanitised like a feed's (its marker goes too)
            story = replace(story, title=version.title, image_url=version.image_url or None)
            body = sanitise_html(version.content_html, self._config.destination(self._config.review.hub).url
                                 or None, drop_origin_footers=False)
            categories = tuple(filter(None, (version.categories or "").split("\t")))
            tags = tuple(filter(None, (version.tags or "").split("\t")))
        else:
            # sanitised again on the way out: a store may hold what an older version let through
            story = replace(story, content_html=sanitise_html(story.content_html, story.url))
            body = render(
                destination.template, self._template_folder(), story=story,
                source_title=story.source_title or story.organisation or story.url,
                organisation=story.organisation, ambassador=story.ambassador,
                municipality=municipality.name if municipality else None,
            )
            categories, tags = self._terms(story, destination, municipality.name if municipality else None)
        # the marker is added here, not in the template, so a custom template cannot lose it;
        # a comment after complete elements, it cannot change how the HTML before it is read
        content = f"{body.rstrip()}\n<!-- {marker} -->\n"
        image, image_id, problem = (self._image(story, destination, download, trusted=version is not None)
                                    if with_image else (None, None, None))
        slug = slugify(story.title, POST_SLUG_LIMIT) or "verhaal"
        return Post(
            title=story.title, content_html=content, excerpt=story.excerpt,
            # public addresses read plainly; the marker's hash only where the plain slug is taken
            slug=slug, fallback_slug=f"{slug}-{marker[4:12]}", marker=marker,
            status=status or destination.status,
            date=story.published_at if destination.post_date == "original" else now,
            categories=categories, tags=tags, image=image, image_id=image_id,
            source_url=safe_url(story.url, schemes=WEB_SCHEMES) if story.url else None,
        ), problem

    def _template_folder(self) -> str | None:
        folder = self._config.templates.folder
        return str(self._config.resolve(folder)) if folder else None

    def _terms(self, story: Story, destination: DestinationConfig,
               municipality: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        mapping = destination.terms
        categories, tags = list(mapping.categories), list(mapping.tags)
        facts = {
            "organisation": [story.organisation] if story.organisation else [],
            "municipality": [municipality] if municipality else [],
            "theme": list(story_themes(story, self._config)),
            "source": [story.source_title] if story.source_title else [],
        }
        for fact, values in facts.items():
            target = getattr(mapping, fact)
            (categories if target == "category" else tags if target == "tag" else []).extend(values)
        return tuple(dict.fromkeys(categories)), tuple(dict.fromkeys(tags))

    def _image(self, story: Story, destination: DestinationConfig, download: bool,
               trusted: bool = False) -> tuple[Image | None, str | None, str | None]:
        """The featured image; ``trusted`` for images from our own hub (no address check)."""
        if not story.image_url:
            return None, None, None
        if not safe_url(story.image_url, schemes=WEB_SCHEMES):
            return None, None, f"featured image left out: {story.image_url!r} is not an http(s) address"
        known = self._storage.syndications.media_id(destination.name, story.image_url)
        if known:
            return None, known, None
        if not download:
            return Image(story.image_url, image_filename(story.image_url), "", b""), None, None
        with self._images_lock:
            cached = self._images.get(story.image_url)
        if cached is None:
            try:
                # the hub's own media is fetched like a configured URL; feed images are guarded
                retriever = self._retrievers.http if trusted else self._image_retriever
                cached = download_image(retriever, story.image_url)
            except FetchError as e:
                cached = f"featured image left out: {e}"
            with self._images_lock:
                self._images[story.image_url] = cached
        if isinstance(cached, str):
            return None, None, cached
        return cached, None, None

    def remember_image(self, destination: DestinationConfig, story: Story, post: Post,
                       remote: RemotePost) -> None:
        """Remember the upload of ``post``'s image that ``destination`` answered with, so the
        next post with that image uses it instead of uploading it again."""
        if not story.image_url:
            return
        if post.image is not None and remote.image_id:
            self._storage.syndications.remember_media(destination.name, story.image_url,
                                                      remote.image_id, utcnow())
        elif post.image_id and remote.image_id != post.image_id:
            # the remembered upload is gone from the site: upload it afresh next time
            self._storage.syndications.forget_media(destination.name, story.image_url)
