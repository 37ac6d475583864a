"""Run one syndication and kill the process (os._exit) at a chosen step.

Usage: python -m tests.crash_syndicate CONFIG STEP, where STEP is one of
before-publish, after-publish, before-find, after-find, after-update (the last three
happen on a retry, after an earlier attempt died). Used by the crash tests
to prove that a new run after a kill at any point leaves exactly one post.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from sociaalwerk_publisher import Publisher
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.adapters.base import Adapter
from sociaalwerk_publisher.config import DestinationConfig, load_config
from sociaalwerk_publisher.syndication import make_adapter

KILLED = 137


class DyingAdapter:
    """Passes every call to the real adapter and dies at ``step``."""

    def __init__(self, real: Adapter, step: str) -> None:
        self._real, self._step, self.name = real, step, real.name

    def _at(self, step: str) -> None:
        if step == self._step:
            os._exit(KILLED)

    def find_existing(self, post: Any) -> Any:
        self._at("before-find")
        found = self._real.find_existing(post)
        self._at("after-find")
        return found

    def publish(self, post: Any) -> Any:
        self._at("before-publish")
        remote = self._real.publish(post)
        self._at("after-publish")
        return remote

    def update(self, remote_id: str, post: Any) -> Any:
        remote = self._real.update(remote_id, post)
        self._at("after-update")
        return remote

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def main() -> None:
    config_path, step = sys.argv[1:3]
    config = load_config(config_path)

    def adapter_for(destination: DestinationConfig) -> Adapter:
        return DyingAdapter(make_adapter(config, destination), step)  # type: ignore[return-value]

    with Publisher(config, open_storage(config.database_url), adapter_for=adapter_for) as publisher:
        for result in publisher.syndicate():
            print(result)


if __name__ == "__main__":
    main()
