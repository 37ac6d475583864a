"""Webhooks: every event reaches a real receiver on 127.0.0.1, signed, at least once with the same
id, in order per story; an outage, a redirect or a killed worker loses none.

The receiver checks each request with the verification snippet of the README, as a receiver
written from the docs would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from sociaalwerk_publisher import ConfigError, Publisher, SourceKind, StoryStatus
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.cli import cli
from sociaalwerk_publisher.clock import utcnow
from sociaalwerk_publisher.config import load_config

from .smtp import SmtpServer
from .stories import refetch, seed
from .test_docs import readme_blocks
from .test_syndication import Sites

SECRET = "een-geheim-voor-de-test"
SECRET_ENV = "SWP_TEST_WEBHOOK_SECRET"
REPO = Path(__file__).resolve().parent.parent


def _readme_verify() -> Callable[..., bool]:
    """The README's ``verify`` function, run as written."""
    (snippet,) = [content for _, _, content in readme_blocks("python") if "def verify" in content]
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["verify"]  # type: ignore[no-any-return]


verify = _readme_verify()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    genuine: bool  #: the signature and timestamp check out

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def type(self) -> str:
        return str(self.body["type"])


class Receiver:
    """A webhook receiver: keeps every request, answers ``answers`` in turn (then 200)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[int] = []
        #: called with each request before it is answered
        self.on_request: Callable[[Received], None] = lambda r: None
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received = Received(self.path, dict(self.headers.items()), json.loads(body),
                                    verify(SECRET, self.headers, body))
                receiver.received.append(received)
                receiver.on_request(received)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elders")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def ids(self, kind: str | None = None) -> list[str]:
        return [r.id for r in self.received if kind is None or r.type == kind]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def write_config(path: Path, database_url: str, url: str, smtp: SmtpServer | None,
                 events: str = "") -> Path:
    mail = f"""
[email]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
sender = "Sociaal Werk Nederland <publisher@sociaalwerk.example>"
recipients = ["communicatie@sociaalwerk.example"]
""" if smtp else ""
    hook = f"""
[[webhooks]]
name = "ontvanger"
url = "{url}"
secret_env = "{SECRET_ENV}"
{events if "timeout" in events else events + chr(10) + "timeout = 5"}
""" if url else ""
    path.write_text(f"""
[database]
url = "{database_url}"

[fetch]
parse_processes = 1
{mail}
[[destinations]]
name = "landelijk"
adapter = "wxr"
path = "landelijk.xml"
{hook}""", encoding="utf-8")
    path.chmod(0o600)  # it names a secret variable
    return path


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


def make(config: Path, sites: Sites | None = None) -> Publisher:
    loaded = load_config(config)
    return Publisher(loaded, open_storage(loaded.database_url), adapter_for=sites or Sites())


BLOG = [{"guid": "a", "title": "Buurtwerk in Zwolle", "html": "<p>Het buurtwerk helpt.</p>"},
        {"guid": "b", "title": "Jongerenwerk in Kampen", "html": "<p>Jongeren praten mee.</p>"}]
PRESS = [{"guid": "p1", "title": "Sociaal werk in de krant", "link": "https://www.destentor.nl/zwolle/sociaal",
          "html": "<p>Het sociaal werk in Zwolle krijgt er een plek bij.</p>"}]


def test_each_event_type_is_delivered_with_a_valid_signature(tmp_path: Path, database_url: str,
                                                            receiver: Receiver, smtp: SmtpServer) -> None:
    sites = Sites()
    with make(write_config(tmp_path / "c.toml", database_url, receiver.url, smtp), sites) as publisher:
        blog = seed(publisher, tmp_path, BLOG[:1])
        (story,) = publisher.list_stories()
        publisher.approve_story(story.id, by="marieke")
        assert [r.ok for r in publisher.syndicate()] == [True]
        refetch(publisher, blog, [{**BLOG[0], "html": "<p>Het buurtwerk helpt nog meer.</p>"}])
        assert [r.action.value for r in publisher.syndicate()] == ["update"]
        publisher.retract_story(story.id, by="marieke", note="op verzoek")
        seed(publisher, tmp_path, PRESS, kind=SourceKind.MEDIA, title="De Stentor")
        assert publisher.match_coverage().counted == 1
        assert [d.ok for d in publisher.send_report(publisher.report_period("month"))] == [True]
        assert receiver.received == []  # recorded, not sent: delivery is the cycle's last step

        deliveries = publisher.deliver_webhooks()

    assert [d.ok for d in deliveries] == [True] * 6
    assert [r.type for r in receiver.received] == [
        "story.approved", "story.published", "story.updated", "story.retracted", "mention.new", "report.sent"]
    assert all(r.genuine for r in receiver.received)
    assert len(set(receiver.ids())) == 6
    by_type = {r.type: r for r in receiver.received}
    for r in receiver.received:
        assert r.headers["X-SWP-Event"] == r.type and r.headers["X-SWP-Event-Id"] == r.id
        assert set(r.body) == {"id", "type", "created_at", "data"}
    assert by_type["story.approved"].body["data"] | {"decided_at": None} == {
        "story_id": story.id, "title": "Buurtwerk in Zwolle", "url": "https://welzijn.example.nl/verhaal/a",
        "from_status": "new", "decided_by": "marieke", "decided_at": None, "note": None}
    published = by_type["story.published"].body["data"]
    assert published == {"story_id": story.id, "title": "Buurtwerk in Zwolle", "url": story.url,
                         "destination": "landelijk", "remote_id": "1", "remote_url": "https://fake.example/1"}
    assert by_type["story.updated"].body["data"]["remote_url"] == "https://fake.example/1"
    assert by_type["story.retracted"].body["data"]["note"] == "op verzoek"
    mention = by_type["mention.new"].body["data"]
    assert (mention["title"], mention["url"], mention["domain"]) == (
        "Sociaal werk in de krant", "https://www.destentor.nl/zwolle/sociaal", "destentor.nl")
    assert by_type["report.sent"].body["data"]["kind"] == "report"
    assert by_type["report.sent"].body["data"]["message_id"] == smtp.received[0].message["Message-ID"]


def test_a_tampered_body_or_an_old_timestamp_fails_the_readme_check() -> None:
    from sociaalwerk_publisher.webhooks import sign

    body = b'{"id":"x"}'
    now = str(int(utcnow().timestamp()))
    assert verify(SECRET, {"X-SWP-Timestamp": now, "X-SWP-Signature": sign(SECRET, now, body)}, body)
    assert not verify(SECRET, {"X-SWP-Timestamp": now, "X-SWP-Signature": sign(SECRET, now, body)}, body + b" ")
    assert not verify("ander", {"X-SWP-Timestamp": now, "X-SWP-Signature": sign(SECRET, now, body)}, body)
    old = str(int(utcnow().timestamp()) - 3600)
    assert not verify(SECRET, {"X-SWP-Timestamp": old, "X-SWP-Signature": sign(SECRET, old, body)}, body)


def _two_stories_published(publisher: Publisher, tmp_path: Path) -> list[int]:
    seed(publisher, tmp_path, BLOG)
    ids = sorted(s.id for s in publisher.list_stories())
    publisher.approve_story(*ids)
    assert [r.ok for r in publisher.syndicate()] == [True, True]
    return ids


def test_a_receiver_that_is_down_gets_every_event_later_with_the_same_id_in_order_per_story(
        tmp_path: Path, database_url: str, receiver: Receiver) -> None:
    with make(write_config(tmp_path / "c.toml", database_url, receiver.url, None)) as publisher:
        ids = _two_stories_published(publisher, tmp_path)
        receiver.answers = [503]
        (failed,) = publisher.deliver_webhooks()  # the webhook is not tried again in this round
        assert (failed.ok, failed.status, failed.error) == (False, 503, "HTTP 503 Service Unavailable")
        receiver.stop()  # then down altogether
        (refused,) = publisher.deliver_webhooks(force=True)
        assert not refused.ok and "connection refused" in str(refused.error)
        assert refused.event_id == failed.event_id
        assert [(c.pending, c.failed, c.delivered) for c in publisher.webhook_counts()] == [(3, 1, 0)]
        receiver.start()  # back, on the same port

        later = publisher.deliver_webhooks(now=utcnow() + timedelta(hours=1))

        assert [d.ok for d in later] == [True] * 4
        assert publisher.deliver_webhooks(now=utcnow() + timedelta(days=1)) == []
        assert [(c.pending, c.failed, c.delivered) for c in publisher.webhook_counts()] == [(0, 0, 4)]
    genuine = [r for r in receiver.received if r.headers["X-SWP-Event-Id"] == failed.event_id]
    assert len(genuine) == 2 and genuine[0].body == genuine[1].body  # the same event, sent again
    assert all(r.genuine for r in receiver.received)
    delivered = receiver.received[1:]
    assert len({r.id for r in delivered}) == 4
    for story_id in ids:  # in order per story
        assert [r.type for r in delivered if r.body["data"]["story_id"] == story_id] == [
            "story.approved", "story.published"]


def test_a_redirect_is_not_followed(tmp_path: Path, database_url: str, receiver: Receiver) -> None:
    with make(write_config(tmp_path / "c.toml", database_url, receiver.url, None)) as publisher:
        seed(publisher, tmp_path, BLOG[:1])
        publisher.approve_story(publisher.list_stories()[0].id)
        receiver.answers = [302]
        (delivery,) = publisher.deliver_webhooks()
        assert not delivery.ok and delivery.status == 302
        assert "/elders, which is not followed" in str(delivery.error)
        assert [r.path for r in receiver.received] == ["/hooks"]
        assert [(c.pending, c.failed, c.delivered) for c in publisher.webhook_counts()] == [(0, 1, 0)]
        (again,) = publisher.deliver_webhooks(force=True)
        assert again.ok and again.event_id == delivery.event_id


def test_a_worker_killed_between_sending_and_recording_sends_that_event_again_and_loses_none(
        tmp_path: Path, database_url: str, receiver: Receiver) -> None:
    config = write_config(tmp_path / "c.toml", database_url, receiver.url, None)
    with make(config) as publisher:
        _two_stories_published(publisher, tmp_path)
    recorded = _recorded_ids(database_url)
    assert len(recorded) == 4
    worker = subprocess.Popen([sys.executable, "-c", "import sys; from sociaalwerk_publisher import make_publisher;"
                               " make_publisher(sys.argv[1]).deliver_webhooks(); sys.exit('not killed')",
                               str(config)], cwd=REPO, env={**os.environ, SECRET_ENV: SECRET})
    # the receiver has the second event when the worker dies, before the worker hears the answer
    receiver.on_request = lambda r: os.kill(worker.pid, signal.SIGKILL) if len(receiver.received) == 2 else None
    assert worker.wait(timeout=60) == -signal.SIGKILL
    receiver.on_request = lambda r: None
    assert len(receiver.received) == 2

    with make(config) as publisher:
        later = publisher.deliver_webhooks(now=utcnow() + timedelta(minutes=5))
    assert [d.ok for d in later] == [True] * 3  # the killed one again, and the two after it
    assert later[0].event_id == receiver.received[1].id
    assert sorted(set(receiver.ids())) == sorted(recorded)  # none lost
    assert len(receiver.ids()) == 5  # only the one in flight twice
    assert all(r.genuine for r in receiver.received)


def _recorded_ids(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text("SELECT event_id FROM webhook_events ORDER BY id"))]
    finally:
        engine.dispose()


def test_without_webhooks_no_event_is_recorded(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    with make(write_config(tmp_path / "c.toml", database_url, "", smtp)) as publisher:
        ids = _two_stories_published(publisher, tmp_path)
        publisher.retract_story(ids[0])
        seed(publisher, tmp_path, PRESS, kind=SourceKind.MEDIA, title="De Stentor")
        assert publisher.match_coverage().counted == 1
        assert [d.ok for d in publisher.send_report(publisher.report_period("month"))] == [True]
        assert publisher.deliver_webhooks() == [] and publisher.webhook_counts() == []
    assert _recorded_ids(database_url) == []


def test_a_webhook_gets_only_the_events_it_wants_and_a_rematch_announces_no_mention_again(
        tmp_path: Path, database_url: str, receiver: Receiver) -> None:
    config = write_config(tmp_path / "c.toml", database_url, receiver.url, None, 'events = ["mention.new"]')
    with make(config) as publisher:
        _two_stories_published(publisher, tmp_path)
        seed(publisher, tmp_path, PRESS, kind=SourceKind.MEDIA, title="De Stentor")
        assert publisher.match_coverage().counted == 1
        publisher.match_coverage(rematch=True)
        assert [d.type for d in publisher.deliver_webhooks()] == ["mention.new"]
    assert len(_recorded_ids(database_url)) == 1


def test_a_missing_secret_is_one_config_error_naming_the_key(tmp_path: Path, database_url: str,
                                                              receiver: Receiver,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV)
    with make(write_config(tmp_path / "c.toml", database_url, receiver.url, None)) as publisher:
        seed(publisher, tmp_path, BLOG[:1])
        publisher.approve_story(publisher.list_stories()[0].id)
        with pytest.raises(ConfigError, match=rf"webhooks\[0\]\.secret_env.*{SECRET_ENV} is not set"):
            publisher.deliver_webhooks()
        result = publisher.run_cycle(["webhooks"])
    assert result.errors == [f"webhooks: webhooks[0].secret_env: environment variable {SECRET_ENV} is not set"]
    assert receiver.received == []


@pytest.mark.parametrize("setting, message", [
    ('events = ["story.deleted"]', r"webhooks\[0\]\.events: unknown event 'story.deleted'"),
    ("timeout = 0", r"webhooks\[0\]\.timeout: must be more than 0"),
])
def test_an_invalid_webhook_setting_names_the_key(tmp_path: Path, setting: str, message: str) -> None:
    config = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9/x", None,
                          setting)
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_an_address_that_is_not_http_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 's.db'}", "ftp://127.0.0.1/x", None)
    with pytest.raises(ConfigError, match=r"webhooks\[0\]\.url: must be an http\(s\) address"):
        load_config(config)


def test_the_cycle_delivers_webhooks_last_and_the_cli_lists_and_delivers(
        tmp_path: Path, database_url: str, receiver: Receiver) -> None:
    config = write_config(tmp_path / "c.toml", database_url, receiver.url, None)
    with make(config) as publisher:
        seed(publisher, tmp_path, BLOG[:1])
        story_id = publisher.list_stories()[0].id
        publisher.approve_story(story_id)
        result = publisher.run_cycle(["approve", "webhooks"])
        assert [d.type for d in result.webhooks] == ["story.approved"] and result.ok
        assert "webhook events 1 delivered (0 failed)" in result.summary()
        assert publisher.get_story(story_id).status is StoryStatus.APPROVED
        publisher.retract_story(story_id)
    runner = CliRunner()
    listed = runner.invoke(cli, ["--config", str(config), "webhooks", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == [{"webhook": "ontvanger", "pending": 1, "failed": 0, "delivered": 1}]
    receiver.answers = [500]
    failed = runner.invoke(cli, ["--config", str(config), "webhooks", "deliver"])
    assert failed.exit_code == 1 and "NOT DELIVERED story.retracted" in failed.output
    delivered = runner.invoke(cli, ["--config", str(config), "webhooks", "deliver", "--retry"])
    assert delivered.exit_code == 0 and "delivered story.retracted" in delivered.output
    assert runner.invoke(cli, ["--config", str(config), "webhooks", "list"]).output == \
        "ontvanger: 0 pending, 0 failed, 2 delivered\n"


def test_doctor_says_whether_each_webhook_s_secret_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9/hooks", None)
    with make(config) as publisher:
        (ready,) = [f for f in publisher.doctor() if f.check == "webhook ontvanger"]
        monkeypatch.delenv(SECRET_ENV)
        (missing,) = [f for f in publisher.doctor() if f.check == "webhook ontvanger"]
    assert ready.ok and ready.message == f"events are signed with ${SECRET_ENV} and sent to http://127.0.0.1:9/hooks"
    assert not missing.ok and f"{SECRET_ENV} is not set" in missing.message


def test_two_workers_delivering_at_once_send_each_event_once_in_order_per_story(
        tmp_path: Path, database_url: str, receiver: Receiver) -> None:
    config = write_config(tmp_path / "c.toml", database_url, receiver.url, None)
    with make(config) as publisher:
        seed(publisher, tmp_path, [{"guid": str(i), "title": f"Verhaal {i}", "html": "<p>x</p>"} for i in range(6)])
        ids = sorted(s.id for s in publisher.list_stories())
        publisher.approve_story(*ids)
        assert all(r.ok for r in publisher.syndicate())
        for story_id in ids[:3]:
            publisher.retract_story(story_id)
    workers = [make(config), make(config)]
    start = threading.Barrier(2)
    done: list[list[Any]] = []

    def deliver(worker: Publisher) -> None:
        start.wait()
        done.append(worker.deliver_webhooks())

    threads = [threading.Thread(target=deliver, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for worker in workers:
        worker.close()
    assert sorted(d.event_id for results in done for d in results) == sorted(receiver.ids())
    assert len(receiver.ids()) == len(set(receiver.ids())) == 6 * 2 + 3
    for story_id in ids:
        expected = ["story.approved", "story.published"] + (["story.retracted"] if story_id in ids[:3] else [])
        assert [r.type for r in receiver.received if r.body["data"]["story_id"] == story_id] == expected
