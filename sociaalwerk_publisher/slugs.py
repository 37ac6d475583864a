"""Slugs, the one way a title or a name becomes part of an address or a file name."""

from __future__ import annotations

import re
import unicodedata

#: letters NFKD does not take apart, folded as WordPress's remove_accents() does
_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
                        "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "þ": "th", "Þ": "th"})


def slugify(text: str, limit: int = 200) -> str:
    """Lowercase ASCII, diacritics folded, other runs → ``-``, at most ``limit`` characters;
    empty when ``text`` has no letters or digits at all (the caller knows what stands in)."""
    folded = unicodedata.normalize("NFKD", text.translate(_EXTRA)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:limit].rstrip("-")
