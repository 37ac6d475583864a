"""OPML import (listparser) and export of sources."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import listparser

from ..exceptions import SourceError
from ..types import Source, SourceKind

_KINDS = {kind.value for kind in SourceKind}
_TRUE = {"1", "true", "yes", "ja"}
_FALSE = {"0", "false", "no", "nee"}


@dataclass(frozen=True)
class OutlineSource:
    """A feed as an OPML outline describes it."""

    url: str
    kind: SourceKind
    title: str | None
    organisation: str | None
    municipality: str | None
    ambassador: str | None
    trusted: bool
    #: ``active="false"`` switches the source off, ``"true"`` on; ``None``: the outline does not say
    active: bool | None = None


def read_opml(data: bytes, base: Path | None = None) -> list[OutlineSource]:
    """The feeds listed in an OPML document.

    An outline's ``category`` of ``blog``, ``media`` or ``alert`` sets the kind
    (default ``blog``); attributes ``organisation``, ``municipality``,
    ``ambassador``, ``trusted`` and ``active`` fill those fields. A relative
    ``xmlUrl`` is a file beside the OPML file (``base``).

    Raises:
        SourceError: the document is not OPML.
    """
    result = listparser.parse(data)
    if not result.version:
        reason = f": {result.bozo_exception}" if result.bozo else ""
        raise SourceError(f"not an OPML file{reason}")
    extras = _outline_attributes(data)
    sources = []
    for feed in result.feeds:
        url = feed.url
        if not urlsplit(url).scheme and base is not None:
            url = (base / url).resolve().as_uri()
        categories = {c for path in feed.categories for c in path} | set(feed.tags)
        kinds = categories & _KINDS
        attributes = extras.get(feed.url, {})
        active = attributes.get("active", "").lower()
        sources.append(OutlineSource(
            url=url,
            kind=SourceKind(sorted(kinds)[0]) if kinds else SourceKind.BLOG,
            title=feed.title or None,
            organisation=attributes.get("organisation") or attributes.get("organization"),
            municipality=attributes.get("municipality") or attributes.get("gemeente"),
            ambassador=attributes.get("ambassador"),
            trusted=attributes.get("trusted", "").lower() in _TRUE,
            active=True if active in _TRUE else False if active in _FALSE else None,
        ))
    return sources


def _outline_attributes(data: bytes) -> dict[str, dict[str, str]]:
    # listparser keeps only the standard attributes; ours ride along on the outline
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return {}
    return {
        outline.attrib["xmlUrl"]: {k.lower(): v.strip() for k, v in outline.attrib.items()}
        for outline in root.iter("outline")
        if "xmlUrl" in outline.attrib
    }


def write_opml(sources: Iterable[Source], title: str = "sociaalwerk-publisher") -> bytes:
    """An OPML 2.0 document listing ``sources`` with their kind and attributes."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for source in sources:
        attributes = {
            "type": "rss",
            "text": source.title or source.url,
            "title": source.title or source.url,
            "xmlUrl": source.url,
            "category": source.kind.value,
        }
        for name in ("organisation", "municipality", "ambassador"):
            value = getattr(source, name)
            if value:
                attributes[name] = value
        if source.trusted:
            attributes["trusted"] = "true"
        if not source.active:
            attributes["active"] = "false"
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
