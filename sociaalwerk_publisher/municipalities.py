"""Dutch municipalities (gemeenten) by CBS code, from the bundled reference list.

Source: ``data/gemeenten.csv`` and ``data/gemeenten-aliases.csv``, the CBS
indeling per 1 januari 2026 (342 gemeenten); provenance in ``data/SOURCE.md``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from .bounds import is_whole_number


@dataclass(frozen=True)
class Municipality:
    code: str  #: CBS code, ``GM`` + 4 digits
    name: str
    province: str


def _read(name: str) -> list[dict[str, str]]:
    text = files("sociaalwerk_publisher.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


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
