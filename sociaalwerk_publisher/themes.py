"""Themes (zorg, onderwijs, wonen, ...) recognised from keyword lists."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache


@lru_cache(maxsize=64)
def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    # a keyword matches at the start of a word, so "jongeren" also finds "jongerenwerk"
    return re.compile(r"\b(?:" + "|".join(re.escape(k.casefold()) for k in keywords) + ")")


def themes_for(text: str, themes: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The themes whose keywords occur in ``text``, in configuration order."""
    folded = text.casefold()
    return tuple(
        name for name, keywords in themes.items()
        if keywords and _pattern(tuple(keywords)).search(folded)
    )
