"""Fetching over real HTTP on 127.0.0.1: politeness, limits, status handling, storage."""

from __future__ import annotations

import gzip
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import event
from werkzeug import Request, Response

from sociaalwerk_publisher import FetchOutcome, Publisher, SourceKind, StoryFilter, make_publisher
from sociaalwerk_publisher.exceptions import ErrorKind

from .conftest import feed_bytes, make_config
from .test_postgres_claims import claim_of

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def rss(*items: tuple[str, str, str], title: str = "Welzijn Test") -> bytes:
    """A feed of (guid, title, html) items, each linking to /artikel/<guid>."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{t}</title><link>https://welzijn.example.nl/artikel/{guid}</link>"
        f"<description><![CDATA[{html}]]></description></item>"
        for guid, t, html in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


def only(publisher: Publisher, **kw):
    (result,) = list(publisher.fetch_sources(**kw))
    return result


def add(publisher: Publisher, url: str, kind: SourceKind = SourceKind.BLOG):
    return publisher.add_source(url, kind, discover=False)


def test_new_entries_are_stored_and_counted(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        rss(("1", "Eerste", "<p>een</p>"), ("2", "Tweede", "<p>twee</p>")), headers=RSS)
    source = add(publisher, httpserver.url_for("/feed"))
    result = only(publisher)
    assert (result.outcome, result.new, result.updated, result.unchanged) == (FetchOutcome.OK, 2, 0, 0)
    titles = [s.title for s in publisher.list_stories(StoryFilter(source_id=source.id))]
    assert sorted(titles) == ["Eerste", "Tweede"]
    assert publisher.get_source(source.id).title == "Welzijn Test"  # taken from the feed


def test_requests_name_the_tool_and_a_contact_url(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss(), headers=RSS)
    add(publisher, httpserver.url_for("/feed"))
    only(publisher)
    request, _ = httpserver.log[-1]
    assert request.headers["User-Agent"].startswith("sociaalwerk-publisher/")
    assert "(+https://" in request.headers["User-Agent"]


def test_unchanged_feed_is_not_downloaded_again(publisher: Publisher, httpserver: HTTPServer) -> None:
    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(("1", "Eerste", "x")), headers={**RSS, "ETag": '"v1"',
                        "Last-Modified": "Mon, 23 Nov 2026 10:00:00 GMT"})

    httpserver.expect_request("/feed").respond_with_handler(conditional)
    source = add(publisher, httpserver.url_for("/feed"))
    assert only(publisher).new == 1
    second = only(publisher)
    assert second.outcome is FetchOutcome.NOT_MODIFIED
    request, _ = httpserver.log[-1]
    assert request.headers["If-Modified-Since"] == "Mon, 23 Nov 2026 10:00:00 GMT"
    assert publisher.get_source(source.id).last_success_at is not None


def test_a_quiet_run_over_many_sources_records_every_poll(publisher: Publisher, httpserver: HTTPServer) -> None:
    from sociaalwerk_publisher.fetching import QUIET_BATCH

    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(), headers={**RSS, "ETag": '"v1"'})

    httpserver.expect_request("/feed").respond_with_handler(conditional)
    sources = [add(publisher, httpserver.url_for(f"/feed?n={n}")) for n in range(QUIET_BATCH + 30)]
    list(publisher.fetch_sources())
    before = datetime.now(timezone.utc)
    results = list(publisher.fetch_sources())
    assert {r.outcome for r in results} == {FetchOutcome.NOT_MODIFIED} and len(results) == len(sources)
    for source in publisher.list_sources():
        assert source.last_polled_at >= before and source.next_poll_at > before + timedelta(minutes=20)
        assert source.last_success_at >= before
    assert all(claim_of(publisher, source.id) == (None, None) for source in sources)  # for other workers


def test_a_repoll_of_unchanged_feeds_asks_conditionally_and_writes_only_their_poll_state(
        tmp_path: Path, database_url: str, httpserver: HTTPServer) -> None:
    modified = "Mon, 23 Nov 2026 10:00:00 GMT"

    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        n = request.args["n"]
        return Response(rss((n, f"Bericht {n}", "<p>een</p>")),
                        headers={**RSS, "ETag": '"v1"', "Last-Modified": modified})

    httpserver.expect_request("/feed").respond_with_handler(conditional)
    config = make_config(tmp_path, database_url, concurrency=16)  # claims of 16 x 5 = 80 sources
    with make_publisher(config) as first:
        for n in range(120):
            add(first, httpserver.url_for(f"/feed?n={n}"))
        assert sum(r.new for r in first.fetch_sources()) == 120
        stories = first.list_stories()
    httpserver.clear_log()

    with make_publisher(config) as again:  # the next cron run: a new process, a new publisher
        statements: list[str] = []
        commits: list[object] = []
        event.listen(again._storage.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: statements.append(statement))
        event.listen(again._storage.engine, "commit", commits.append)
        results = list(again.fetch_sources())
        assert [r.outcome for r in results] == [FetchOutcome.NOT_MODIFIED] * 120
        assert again.list_stories() == stories

    assert len(httpserver.log) == 120
    for request, response in httpserver.log:
        assert (request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")) == ('"v1"', modified)
        assert response.status_code == 304
    written = {re.match(r"\s*(?:UPDATE|INSERT INTO|DELETE FROM)\s+(\w+)", s, re.I) for s in statements} - {None}
    assert {m.group(1) for m in written if m} == {"sources"}  # no story, sighting or mention row
    # claims of 80 and then the 40 left, the quiet polls recorded 100 and then 20 at a time
    assert len(commits) == 4


def test_changed_entry_updates_the_story_instead_of_duplicating(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/feed").respond_with_data(rss(("1", "Titel", "<p>oud</p>")), headers=RSS)
    httpserver.expect_ordered_request("/feed").respond_with_data(rss(("1", "Titel", "<p>nieuw</p>")), headers=RSS)
    add(publisher, httpserver.url_for("/feed"))
    only(publisher)
    result = only(publisher)
    assert (result.new, result.updated) == (0, 1)
    (story,) = publisher.list_stories()
    assert story.text == "nieuw"


def test_duplicate_guids_in_one_feed_are_stored_once(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        rss(("1", "Eerste", "a"), ("1", "Kopie", "b")), headers=RSS)
    add(publisher, httpserver.url_for("/feed"))
    assert only(publisher).new == 1
    assert [s.title for s in publisher.list_stories()] == ["Eerste"]


def test_same_article_from_two_sources_is_one_story_with_two_sightings(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(rss(("x", "Verhaal", "a")), headers=RSS)
    httpserver.expect_request("/b").respond_with_data(rss(("other-guid", "Verhaal", "a")).replace(
        b"/artikel/other-guid", b"/artikel/x?utm_source=twitter"), headers=RSS)
    add(publisher, httpserver.url_for("/a"))
    add(publisher, httpserver.url_for("/b"), SourceKind.MEDIA)
    results = list(publisher.fetch_sources())
    assert sorted(r.new for r in results) == [0, 1]
    (story,) = publisher.list_stories()
    assert story.sightings == 2


def test_a_feed_that_changes_its_guids_on_every_poll_keeps_one_sighting_per_story(
        publisher: Publisher, httpserver: HTTPServer) -> None:
    polls = iter(range(1, 100))

    def new_guids(request: Request) -> Response:
        poll = next(polls)
        body = rss(*((f"poll-{poll}-{i}", f"Verhaal {i}", "<p>nieuw</p>" if poll >= 15 and i == 3 else "<p>oud</p>")
                     for i in range(10)))
        # the same ten articles: each links to /artikel/<guid>, so give them stable links
        for i in range(10):
            body = body.replace(f"/artikel/poll-{poll}-{i}<".encode(), f"/artikel/{i}<".encode())
        return Response(body, headers=RSS)

    httpserver.expect_request("/feed").respond_with_handler(new_guids)
    add(publisher, httpserver.url_for("/feed"))
    results = [only(publisher) for _ in range(20)]
    assert [(r.new, r.updated, r.unchanged) for r in results[:2]] == [(10, 0, 0), (0, 0, 10)]
    assert (results[14].updated, results[15].updated) == (1, 0)  # a change is still seen under a new GUID
    stories = publisher.list_stories(StoryFilter(limit=0))
    assert sorted(s.title for s in stories) == [f"Verhaal {i}" for i in range(10)]
    assert sum(s.sightings for s in stories) == 10
    assert [s.text for s in stories if s.title == "Verhaal 3"] == ["nieuw"]


def test_entries_without_a_link_and_with_new_guids_stay_the_same_stories(
        publisher: Publisher, httpserver: HTTPServer) -> None:
    polls = iter(range(1, 100))

    def new_guids(request: Request) -> Response:
        poll = next(polls)
        items = "".join(f"<item><guid isPermaLink=\"false\">{poll}-{i}</guid><title>Zonder link {i}</title>"
                        f"<description>tekst {i}</description></item>" for i in range(3))
        return Response(f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>', headers=RSS)

    httpserver.expect_request("/feed").respond_with_handler(new_guids)
    add(publisher, httpserver.url_for("/feed"))
    assert [only(publisher).new for _ in range(5)] == [3, 0, 0, 0, 0]
    stories = publisher.list_stories(StoryFilter(limit=0))
    assert len(stories) == 3 and sum(s.sightings for s in stories) == 3


def test_the_same_article_twice_in_one_feed_is_one_story_sighted_once(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        rss(("a", "Verhaal", "x"), ("b", "Verhaal", "x")).replace(b"/artikel/b", b"/artikel/a"), headers=RSS)
    add(publisher, httpserver.url_for("/feed"))
    assert [(r.new, r.unchanged) for r in (only(publisher), only(publisher))] == [(1, 0), (0, 1)]
    (story,) = publisher.list_stories()
    assert story.sightings == 1


def test_permanent_redirect_updates_the_stored_url(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(rss(("1", "a", "b")), headers=RSS)
    source = add(publisher, httpserver.url_for("/old"))
    result = only(publisher)
    assert result.moved_to == httpserver.url_for("/new")
    assert publisher.get_source(source.id).url == httpserver.url_for("/new")


@pytest.mark.parametrize("status", [302, 307])
def test_temporary_redirect_keeps_the_stored_url(publisher: Publisher, httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/feed").respond_with_data("", status=status, headers={"Location": "/elders"})
    httpserver.expect_request("/elders").respond_with_data(rss(("1", "a", "b")), headers=RSS)
    source = add(publisher, httpserver.url_for("/feed"))
    assert only(publisher).new == 1
    assert publisher.get_source(source.id).url == httpserver.url_for("/feed")


def test_not_found_is_a_visible_failure_with_backoff(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("weg", status=404)
    source = add(publisher, httpserver.url_for("/feed"))
    before = datetime.now(timezone.utc)
    result = only(publisher)
    assert result.outcome is FetchOutcome.FAILED and "404" in str(result.error)
    stored = publisher.get_source(source.id)
    assert stored.active and stored.consecutive_failures == 1 and "404" in (stored.last_error or "")
    # 1 hour ±20 % jitter
    assert before + timedelta(minutes=47) < stored.next_poll_at < before + timedelta(minutes=73)


def test_backoff_doubles_and_never_exceeds_a_day(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("kapot", status=500)
    source = add(publisher, httpserver.url_for("/feed"))
    waits = []
    for _ in range(7):
        before = datetime.now(timezone.utc)
        only(publisher, source_ids=[source.id])
        waits.append((publisher.get_source(source.id).next_poll_at - before) / timedelta(hours=1))
    assert 0.75 < waits[0] < 1.25 and 1.55 < waits[1] < 2.45 and 3.15 < waits[2] < 4.85
    assert all(w <= 24 * 1.2 + 0.01 for w in waits) and waits[-1] > 19
    assert publisher.get_source(source.id).consecutive_failures == 7


def test_gone_feed_is_deactivated_with_the_reason(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("", status=410)
    source = add(publisher, httpserver.url_for("/feed"))
    only(publisher)
    stored = publisher.get_source(source.id)
    assert not stored.active and "410" in (stored.deactivated_reason or "")
    assert list(publisher.fetch_sources()) == []  # no longer polled


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(publisher: Publisher, httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/feed").respond_with_data("", status=status, headers={"Retry-After": "7200"})
    source = add(publisher, httpserver.url_for("/feed"))
    before = datetime.now(timezone.utc)
    only(publisher)
    next_poll = publisher.get_source(source.id).next_poll_at
    assert abs((next_poll - before) - timedelta(hours=2)) < timedelta(seconds=30)
    assert list(publisher.fetch_sources(due_only=True)) == []


def test_retry_after_as_an_http_date(publisher: Publisher, httpserver: HTTPServer) -> None:
    when = datetime.now(timezone.utc) + timedelta(hours=3)
    httpserver.expect_request("/feed").respond_with_data(
        "", status=429, headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    source = add(publisher, httpserver.url_for("/feed"))
    only(publisher)
    assert abs(publisher.get_source(source.id).next_poll_at - when) < timedelta(seconds=30)


def test_a_retry_after_beyond_the_calendar_waits_the_longest_backoff(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=429, headers={"Retry-After": "9" * 400})  # float() of this is infinity
    source = add(publisher, httpserver.url_for("/feed"))
    before = datetime.now(timezone.utc)
    assert only(publisher).outcome is FetchOutcome.FAILED
    wait = publisher.get_source(source.id).next_poll_at - before
    assert timedelta(hours=23, minutes=59) < wait <= timedelta(hours=24, seconds=5)  # backoff_max_minutes


def _polls(httpserver: HTTPServer, path: str) -> int:
    return sum(request.path == path for request, _ in httpserver.log)


def test_a_manual_fetch_waits_as_long_as_the_server_asked_unless_forced(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/druk").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    httpserver.expect_request("/gezond").respond_with_data(rss(("1", "a", "b")), headers=RSS)
    busy = add(publisher, httpserver.url_for("/druk"))
    add(publisher, httpserver.url_for("/gezond"))
    list(publisher.fetch_sources())
    again = {r.source.url: r for r in publisher.fetch_sources()}
    skipped = again[busy.url]
    assert skipped.outcome is FetchOutcome.SKIPPED and skipped.ok
    assert skipped.source.next_poll_at == publisher.get_source(busy.id).next_poll_at
    assert again[httpserver.url_for("/gezond")].outcome is FetchOutcome.OK  # within its interval, still polled
    assert (_polls(httpserver, "/druk"), _polls(httpserver, "/gezond")) == (1, 2)
    assert only(publisher, source_ids=[busy.id]).outcome is FetchOutcome.FAILED  # named: polled
    forced = {r.source.url: r.outcome for r in publisher.fetch_sources(force=True)}
    assert forced[busy.url] is FetchOutcome.FAILED
    assert (_polls(httpserver, "/druk"), _polls(httpserver, "/gezond")) == (3, 3)


def test_a_manual_fetch_leaves_a_failing_source_in_its_backoff(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/kapot").respond_with_data("", status=500)
    source = add(publisher, httpserver.url_for("/kapot"))
    for _ in range(3):
        list(publisher.fetch_sources())
    assert _polls(httpserver, "/kapot") == 1
    assert publisher.get_source(source.id).consecutive_failures == 1


def test_a_trickling_server_is_cut_off_at_the_deadline_without_delaying_others(tmp_path: Path, httpserver: HTTPServer) -> None:
    stop = threading.Event()

    def trickle(request: Request) -> Response:
        def body():
            yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>'
            while not stop.wait(0.1):
                yield b"x"
        return Response(body(), headers=RSS)

    httpserver.expect_request("/slow").respond_with_handler(trickle)
    httpserver.expect_request("/fast").respond_with_data(rss(("1", "snel", "x")), headers=RSS)
    with make_publisher(make_config(tmp_path, deadline=1.5, read_timeout=1.0)) as publisher:
        add(publisher, httpserver.url_for("/slow"))
        add(publisher, httpserver.url_for("/fast"))
        started = time.monotonic()
        finished = {}
        for result in publisher.fetch_sources():
            finished[result.source.url.rsplit("/", 1)[1]] = (time.monotonic() - started, result)
        stop.set()
    assert finished["fast"][0] < 1.0 and finished["fast"][1].new == 1
    assert finished["slow"][1].outcome is FetchOutcome.FAILED
    assert str(finished["slow"][1].error) == "no complete answer from 127.0.0.1 within 1.5 s"
    assert finished["slow"][0] < 4


def test_a_body_above_the_size_cap_is_refused(tmp_path: Path, httpserver: HTTPServer) -> None:
    big = rss(*[(str(i), "titel", "x" * 1000) for i in range(200)])
    httpserver.expect_request("/big").respond_with_data(big, headers=RSS)

    def chunked(request: Request) -> Response:
        return Response(iter([big[i:i + 4096] for i in range(0, len(big), 4096)]), headers=RSS)

    httpserver.expect_request("/big-chunked").respond_with_handler(chunked)
    with make_publisher(make_config(tmp_path, max_bytes=50_000)) as publisher:
        add(publisher, httpserver.url_for("/big"))
        add(publisher, httpserver.url_for("/big-chunked"))
        results = list(publisher.fetch_sources())
        assert all(r.outcome is FetchOutcome.FAILED and "limit" in str(r.error) for r in results)
        assert publisher.list_stories() == []


def test_a_gzip_bomb_is_stopped_after_decompression(tmp_path: Path, httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b'<?xml version="1.0"?><rss version="2.0"><channel><title>' + b" " * 200_000_000, 9)
    assert len(bomb) < 300_000
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, headers={**RSS, "Content-Encoding": "gzip"})
    with make_publisher(make_config(tmp_path, max_bytes=1_000_000)) as publisher:
        add(publisher, httpserver.url_for("/bomb"))
        result = only(publisher)
    assert result.outcome is FetchOutcome.FAILED and "decompressed" in str(result.error)


def test_gzip_encoded_feeds_are_read(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        gzip.compress(rss(("1", "Gezipt", "x"))), headers={**RSS, "Content-Encoding": "gzip"})
    add(publisher, httpserver.url_for("/feed"))
    assert only(publisher).new == 1


def test_connection_refused_is_a_failure_not_a_crash(publisher: Publisher) -> None:
    add(publisher, "http://127.0.0.1:9/feed")
    result = only(publisher)
    assert result.outcome is FetchOutcome.FAILED
    assert str(result.error) == "cannot reach 127.0.0.1: connection refused"
    assert result.error.reason is ErrorKind.REFUSED


def test_content_that_is_not_a_feed_is_reported_as_such(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/page").respond_with_data(feed_bytes("homepage.html"), content_type="text/html")
    source = add(publisher, httpserver.url_for("/page"))
    result = only(publisher)
    assert result.outcome is FetchOutcome.FAILED and "not a feed" in str(result.error)
    assert "not a feed" in (publisher.get_source(source.id).last_error or "")


def test_a_broken_feed_with_entries_is_used_and_the_problem_shown(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed_bytes("broken.xml"), headers=RSS)
    source = add(publisher, httpserver.url_for("/feed"))
    result = only(publisher)
    assert result.new == 2 and result.problem
    assert publisher.get_source(source.id).last_problem == result.problem


def test_an_empty_feed_is_a_success(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed_bytes("empty.xml"), headers=RSS)
    add(publisher, httpserver.url_for("/feed"))
    result = only(publisher)
    assert result.outcome is FetchOutcome.OK and result.new == 0


def test_xss_feed_is_stored_sanitised(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed_bytes("xss.xml"), headers=RSS)
    add(publisher, httpserver.url_for("/feed"))
    only(publisher)
    stories = publisher.list_stories()
    assert len(stories) == 2
    for story in stories:
        stored = (story.title + story.content_html + (story.url or "") + (story.image_url or "")).lower()
        for bad in ("<script", "javascript:", "onerror", "onclick", "onmouseover=\"", "\x1b", "<iframe"):
            assert bad not in stored


def test_one_failing_source_does_not_stop_the_others(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ok").respond_with_data(rss(("1", "a", "b")), headers=RSS)
    httpserver.expect_request("/kapot").respond_with_data("", status=500)
    add(publisher, httpserver.url_for("/kapot"))
    add(publisher, httpserver.url_for("/ok"))
    outcomes = sorted(r.outcome.value for r in publisher.fetch_sources())
    assert outcomes == ["failed", "ok"]


def test_parsing_in_worker_processes_gives_the_same_stories(tmp_path: Path, httpserver: HTTPServer) -> None:
    for i in range(6):
        httpserver.expect_request(f"/f{i}").respond_with_data(
            rss((f"{i}-1", f"Feed {i} een", "<p>a</p>"), (f"{i}-2", f"Feed {i} twee", "<p>b</p>")), headers=RSS)
    with make_publisher(make_config(tmp_path, parse_processes=2)) as publisher:
        for i in range(6):
            add(publisher, httpserver.url_for(f"/f{i}"))
        results = list(publisher.fetch_sources())
        assert [r.new for r in results] == [2] * 6
        assert len(publisher.list_stories(StoryFilter(limit=0))) == 12


def test_a_second_poll_finds_every_entry_unchanged(publisher: Publisher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss(("1", "a", "b"), ("2", "c", "d")), headers=RSS)
    add(publisher, httpserver.url_for("/feed"))
    only(publisher)
    again = only(publisher)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def test_proxy_and_ca_bundle_settings_from_the_environment_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from sociaalwerk_publisher.config import FetchConfig
    from sociaalwerk_publisher.feeds.retrieve import HttpRetriever

    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    plain = HttpRetriever(FetchConfig())
    assert plain.session.verify == "/etc/ssl/certs/ca-certificates.crt"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.nl:3128")
    monkeypatch.setenv("NO_PROXY", "intranet.example.nl")
    proxied = HttpRetriever(FetchConfig())
    # requests reads proxies and NO_PROXY per request, as before
    assert proxied.session.trust_env
    assert proxied.session.merge_environment_settings(
        "https://nieuws.example.nl/feed", {}, None, None, None)["proxies"]["https"] == "http://proxy.example.nl:3128"
