"""Running unattended: the lock, cron output, status, doctor, retention, erasure, secrets."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from sociaalwerk_publisher import Publisher, SourceKind, StoryFilter, make_publisher
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.cli import cli
from sociaalwerk_publisher.config import DestinationConfig, load_config
from sociaalwerk_publisher.exceptions import StoryNotFoundError
from sociaalwerk_publisher.locking import RunLock

from .conftest import make_config
from .fakes import RecordingAdapter
from .stories import refetch, seed

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def test_a_second_run_exits_75_at_once_and_does_nothing(demo: Path) -> None:
    config = load_config(demo)
    with RunLock(config.lock_path):
        result = CliRunner().invoke(cli, ["--config", str(demo), "run"])
    assert result.exit_code == 75
    assert result.output.strip().startswith("error: another run is in progress (pid ")
    assert not (demo.parent / "uitvoer").exists()


def test_a_quiet_run_that_finds_another_run_busy_prints_nothing_for_cron(demo: Path) -> None:
    config = load_config(demo)
    with RunLock(config.lock_path):
        result = CliRunner().invoke(cli, ["--config", str(demo), "run", "--quiet"])
    assert (result.exit_code, result.output) == (75, "")


def test_run_says_where_it_wrote_the_report_files(demo: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(demo), "run"])
    (html,) = (demo.parent / "uitvoer").glob("persaandacht-month-*.html")
    assert f"wrote the report {html} and {html.with_suffix('.csv')}\n" in result.output


def test_a_dry_run_says_what_it_would_do_and_a_file_destination_has_no_credentials(demo: Path) -> None:
    demo.write_text(demo.read_text(encoding="utf-8").replace("auto_approve_trusted = true",
                                                             "auto_approve_trusted = false"), encoding="utf-8")
    CliRunner().invoke(cli, ["--config", str(demo), "run", "--quiet"])
    blogs = json.loads(CliRunner().invoke(cli, ["--config", str(demo), "stories", "list", "--kind", "blog",
                                                "--json"]).output)
    CliRunner().invoke(cli, ["--config", str(demo), "stories", "approve", *(str(s["id"]) for s in blogs[:2])])
    result = CliRunner().invoke(cli, ["--config", str(demo), "syndicate", "--dry-run"])
    assert result.output.splitlines()[-1] == "syndication: would publish 2"
    check = CliRunner().invoke(cli, ["--config", str(demo), "destinations", "check"])
    assert check.output.splitlines()[0] == "ok       demo"
    doctor = CliRunner().invoke(cli, ["--config", str(demo), "doctor"])
    assert "ok   destination demo: the file can be written\n" in doctor.output
    assert "user" not in check.output + doctor.output and "credentials" not in check.output + doctor.output


def test_run_logs_json_lines_to_a_file(demo: Path, tmp_path: Path) -> None:
    log_file = tmp_path / "run.log"
    result = CliRunner().invoke(cli, ["--config", str(demo), "--log-file", str(log_file), "--log-format", "json",
                                      "-v", "run", "--quiet"])
    assert result.exit_code == 0 and result.output == ""
    entries = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)


def test_status_shows_the_last_run_and_the_database(demo: Path) -> None:
    CliRunner().invoke(cli, ["--config", str(demo), "run", "--quiet"])
    status = json.loads(CliRunner().invoke(cli, ["--config", str(demo), "status", "--json"]).output)
    assert status["last_run"]["ok"] is True and "fetched 4 sources" in status["last_run"]["summary"]
    assert status["schema_version"] >= 1 and status["database_bytes"] > 0
    assert status["destinations"][0]["states"] == {"published": 3}


def test_secrets_never_appear_in_output_logs_status_or_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "geheim-app-wachtwoord-123"
    monkeypatch.setenv("SWP_TEST_SECRET", secret)
    config = tmp_path / "sociaalwerk-publisher.toml"
    config.write_text("""
[[destinations]]
name = "landelijk"
adapter = "wordpress-rest"
url = "http://127.0.0.1:9"
username = "syndicatie"
password_env = "SWP_TEST_SECRET"
timeout = 3
""", encoding="utf-8")
    config.chmod(0o600)
    log_file = tmp_path / "log.txt"
    with make_publisher(config) as publisher:
        seed(publisher, tmp_path, [{"guid": "1", "title": "Een", "html": "<p>x</p>"}])
        publisher.approve_story(*(s.id for s in publisher.list_stories()))
    outputs = []
    for command in (["syndicate"], ["status", "--json"], ["doctor"], ["destinations", "check"], ["run"]):
        result = CliRunner().invoke(cli, ["--config", str(config), "--log-file", str(log_file), "-vv", *command])
        outputs.append(result.output)
    assert "FIX  destination landelijk" in outputs[2]
    everything = "\n".join(outputs) + log_file.read_text(encoding="utf-8")
    assert secret not in everything


def test_a_config_naming_secrets_that_others_can_read_is_warned_about(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[email]\nhost = "smtp.example.nl"\nsender = "a@b.nl"\nrecipients = ["c@d.nl"]\n'
                      'username_env = "U"\npassword_env = "P"\n', encoding="utf-8")
    config.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        load_config(config)
    assert "chmod 600" in caplog.text
    caplog.clear()
    config.chmod(0o600)
    load_config(config)
    assert "chmod 600" not in caplog.text


def test_doctor_says_what_to_fix(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[destinations]]\nname = "lid"\nadapter = "wordpress-rest"\nurl = "http://127.0.0.1:9"\n'
                      'username = "u"\npassword_env = "SWP_TEST_UNSET_VARIABLE"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "doctor"])
    assert result.exit_code == 1
    assert "FIX  destination lid: destinations[0].password_env: environment variable SWP_TEST_UNSET_VARIABLE is not set" \
        in result.output
    assert "ok   database" in result.output and "ok   lock file" in result.output


def test_doctor_shows_its_whole_checklist_when_the_database_is_broken(demo: Path) -> None:
    (demo.parent / "sociaalwerk-publisher.db").write_bytes(b"kapot" * 1000)
    result = CliRunner().invoke(cli, ["--config", str(demo), "doctor"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"ok   config: loaded {demo}",
        f"FIX  database: cannot open {demo.parent / 'sociaalwerk-publisher.db'}: file is not a database",
        "ok   destination demo: the file can be written",
        "ok   smtp: no mail server configured: reports are not e-mailed",
        f"ok   lock file: {demo.parent / 'sociaalwerk-publisher.db'}.lock is writable",
    ]
    status = CliRunner().invoke(cli, ["--config", str(demo), "status"])
    assert (status.exit_code, status.output) == (
        1, f"error: cannot open {demo.parent / 'sociaalwerk-publisher.db'}: file is not a database\n")


def _publisher_with_fake(tmp_path: Path) -> tuple[Publisher, RecordingAdapter]:
    site = RecordingAdapter("landelijk")
    config = replace(make_config(tmp_path), destinations=(DestinationConfig(name="landelijk", adapter="wxr", path="x"),))
    return Publisher(config, open_storage(config.database_url), adapter_for=lambda d: site), site


def test_forget_deletes_everywhere_and_the_story_never_comes_back(tmp_path: Path) -> None:
    publisher, site = _publisher_with_fake(tmp_path)
    with publisher:
        items = [{"guid": "1", "title": "Mevrouw De Vries vertelt", "html": "<p>persoonlijk</p>"},
                 {"guid": "2", "title": "Ander verhaal", "html": "<p>x</p>"}]
        source = seed(publisher, tmp_path, items)
        ids = {s.title: s.id for s in publisher.list_stories()}
        publisher.approve_story(*ids.values())
        list(publisher.syndicate())
        assert len(site.live()) == 2
        result = publisher.forget(ids["Mevrouw De Vries vertelt"], by="privacy", reason="verzoek cliënt")
        assert [r.ok for r in result.results] == [True] and result.ok
        assert [c.post.title for c in site.posts.values()] == ["Ander verhaal"]  # deleted, not trashed
        with pytest.raises(StoryNotFoundError):
            publisher.get_story(ids["Mevrouw De Vries vertelt"])
        refetch(publisher, source, items + [{"guid": "3", "title": "Nieuw", "html": "<p>y</p>"}])
        assert sorted(s.title for s in publisher.list_stories()) == ["Ander verhaal", "Nieuw"]


def test_forget_by_url_also_blocks_an_item_not_yet_imported(tmp_path: Path) -> None:
    publisher, _ = _publisher_with_fake(tmp_path)
    with publisher:
        url = "https://welzijn.example.nl/verhaal/later?utm_source=x"
        result = publisher.forget(url)
        assert (result.url, result.story_id, result.ok) == ("https://welzijn.example.nl/verhaal/later", None, True)
        seed(publisher, tmp_path, [{"guid": "later", "title": "Later", "html": "<p>x</p>"}])
        assert publisher.list_stories() == []


def test_prune_drops_old_text_but_keeps_the_items(tmp_path: Path) -> None:
    with make_publisher(make_config(tmp_path)) as publisher:
        seed(publisher, tmp_path, [
            {"guid": "oud", "title": "Oud verhaal", "html": "<p>tekst van lang geleden</p>",
             "date": "Mon, 02 Jan 2023 10:00:00 +0100"},
            {"guid": "nieuw", "title": "Nieuw verhaal", "html": "<p>recente tekst</p>",
             "date": "Mon, 23 Nov 2026 10:00:00 +0100"},
        ], kind=SourceKind.MEDIA)
        assert publisher.prune(24) == 1
        stories = {s.title: s for s in publisher.list_stories(StoryFilter(limit=0))}
        assert stories["Oud verhaal"].text == "" and stories["Oud verhaal"].content_html == ""
        assert stories["Nieuw verhaal"].text == "recente tekst"


def test_the_daemon_runs_its_jobs_and_stops_on_sigterm_within_seconds(demo: Path, tmp_path: Path) -> None:
    log_file = tmp_path / "daemon.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "sociaalwerk_publisher", "--config", str(demo), "--log-file", str(log_file),
         "-v", "daemon"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    export = demo.parent / "uitvoer" / "sociaalwerkers.wxr.xml"
    deadline = time.monotonic() + 60
    # the first round runs every job once; the report job (a chart) is the slowest
    while time.monotonic() < deadline and not (export.exists() and "reports+digest+outbox:" in log_file.read_text()
                                               if log_file.exists() else False):
        time.sleep(0.2)
    assert export.exists(), process.stderr.read() if process.poll() is not None else "no export yet"
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert time.monotonic() - started < 5
    assert "daemon stopped" in err


def test_cron_and_daemon_share_the_lock(demo: Path) -> None:
    import threading

    from sociaalwerk_publisher.daemon import build_scheduler

    done: list[str] = []
    with make_publisher(demo) as publisher:
        scheduler = build_scheduler(publisher, threading.Event(), lambda name, result: done.append(name))
        with RunLock(publisher.config.lock_path):  # a cron run is busy
            scheduler.run_all()
        assert done == []  # every job saw the lock and waits for its next slot
        scheduler.run_all()
        assert "fetch+hub+approve" in done and "syndicate" in done


def test_a_daemon_job_shows_in_status_as_the_last_run(demo: Path) -> None:
    import threading

    from sociaalwerk_publisher.daemon import build_scheduler

    with make_publisher(demo) as publisher:
        fetch_job = build_scheduler(publisher, threading.Event()).jobs[0]
        assert publisher.status().last_run is None
        fetch_job.run()
        last_run = publisher.status().last_run
    assert last_run is not None and last_run.ok
    assert last_run.summary.startswith("fetch+hub+approve: fetched 4 sources")


def test_the_crontab_line_runs_every_quarter_hour_as_the_service_user() -> None:
    # the command itself runs in tests/test_docs.py, with every documented command line
    lines = [line for line in (EXAMPLES / "cron" / "sociaalwerk-publisher.crontab").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    schedule_lines = [line for line in lines if "=" not in line.split()[0]]
    (entry,) = schedule_lines
    fields = entry.split()
    minute, hour, day, month, weekday, user, command = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6:]
    assert minute == "*/15" and (hour, day, month, weekday) == ("*", "*", "*", "*") and user == "publisher"
    assert command[0] == "/usr/local/bin/sociaalwerk-publisher"


def test_the_systemd_units_are_valid(tmp_path: Path) -> None:
    installed = shutil.which("sociaalwerk-publisher")
    assert installed, "the console script is installed with the package"
    for name in ("sociaalwerk-publisher.service", "sociaalwerk-publisher.timer"):
        text = (EXAMPLES / "systemd" / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/usr/local/bin/sociaalwerk-publisher", installed), encoding="utf-8")
    analyze = shutil.which("systemd-analyze")
    if analyze:
        done = subprocess.run([analyze, "verify", str(tmp_path / "sociaalwerk-publisher.service"),
                               str(tmp_path / "sociaalwerk-publisher.timer")], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
    else:  # no systemd here: at least every line is a section, a comment or a key=value
        import configparser

        units = {}
        for name in ("sociaalwerk-publisher.service", "sociaalwerk-publisher.timer"):
            units[name] = configparser.ConfigParser(strict=False, interpolation=None)
            units[name].read(tmp_path / name)
        assert units["sociaalwerk-publisher.service"].get("Service", "ExecStart").endswith("run --quiet")
        assert units["sociaalwerk-publisher.timer"].get("Timer", "OnCalendar") == "*:0/15"
