from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher import Publisher, make_publisher
from sociaalwerk_publisher.config import Config, DatabaseConfig, FetchConfig

FIXTURES = Path(__file__).parent / "fixtures"
FEEDS = FIXTURES / "feeds"


def feed_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    # threaded, so a slow response never holds up the other feeds of a test
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def make_config(tmp_path: Path, **fetch: object) -> Config:
    settings = {"backoff_min_minutes": 60, "parse_processes": 1, **fetch}
    return Config(
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'store.db'}"),
        fetch=FetchConfig(**settings),  # type: ignore[arg-type]
    )


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[Publisher]:
    with make_publisher(make_config(tmp_path)) as p:
        yield p
