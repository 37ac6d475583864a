"""Featured images: downloaded once, checked to really be images.

Their URLs come from feed content, so they are fetched with the guarded
retriever (:meth:`.feeds.retrieve.Retrievers.for_content`): public addresses only.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

from .adapters.base import Image
from .exceptions import FetchError
from .feeds.retrieve import HttpRetriever

#: Largest image downloaded, counted after decompression (the fetch limit applies if lower).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_ACCEPT = "image/png, image/jpeg, image/gif, image/webp, image/*;q=0.8"

#: Leading bytes of the formats WordPress accepts as featured images.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the first bytes, or ``None`` if not an image we accept."""
    for magic, content_type, extension in SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def download_image(retriever: HttpRetriever, url: str, max_bytes: int = MAX_IMAGE_BYTES) -> Image:
    """Download ``url`` as an image.

    Args:
        retriever: for URLs from feed content, ``Retrievers.for_content()``.

    Raises:
        FetchError: it could not be downloaded or was refused (a non-public
            address, not http(s)), is too large, or is not an image (its
            Content-Type is not ``image/*``, or its first bytes are not an image's).
    """
    retrieved = retriever.retrieve(url, accept=IMAGE_ACCEPT, content_types=("image/*",),
                                   max_bytes=max_bytes)
    assert retrieved.content is not None
    sniffed = sniff(retrieved.content)
    if sniffed is None:
        raise FetchError("not an image (unrecognised content)", url)
    content_type, extension = sniffed
    return Image(url=url, filename=image_filename(url, extension), content_type=content_type,
                 data=retrieved.content)


def image_filename(url: str, extension: str = "") -> str:
    """A safe file name for the image at ``url`` (its own stem, or "afbeelding")."""
    stem, own_extension = posixpath.splitext(posixpath.basename(unquote(urlsplit(url).path)))
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:80].strip("-") or "afbeelding"
    return safe + (extension or own_extension.lower()[:5])
