"""What a browser would make of HTML we emit, judged apart from the code that made it.

The HTML is parsed with html5lib (the HTML5 parsing algorithm, as a browser parses it) and
every URL with ada (the WHATWG URL Standard's parser), so a test never checks the sanitiser
with the sanitiser's own reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import ada_url
from bs4 import BeautifulSoup

#: where the HTML we emit is shown: a member's WordPress site
PAGE = "https://leden.example.nl/2026/11/verhaal/"
SAFE_PROTOCOLS = frozenset({"http:", "https:", "mailto:"})
#: elements that run script, load or embed something, or change how the page is read
ACTIVE_ELEMENTS = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "form", "base", "meta", "link", "noscript", "template", "input", "button", "textarea",
    "select", "isindex", "xmp", "noembed", "listing", "plaintext",
})
#: attributes a browser reads as a URL (or, srcset and imagesrcset, as a list of them)
URL_ATTRIBUTES = frozenset({
    "href", "src", "cite", "action", "formaction", "srcset", "imagesrcset", "background",
    "poster", "xlink:href", "data", "codebase", "longdesc", "lowsrc", "dynsrc", "usemap", "ping",
    "manifest", "icon", "profile", "classid", "archive",
})


def unsafe_url(value: str, base: str = PAGE) -> bool:
    """Whether a browser showing ``base`` would follow ``value`` to anything but http(s)/mailto."""
    try:
        protocol = ada_url.URL(value, base).protocol
    except ValueError:
        return False  # not a URL at all: nothing to follow
    return protocol not in SAFE_PROTOCOLS


def web_url(value: str) -> bool:
    """Whether ``value`` is, on its own, an absolute http(s) URL (for a download or a feed)."""
    try:
        return ada_url.URL(value).protocol in ("http:", "https:")
    except ValueError:
        return False


def _urls(name: str, value: str) -> Iterator[str]:
    if name in ("srcset", "imagesrcset"):
        yield from (candidate.split()[0] for candidate in value.split(",") if candidate.split())
    else:
        yield value


def unsafe_parts(markup: str, *, document: bool = False, own_urls: Iterable[str] = ()) -> list[str]:
    """Everything in ``markup`` that could run script or lead to an unsafe URL, as text.

    Args:
        markup: HTML as a browser receives it.
        document: ``markup`` is one of our own e-mails, which may style itself (``<meta>``,
            ``<style>`` and ``style`` attributes) but must not do anything else.
        own_urls: URLs we put there ourselves (a report's chart as ``cid:`` or ``data:``).
    """
    allowed_elements = {"meta", "style"} if document else set()
    own = set(own_urls)
    problems = []
    for element in BeautifulSoup(markup, "html5lib").find_all(True):
        if element.name in ACTIVE_ELEMENTS - allowed_elements:
            problems.append(f"<{element.name}>")
        for name, value in element.attrs.items():
            text = " ".join(value) if isinstance(value, list) else value
            if name.startswith("on") or (name == "style" and not document):
                problems.append(f"<{element.name} {name}={text!r}>")
            if name in URL_ATTRIBUTES:
                problems += [f"<{element.name} {name}={url!r}>" for url in _urls(name, text)
                             if url not in own and unsafe_url(url)]
    return problems
