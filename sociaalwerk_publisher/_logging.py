"""A logging convention shared by the library and the command line."""

from __future__ import annotations

import logging

#: ``extra`` for a record whose message the caller also gets in a result (a failed fetch,
#: a syndication warning, a failed step of a cycle): a front end that shows the results
#: may leave the record out of the terminal; a log file keeps it.
IN_RESULT = {"in_result": True}


def is_in_result(record: logging.LogRecord) -> bool:
    """Whether ``record`` repeats what a returned result says."""
    return bool(getattr(record, "in_result", False))
