"""Several worker processes share one store: 4 on PostgreSQL, 2 on SQLite, all at the same moment.

Each worker process fetches the due sources, syndicates the approved stories to two
destinations and sends the month's report, as `run` on another host would. The feeds
(pytest-httpserver), the destinations (a recording HTTP server) and the mail server
(aiosmtpd) live in this test process and count what reaches them, so the proof does
not rest on what the workers say: every feed is requested once, every (story,
destination) is posted once, every message is mailed once, and work a killed worker
left claimed is taken over.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
import traceback
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sociaalwerk_publisher import CheckResult, Publisher, SourceKind, StoryFilter
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher._storage._schema import outbox, sources, syndications
from sociaalwerk_publisher.adapters.base import Post, RemotePost
from sociaalwerk_publisher.config import (
    Config,
    CoverageConfig,
    DatabaseConfig,
    DestinationConfig,
    EmailConfig,
    FetchConfig,
    MemberReportConfig,
    ReportConfig,
)
from sociaalwerk_publisher.exceptions import PublisherError, TransportError
from sociaalwerk_publisher.mail import Outbox, build_message
from sociaalwerk_publisher.composition import marker_for

from .smtp import SmtpServer
from .stories import seed

FEEDS = 24
APPROVED = 10
DESTINATIONS = ("landelijk", "regio")
DEAD = "gestorven.example:999:deadbeef"  # a worker on another host, killed while holding claims
ALIVE = "elders.example:4242:0badc0de"  # a worker on another host, busy right now
SENDER = "publisher@sociaalwerk.example"
RECIPIENTS = ("communicatie@sociaalwerk.example",)
MEMBER = MemberReportConfig("Welzijn Zuid", ("pers@welzijnzuid.example",))  # gets a report of its own


# -- the destinations: one recording HTTP server for every worker ---------------------------

class Destinations(ThreadingHTTPServer):
    """Sites that keep every post and every call, shared by all worker processes."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _DestinationHandler)
        self.lock = threading.Lock()
        self.posts: dict[str, dict[str, Any]] = {}  # remote id -> post
        self.calls: list[tuple[str, str, str]] = []  # (destination, call, marker)
        self._ids = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_call(self, destination: str, call: str, body: dict[str, Any]) -> dict[str, Any]:
        if call == "publish":
            time.sleep(0.03)  # a real site takes a moment: room for a second worker to try
        with self.lock:
            self.calls.append((destination, call, body.get("marker", "")))
            if call == "publish":
                self._ids += 1
                remote_id = f"{destination}-{self._ids}"
                self.posts[remote_id] = {**body, "destination": destination, "status": "publish"}
                return {"id": remote_id}
            if call == "update":
                self.posts[body["id"]].update(title=body["title"], content=body["content"])
                return {"id": body["id"]}
            if call == "find":
                for remote_id, post in self.posts.items():
                    if post["destination"] == destination and post["marker"] == body["marker"]:
                        return {"id": remote_id}
                return {"id": None}
            if call == "retract":
                self.posts[body["id"]]["status"] = "trash"
                return {}
        raise ValueError(call)

    def add_post(self, destination: str, marker: str, title: str) -> None:
        """A post made by a worker that was killed before it could record it."""
        with self.lock:
            self._ids += 1
            self.posts[f"{destination}-{self._ids}"] = {"marker": marker, "title": title, "content": "",
                                                        "destination": destination, "status": "publish"}


class _DestinationHandler(BaseHTTPRequestHandler):
    server: Destinations

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        destination, call = self.path.strip("/").split("/")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = json.dumps(self.server.handle_call(destination, call, body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpDestination:
    """The adapter the workers use: the Adapter protocol over the recording server."""

    needs_image_data = False

    def __init__(self, base: str, name: str) -> None:
        self.name = name
        self._base = f"{base}/{name}"

    def _call(self, call: str, **body: Any) -> dict[str, Any]:
        request = urllib.request.Request(f"{self._base}/{call}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except OSError as e:
            raise TransportError(str(e), self.name) from e

    def publish(self, post: Post) -> RemotePost:
        remote_id = self._call("publish", marker=post.marker, title=post.title, content=post.content_html)["id"]
        return RemotePost(remote_id, None, post.status)

    def update(self, remote_id: str, post: Post) -> RemotePost:
        self._call("update", id=remote_id, marker=post.marker, title=post.title, content=post.content_html)
        return RemotePost(remote_id, None, post.status)

    def retract(self, remote_id: str, *, delete: bool = False) -> None:
        self._call("retract", id=remote_id)

    def find_existing(self, post: Post) -> RemotePost | None:
        remote_id = self._call("find", marker=post.marker)["id"]
        return RemotePost(remote_id, None, "publish") if remote_id else None

    def check(self) -> CheckResult:
        return CheckResult(self.name, "test")

    def close(self) -> None:
        pass


# -- a worker process -------------------------------------------------------------------

def _config(database_url: str, smtp_port: int, folder: str) -> Config:
    return Config(
        path=Path(folder) / "sociaalwerk-publisher.toml",
        database=DatabaseConfig(url=database_url),
        fetch=FetchConfig(concurrency=3, parse_processes=1, poll_interval_minutes=60),
        destinations=tuple(DestinationConfig(name=name, adapter="wxr", path=f"{name}.xml") for name in DESTINATIONS),
        email=EmailConfig(host="127.0.0.1", port=smtp_port, security="none", sender=SENDER, recipients=RECIPIENTS),
        coverage=CoverageConfig(organisations={MEMBER.organisation: ()}),
        report=ReportConfig(members=(MEMBER,)),
    )


def work(database_url: str, smtp_port: int, destinations_url: str, folder: str, start: Any, out: Any) -> None:
    """One worker: fetch the due sources, syndicate, send the report, as `run` does on a host."""
    report: dict[str, Any] = {"fetched": [], "published": [], "errors": []}
    try:
        config = _config(database_url, smtp_port, folder)
        with Publisher(config, open_storage(database_url),
                       adapter_for=lambda d: HttpDestination(destinations_url, d.name)) as publisher:
            period = publisher.report_period("month")
            import matplotlib.figure  # noqa: F401 - loaded now, so the workers race on the work, not on start-up

            start.wait(timeout=60)  # every worker starts its cycle at the same moment
            for fetched in publisher.fetch_sources(due_only=True):
                report["fetched"].append(fetched.source.url)
            for sent in publisher.syndicate():
                if sent.ok:
                    report["published"].append((sent.story_id, sent.destination))
                elif "taken by another run" not in (sent.error or ""):
                    report["errors"].append(f"syndicate: {sent.error}")
            for organisation in (None, MEMBER.organisation):
                try:
                    publisher.queue_report(period, organisation=organisation)
                except PublisherError as e:
                    report["errors"].append(f"report: {e}")
            for delivery in publisher.deliver_outbox():
                if not delivery.ok:
                    report["errors"].append(f"outbox: {delivery.error}")
    except BaseException:  # noqa: BLE001 - handed to the test process
        report["errors"].append(traceback.format_exc())
    out.put(report)


# -- the test ---------------------------------------------------------------------------

def _feed(n: int) -> bytes:
    items = "".join(
        f"<item><guid>{n}-{i}</guid><title>Bericht {n}.{i}</title><link>https://bron{n}.example.nl/{i}</link>"
        f"<description>tekst</description></item>" for i in range(3))
    # the same press release in every feed: workers race to store that one story
    items += ("<item><guid>persbericht</guid><title>Persbericht</title>"
              "<link>https://sociaalwerk.example.nl/persbericht</link><description>x</description></item>")
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog {n}</title>{items}</channel></rss>'.encode()


def _slow_feed(n: int) -> Any:
    def respond(request: Request) -> Response:
        time.sleep(0.05)  # a real server takes a moment: room for another worker to try
        return Response(_feed(n), content_type="application/rss+xml")
    return respond


def test_concurrent_workers_fetch_publish_and_mail_everything_exactly_once(
        database_kind: str, database_url: str, tmp_path: Path, httpserver: HTTPServer) -> None:
    workers = 4 if database_kind == "postgresql" else 2
    now = datetime.now(timezone.utc)
    destinations = Destinations()
    threading.Thread(target=destinations.serve_forever, daemon=True).start()
    smtp = SmtpServer()
    smtp.start()
    try:
        with Publisher(_config(database_url, smtp.port, str(tmp_path)), open_storage(database_url)) as publisher:
            # approved stories waiting for syndication
            seed(publisher, tmp_path, [{"guid": f"v{i}", "title": f"Verhaal {i}", "html": f"<p>Verhaal {i}.</p>"}
                                       for i in range(APPROVED)])
            publisher.approve_story(*(s.id for s in publisher.list_stories()))
            (abandoned_story, *_) = publisher.list_stories()
            # due feeds; one claimed by a killed worker (expired), one by a worker busy elsewhere
            for n in range(FEEDS):
                httpserver.expect_request(f"/feed{n}").respond_with_handler(_slow_feed(n))
                publisher.add_source(httpserver.url_for(f"/feed{n}"), SourceKind.BLOG, discover=False)
            with publisher._storage.begin() as conn:
                conn.execute(sources.update().where(sources.c.url == httpserver.url_for("/feed0"))
                             .values(claimed_by=DEAD, claim_expires_at=now - timedelta(minutes=1)))
                conn.execute(sources.update().where(sources.c.url == httpserver.url_for("/feed1"))
                             .values(claimed_by=ALIVE, claim_expires_at=now + timedelta(minutes=10)))
                # the killed worker had posted this story to "landelijk" but not yet recorded it
                conn.execute(syndications.insert().values(
                    story_id=abandoned_story.id, destination="landelijk", state="pending", attempts=1,
                    created_at=now, updated_at=now, claimed_by=DEAD, claim_expires_at=now - timedelta(minutes=1)))
            destinations.add_post("landelijk", marker_for(abandoned_story, "landelijk"), abandoned_story.title)
            # ... and was sending a message when it died
            Outbox(publisher._storage).add("bericht:verweesd", "report", build_message(
                key="bericht:verweesd", sender=SENDER, recipients=list(RECIPIENTS), subject="Verweesd",
                text="Tekst"), RECIPIENTS, now)
            with publisher._storage.begin() as conn:
                conn.execute(outbox.update().values(claimed_by=DEAD, claim_expires_at=now - timedelta(minutes=1)))
        context = multiprocessing.get_context("spawn")  # no fork of a process running server threads
        start, out = context.Barrier(workers), context.Queue()
        processes = [context.Process(target=work, args=(database_url, smtp.port, destinations.url, str(tmp_path),
                                                        start, out)) for _ in range(workers)]
        for process in processes:
            process.start()
        reports = [out.get(timeout=180) for _ in processes]
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0
    finally:
        smtp.stop()
        destinations.shutdown()
        destinations.server_close()

    # two workers may build the same report at once: the outbox's unique key keeps one, quietly
    assert [e for r in reports for e in r["errors"]] == []

    # nothing fetched twice in one cycle: one request per feed, none for the one busy elsewhere
    requests = Counter(request.path for request, _ in httpserver.log)
    assert requests == Counter({f"/feed{n}": 1 for n in range(FEEDS) if n != 1}), requests
    fetched = [url for r in reports for url in r["fetched"]]
    assert sorted(fetched) == sorted(httpserver.url_for(f"/feed{n}") for n in range(FEEDS) if n != 1)
    with Publisher(_config(database_url, 0, str(tmp_path)), open_storage(database_url)) as publisher:
        titles = Counter(s.title for s in publisher.list_stories(StoryFilter(limit=0)))
        assert titles["Persbericht"] == 1 and len(titles) == APPROVED + (FEEDS - 1) * 3 + 1  # each stored once
        assert all(n == 1 for n in titles.values())
        with publisher._storage.connect() as conn:
            left = conn.execute(sources.select().where(sources.c.claimed_by.is_not(None))).all()
        assert [row.claimed_by for row in left] == [ALIVE]  # every other claim released

    # nothing published twice: one live post per (story, destination), the killed worker's kept
    live = Counter((p["destination"], p["marker"]) for p in destinations.posts.values() if p["status"] == "publish")
    assert len(live) == APPROVED * len(DESTINATIONS) and set(live.values()) == {1}, live
    publishes = Counter((d, m) for d, call, m in destinations.calls if call == "publish")
    assert set(publishes.values()) == {1} and len(publishes) == APPROVED * len(DESTINATIONS) - 1
    assert ("landelijk", "update", marker_for(abandoned_story, "landelijk")) in destinations.calls
    published = [p for r in reports for p in r["published"]]
    assert len(published) == len(set(published)) == APPROVED * len(DESTINATIONS)

    # nothing mailed twice: the month's report once, the member's report once (the outbox's
    # unique key on member and period), the killed worker's message once
    mailed = Counter(received.message["Message-ID"] for received in smtp.received)
    assert len(mailed) == 3 and set(mailed.values()) == {1}, mailed
    assert sorted((r.recipients[0], r.message["Subject"].split(" — ")[0]) for r in smtp.received) == [
        ("communicatie@sociaalwerk.example", "Persaandacht sociaal werk"),
        ("communicatie@sociaalwerk.example", "Verweesd"),
        ("pers@welzijnzuid.example", "Persaandacht Welzijn Zuid")]
