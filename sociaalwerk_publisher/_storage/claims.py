"""Claims: how a worker takes a row (a source, a syndication, an outbox message) for a while.

A claim is two columns, ``claimed_by`` and ``claim_expires_at``, committed before the worker
goes to the network; a killed worker's claim simply expires and another worker takes the row.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, or_

#: the values that release a claim
RELEASED: dict[str, Any] = {"claimed_by": None, "claim_expires_at": None}


def free(table: Table, now: datetime, worker: str | None = None) -> ColumnElement[bool]:
    """No worker holds a claim on the row, the claim expired by ``now``, or ``worker`` holds it."""
    held = [table.c.claimed_by == worker] if worker is not None else []
    return or_(table.c.claimed_by.is_(None), *held, table.c.claim_expires_at <= now)


def taken_by(worker: str, expires: datetime) -> dict[str, Any]:
    """The values of ``worker``'s claim until ``expires``."""
    return {"claimed_by": worker, "claim_expires_at": expires}


def worker_id() -> str:
    """A name for this worker's claims: the host and process for people, a random part so that
    two workers never share a name (a pid is reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
