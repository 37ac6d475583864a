"""Claims on shared work, on SQLite and PostgreSQL: taken once, passed by, expired and taken over."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, select, text, update

from sociaalwerk_publisher import Publisher, SourceKind, StoryFilter
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher._storage._schema import outbox, sources, syndications
from sociaalwerk_publisher.config import DestinationConfig
from sociaalwerk_publisher.fetching import Fetcher
from sociaalwerk_publisher.mail import Outbox, build_message
from sociaalwerk_publisher.types import StoryStatus, SyndicationState

from .conftest import PostgresServer, make_config
from .fakes import RecordingAdapter
from .smtp import SmtpServer
from .stories import seed

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
OTHER_HOST = "elders.example:4242:0badc0de"  # a worker on another host: its liveness is unknown here


def now() -> datetime:
    return datetime.now(timezone.utc)


def feed(n: int) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title><item><guid>{n}</guid>'
            f"<title>Verhaal {n}</title><link>https://welzijn.example.nl/{n}</link>"
            f"<description>tekst</description></item></channel></rss>").encode()


def requests_for(httpserver: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == path)


def set_source_claim(publisher: Publisher, source_id: int, worker: str | None, expires: datetime | None) -> None:
    with publisher._storage.begin() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id)
                     .values(claimed_by=worker, claim_expires_at=expires))


def claim_of(publisher: Publisher, source_id: int) -> tuple[str | None, datetime | None]:
    with publisher._storage.connect() as conn:
        row = conn.execute(select(sources.c.claimed_by, sources.c.claim_expires_at)
                           .where(sources.c.id == source_id)).one()
    return row.claimed_by, row.claim_expires_at


# -- sources ---------------------------------------------------------------------------

def test_a_source_another_worker_is_polling_is_left_alone_until_its_claim_expires(
        publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(1), headers=RSS)
    source = publisher.add_source(httpserver.url_for("/feed"), discover=False)
    set_source_claim(publisher, source.id, OTHER_HOST, now() + timedelta(minutes=10))
    assert list(publisher.fetch_sources(due_only=True)) == []
    assert list(publisher.fetch_sources([source.id])) == []  # asked for by id: still not twice at once
    assert requests_for(httpserver, "/feed") == 0
    set_source_claim(publisher, source.id, OTHER_HOST, now() - timedelta(seconds=1))  # its worker was killed
    (result,) = list(publisher.fetch_sources(due_only=True))
    assert result.ok and result.new == 1 and requests_for(httpserver, "/feed") == 1
    assert claim_of(publisher, source.id) == (None, None)  # recording the poll released the claim


def test_a_source_polled_by_another_worker_since_it_was_listed_is_not_polled_again(
        publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(1), headers=RSS)
    source = publisher.add_source(httpserver.url_for("/feed"), discover=False)
    listed = publisher._storage.sources.list(due_before=now())  # what a second worker read a moment ago
    assert len(list(publisher.fetch_sources(due_only=True))) == 1  # meanwhile the first one polled it
    late = Fetcher(publisher._storage, publisher._retrievers, publisher.config.fetch)
    assert list(late.fetch(listed)) == []
    assert requests_for(httpserver, "/feed") == 1
    assert claim_of(publisher, source.id) == (None, None)  # and the late worker left no claim on it


def test_workers_claiming_at_the_same_moment_share_the_sources_without_overlap(publisher: Publisher) -> None:
    for n in range(40):
        publisher.add_source(f"https://bron{n}.example.nl/feed", discover=False)
    wanted = {s.id: s.next_poll_at for s in publisher.list_sources()}
    taken: dict[str, set[int]] = {}
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        start.wait()
        mine: set[int] = set()
        for i in range(0, 40, 8):  # in batches, as the fetcher claims them
            batch = dict(list(wanted.items())[i:i + 8])
            mine |= set(publisher._storage.sources.claim(batch, name, now(), now() + timedelta(minutes=10)))
        taken[name] = mine

    threads = [threading.Thread(target=worker, args=(f"host:{n}:w",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [source_id for mine in taken.values() for source_id in mine]
    assert sorted(claimed) == sorted(wanted)  # every source exactly once


def test_a_fetch_stopped_halfway_hands_back_the_sources_it_did_not_get_to(
        tmp_path: Path, database_url: str, httpserver: HTTPServer) -> None:
    with Publisher(make_config(tmp_path, database_url, concurrency=1), open_storage(database_url)) as publisher:
        for n in range(6):
            httpserver.expect_request(f"/feed{n}").respond_with_data(feed(n), headers=RSS)
            publisher.add_source(httpserver.url_for(f"/feed{n}"), discover=False)
        results = publisher.fetch_sources(due_only=True)
        next(results)
        results.close()  # type: ignore[attr-defined]  # the daemon's stop: abandon the rest
        claims = [claim_of(publisher, s.id) for s in publisher.list_sources()]
        assert claims == [(None, None)] * 6
        assert len(list(publisher.fetch_sources(due_only=True))) == 5  # the rest is polled next time


# -- syndications and the outbox ---------------------------------------------------------

def test_a_syndication_claimed_by_a_killed_worker_elsewhere_is_taken_over_once_it_expires(
        tmp_path: Path, database_url: str) -> None:
    site = RecordingAdapter("landelijk")
    config = replace(make_config(tmp_path, database_url),
                     destinations=(DestinationConfig(name="landelijk", adapter="wxr", path="x.xml"),))
    with Publisher(config, open_storage(database_url), adapter_for=lambda d: site) as publisher:
        seed(publisher, tmp_path, [{"guid": "1", "title": "Een", "html": "<p>x</p>"}])
        (story,) = publisher.list_stories()
        publisher.approve_story(story.id)
        with publisher._storage.begin() as conn:  # what a worker killed mid-publication leaves behind
            conn.execute(syndications.insert().values(
                story_id=story.id, destination="landelijk", state="pending", attempts=1, created_at=now(),
                updated_at=now(), claimed_by=OTHER_HOST, claim_expires_at=now() + timedelta(minutes=10)))
        (skipped,) = list(publisher.syndicate())
        assert not skipped.ok and "taken by another run" in (skipped.error or "") and site.calls == []
        with publisher._storage.begin() as conn:
            conn.execute(update(syndications).values(claim_expires_at=now() - timedelta(seconds=1)))
        (taken,) = list(publisher.syndicate())
        assert taken.ok and len(site.posts) == 1
        assert [s.state for s in publisher.syndications(story.id)] == [SyndicationState.PUBLISHED]
        assert list(publisher.syndicate()) == []


def test_a_message_claimed_by_a_killed_worker_elsewhere_is_sent_once_its_claim_expires(
        tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    from sociaalwerk_publisher.config import EmailConfig

    email = EmailConfig(host="127.0.0.1", port=smtp.port, security="none", sender="publisher@sociaalwerk.example",
                        recipients=("communicatie@sociaalwerk.example",))
    with Publisher(replace(make_config(tmp_path, database_url), email=email), open_storage(database_url)) as publisher:
        Outbox(publisher._storage).add("report:x", "report", build_message(
            key="report:x", sender=email.sender, recipients=list(email.recipients), subject="Rapport",
            text="Tekst"), email.recipients, now())
        with publisher._storage.begin() as conn:
            conn.execute(update(outbox).values(claimed_by=OTHER_HOST, claim_expires_at=now() + timedelta(minutes=10)))
        assert publisher.deliver_outbox() == [] and smtp.received == []
        with publisher._storage.begin() as conn:
            conn.execute(update(outbox).values(claim_expires_at=now() - timedelta(seconds=1)))
        (delivery,) = publisher.deliver_outbox()
        assert delivery.ok and len(smtp.received) == 1
        assert publisher.deliver_outbox() == [] and len(smtp.received) == 1


# -- PostgreSQL: SKIP LOCKED ---------------------------------------------------------------

def test_on_postgresql_a_row_another_worker_is_claiming_is_passed_by_not_waited_for(
        tmp_path: Path, postgres: PostgresServer) -> None:
    # (SQLite has one writer at a time: there is no row lock to pass by)
    database_url = postgres.new_schema()
    site = RecordingAdapter("landelijk")
    config = replace(make_config(tmp_path, database_url),
                     destinations=(DestinationConfig(name="landelijk", adapter="wxr", path="x.xml"),))
    with Publisher(config, open_storage(database_url), adapter_for=lambda d: site) as publisher:
        seed(publisher, tmp_path, [{"guid": "1", "title": "Een", "html": "<p>x</p>"}], kind=SourceKind.BLOG)
        (story,) = publisher.list_stories()
        publisher.approve_story(story.id)
        (source,) = publisher.list_sources()
        store = publisher._storage
        store.syndications.claim(story.id, "landelijk", "w:1:a", now(), now(), (SyndicationState.PENDING,),
                                 StoryStatus.APPROVED)  # creates the record
        other = create_engine(database_url)
        try:
            with other.connect() as conn:  # another worker, in the middle of its claim transaction
                conn.execute(text("SELECT id FROM sources FOR UPDATE"))
                conn.execute(text("SELECT id FROM syndications FOR UPDATE"))
                started = time.monotonic()
                assert store.sources.claim({source.id: source.next_poll_at}, "w:2:b", now(),
                                           now() + timedelta(minutes=10)) == {}
                assert store.syndications.claim(story.id, "landelijk", "w:2:b", now(),
                                                now() + timedelta(minutes=10),
                                                (SyndicationState.PENDING,), StoryStatus.APPROVED) is None
                assert time.monotonic() - started < 2
                conn.rollback()
        finally:
            other.dispose()
        assert set(store.sources.claim({source.id: source.next_poll_at}, "w:2:b", now(), now())) == {source.id}


# -- writes several hosts make at the same moment ---------------------------------------------

def test_hosts_matching_the_same_new_items_at_once_both_succeed(tmp_path: Path, database_url: str) -> None:
    from sociaalwerk_publisher.config import CoverageConfig

    config = replace(make_config(tmp_path, database_url),
                     coverage=CoverageConfig(organisations={"Travers Welzijn": ("Travers",)}))
    hosts = [Publisher(config, open_storage(database_url)) for _ in range(2)]
    try:
        seed(hosts[0], tmp_path, [
            {"guid": str(i), "title": f"Travers Welzijn in Zwolle {i}", "link": f"https://www.destentor.nl/{i}",
             "html": f"<p>Travers Welzijn helpt in Zwolle, bericht {i}.</p>"} for i in range(20)
        ], kind=SourceKind.MEDIA, title="De Stentor")
        for _ in range(3):
            start = threading.Barrier(2)
            errors: list[BaseException] = []

            def match(host: Publisher, start: threading.Barrier = start,
                      errors: list[BaseException] = errors) -> None:
                start.wait()
                try:
                    host.match_coverage(rematch=True)
                except BaseException as e:  # noqa: BLE001 - reported by the assertion below
                    errors.append(e)

            threads = [threading.Thread(target=match, args=(host,)) for host in hosts]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            assert len(hosts[0].list_mentions(limit=0)) == 20
    finally:
        for host in hosts:
            host.close()


def test_hosts_importing_the_same_opml_file_at_once_add_each_source_once(publisher: Publisher) -> None:
    values = {"url": "https://a.example.nl/feed", "kind": "blog", "created_at": now(), "active": True}
    added = [publisher._storage.sources.add_missing(values) for _ in range(2)]
    assert added[0] is not None and added[0].url == values["url"] and added[1] is None
    assert len(publisher.list_sources()) == 1


def test_hosts_storing_the_same_articles_from_different_feeds_at_once_store_each_once(
        tmp_path: Path, database_url: str, httpserver: HTTPServer) -> None:
    # two alert feeds carrying the same articles, in opposite orders: on PostgreSQL each
    # transaction would wait for the other's first insert, in a circle, without ordered locks
    articles = [(f"a{i}", f"https://www.destentor.nl/artikel/{i}") for i in range(150)]

    def alert_feed(items: list[tuple[str, str]]) -> bytes:
        body = "".join(f"<item><guid>{guid}</guid><title>Artikel {guid}</title><link>{link}</link>"
                       f"<description>tekst</description></item>" for guid, link in items)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Alert</title>{body}</channel></rss>'.encode()

    httpserver.expect_request("/een").respond_with_data(alert_feed(articles), headers=RSS)
    httpserver.expect_request("/twee").respond_with_data(alert_feed(articles[::-1]), headers=RSS)
    hosts = [Publisher(make_config(tmp_path, database_url), open_storage(database_url)) for _ in range(2)]
    try:
        ids = [hosts[0].add_source(httpserver.url_for(path), SourceKind.ALERT, discover=False).id
               for path in ("/een", "/twee")]
        start = threading.Barrier(2)
        results: list[Any] = []

        def fetch(host: Publisher, source_id: int) -> None:
            start.wait()
            results.extend(host.fetch_sources([source_id]))

        threads = [threading.Thread(target=fetch, args=pair) for pair in zip(hosts, ids)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.ok for r in results) == [True, True], [r.error for r in results]
        assert sum(r.new for r in results) == 150
        stories = hosts[0].list_stories(StoryFilter(limit=0))
        assert len(stories) == 150 and {s.sightings for s in stories} == {2}
    finally:
        for host in hosts:
            host.close()
