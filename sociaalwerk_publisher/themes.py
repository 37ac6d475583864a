"""Themes (zorg, onderwijs, wonen, ...) recognised from keyword lists.

The lists are configuration (``[themes]``, default :data:`~.config.DEFAULT_THEMES`). A keyword
matches a whole word ("baan" finds "baan", not "baanbrekend"); a keyword ending in ``*``
matches every word it begins ("woning*" finds "woningen" and "woningnood"). Case, accents and
the way a compound is written ("re-integratie", "reintegratie") make no difference.

A text about social work always names social work, so the campaign's own vocabulary is no
evidence of a theme: the watch terms, the member organisations and their aliases, the
ambassadors and the "gouden" names are taken out of the text before the themes are looked for
("sociaal werk" is not the theme werk, "Travers Welzijn" not the theme welzijn). A watch term
that a theme keyword begins keeps that theme ("jongerenwerk" is jeugd for "jongeren*",
"schuldhulpverlening" armoede en schulden for "schuldhulp*").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from .coverage.matching import DEFAULT_TERMS, _WORD_OR_BREAK, fold, words

if TYPE_CHECKING:
    from .config import Config
    from .types import Story

__all__ = ["ThemeMatcher", "campaign_vocabulary", "story_themes", "themes_for"]

_ENDINGS = ("", "s", "en", "es")  # plurals and genitives of a watch term, as the watchlist matches them
_IGNORED = "\x00"


def _keyword(keyword: str) -> tuple[str, bool]:
    """The folded words of a keyword joined without separators, and whether it is a prefix."""
    prefix = keyword.rstrip().endswith("*")
    return "".join(words(keyword.rstrip().rstrip("*"))), prefix


class ThemeMatcher:
    """Theme keyword lists compiled once, with the campaign's vocabulary to leave out.

    Args:
        themes: theme name to keywords, in the order themes are reported.
        ignore: the campaign's vocabulary: watch terms, organisation names and aliases,
            persons. Taken out of a text before themes are looked for, except watch terms
            that a theme keyword begins.
    """

    def __init__(self, themes: Mapping[str, Sequence[str]], ignore: Iterable[str] = ()) -> None:
        self.names = tuple(themes)
        keywords: dict[str, set[int]] = {}
        patterns = []
        for index, listed in enumerate(themes.values()):
            for keyword in listed:
                key, prefix = _keyword(keyword)
                if not key:
                    continue
                keywords.setdefault(key, set()).add(index)
                # the text is matched as its words joined by single spaces; a compound may be
                # written apart or together, so each boundary inside a keyword is optional
                parts = [re.escape(w) for w in words(keyword.rstrip().rstrip("*"))]
                patterns.append(r"\b" + " ?".join(parts) + ("" if prefix else r"\b"))
        self._keywords = keywords
        # longest first, so that "huiselijk geweld" is tried before "huis"
        self._pattern = re.compile("|".join(sorted(set(patterns), key=len, reverse=True))) if patterns else None
        starts = [(key, prefix) for key, prefix in (_keyword(k) for listed in themes.values() for k in listed) if key]
        ignored: set[str] = set()
        for phrase in ignore:
            key = "".join(words(phrase))
            if not key or any(key.startswith(k) if prefix else key == k for k, prefix in starts):
                continue  # "jongerenwerk" stays: it is evidence of jeugd
            ignored.update(key + ending for ending in _ENDINGS)
        self._ignored = frozenset(ignored)
        self._prefixes = frozenset(key[:end] for key in ignored for end in range(1, len(key)))

    def match(self, text: str) -> tuple[str, ...]:
        """The themes of ``text`` (plain text), in configuration order."""
        if self._pattern is None:
            return ()
        tokens = _WORD_OR_BREAK.findall(fold(text))
        ignored, prefixes = self._ignored, self._prefixes
        if ignored:
            count = len(tokens)
            start = 0
            while start < count:
                run, end, longest = tokens[start], start + 1, 0
                while True:
                    if run in ignored:
                        longest = end
                    if end == count or run not in prefixes:
                        break
                    run += tokens[end]
                    end += 1
                if longest:
                    tokens[start:longest] = [_IGNORED] * (longest - start)
                    start = longest
                else:
                    start += 1
        found: set[int] = set()
        for hit in self._pattern.findall(" ".join(tokens)):
            found.update(self._keywords[hit.replace(" ", "")])
        return tuple(name for index, name in enumerate(self.names) if index in found)


def campaign_vocabulary(config: Config, names: Iterable[str | None] = ()) -> tuple[str, ...]:
    """The campaign's own words: watch terms, organisations and aliases, ambassadors, "gouden"
    names, and ``names`` (e.g. the organisation and ambassador of a story's source)."""
    coverage = config.coverage
    vocabulary = [*(coverage.terms or DEFAULT_TERMS), *config.campaign.gouden, *coverage.ambassadors]
    for organisation, aliases in coverage.organisations.items():
        vocabulary += [organisation, *aliases]
    vocabulary += [n for n in names if n]
    return tuple(dict.fromkeys(vocabulary))


@lru_cache(maxsize=128)
def _matcher(themes: tuple[tuple[str, tuple[str, ...]], ...], ignore: tuple[str, ...]) -> ThemeMatcher:
    return ThemeMatcher(dict(themes), ignore)


def themes_for(text: str, config: Config, *names: str | None) -> tuple[str, ...]:
    """The themes of ``text`` by ``config.themes``, the campaign's vocabulary left out.

    Args:
        names: more of the campaign's own names to leave out, e.g. the organisation and
            ambassador of the story's source.
    """
    themes = tuple((name, tuple(keywords)) for name, keywords in config.themes.items())
    return _matcher(themes, campaign_vocabulary(config, names)).match(text)


def story_themes(story: Story, config: Config) -> tuple[str, ...]:
    """The themes of a member's story: the WordPress tags it gets and what destination filters see."""
    return themes_for(story.text, config, story.organisation, story.ambassador)
