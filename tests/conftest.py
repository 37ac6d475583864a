from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher import Publisher, make_publisher
from sociaalwerk_publisher.config import Config, DatabaseConfig, FetchConfig

from .wordpress import WordPressSite, load_sites

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


_sites = None


def _wordpress() -> dict[str, WordPressSite] | str:
    global _sites
    if _sites is None:
        _sites = load_sites()
    return _sites


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Integration tests need the real servers. In CI they must run (the fixture fails
    # loudly); on a developer machine without them they are skipped with a hint.
    if os.environ.get("CI"):
        return
    wanted = [item for item in items if "wp_sites" in getattr(item, "fixturenames", ())]
    if wanted and isinstance(_wordpress(), str):
        marker = pytest.mark.skip(reason=str(_wordpress()))
        for item in wanted:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def wp_sites() -> dict[str, WordPressSite]:
    """The hub and member WordPress sites, emptied of posts."""
    sites = _wordpress()
    if isinstance(sites, str):
        pytest.fail(f"WordPress integration tests cannot run: {sites}")
    for site in sites.values():
        site.delete_all_posts()
    return sites
