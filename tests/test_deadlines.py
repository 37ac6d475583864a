"""Every exchange ends at its deadline, whatever phase a server holds back.

A server may trickle its TLS handshake, status line, headers or body one byte at a time,
accept and never answer, or never accept: a feed, an image, an article page, a discovery,
a WordPress call (REST or XML-RPC, image uploads included) and an SMTP step each end
within their deadline plus a margin, as our own error saying so, and nothing else waits.
The servers are in :mod:`tests.trickle`; each holds a phase for 8 s, so without a deadline
a test takes that long and fails.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher import FetchOutcome, SourceError, SourceKind, make_publisher
from sociaalwerk_publisher import netguard
from sociaalwerk_publisher.adapters.base import Image, Post
from sociaalwerk_publisher.adapters.wordpress_rest import WordPressRestAdapter
from sociaalwerk_publisher.adapters.wordpress_xmlrpc import WordPressXmlRpcAdapter
from sociaalwerk_publisher.config import CoverageConfig, DestinationConfig, EmailConfig, FetchConfig, SecurityConfig
from sociaalwerk_publisher.exceptions import ErrorKind, FetchError, MailError, TransportError
from sociaalwerk_publisher.feeds.retrieve import Retrievers
from sociaalwerk_publisher.images import download_image
from sociaalwerk_publisher.mail import connect

from .conftest import make_config
from .images import png
from .stories import seed
from .trickle import Trickler

DEADLINE = 1.0
MARGIN = 2.0  #: generous: the machine is shared
#: the phases of an HTTP exchange a server can hold back (``backlog``: connecting itself)
HELD = ("tls", "status", "headers", "body", "silent")


def rss(story: str) -> bytes:
    """A feed of one story."""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Welzijn</title>'
            f'<item><guid>{story}</guid><title>{story}</title><link>https://welzijn.example.nl/{story}</link>'
            f'<description>Verhaal {story}</description></item></channel></rss>').encode()


ARTICLE = (b"<html><head><title>Buurthuis</title></head><body><article><h1>Buurthuis open</h1>"
           b"<p>Sociaal werkers van Travers Welzijn zetten elke ochtend koffie in het buurthuis.</p>"
           b"</article></body></html>")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server certificate for the loopback addresses, trusted by every client here."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "127.0.0.2").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))  # requests
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # ssl.create_default_context (XML-RPC, SMTP)
    return context


@pytest.fixture
def public_loopback(monkeypatch: pytest.MonkeyPatch) -> str:
    """127.0.0.2, which the guard for URLs from feed content takes for a public host here."""
    real = netguard.is_public_address
    monkeypatch.setattr(netguard, "is_public_address", lambda ip: str(ip) == "127.0.0.2" or real(ip))
    return "127.0.0.2"


def trickler(phase: str | None, tls: ssl.SSLContext, **settings: object) -> Trickler:
    """A server holding ``phase``; the TLS one speaks HTTPS, the others plain HTTP."""
    return Trickler(phase, tls=tls if phase == "tls" else None, **settings)  # type: ignore[arg-type]


def within_deadline(started: float) -> bool:
    return time.monotonic() - started <= DEADLINE + MARGIN


# -- feeds -------------------------------------------------------------------------------


def test_feeds_that_hold_any_phase_fail_at_the_deadline_and_delay_no_other_feed(
        tmp_path: Path, tls: ssl.SSLContext, httpserver: HTTPServer) -> None:
    for story in ("een", "twee"):
        httpserver.expect_request(f"/{story}").respond_with_data(rss(story), content_type="application/rss+xml")
    with ExitStack() as servers:
        slow = {phase: servers.enter_context(trickler(phase, tls, body=rss(phase)))
                for phase in (*HELD, "backlog")}
        secure = servers.enter_context(Trickler(None, tls=tls, body=rss("drie")))  # a good feed over HTTPS
        good = [httpserver.url_for("/een"), httpserver.url_for("/twee"), secure.url]
        config = make_config(tmp_path, deadline=DEADLINE)  # read_timeout 30 s, connect_timeout 10 s
        with make_publisher(config) as publisher:
            for url in [*good, *(server.url for server in slow.values())]:
                publisher.add_source(url, SourceKind.BLOG, discover=False)
            started = time.monotonic()
            finished = {r.source.url: (time.monotonic() - started, r) for r in publisher.fetch_sources()}
            total = time.monotonic() - started
            stored = {s.url: s for s in publisher.list_sources()}
    for url in good:
        seconds, result = finished[url]
        assert (result.outcome, result.new) == (FetchOutcome.OK, 1), url
        assert seconds < DEADLINE, url  # not kept waiting behind the slow ones
    for phase, server in slow.items():
        seconds, result = finished[server.url]
        assert result.outcome is FetchOutcome.FAILED, phase
        assert isinstance(result.error, FetchError) and result.error.reason is ErrorKind.TIMEOUT, phase
        assert str(result.error) == "no complete answer from 127.0.0.1 within 1 s", phase
        assert stored[server.url].last_error == str(result.error)
        assert seconds <= DEADLINE + MARGIN, phase
    assert total <= DEADLINE + MARGIN


def test_a_connection_cut_at_the_deadline_is_closed_and_the_next_download_succeeds() -> None:
    open_before = len(os.listdir("/proc/self/fd"))
    retrievers = Retrievers(FetchConfig(deadline=DEADLINE))
    try:
        with Trickler("headers", body=rss("een"), hold_path="/traag") as server:
            for _ in range(3):
                with pytest.raises(FetchError, match="within 1 s$"):
                    retrievers.retrieve(server.url_for("traag"))
            started = time.monotonic()
            assert retrievers.retrieve(server.url_for("goed")).content == rss("een")  # same pool, same host
            assert time.monotonic() - started < DEADLINE
    finally:
        retrievers.close()
    assert len(os.listdir("/proc/self/fd")) <= open_before  # nothing left open: sockets, watchdog copies


# -- images, article pages, discovery ------------------------------------------------------


@pytest.mark.parametrize("phase", HELD)
def test_an_image_server_that_holds_a_phase_fails_at_the_deadline(
        phase: str, tls: ssl.SSLContext, public_loopback: str) -> None:
    retrievers = Retrievers(FetchConfig(deadline=DEADLINE))  # the guarded retriever, as for feed content
    with trickler(phase, tls, body=png(), content_type="image/png", host=public_loopback) as server:
        started = time.monotonic()
        try:
            with pytest.raises(FetchError, match="^no complete answer from 127.0.0.2 within 1 s$") as raised:
                download_image(retrievers.for_content(), server.url_for("foto.png"))
        finally:
            retrievers.close()
        assert within_deadline(started)
    assert raised.value.reason is ErrorKind.TIMEOUT


@pytest.mark.parametrize("phase", HELD)
def test_an_article_page_that_holds_a_phase_leaves_the_item_with_its_feed_text(
        phase: str, tls: ssl.SSLContext, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = replace(make_config(tmp_path, deadline=DEADLINE), coverage=CoverageConfig(fulltext=True),
                     security=SecurityConfig(allow_private_networks=True))
    with trickler(phase, tls, body=ARTICLE, content_type="text/html") as server, make_publisher(config) as p:
        seed(p, tmp_path, [{"guid": "a", "title": "Buurthuis open", "link": server.url_for("nieuws"),
                            "html": "<p>Het buurthuis is open.</p>"}], kind=SourceKind.MEDIA, title="Lokaal")
        started = time.monotonic()
        with caplog.at_level(logging.INFO, "sociaalwerk_publisher"):
            p.match_coverage()
        assert within_deadline(started)
        assert p.list_mentions(limit=0) == ()  # matched on the feed text only, which names no member
    assert f"full text of {server.url_for('nieuws')}: no complete answer from 127.0.0.1 within 1 s" in caplog.messages


@pytest.mark.parametrize("phase", HELD)
def test_discovering_a_feed_on_a_page_that_holds_a_phase_fails_at_the_deadline(
        phase: str, tls: ssl.SSLContext, tmp_path: Path) -> None:
    with trickler(phase, tls, body=ARTICLE, content_type="text/html") as server, \
            make_publisher(make_config(tmp_path, deadline=DEADLINE)) as publisher:
        started = time.monotonic()
        with pytest.raises(SourceError, match="^no complete answer from 127.0.0.1 within 1 s$"):
            publisher.add_source(server.url, SourceKind.BLOG)
        assert within_deadline(started)
        assert publisher.list_sources() == []


# -- WordPress -------------------------------------------------------------------------------


def post_with_image() -> Post:
    return Post(title="Buurtzorg", content_html="<p>Tekst</p><!-- swp-deadline -->", excerpt="Tekst",
                slug="buurtzorg", marker="swp-deadline", status="publish",
                date=datetime(2026, 11, 24, 7, 30, tzinfo=timezone.utc),
                image=Image("https://img.example.nl/a.png", "a.png", "image/png", png()))


@pytest.mark.parametrize("phase", HELD)
def test_a_rest_site_that_holds_a_phase_of_an_image_upload_fails_at_the_timeout(
        phase: str, tls: ssl.SSLContext) -> None:
    # the site itself answers at once (its REST root); the media upload is held
    with trickler(phase, tls, body=b"{}", content_type="application/json", hold_path="/wp-json/wp/v2/media",
                  headers={"Link": '</wp-json/>; rel="https://api.w.org/"'}) as server:
        config = DestinationConfig(name="hub", adapter="wordpress-rest", url=server.url, username="u",
                                   password_env="X", timeout=DEADLINE)
        rest = WordPressRestAdapter(config, "geheim")
        started = time.monotonic()
        try:
            with pytest.raises(TransportError, match="within 1 s$") as raised:
                rest.publish(post_with_image())
        finally:
            rest.close()
        assert within_deadline(started)
    assert raised.value.reason is ErrorKind.TIMEOUT
    assert str(raised.value) == ("hub: HEAD " + server.url if phase == "tls" else "hub: POST wp/v2/media") \
        + ": no complete answer from 127.0.0.1 within 1 s"


@pytest.mark.parametrize("phase", HELD)
def test_an_xmlrpc_site_that_holds_a_phase_fails_at_the_timeout(phase: str, tls: ssl.SSLContext) -> None:
    with trickler(phase, tls, body=b"", content_type="text/xml") as server:
        config = DestinationConfig(name="lid", adapter="wordpress-xmlrpc", url=server.url, username="u",
                                   password_env="X", timeout=DEADLINE)
        with WordPressXmlRpcAdapter(config, "geheim") as adapter:
            started = time.monotonic()
            with pytest.raises(TransportError) as raised:
                adapter.publish(post_with_image())
            assert within_deadline(started)
    assert raised.value.reason is ErrorKind.TIMEOUT
    assert str(raised.value).endswith(": no complete answer from 127.0.0.1 within 1 s")


# -- e-mail ----------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["banner", "silent", "tls"])
def test_an_smtp_server_that_trickles_its_greeting_fails_at_the_timeout(phase: str, tls: ssl.SSLContext) -> None:
    with trickler(phase, tls, body=b"220 smtp.example.nl ESMTP") as server:
        config = EmailConfig(host="127.0.0.1", port=server.port, security="ssl" if phase == "tls" else "none",
                             sender="a@example.nl", recipients=("b@example.nl",), timeout=DEADLINE)
        started = time.monotonic()
        with pytest.raises(MailError, match="^SMTP server: no complete answer from 127.0.0.1 within 1 s$"):
            connect(config)
        assert within_deadline(started)
