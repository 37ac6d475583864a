"""Dutch municipalities (gemeenten) by CBS code, from the bundled reference list.

Source: ``data/gemeenten.csv`` and ``data/gemeenten-aliases.csv``, the CBS
indeling per 1 januari 2026 (342 gemeenten), with their inhabitants
(``data/gemeenten-inwoners.csv``) and woonplaatsen (``data/woonplaatsen.csv``);
provenance in ``data/SOURCE.md``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from .bounds import is_whole_number
#: How the maps and tables credit the boundaries and figures (CC BY 4.0).
ATTRIBUTION = "Bron: CBS, Kadaster"


@dataclass(frozen=True)
class Municipality:
    code: str  #: CBS code, ``GM`` + 4 digits
    name: str
    province: str


@dataclass(frozen=True)
class Woonplaats:
    """A town or village (BAG woonplaats) and the municipality it lies in."""

    name: str  #: as BAG writes it, with its suffix: "Hengelo (Gld)", "Bergen L"
    plain_name: str  #: without the suffix: "Hengelo", "Bergen"
    code: str  #: CBS code of its municipality
    ambiguous: bool  #: another municipality has a woonplaats of the same plain name


def read_data(name: str) -> str:
    """The text of a bundled reference file."""
    return files("sociaalwerk_publisher.data").joinpath(name).read_text(encoding="utf-8")


def _read(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(read_data(name))))


@cache
def municipalities() -> dict[str, Municipality]:
    """All municipalities by CBS code."""
    return {
        row["cbs_code"]: Municipality(row["cbs_code"], row["name"], row["province"])
        for row in _read("gemeenten.csv")
    }


@cache
def aliases() -> dict[str, str]:
    """Alternative names (lower case) to CBS codes; official names not included."""
    return {row["alias"].casefold(): row["cbs_code"] for row in _read("gemeenten-aliases.csv")}


@cache
def inhabitants() -> dict[str, int]:
    """Inhabitants per CBS code on 1 January 2024."""
    return {row["code"]: int(row["inwoners"]) for row in _read("gemeenten-inwoners.csv")}


@cache
def woonplaatsen() -> tuple[Woonplaats, ...]:
    """Every woonplaats of the bundled list (about 2,500)."""
    return tuple(Woonplaats(row["woonplaats"], row["plain_name"], row["gemeente_code"], row["ambiguous"] == "yes")
                 for row in _read("woonplaatsen.csv"))


@cache
def provinces() -> tuple[str, ...]:
    """The twelve provinces, by name."""
    return tuple(sorted({m.province for m in municipalities().values()}))


def lookup(value: str) -> Municipality | None:
    """A municipality by CBS code (``GM0363`` or ``0363``), official name or alias."""
    value = value.strip().replace("’", "'").replace("‘", "'")
    table = municipalities()
    code = value.upper()
    if is_whole_number(code) and len(code) <= 4:
        code = f"GM{int(code):04d}"
    if code in table:
        return table[code]
    folded = value.casefold()
    for municipality in table.values():
        if municipality.name.casefold() == folded:
            return municipality
    alias = aliases().get(folded)
    return table[alias] if alias else None
