"""Featured images: downloaded once, checked to really be images."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

from .adapters.base import Image
from .exceptions import FetchError
from .feeds.retrieve import Retrievers

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


def download_image(retrievers: Retrievers, url: str) -> Image:
    """Download ``url`` as an image.

    Raises:
        FetchError: it could not be downloaded, is too large, or is not an image
            (by its Content-Type and by its first bytes).
    """
    retrieved = retrievers.retrieve(url)
    assert retrieved.content is not None
    declared = next((v for k, v in retrieved.headers.items() if k.lower() == "content-type"), "")
    if declared and not declared.lower().startswith("image/"):
        raise FetchError(f"not an image (Content-Type {declared.split(';')[0]})", url)
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
