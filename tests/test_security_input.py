"""Out-of-range input from the command line and the library: one clear line and exit code 2,
never a traceback, and nothing in the store changes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sociaalwerk_publisher import (
    Publisher,
    SourceNotFoundError,
    SourceUpdate,
    StoryFilter,
    StoryNotFoundError,
    UsageError,
)
from sociaalwerk_publisher.cli import cli
from sociaalwerk_publisher.coverage.model import Period
from sociaalwerk_publisher.coverage.periods import AMSTERDAM

from .stories import seed

HUGE = "99999999999999999999"  # more than any 64-bit integer
BEYOND_POSTGRESQL = 2**31  # one more than PostgreSQL's `integer` holds

HOSTILE_COMMAND_LINES = [
    ["stories", "approve", HUGE],
    ["stories", "approve", "1", HUGE],
    ["stories", "reject", HUGE, "--reason", "nee"],
    ["stories", "retract", HUGE],
    ["stories", "history", HUGE],
    ["stories", "show", str(BEYOND_POSTGRESQL)],
    ["stories", "show", "0"],
    ["stories", "list", "--limit", HUGE],
    ["stories", "list", "--source", HUGE],
    ["stories", "list", "--since", "0001-01-01"],
    ["stories", "list", "--since", "2026-02-30"],
    ["coverage", "list", "--since", "9999-12-31"],
    ["coverage", "list", "--limit", HUGE],
    ["forget", HUGE],
    ["forget", "²"],  # a digit to str.isdigit, not to int()
    ["forget", "javascript:alert(1)"],
    ["forget", "http://[::1"],
    ["sources", "update", HUGE, "--title", "x"],
    ["sources", "export", "/nonexistent-folder/bronnen.opml"],
    ["sources", "remove", HUGE],
    ["fetch", "--source", HUGE],
    ["outlets", "set", "krant.example.nl", "--reach", HUGE],
    ["report", "build", "--from", "0001-01-01", "--to", "9999-12-31"],
    ["report", "build", "--from", "0002-01-01", "--to", "0003-01-01"],  # compared with year 1
    ["report", "build", "--from", "9999-12-30", "--to", "9999-12-31"],
    ["prune", "--older-than", "99999999999y"],
    ["prune", "--older-than", "²m"],
    ["sources", "add", "--no-discover", "http://[::1/feed"],
    ["sources", "add", "--no-discover", "https://blog.example.nl:99999/feed"],
    ["sources", "add", "--no-discover", "https://blog.example.nl/feed", "--municipality", "²"],
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text("[fetch]\nparse_processes = 1\n", encoding="utf-8")
    return path


def _stored(config: Path) -> Any:
    return json.loads(CliRunner().invoke(cli, ["--config", str(config), "stories", "list", "--json"]).output)


@pytest.mark.parametrize("args", HOSTILE_COMMAND_LINES, ids=" ".join)
def test_out_of_range_arguments_are_one_line_and_exit_code_2(config: Path, args: list[str]) -> None:
    from sociaalwerk_publisher import make_publisher

    with make_publisher(config) as publisher:
        seed(publisher, config.parent, [{"guid": "1", "title": "Een verhaal dat blijft", "html": "<p>x</p>"}])
    before = _stored(config)
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.strip().splitlines()[-1].lower().startswith("error: ")
    assert _stored(config) == before  # nothing lost, nothing changed


def test_the_installed_command_shows_no_traceback_for_an_id_beyond_every_integer(config: Path) -> None:
    for args in (["stories", "approve", HUGE], ["forget", HUGE],
                 ["report", "build", "--from", "0001-01-01", "--to", "9999-12-31"]):
        done = subprocess.run([sys.executable, "-m", "sociaalwerk_publisher", "--config", str(config), *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


def test_an_outlet_set_without_changes_is_made_once(config: Path) -> None:
    for _ in range(2):
        result = CliRunner().invoke(cli, ["--config", str(config), "outlets", "set", "krant.example.nl"])
        assert (result.exit_code, result.output) == (0, "krant.example.nl: krant.example.nl, unclassified, -\n")


_LIBRARY_CALLS: dict[str, Callable[[Publisher], Any]] = {
    "get_story": lambda p: p.get_story(BEYOND_POSTGRESQL),
    "approve_story": lambda p: p.approve_story(int(HUGE)),
    "reject_story": lambda p: p.reject_story(int(HUGE), reason="nee"),
    "retract_story": lambda p: p.retract_story(int(HUGE)),
    "story_history": lambda p: p.story_history(int(HUGE)),
    "syndications": lambda p: p.syndications(int(HUGE)),
    "get_source": lambda p: p.get_source(BEYOND_POSTGRESQL),
    "update_source": lambda p: p.update_source(int(HUGE), SourceUpdate(title="x")),
    "remove_source": lambda p: p.remove_source(int(HUGE)),
    "fetch_sources": lambda p: list(p.fetch_sources([int(HUGE)])),
    "list_stories limit": lambda p: p.list_stories(StoryFilter(limit=int(HUGE))),
    "list_stories source": lambda p: p.list_stories(StoryFilter(source_id=BEYOND_POSTGRESQL)),
    "list_stories since year 1": lambda p: p.list_stories(StoryFilter(since=datetime(1, 1, 1, tzinfo=AMSTERDAM))),
    "list_stories since without zone": lambda p: p.list_stories(StoryFilter(since=datetime(2026, 1, 1))),
    "list_mentions limit": lambda p: p.list_mentions(limit=int(HUGE)),
    "list_mentions until": lambda p: p.list_mentions(until=datetime(9999, 12, 31, 23, tzinfo=timezone.utc)),
    "set_outlet reach": lambda p: p.set_outlet("krant.example.nl", reach=int(HUGE)),
    "forget id": lambda p: p.forget(int(HUGE)),
    "forget id as text": lambda p: p.forget(HUGE),
    "prune": lambda p: p.prune(int(HUGE)),
    "report_period": lambda p: p.report_period(start=date(1, 1, 1), end=date(9999, 12, 31)),
    "report_period today": lambda p: p.report_period("month", today=date(1, 1, 1)),
    "build_report": lambda p: p.build_report(Period(date(1, 1, 2), date(1, 2, 1), "januari 1")),
}


@pytest.mark.parametrize("name", _LIBRARY_CALLS)
def test_the_library_refuses_out_of_range_ids_counts_and_dates_with_a_usage_error(publisher: Publisher,
                                                                                  name: str) -> None:
    with pytest.raises(UsageError) as raised:
        _LIBRARY_CALLS[name](publisher)
    assert raised.value.exit_code == 2
    assert not isinstance(raised.value, (StoryNotFoundError, SourceNotFoundError))  # refused before the store is asked


def test_the_largest_id_the_store_holds_is_looked_up(publisher: Publisher) -> None:
    with pytest.raises(StoryNotFoundError):  # on PostgreSQL too: 2**31 - 1 fits its `integer`
        publisher.get_story(BEYOND_POSTGRESQL - 1)
    assert publisher.list_stories(StoryFilter(limit=BEYOND_POSTGRESQL - 1)) == []
