"""The outlets CSV an office keeps of its media: read in English or Dutch headers."""

from __future__ import annotations

import csv
import os
from typing import Any

from ..exceptions import UsageError

#: The columns of an outlets CSV, in English and in Dutch (as the report's CSV names them).
_OUTLET_HEADERS = (("domain", "domein"), ("name", "naam"), ("type", "soort"), ("municipality", "gemeente"),
                   ("province", "provincie"), ("reach", "bereik"))
_OUTLET_COLUMNS = {**{english: english for english, _ in _OUTLET_HEADERS},
                   **{dutch: english for english, dutch in _OUTLET_HEADERS},
                   "medium": "name", "type medium": "type"}


def read_outlets(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of an outlets CSV, each by the English column names (only those known).

    Raises:
        UsageError: the file cannot be read or has no domain column.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:  # one column, or not a CSV at all: the header check says which
                dialect = "excel"
            reader = csv.DictReader(handle, dialect=dialect)
            columns = {header: _OUTLET_COLUMNS[header.strip().casefold()] for header in reader.fieldnames or ()
                       if header.strip().casefold() in _OUTLET_COLUMNS}
            rows = [{columns[k]: (v or "").strip() for k, v in row.items() if k in columns} for row in reader]
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read outlets from {path}: {e}") from e
    if "domain" not in columns.values():
        expected = ", ".join(f"{english} ({dutch})" for english, dutch in _OUTLET_HEADERS)
        raise UsageError(f"{path}: column 'domain' is missing; expected the columns {expected}")
    return rows
