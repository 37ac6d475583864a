"""Dutch-aware watchlist matching: does a candidate mention talk about social work?

A :class:`Matcher` is compiled once from a :class:`Watchlist` and then matches many short
texts (title + snippet) fast. Rules, all applied to both the watchlist and the text:

- Case and diacritics are ignored: "Súdwest" = "sudwest", "coöperatie" = "cooperatie".
- Whole words only: "werk" does not match "werkgever", and "jongerenwerk" does not match
  "jongerenwerkplaats". Hyphens, spaces and apostrophes separate words.
- Writing a compound with a space, a hyphen or nothing makes no difference: "sociaal werker"
  = "sociaal-werker" = "sociaalwerker".
- A watch term (not an organisation or a person) also matches its plural and genitive:
  -s, -en, -es and -'s ("sociaal werkers", "sociaal werker's"). No other inflection:
  "buurtwerk" does not match "buurtwerker".
- A term does not match across sentence punctuation or brackets ("sociaal. Werk" is not
  "sociaal werk").

How: the text is folded and split into words once; every run of consecutive words is joined
without a separator and looked up in a dict of the watchlist's keys (also joined without a
separator, so the compound variants coincide). A run is extended only while it is a prefix of
some key, so most words cost one dict and one set lookup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..exceptions import ConfigError

__all__ = [
    "DEFAULT_EXCLUSIONS",
    "DEFAULT_TERMS",
    "Match",
    "Matcher",
    "Watchlist",
    "fold",
    "strip_diacritics",
    "words",
]

#: Watch terms for the campaign: the professions, their work and the usual Dutch spellings.
DEFAULT_TERMS: tuple[str, ...] = (
    "sociaal werk",
    "sociaal werker",
    "welzijnswerk",
    "welzijnswerker",
    "welzijnsorganisatie",
    "welzijnsinstelling",
    "jongerenwerk",
    "jongerenwerker",
    "jongerenwerkster",
    "ouderenwerk",
    "ouderenwerker",
    "opbouwwerk",
    "opbouwwerker",
    "buurtwerk",
    "buurtwerker",
    "straathoekwerk",
    "straathoekwerker",
    "maatschappelijk werk",
    "maatschappelijk werker",
    "maatschappelijke dienstverlening",
    "schoolmaatschappelijk werk",
    "schoolmaatschappelijk werker",
    "schuldhulpverlening",
    "schuldhulpverlener",
    "schuldhulpmaatje",
    "sociaal raadslieden",
    "sociaal raadsman",
    "sociaal raadsvrouw",
    "cliëntondersteuning",
    "cliëntondersteuner",
    "mantelzorgondersteuning",
    "mantelzorgconsulent",
    "sociaal wijkteam",
    "buurtteam",
    "buurtcoach",
    "wijkcoach",
    "buurtsportcoach",
    "welzijn op recept",
    "vrijwilligerscentrale",
    "dag van het sociaal werk",
    "week van het sociaal werk",
)

#: Phrases that make a text about something else (sheltered employment, not social work).
DEFAULT_EXCLUSIONS: tuple[str, ...] = (
    "sociale werkplaats",
    "sociaal werkplaats",
    "sociale werkvoorziening",
)

# Apostrophe look-alikes become a plain apostrophe (a word separator below).
_APOSTROPHES = {ord(c): "'" for c in "’‘ʼ´`′"}
_COMBINING = re.compile(r"[\u0300-\u036f]+")
# A word, or one character that ends a phrase: sentence punctuation followed by a space, a
# hyphen or the end (not the dot in "St.Jan" or the comma in "3,5"), a line break (title and
# body are joined by one), brackets, quotes, dashes, slashes. Such a character is never part
# of a key, so a run of words that reaches it stops growing without a special case in the loop.
_WORD_OR_BREAK = re.compile(r"[^\W_]+|[.!?;:,](?![^\s-])|[\n()\[\]{}\"“”„«»|•…–—/]")
_WORD = re.compile(r"[^\W_]+")
# Plural and genitive endings of a watch term ("'s" is a separate word "s" after splitting).
_TERM_ENDINGS = ("s", "en", "es")


def _accents() -> dict[int, str]:
    # The Latin letters with diacritics that news text uses, mapped to their base letters:
    # str.translate with this table is several times faster than Unicode decomposition, which
    # is left for the rare text with other accented characters.
    table = {}
    for code in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFKD", chr(code))
        base = _COMBINING.sub("", decomposed)
        if base != chr(code) and base.isascii():
            table[code] = base
    return table


_ACCENTS = _accents()
_FOLD = {**_ACCENTS, **_APOSTROPHES}


def strip_diacritics(text: str) -> str:
    """``text`` without accents, case kept: "Súdwest-Fryslân" becomes "Sudwest-Fryslan"."""
    if text.isascii():
        return text
    text = text.translate(_ACCENTS)
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def fold(text: str) -> str:
    """``text`` case-folded, without accents, with curly apostrophes made straight."""
    if text.isascii():
        return text.lower()
    text = text.casefold().translate(_FOLD)
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def words(text: str) -> list[str]:
    """The folded words of ``text``: hyphens, apostrophes and punctuation separate words."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Watchlist:
    """What the campaign watches for.

    Attributes:
        terms: Watch terms as an editor writes them ("sociaal werker"); reported as written.
        organisations: Canonical organisation name to its aliases; the name itself matches
            too, and matches are reported by canonical name.
        ambassadors: Person names, matched as whole words (no plural forms).
        exclusions: Phrases that make a text not count, e.g. "sociale werkplaats".
    """

    terms: tuple[str, ...] = DEFAULT_TERMS
    organisations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ambassadors: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = DEFAULT_EXCLUSIONS


@dataclass(frozen=True)
class Match:
    """What one text matched, each list in watchlist order and without repeats."""

    terms: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()  #: canonical names
    ambassadors: tuple[str, ...] = ()
    excluded_by: tuple[str, ...] = ()

    @property
    def counts(self) -> bool:
        """Whether the text is a mention: something matched and no exclusion did."""
        return bool(self.terms or self.organisations or self.ambassadors) and not self.excluded_by


# What a key stands for: which list, and the label reported for it.
_TERM, _ORGANISATION, _AMBASSADOR, _EXCLUSION = range(4)


class Matcher:
    """A watchlist compiled for fast matching; build it once, call :meth:`match` many times.

    Raises:
        ConfigError: An entry of the watchlist has no letters or digits, so it could never
            match (``key`` names the list it is in).
    """

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        # Labels in watchlist order; a key maps to indexes into this list, so sorting the
        # indexes found puts every result in watchlist order.
        self._labels: list[tuple[int, str]] = []
        exact: dict[str, set[int]] = {}
        variants: dict[str, set[int]] = {}

        def add(kind: int, label: str, spellings: tuple[str, ...], setting: str) -> None:
            index = len(self._labels)
            self._labels.append((kind, label))
            for spelling in spellings:
                key = "".join(words(spelling))
                if not key:
                    raise ConfigError(f"{spelling!r} has no letters or digits", key=setting)
                exact.setdefault(key, set()).add(index)
                if kind in (_TERM, _EXCLUSION):
                    for ending in _TERM_ENDINGS:
                        variants.setdefault(key + ending, set()).add(index)

        for term in dict.fromkeys(watchlist.terms):
            add(_TERM, term, (term,), "watchlist.terms")
        for name, aliases in watchlist.organisations.items():
            add(_ORGANISATION, name, (name, *aliases), "watchlist.organisations")
        for person in dict.fromkeys(watchlist.ambassadors):
            add(_AMBASSADOR, person, (person,), "watchlist.ambassadors")
        for phrase in dict.fromkeys(watchlist.exclusions):
            add(_EXCLUSION, phrase, (phrase,), "watchlist.exclusions")

        # A word as written beats another entry's plural form: with "wijkteam" and "wijkteams"
        # both on the list, the text "wijkteams" is only "wijkteams".
        keys = {key: frozenset(found) for key, found in variants.items() if key not in exact}
        keys.update((key, frozenset(found)) for key, found in exact.items())
        self._keys = keys
        self._prefixes = frozenset(key[:end] for key in keys for end in range(1, len(key)))

    def match(self, text: str) -> Match:
        """What ``text`` (plain text, entities already decoded) matches on the watchlist."""
        keys = self._keys
        prefixes = self._prefixes
        tokens = _WORD_OR_BREAK.findall(fold(text))
        count = len(tokens)
        found: set[int] = set()
        for start in range(count):
            run = tokens[start]
            end = start
            while True:
                hit = keys.get(run)
                if hit is not None:
                    found.update(hit)
                end += 1
                if end == count or run not in prefixes:
                    break
                run += tokens[end]
        if not found:
            return _NOTHING
        lists: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
        for index in sorted(found):
            kind, label = self._labels[index]
            lists[kind].append(label)
        terms, organisations, ambassadors, excluded = lists
        return Match(tuple(terms), tuple(organisations), tuple(ambassadors), tuple(excluded))


_NOTHING = Match()
