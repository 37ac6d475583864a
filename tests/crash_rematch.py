"""Run a rematch (or with a fifth argument "normal", a normal pass) in small batches and kill
the process with SIGKILL at a chosen point.

Usage: python -m tests.crash_rematch CONFIG WHEN BATCH NOW [normal], where WHEN is after-batch-2
(between two batches) or inside-batch-3 (in that batch's transaction, its writes made, before
the commit). Used by the tests that prove a killed pass loses at most the batch it was in.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime

from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.config import load_config
from sociaalwerk_publisher.coverage import engine, pickups


def main() -> None:
    config_path, when, batch, now = sys.argv[1:5]
    rematch = sys.argv[5:] != ["normal"]
    config = load_config(config_path)
    engine.BATCH = int(batch)
    batches = 0
    real_batch, real_link = engine._Pass.batch, pickups.link_prepared

    def batch_then_maybe_die(self, store, items, examined):  # type: ignore[no-untyped-def]
        nonlocal batches
        batches += 1
        real_batch(self, store, items, examined)
        if when == "after-batch-2" and batches == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    def link_or_die(store, mention_ids, prepared, threshold, *rest):  # type: ignore[no-untyped-def]
        if when == "inside-batch-3" and batches == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_link(store, mention_ids, prepared, threshold, *rest)

    engine._Pass.batch = batch_then_maybe_die  # type: ignore[method-assign]
    pickups.link_prepared = link_or_die
    storage = open_storage(config.database.url)
    engine.match_mentions(storage, config, rematch=rematch, now=datetime.fromisoformat(now))
    sys.exit("the rematch was not killed")


if __name__ == "__main__":
    main()
