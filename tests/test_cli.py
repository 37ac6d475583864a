"""The command line: thin, helpful, and honest exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
import threading
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sociaalwerk_publisher.cli import cli

from .stories import write_feed
from .terminal import Terminal

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


def _leaf_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    return [(path, command) for path, command in all_commands(cli)
            if not isinstance(command, click.Group) and path != ("init",)]


@pytest.mark.parametrize("path, command", _leaf_commands(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_without_a_config_file_every_command_but_init_stops_and_points_to_init(
        path: tuple[str, ...], command: click.Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOCIAALWERK_PUBLISHER_CONFIG", raising=False)
    (tmp_path / "bestand").write_text("", encoding="utf-8")
    args = []
    for p in command.params:
        if p.required:
            args += [*(p.opts[:1] if isinstance(p, click.Option) else []),
                     "bestand" if isinstance(p.type, click.Path) else "1"]
    result = CliRunner().invoke(cli, [*path, *args])
    assert (result.exit_code, result.output) == (2, (
        "error: no config file: looked for --config, $SOCIAALWERK_PUBLISHER_CONFIG and"
        f" {tmp_path / 'sociaalwerk-publisher.toml'}; write one with `sociaalwerk-publisher init`\n"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bestand"]  # no database made


def test_a_config_named_by_the_environment_but_missing_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIAALWERK_PUBLISHER_CONFIG", str(tmp_path / "weg.toml"))
    result = CliRunner().invoke(cli, ["status"])
    assert (result.exit_code, result.output) == (2, (
        f"error: config file not found: {tmp_path / 'weg.toml'} (named by $SOCIAALWERK_PUBLISHER_CONFIG);"
        " write one with `sociaalwerk-publisher init`\n"))


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


def _two_sources(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ok").respond_with_data(
        b'<rss version="2.0"><channel><title>Goed</title><item><guid>1</guid><title>a</title></item></channel></rss>', headers=RSS)
    httpserver.expect_request("/kapot").respond_with_data("", status=500)
    invoke(config, "sources", "add", "--no-discover", httpserver.url_for("/ok"))
    invoke(config, "sources", "add", "--no-discover", httpserver.url_for("/kapot"))


def test_fetch_prints_a_line_per_source_and_a_summary_and_exit_1_on_failure(config: Path, httpserver: HTTPServer) -> None:
    _two_sources(config, httpserver)
    result = invoke(config, "fetch")
    assert result.exit_code == 1
    assert "fetched 2 sources: 1 new, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "FAILED" in result.output and "HTTP 500" in result.output
    listing = invoke(config, "sources", "list")
    assert "failing x1: HTTP 500" in listing.output


def test_fetch_says_how_many_sources_it_skipped_and_until_when(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/druk").respond_with_data("", status=503, headers={"Retry-After": "7200"})
    invoke(config, "sources", "add", "--no-discover", "--title", "Druk", httpserver.url_for("/druk"))
    assert invoke(config, "fetch").exit_code == 1
    until = json.loads(invoke(config, "sources", "list", "--json").output)[0]["next_poll_at"]
    shown = datetime.fromisoformat(until).astimezone().strftime("%Y-%m-%d %H:%M")
    result = invoke(config, "fetch")
    assert result.exit_code == 0 and len(httpserver.log) == 1
    assert f"skipped    1 Druk: backing off until {shown} after HTTP 503" in result.output
    assert result.output.rstrip().endswith(
        f"fetched 0 sources: 0 new, 0 updated, 0 unchanged, 0 failed; 1 skipped (backing off, until {shown})")
    forced = invoke(config, "fetch", "--force")
    assert forced.exit_code == 1 and len(httpserver.log) == 2 and "skipped" not in forced.output
def test_a_failing_source_is_said_once_not_also_as_a_log_warning(config: Path, httpserver: HTTPServer,
                                                                   tmp_path: Path) -> None:
    _two_sources(config, httpserver)
    result = invoke(config, "fetch")
    assert [line for line in result.output.splitlines() if "kapot" in line] == [
        f"FAILED     2 {httpserver.url_for('/kapot')}: HTTP 500 INTERNAL SERVER ERROR"]
    log = tmp_path / "run.log"
    invoke(config, "--log-file", str(log), "fetch", "--source", "2")
    assert "WARNING sociaalwerk_publisher.fetching: " in log.read_text(encoding="utf-8")  # a log file keeps it


def test_fetch_quiet_prints_only_the_failures_and_the_summary(config: Path, httpserver: HTTPServer) -> None:
    _two_sources(config, httpserver)
    result = invoke(config, "fetch", "--quiet")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"FAILED     2 {httpserver.url_for('/kapot')}: HTTP 500 INTERNAL SERVER ERROR",
        "fetched 2 sources: 1 new, 0 updated, 0 unchanged, 1 failed"]


def test_on_a_terminal_the_progress_bar_stays_below_the_lines_and_is_gone_at_the_end(
        config: Path, httpserver: HTTPServer) -> None:
    _two_sources(config, httpserver)
    answer = threading.Event()

    def slow(request: Request) -> Response:
        answer.wait(30)
        return Response(b'<rss version="2.0"><channel><title>Traag</title></channel></rss>', headers=RSS)

    httpserver.expect_request("/traag").respond_with_handler(slow)
    invoke(config, "sources", "add", "--no-discover", httpserver.url_for("/traag"))
    with Terminal("--config", str(config), "fetch", cwd=config.parent) as terminal:
        try:
            during = terminal.wait_for("67%").splitlines()
        finally:
            answer.set()
        assert terminal.finish() == 1
        after = terminal.text().splitlines()
    # while the slow feed is read: the two finished sources, each on a line of its own, then the bar
    assert sorted(during[:2]) == [
        f"FAILED     2 {httpserver.url_for('/kapot')}: HTTP 500 INTERNAL SERVER ERROR",
        f"ok         1 {httpserver.url_for('/ok')}: 1 new, 0 updated"]
    assert during[2].startswith("fetching ") and "67%" in during[2] and len(during) == 3
    assert sorted(after[:3]) == sorted([*during[:2], f"ok         3 {httpserver.url_for('/traag')}: 0 new, 0 updated"])
    assert after[3:] == ["fetched 3 sources: 1 new, 0 updated, 0 unchanged, 1 failed"]


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


def test_run_on_the_bundled_demo_works_offline(demo: Path) -> None:
    config, demo = demo, demo.parent
    first = invoke(config, "run")
    assert first.exit_code == 0, first.output
    assert "fetched 4 sources (5 new, 0 failed); approved 3 automatically; syndicated 3 (0 failed);" \
        " matched 2 items (2 counted); reports " in first.output
    export = (demo / "uitvoer" / "sociaalwerkers.wxr.xml").read_text(encoding="utf-8")
    assert export.count("<wp:post_type><![CDATA[post]]></wp:post_type>") == 3
    assert "Een ochtend bij het buurtloket" in export and "Dit verhaal verscheen eerder op" in export
    report = demo / "uitvoer" / "persaandacht-month-2026-11-01-2026-11-30.html"
    assert "Persaandacht" in report.read_text(encoding="utf-8")
    assert report.with_suffix(".csv").read_bytes().startswith("\ufeffdatum;".encode())
    quiet = invoke(config, "run", "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""


# -- a new user's mistakes and wishes -------------------------------------------------------

def test_a_source_that_is_no_address_is_a_usage_error_and_a_local_path_is_a_file_url(config: Path) -> None:
    wrong = invoke(config, "sources", "add", "not a url")
    assert (wrong.exit_code, wrong.output) == (2, "error: not a feed address: 'not a url': give an http(s)://"
                                                  " or file:// URL, or the path of a feed file\n")
    feed = config.parent / "feed.xml"
    feed.write_bytes(b'<rss version="2.0"><channel><title>Lokaal</title></channel></rss>')
    added = invoke(config, "sources", "add", str(feed))
    assert (added.exit_code, added.output) == (0, f"added source 1: {feed.resolve().as_uri()}\n")


def test_a_relative_path_is_taken_from_the_current_folder(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (config.parent / "feed.xml").write_bytes(b'<rss version="2.0"><channel><title>Lokaal</title></channel></rss>')
    monkeypatch.chdir(config.parent)
    added = invoke(config, "sources", "add", "feed.xml")
    assert added.output == f"added source 1: {(config.parent / 'feed.xml').resolve().as_uri()}\n"


def test_municipalities_are_given_by_name_or_cbs_code_everywhere(demo: Path) -> None:
    invoke(demo, "run", "--quiet")
    by_name = json.loads(invoke(demo, "stories", "list", "--municipality", "zwolle", "--json").output)
    by_code = json.loads(invoke(demo, "stories", "list", "--municipality", "GM0193", "--json").output)
    assert by_name == by_code and {s["municipality"] for s in by_name} == {"GM0193"} and len(by_name) == 2
    assert json.loads(invoke(demo, "coverage", "list", "--municipality", "0193", "--json").output)[0]["municipality"] \
        == "Zwolle"
    wrong = invoke(demo, "stories", "list", "--municipality", "Atlantis")
    assert (wrong.exit_code, wrong.output) == (2, "error: unknown municipality 'Atlantis': give a CBS code such as"
                                                  " GM0363 or a municipality name\n")


@pytest.mark.parametrize("options, titles", [
    ((), ["Gemeente Utrecht investeert in sociaal werk in de wijk",
          "Sociaal werkers Zwolle: meer vragen over geldzorgen"]),
    (("--organisation", "travers welzijn"), ["Sociaal werkers Zwolle: meer vragen over geldzorgen"]),
    (("--municipality", "Utrecht"), ["Gemeente Utrecht investeert in sociaal werk in de wijk"]),
    (("--outlet", "stadskrant.example.nl"), ["Sociaal werkers Zwolle: meer vragen over geldzorgen"]),
    (("--theme", "Armoede en schulden"), ["Sociaal werkers Zwolle: meer vragen over geldzorgen"]),
    (("--since", "2026-11-26"), ["Gemeente Utrecht investeert in sociaal werk in de wijk"]),
    (("--until", "2026-11-25"), ["Sociaal werkers Zwolle: meer vragen over geldzorgen"]),  # the day included
    (("--since", "2026-11-26", "--theme", "jeugd"), []),
])
def test_coverage_list_filters_like_the_other_lists(demo: Path, options: tuple[str, ...], titles: list[str]) -> None:
    invoke(demo, "run", "--quiet")
    listed = json.loads(invoke(demo, "coverage", "list", *options, "--json").output)
    assert [m["title"] for m in listed] == titles


def test_outlets_import_reads_the_dutch_headers_and_names_a_missing_column(config: Path) -> None:
    dutch = config.parent / "media.csv"
    dutch.write_text("Domein;Naam;Soort;Gemeente;Bereik\nstadskrant.example.nl;De Stadskrant;huis-aan-huisblad;"
                     "Zwolle;42000\n", encoding="utf-8")
    assert invoke(config, "outlets", "import", str(dutch)).output == f"imported 1 outlet from {dutch}\n"
    assert invoke(config, "outlets", "list").output.split() == [
        "stadskrant.example.nl", "huis-aan-huisblad", "Zwolle", "De", "Stadskrant"]
    wrong = config.parent / "wrong.csv"
    wrong.write_text("site,naam\nx.nl,X\n", encoding="utf-8")
    result = invoke(config, "outlets", "import", str(wrong))
    assert (result.exit_code, result.output) == (2, (
        f"error: {wrong}: column 'domain' is missing; expected the columns domain (domein), name (naam),"
        " type (soort), municipality (gemeente), province (provincie), reach (bereik)\n"))


def test_press_items_are_listed_as_press_and_a_decision_on_one_is_refused(demo: Path) -> None:
    invoke(demo, "run", "--quiet")
    listing = invoke(demo, "stories", "list").output.splitlines()
    assert sorted((line.split()[3], line.split()[4]) for line in listing) == [
        ("approved", "blog"), ("approved", "blog"), ("approved", "blog"), ("press", "alert"), ("press", "media")]
    (alert,) = json.loads(invoke(demo, "stories", "list", "--kind", "alert", "--json").output)
    refused = invoke(demo, "stories", "approve", str(alert["id"]))
    assert (refused.exit_code, refused.output) == (2, (
        f"error: story {alert['id']} is a press item (alert): it counts as press coverage and is not reviewed,"
        " since no destination publishes alert items (destinations.filter.kinds)\n"))


def test_review_says_what_each_key_did_and_sums_up(config: Path) -> None:
    feed = config.parent / "feed.xml"
    write_feed(feed, [{"guid": str(n), "title": f"Verhaal {n}", "html": f"<p>tekst {n}</p>",
                       "date": f"Mon, {20 + n} Nov 2026 10:00:00 +0100"} for n in (3, 1, 2)])
    invoke(config, "sources", "add", "--no-discover", feed.as_uri())
    invoke(config, "fetch")
    with Terminal("--config", str(config), "review", "--by", "marieke", cwd=config.parent) as terminal:
        terminal.wait_for("[1/3] Verhaal 1")  # the longest waiting first
        terminal.press("x")
        terminal.wait_for("'x' is not a choice: press a, r, s, o or q")
        terminal.press("a")
        terminal.wait_for("story 2 approved")
        terminal.wait_for("[2/3] Verhaal 2")
        terminal.press("r")
        terminal.wait_for("reason:")
        terminal.type_line("te kort")
        terminal.wait_for("story 3 rejected")
        terminal.wait_for("[3/3] Verhaal 3")
        terminal.press("s")
        terminal.wait_for("1 goedgekeurd, 1 afgewezen, 1 overgeslagen; next: syndicate")
        assert terminal.finish() == 0
    statuses = {s["title"]: s["status"] for s in json.loads(invoke(config, "stories", "list", "--json").output)}
    assert statuses == {"Verhaal 1": "approved", "Verhaal 2": "rejected", "Verhaal 3": "new"}


@pytest.mark.parametrize("args, message", [
    (("sources", "add", "https://"), "error: not a feed address: 'https://': give an http(s):// or file:// URL,"
                                     " or the path of a feed file"),
    (("sources", "import", "notities.txt"), "error: notities.txt: not an OPML file"),
    (("outlets", "import", "notities.txt"), "error: notities.txt: column 'domain' is missing; expected the columns"
                                            " domain (domein), name (naam), type (soort), municipality (gemeente),"
                                            " province (provincie), reach (bereik)"),
])
def test_a_wrong_file_or_address_is_one_line_and_exit_2(config: Path, monkeypatch: pytest.MonkeyPatch,
                                                        args: tuple[str, ...], message: str) -> None:
    monkeypatch.chdir(config.parent)
    (config.parent / "notities.txt").write_text("Boodschappen: melk, brood\n", encoding="utf-8")
    result = invoke(config, *args)
    assert (result.exit_code, result.output.splitlines()) == (2, [message])
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
