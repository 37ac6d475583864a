"""Which municipality a mention is about, from the outlet, the source or the text itself.

Names are looked up as whole words among the official CBS names and the aliases of the bundled
list (:mod:`sociaalwerk_publisher.municipalities`), ignoring case, diacritics and punctuation, so
"Den Haag", "'s-Gravenhage", "’s Gravenhage" and "s-Gravenhage" are all GM0518. The longest name
wins ("Alphen aan den Rijn" over "Alphen", "Bergen op Zoom" over "Bergen"), and a name glued
to a word before it by a hyphen is another place ("Oost-Groningen", "Nieuw-Bergen").

Some names need more care; ``data/SOURCE.md`` explains why:

- Names that are also Dutch (or English) words, e.g. Best, Huizen, Putten, Kampen, Buren, Goes,
  match only when capitalised ("op zijn best" and "huizen" never match). Even capitalised they
  are only *confident* in a place context ("in Best", "gemeente Huizen", "wethouder van Buren",
  "Kampen (", a dateline "PUTTEN - ") or in the caller's preferred province; at the start of a
  sentence without such context they do not match at all ("Huizen worden duurder").
- Leiden, Delft, Gouda and Berg en Dal are also words ("leiden tot", "delft het onderspit"),
  but capitalised they are the place, so capitalisation is all they need.
- Low-precision aliases (Hengelo, Laren, Rijswijk, Beek, Stein, Middelburg, Capelle) are shared
  with villages elsewhere; they are confident only in a place context or the preferred province,
  and a province marker for another province ("Hengelo (Gld)") rules them out.
- Bare "Bergen" is Bergen (NH.) or Bergen (L.) only if the text says which (Alkmaar, Egmond,
  Schoorl; Venlo, Well, Nieuw-Bergen, Limburg) or the caller's preference does; otherwise, or
  when the text is about Norway or Belgium, it is not attributed. The villages Bergen aan Zee
  and Beek en Donk are matched as such (Bergen (NH.) and Laarbeek).
- A province in brackets after a name must be the municipality's: "Hengelo (Gld)" and
  "Katwijk (NB)" are villages elsewhere, not Hengelo (O.) or Katwijk.
- Groningen and Utrecht are also provinces: "provincie Utrecht" and "Groningen en Drenthe" are
  not the municipality, and a bare "Groningen" without place context is not confident.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from ..municipalities import aliases, municipalities, woonplaatsen
from .matching import strip_diacritics, words

__all__ = ["PlaceMatch", "attribute", "find_municipalities", "find_woonplaatsen"]

BERGEN_NH = "GM0373"
BERGEN_L = "GM0893"

#: Names that are also common words (SOURCE.md): capitalised only, confident only in context.
COMMON_WORD_NAMES = frozenset({
    "Assen", "Beek", "Best", "Borne", "Buren", "Duiven", "Goes", "Hoorn", "Huizen", "Hulst",
    "Kampen", "Losser", "Putten", "Sluis", "Stein", "Voorst", "Weert",
})
#: Names that are words in lower case only ("leiden tot", "over berg en dal").
CAPITALISED_NAMES = frozenset({"Berg en Dal", "Delft", "Gouda", "Leiden"})
#: Aliases shared with villages elsewhere (SOURCE.md, "low-precision entries").
LOW_PRECISION_ALIASES = frozenset({"Beek", "Capelle", "Hengelo", "Laren", "Middelburg", "Rijswijk", "Stein"})
#: Municipalities named like their province.
PROVINCE_NAMES = frozenset({"Groningen", "Utrecht"})
#: Villages not in the alias file whose names start with an ambiguous municipality's name;
#: matched as a whole they are unambiguous (longest match wins).
_EXTRA_NAMES = {"Bergen aan Zee": BERGEN_NH, "Beek en Donk": "GM1659"}

# Words right before a name that make it a place: "in Best", "gemeente Huizen", "te Putten".
_BEFORE = frozenset({
    "in", "uit", "te", "naar", "nabij", "rond", "rondom", "vanuit", "richting", "gemeente",
    "stad", "dorp", "binnen", "buiten",
})
# Words before "van X" that make X a place: "wethouder van Buren", "inwoners van Huizen".
_ROLE_OF = frozenset({
    "wethouder", "wethouders", "burgemeester", "inwoners", "inwoner", "bewoners", "gemeenteraad",
    "gemeentebestuur", "raad", "raadsleden", "college", "gemeente", "centrum", "stad", "dorp",
    "omgeving", "buurt", "bibliotheek",
})
_PROVINCE_WORDS = frozenset({"provincie", "provincies", "prov", "provinciale"})
# Other provinces next to Groningen or Utrecht make it the province ("Groningen en Drenthe").
# Groningen and Utrecht themselves are left out: "Utrecht en Groningen" is usually two cities.
_OTHER_PROVINCES_FIRST = frozenset({
    "drenthe", "friesland", "fryslan", "overijssel", "gelderland", "flevoland", "zeeland",
    "limburg", "brabant", "noord", "zuid",
})
_OTHER_PROVINCES_LAST = frozenset({
    "drenthe", "friesland", "fryslan", "overijssel", "gelderland", "flevoland", "zeeland",
    "limburg", "brabant", "holland",
})
# A province in brackets after a name: "Hengelo (Gld)", "Best (NB)".
_PROVINCE_MARKERS = {
    **dict.fromkeys(("nh", "n h", "noord holland"), "noord holland"),
    **dict.fromkeys(("zh", "z h", "zuid holland"), "zuid holland"),
    **dict.fromkeys(("nb", "n b", "noord brabant", "brabant"), "noord brabant"),
    **dict.fromkeys(("gld", "gl", "gelderland", "geld"), "gelderland"),
    **dict.fromkeys(("o", "ov", "ovl", "overijssel"), "overijssel"),
    **dict.fromkeys(("l", "lb", "li", "limb", "limburg"), "limburg"),
    **dict.fromkeys(("z", "zl", "zld", "zeeland"), "zeeland"),
    **dict.fromkeys(("u", "ut", "utr", "utrecht"), "utrecht"),
    **dict.fromkeys(("fr", "fri", "friesland", "fryslan"), "fryslan"),
    **dict.fromkeys(("gr", "gn", "gron", "groningen"), "groningen"),
    **dict.fromkeys(("dr", "dre", "drenthe"), "drenthe"),
    **dict.fromkeys(("fl", "fla", "flevoland"), "flevoland"),
}
_BERGEN_NH_HINTS = frozenset({"alkmaar", "egmond", "schoorl", "camperduin", "noord holland"})
_BERGEN_L_HINTS = frozenset({"venlo", "afferden", "siebengewald", "wellerlooi", "nieuw bergen", "limburg"})
_BERGEN_ABROAD = frozenset({
    "noorwegen", "noorse", "noors", "norway", "norwegian", "vestland", "hordaland", "fjord",
    "mons", "henegouwen", "belgie", "belgische", "wallonie",
})

_T = TypeVar("_T")
_WORD = re.compile(r"[^\W_]+")
# Between two words, something that ends a sentence or a heading.
_SENTENCE_BREAK = re.compile(r"[.!?:;\n\"“”„«»•|–—]|\s-\s")
_DATELINE = re.compile(r"\s*(?:[-–—]\s|[–—])")
_APOSTROPHES = "'’‘"
_CLOSING = re.compile(r"\.?\)")


@dataclass(frozen=True)
class PlaceMatch:
    """One occurrence of a municipality's name in a text."""

    code: str  #: CBS code
    name: str  #: official CBS name
    matched_text: str  #: as written in the text (after Unicode NFC normalisation)
    confident: bool  #: False for a name that may well be another place or a common word


class _Kind(enum.Enum):
    PLAIN = "plain"  # unambiguous: any case, always confident
    CAPITALISED = "capitalised"  # a word in lower case; capitalised it is the place
    COMMON_WORD = "common word"  # capitalised, and confident only in context
    LOW_PRECISION = "low precision"  # confident only in context
    PROVINCE = "province"  # Groningen, Utrecht: not when it means the province
    BERGEN = "bergen"  # two municipalities; decided from the text or the caller


@dataclass(frozen=True)
class _Entry:
    code: str | None  # None for bare "Bergen"
    kind: _Kind
    cased: tuple[str, ...]  # the name's words with diacritics stripped, case kept


def _key(name: str) -> str:
    return " ".join(words(name))


def _province_key(province: str) -> str:
    key = _key(province)
    return "fryslan" if key == "friesland" else key


@cache
def _table() -> tuple[dict[str, _Entry], frozenset[str]]:
    """Name keys to entries, and every proper word prefix of a key ("bergen op")."""
    table: dict[str, _Entry] = {}

    def add(name: str, code: str | None, kind: _Kind | None = None) -> None:
        if kind is None:
            # an alias written in lower case by aliases() gets its capitals back from our lists
            cased = next((n for n in COMMON_WORD_NAMES | CAPITALISED_NAMES if _key(n) == _key(name)), name)
            if cased in LOW_PRECISION_ALIASES:
                kind = _Kind.LOW_PRECISION
            elif cased in COMMON_WORD_NAMES:
                kind = _Kind.COMMON_WORD
            elif cased in CAPITALISED_NAMES:
                kind = _Kind.CAPITALISED
            elif cased in PROVINCE_NAMES:
                kind = _Kind.PROVINCE
            else:
                kind = _Kind.PLAIN
            name = cased
        key = _key(name)
        entry = _Entry(code, kind, tuple(_WORD.findall(strip_diacritics(name))))
        if key in table and table[key].code != code:
            raise ValueError(f"municipality name {name!r} is ambiguous in the bundled list")
        table.setdefault(key, entry)

    for code, municipality in municipalities().items():
        add(municipality.name, code)
    for alias, code in aliases().items():
        cased = next((n for n in LOW_PRECISION_ALIASES if n.casefold() == alias), alias)
        add(cased, code)
    for name, code in _EXTRA_NAMES.items():
        add(name, code)
    add("Bergen", None, _Kind.BERGEN)
    prefixes: set[str] = set()
    for key in table:
        parts = key.split(" ")
        prefixes.update(" ".join(parts[:end]) for end in range(1, len(parts)))
    return table, frozenset(prefixes)


class _Scan:
    """One text being searched: its words and the checks on their surroundings."""

    def __init__(self, text: str, keys: list[str], prefer_province: str | None,
                 prefer_codes: frozenset[str]) -> None:
        self.text = text
        self.keys = keys  # the folded words: lower case, no diacritics
        # where each word is in the text; found only for texts that name a place
        self.spans = [m.span() for m in _WORD.finditer(text)]
        self.prefer_province = _province_key(prefer_province) if prefer_province else None
        self.prefer_codes = prefer_codes
        self._bergen_hints: tuple[set[str], bool] | None = None

    def written(self, i: int) -> str:
        start, end = self.spans[i]
        return self.text[start:end]

    def gap_before(self, i: int) -> str:
        return self.text[self.spans[i - 1][1] if i else 0:self.spans[i][0]]

    def gap_after(self, j: int) -> str:
        """The text between word ``j - 1`` (the last of a name) and the next word."""
        end = self.spans[j][0] if j < len(self.spans) else len(self.text)
        return self.text[self.spans[j - 1][1]:end]

    def sentence_start(self, i: int) -> bool:
        return i == 0 or bool(_SENTENCE_BREAK.search(self.gap_before(i)))

    def word_before(self, i: int, back: int = 1) -> str | None:
        """The ``back``-th word before word ``i`` if no sentence break lies between."""
        for k in range(i, i - back, -1):
            if k == 0 or self.sentence_start(k):
                return None
        return self.keys[i - back]

    def capitalised(self, i: int, cased: tuple[str, ...]) -> bool:
        # The name's capital letters must be there: "Best" or "BEST", never "best".
        written = [strip_diacritics(self.written(k)) for k in range(i, i + len(cased))]
        return all(w in (c, c.upper()) for w, c in zip(written, cased))

    def glued_to_word_before(self, i: int, previous_match_end: int) -> bool:
        # "Oost-Groningen", "Nieuw-Bergen": another place. "Ede-Wageningen": two places.
        return i > 0 and self.gap_before(i) == "-" and previous_match_end != i

    def matched(self, i: int, j: int) -> str:
        """The name at words ``i:j`` as written, with the apostrophe of "'s-Gravenhage" and the
        bracket of "Bergen (NH.)"."""
        start, end = self.spans[i][0], self.spans[j - 1][1]
        if start and self.keys[i] == "s" and self.text[start - 1] in _APOSTROPHES:
            start -= 1
        if "(" in self.text[start:end]:
            closing = _CLOSING.match(self.text, end)
            end = closing.end() if closing else end
        return self.text[start:end]

    def bracketed_province(self, j: int) -> str | None:
        """The province in brackets after a name ending before word ``j``: "Hengelo (Gld)"."""
        after = self.gap_after(j)
        if not after.strip().startswith("("):
            return None
        opening = self.spans[j - 1][1] + after.index("(")
        closing = self.text.find(")", opening, opening + 25)
        if closing < 0:
            return None
        return _PROVINCE_MARKERS.get(_key(self.text[opening + 1:closing]))

    def place_context(self, i: int, j: int) -> bool:
        """Whether the words around ``i:j`` say it is a place: "in X", "X (", datelines."""
        before = self.word_before(i)
        if before in _BEFORE:
            return True
        # "wethouder van Buren" is the place, "wethouder Van Buren" a person
        if before == "van" and self.written(i - 1) == "van" and self.word_before(i, 2) in _ROLE_OF:
            return True
        after = self.gap_after(j)
        if after.lstrip().startswith("("):
            return True
        starts_line = i == 0 or "\n" in self.gap_before(i)
        return starts_line and bool(_DATELINE.match(after))

    def province_meant(self, i: int, j: int) -> bool:
        """Whether "Groningen" or "Utrecht" at ``i:j`` is the province."""
        if self.word_before(i) in _PROVINCE_WORDS:
            return True
        if self.word_before(i) in ("en", "of") and self.word_before(i, 2) in _OTHER_PROVINCES_LAST:
            return True
        if "," in self.gap_before(i) and self.word_before(i) in _OTHER_PROVINCES_LAST:
            return True
        if j + 1 < len(self.keys) and self.keys[j] in ("en", "of") and not self.sentence_start(j):
            return self.keys[j + 1] in _OTHER_PROVINCES_FIRST
        return False

    def preferred(self, code: str) -> bool:
        if code in self.prefer_codes:
            return True
        return self.prefer_province is not None and _province_key(
            municipalities()[code].province) == self.prefer_province

    def bergen(self) -> str | None:
        """Which Bergen a bare "Bergen" in this text is, if the text or the caller says so."""
        if self._bergen_hints is None:
            keys = set(self.keys)
            keys.update(f"{a} {b}" for a, b in zip(self.keys, self.keys[1:]))
            well = any(self.written(k) in ("Well", "WELL") for k, key in enumerate(self.keys) if key == "well")
            self._bergen_hints = (keys, well)
        keys, well = self._bergen_hints
        if keys & _BERGEN_ABROAD:
            return None
        north = bool(keys & _BERGEN_NH_HINTS)
        south = well or bool(keys & _BERGEN_L_HINTS)
        if north != south:
            return BERGEN_NH if north else BERGEN_L
        preferred = [code for code in (BERGEN_NH, BERGEN_L) if self.preferred(code)]
        return preferred[0] if len(preferred) == 1 else None

    def judge(self, entry: _Entry, i: int, j: int) -> tuple[str, bool] | None:
        """The code and confidence of the name at words ``i:j``, or None if it is not one."""
        kind = entry.kind
        cased = kind in (_Kind.CAPITALISED, _Kind.COMMON_WORD, _Kind.BERGEN) or (
            kind is _Kind.LOW_PRECISION and entry.cased[0] in COMMON_WORD_NAMES)
        if cased and not self.capitalised(i, entry.cased):
            return None
        if kind is _Kind.BERGEN:
            code = self.bergen()
            return (code, True) if code else None
        assert entry.code is not None
        code = entry.code
        marker = self.bracketed_province(j)
        if marker is not None:
            if marker != _province_key(municipalities()[code].province):
                return None  # "Hengelo (Gld)" is the village in Bronckhorst
            return code, True
        if kind is _Kind.PLAIN or kind is _Kind.CAPITALISED:
            return code, True
        if kind is _Kind.PROVINCE and self.province_meant(i, j):
            return None
        if self.place_context(i, j):
            return code, True
        if cased and self.sentence_start(i):
            return None  # "Huizen worden duurder", "Best bezochte markt"
        return code, self.preferred(code)


def _prepared(text: str) -> tuple[str, list[str]]:
    """``text`` as matched (NFC) and its folded words: lower case, no diacritics."""
    if text.isascii():
        return text, _WORD.findall(text.lower())
    # NFC first, so that a decomposed "u" + accent stays inside its word; the modifier
    # letter apostrophe would otherwise be part of a word ("ʼs-Gravenhage")
    text = unicodedata.normalize("NFC", text).replace("ʼ", "'")
    return text, [strip_diacritics(word).casefold() for word in _WORD.findall(text)]


def find_municipalities(
    text: str,
    *,
    prefer_province: str | None = None,
    prefer_codes: frozenset[str] = frozenset(),
) -> tuple[PlaceMatch, ...]:
    """Every mention of a municipality in ``text``, in text order, one per occurrence.

    Args:
        text: Plain text (entities decoded), e.g. a title and a snippet.
        prefer_province: The province of the outlet's region (e.g. "Noord-Holland"; "Friesland"
            and "Fryslân" are the same). Settles a bare "Bergen", and makes an ambiguous name
            in that province confident.
        prefer_codes: CBS codes the outlet covers; used like ``prefer_province``.

    Returns:
        The matches; ``confident`` is False for names that may be another place or a word.
        A bare "Bergen" that cannot be settled is left out, as are common-word names in lower
        case or at the start of a sentence without place context.
    """
    text, keys = _prepared(text)
    table, prefixes = _table()
    scan: _Scan | None = None
    found: list[PlaceMatch] = []
    previous_match_end = -1
    for i, j, entry in _longest(keys, table, prefixes):
        if scan is None:
            scan = _Scan(text, keys, prefer_province, prefer_codes)
        verdict = None if scan.glued_to_word_before(i, previous_match_end) else scan.judge(entry, i, j)
        if verdict is not None:
            code, confident = verdict
            found.append(PlaceMatch(code, municipalities()[code].name, scan.matched(i, j), confident))
            previous_match_end = j
    return tuple(found)


def _longest(keys: list[str], table: Mapping[str, _T], prefixes: frozenset[str]) -> Iterator[tuple[int, int, _T]]:
    """(first word, end, entry) of each longest name of ``table`` in ``keys``, left to right."""
    i, count = 0, len(keys)
    while i < count:
        # the longest name starting at word i, growing the run only while it can still match
        run, j, entry, end_of_entry = keys[i], i + 1, None, i
        while True:
            hit = table.get(run)
            if hit is not None:
                entry, end_of_entry = hit, j
            if j == count or run not in prefixes:
                break
            run = f"{run} {keys[j]}"
            j += 1
        if entry is None:
            i += 1
            continue
        yield i, end_of_entry, entry
        i = end_of_entry


def attribute(
    outlet_code: str | None,
    source_code: str | None,
    text: str,
    outlet_province: str | None = None,
) -> str | None:
    """The one municipality (CBS code) a mention is attributed to, or None.

    The rule, first that applies:

    1. The outlet's municipality, if the outlet is local and its municipality is known.
    2. The source's municipality (e.g. a Google Alert set up for one municipality).
    3. The municipality named in the text: of the confident matches of
       :func:`find_municipalities` and :func:`find_woonplaatsen` (with ``outlet_province`` as
       the preferred province), the only one, or else the one named most often; a tie for
       most often gives None.

    Args:
        outlet_code: CBS code of the outlet's municipality, if it has one.
        source_code: CBS code of the source's municipality, if it has one.
        text: The mention's plain text (title and snippet or body).
        outlet_province: The outlet's province, used to settle ambiguous names.
    """
    if outlet_code:
        return outlet_code
    if source_code:
        return source_code
    named = find_municipalities(text, prefer_province=outlet_province)
    places = find_woonplaatsen(text, prefer_province=outlet_province, named=named)
    return _most_named(m.code for m in (*named, *places) if m.confident)


def _most_named(codes: Iterable[str]) -> str | None:
    ranked = Counter(codes).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


# -- woonplaatsen: the towns and villages local news names ----------------------------------

#: Words before a name that make it a surname: "Jan de Vries", "wethouder Van Veen".
_SURNAME_PARTICLES = frozenset({"de", "van", "der", "den", "ter", "ten", "het", "t", "la", "le", "du"})
#: Woonplaats names this short are often words ("Echt", "Heel", "Made", "Een"): place context only.
_SHORT = 4


@dataclass(frozen=True)
class _Place:
    codes: frozenset[str]  # more than one: the name is ambiguous (marked so in the file)
    cased: tuple[str, ...]  # the name's words with diacritics stripped, case kept


@cache
def _places() -> tuple[dict[str, _Place], frozenset[str]]:
    """Woonplaats name keys (plain and with BAG's suffix, "hengelo gld") to places, and every
    proper word prefix of a key. Names of municipalities and their aliases are left to
    :func:`find_municipalities`."""
    taken = set(_table()[0])
    found: dict[str, _Place] = {}
    for place in woonplaatsen():
        for name in dict.fromkeys((place.plain_name, place.name)):
            key = _key(name)
            if not key or key in taken:
                continue
            known = found.get(key)
            codes = (known.codes if known else frozenset()) | {place.code}
            found[key] = _Place(codes, tuple(_WORD.findall(strip_diacritics(name))))
    prefixes = {" ".join(key.split(" ")[:end]) for key in found for end in range(1, len(key.split(" ")))}
    return found, frozenset(prefixes)


def _settled(codes: frozenset[str], scan: _Scan, others: Iterable[str], marker: str | None) -> str | None:
    """The one of ``codes`` that the text or the caller settles, else None: a province in
    brackets after the name, the caller's preferred province or codes, or the provinces of
    the other places the text names."""
    table = municipalities()
    if marker is not None:
        chosen = [c for c in codes if _province_key(table[c].province) == marker]
        return chosen[0] if len(chosen) == 1 else None
    for keep in (scan.preferred, lambda c: c in set(others),
                 lambda c: _province_key(table[c].province) in {_province_key(table[o].province) for o in others}):
        chosen = [c for c in codes if keep(c)]
        if len(chosen) == 1:
            return chosen[0]
    return None


def find_woonplaatsen(
    text: str,
    *,
    prefer_province: str | None = None,
    prefer_codes: frozenset[str] = frozenset(),
    named: Iterable[PlaceMatch] = (),
) -> tuple[PlaceMatch, ...]:
    """Towns and villages named in ``text`` (Krommenie, Zaandam), as the municipality they lie in.

    A woonplaats must be written with its capitals ("Dieren", never "dieren"). It is
    *confident* when it stands in a place context ("in Krommenie", "KROMMENIE - ") or inside
    a sentence; at the start of a sentence only when the text names a municipality too (or
    it is in the preferred province); after "de" or "van" (a surname: "Jan de Vries"), or
    with four letters or fewer ("Echt", "Made") it needs a place context. A name that more
    than one municipality has (Haren, Velp, Nes: ``ambiguous`` in the bundled list) is never
    guessed: it counts only when a province in brackets ("Rijswijk (NB)"), the caller's
    preferred province or codes, or the other places in the text (``named``, and the other
    woonplaatsen) leave one municipality.

    Args:
        named: what :func:`find_municipalities` found in the same text; those words are not
            looked at again, and their municipalities help to settle ambiguous names.
    """
    text, keys = _prepared(text)
    table, prefixes = _places()
    named = tuple(named)
    # any place the text names helps to settle an ambiguous one, confident or not
    others = [m.code for m in named]
    found = list(_longest(keys, table, prefixes))
    if found:
        # "een" and "echt" are in every other text: only capitalised ones are worth a closer look
        cased_words = _WORD.findall(text)
        found = [(i, j, e) for i, j, e in found
                 if all(strip_diacritics(cased_words[k])[:1] == c[:1] for k, c in zip(range(i, j), e.cased))]
    if not found:
        return ()
    scan = _Scan(text, keys, prefer_province, prefer_codes)
    found = [(i, j, e) for i, j, e in found if scan.capitalised(i, e.cased) and not scan.glued_to_word_before(i, -1)]
    # the municipalities' own matches are taken: a woonplaats inside one is part of its name
    taken = {m.matched_text.casefold() for m in named}
    matches: list[PlaceMatch] = []
    unambiguous = [next(iter(e.codes)) for _, _, e in found if len(e.codes) == 1]
    for i, j, entry in found:
        written = scan.matched(i, j)
        if written.casefold() in taken:
            continue
        marker = scan.bracketed_province(j)
        if len(entry.codes) > 1 or marker is not None:
            code = _settled(entry.codes, scan, others + [c for c in unambiguous if c not in entry.codes], marker)
            if code is None:
                continue
            matches.append(PlaceMatch(code, municipalities()[code].name, written, True))
            continue
        code = next(iter(entry.codes))
        context = scan.place_context(i, j)
        before = scan.word_before(i)
        surname = before in _SURNAME_PARTICLES and not context
        short = len(entry.cased) == 1 and len(entry.cased[0]) <= _SHORT
        # opening a sentence it may be a word ("Dieren en mensen"), unless the text names places
        confident = context or (not surname and not short and (
            not scan.sentence_start(i) or scan.preferred(code) or any(m.confident for m in named)))
        matches.append(PlaceMatch(code, municipalities()[code].name, written, confident))
    return tuple(matches)
