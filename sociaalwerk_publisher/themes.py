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
        # keywords by their words joined without separators, so that a compound matches
        # however it is written: whole-word keys must equal a word (or a run of words),
        # prefix keys begin one
        self._whole: dict[str, set[int]] = {}
        self._prefix: dict[str, set[int]] = {}
        self._firsts: dict[str, int] = {}  # first word of a keyword of several words: how many
        for index, listed in enumerate(themes.values()):
            for keyword in listed:
                parts = words(keyword.rstrip().rstrip("*"))
                if not parts:
                    continue
                key, prefix = "".join(parts), keyword.rstrip().endswith("*")
                (self._prefix if prefix else self._whole).setdefault(key, set()).add(index)
                if len(parts) > 1:
                    self._firsts[parts[0]] = max(self._firsts.get(parts[0], 0), len(parts))
        self._lengths = sorted({len(key) for key in self._prefix})
        # what every prefix key begins with: most words are none of them, and are done at once
        self._shortest = self._lengths[0] if self._lengths else 0
        self._starts = frozenset(key[:self._shortest] for key in self._prefix)
        ignored: set[str] = set()
        for phrase in ignore:
            key = "".join(words(phrase))
            if not key or key in self._whole or any(key.startswith(k) for k in self._prefix):
                continue  # "jongerenwerk" stays: it is evidence of jeugd
            ignored.update(key + ending for ending in _ENDINGS)
        self._ignored = frozenset(ignored)
        self._ignored_prefixes = frozenset(key[:end] for key in ignored for end in range(1, len(key)))

    def _hits(self, run: str, found: set[int], shortest: int = 0) -> None:
        """Add the themes whose keywords ``run`` (words joined) is, or begins with."""
        hit = self._whole.get(run)
        if hit:
            found.update(hit)
        if run[:self._shortest] not in self._starts:
            return
        for length in self._lengths:
            if length > len(run):
                break
            if length > shortest:
                hit = self._prefix.get(run[:length])
                if hit:
                    found.update(hit)

    def match(self, text: str) -> tuple[str, ...]:
        """The themes of ``text`` (plain text), in configuration order."""
        tokens = _WORD_OR_BREAK.findall(fold(text))
        count = len(tokens)
        ignored, prefixes = self._ignored, self._ignored_prefixes
        if ignored:
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
        firsts, whole, starts, shortest = self._firsts, self._whole, self._starts, self._shortest
        for i, token in enumerate(tokens):
            if token in whole or token[:shortest] in starts:
                self._hits(token, found)
            most = firsts.get(token)
            if most:
                run = token
                for j in range(i + 1, min(count, i + most)):
                    if tokens[j] == _IGNORED or not tokens[j][0].isalnum():
                        break
                    run += tokens[j]
                    self._hits(run, found, len(token))
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
