"""The command line: thin, helpful, and honest exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher.cli import cli

REPO = Path(__file__).resolve().parent.parent
RSS = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sociaalwerk-publisher.toml"
    path.write_text("[fetch]\nparse_processes = 1\n", encoding="utf-8")
    return path


def invoke(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path, command", list(all_commands(cli)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help, f"{' '.join(path)} has no help text"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_init_writes_a_private_starter_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "nieuw.toml"
    assert CliRunner().invoke(cli, ["init", str(target)]).exit_code == 0
    assert target.stat().st_mode & 0o077 == 0
    again = CliRunner().invoke(cli, ["init", str(target)])
    assert again.exit_code == 2 and "exists already" in again.output


def test_invalid_config_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[fetch]\nconcurrency = 'veel'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(bad), "sources", "list"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: fetch.concurrency: must be an integer, not a string"


def test_the_installed_command_shows_no_traceback_for_user_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[fetch\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sociaalwerk_publisher", "--config", str(bad), "fetch"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_unknown_ids_are_usage_errors(config: Path) -> None:
    result = invoke(config, "stories", "show", "999")
    assert result.exit_code == 2 and "no story with id 999" in result.output
    assert invoke(config, "sources", "remove", "5").exit_code == 2


def test_fetch_prints_a_line_per_source_and_a_summary_and_exit_1_on_failure(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ok").respond_with_data(
        b'<rss version="2.0"><channel><title>Goed</title><item><guid>1</guid><title>a</title></item></channel></rss>', headers=RSS)
    httpserver.expect_request("/kapot").respond_with_data("", status=500)
    invoke(config, "sources", "add", "--no-discover", httpserver.url_for("/ok"))
    invoke(config, "sources", "add", "--no-discover", httpserver.url_for("/kapot"))
    result = invoke(config, "fetch")
    assert result.exit_code == 1
    assert "fetched 2 sources: 1 new, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "FAILED" in result.output and "HTTP 500" in result.output
    listing = invoke(config, "sources", "list")
    assert "failing x1: HTTP 500" in listing.output


def test_list_commands_offer_json_with_ids_and_limits(config: Path, httpserver: HTTPServer) -> None:
    items = "".join(f"<item><guid>{i}</guid><title>Verhaal {i}</title><link>https://x.nl/{i}</link></item>" for i in range(60))
    httpserver.expect_request("/feed").respond_with_data(
        f'<rss version="2.0"><channel><title>Veel</title>{items}</channel></rss>', headers=RSS)
    invoke(config, "sources", "add", "--no-discover", "--organisation", "Welzijn", httpserver.url_for("/feed"))
    assert invoke(config, "fetch").exit_code == 0
    default = json.loads(invoke(config, "stories", "list", "--json").output)
    everything = json.loads(invoke(config, "stories", "list", "--json", "--limit", "0").output)
    assert (len(default), len(everything)) == (50, 60)
    story_id = everything[0]["id"]
    shown = json.loads(invoke(config, "stories", "show", str(story_id), "--json").output)
    assert shown["id"] == story_id and shown["organisation"] == "Welzijn"
    found = json.loads(invoke(config, "stories", "list", "--json", "--search", "verhaal 42").output)
    assert [s["title"] for s in found] == ["Verhaal 42"]
    sources = json.loads(invoke(config, "sources", "list", "--json").output)
    assert sources[0]["id"] == 1 and sources[0]["last_error"] is None


def test_run_on_the_bundled_demo_works_offline(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    # what a run of the README command left in the demo folder is not part of the demo
    shutil.copytree(REPO / "examples" / "demo", demo, ignore=shutil.ignore_patterns("*.db*", "uitvoer"))
    config = demo / "sociaalwerk-publisher.toml"
    first = invoke(config, "run")
    assert first.exit_code == 0, first.output
    assert "fetched 4 sources (5 new, 0 failed); approved 3 automatically; syndicated 3 (0 failed);" \
        " matched 2 items (2 counted); reports " in first.output
    export = (demo / "uitvoer" / "sociaalwerkers.wxr.xml").read_text(encoding="utf-8")
    assert export.count("<wp:post_type><![CDATA[post]]></wp:post_type>") == 3
    assert "Een ochtend bij het buurtloket" in export and "Dit verhaal verscheen eerst op" in export
    report = demo / "uitvoer" / "persaandacht-month-2026-11-01-2026-11-30.html"
    assert "Persaandacht" in report.read_text(encoding="utf-8")
    assert report.with_suffix(".csv").read_bytes().startswith("\ufeffdatum;".encode())
    quiet = invoke(config, "run", "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_the_demo_report_has_mentions_whatever_todays_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from sociaalwerk_publisher import cycle

    monkeypatch.setattr(cycle, "today_in_amsterdam", lambda: date(2029, 5, 3))
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "examples" / "demo", demo, ignore=shutil.ignore_patterns("*.db*", "uitvoer"))
    assert invoke(demo / "sociaalwerk-publisher.toml", "run").exit_code == 0
    november = (demo / "uitvoer" / "persaandacht-month-2026-11-01-2026-11-30.html").read_text(encoding="utf-8")
    assert "november 2026" in november and "Alle vermeldingen (2)" in november.replace("&nbsp;", " ")
    assert (demo / "uitvoer" / "persaandacht-month-2029-04-01-2029-04-30.html").exists()  # last month, empty
