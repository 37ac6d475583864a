"""Images and redirects chosen by feed authors: refused unless public, and never blocking a story.

Every server here listens on loopback (127.0.0.1, or 127.0.0.2 standing in for a
public host), the only address these tests may connect to.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sociaalwerk_publisher import Publisher
from sociaalwerk_publisher import netguard
from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.config import Config, DestinationConfig, FetchConfig, SecurityConfig
from sociaalwerk_publisher.exceptions import FetchError
from sociaalwerk_publisher.feeds.retrieve import Retrievers
from sociaalwerk_publisher.images import download_image

from .conftest import make_config
from .fakes import RecordingAdapter
from .images import png
from .stories import write_feed


def start(host: str = "127.0.0.1") -> HTTPServer:
    server = HTTPServer(host=host, port=0)
    server.start()
    return server


@pytest.fixture
def other() -> Iterator[HTTPServer]:
    """A second loopback server on its own port: where a hostile URL points."""
    server = start()
    yield server
    server.stop()


@pytest.fixture
def outside(monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """A server the guard takes for a public host (it listens on 127.0.0.2, counted as public here)."""
    real = netguard.is_public_address
    monkeypatch.setattr(netguard, "is_public_address", lambda ip: str(ip) == "127.0.0.2" or real(ip))
    server = start("127.0.0.2")
    yield server
    server.stop()


def syndicate_with_image(tmp_path: Path, feed_server: HTTPServer, image_url: str,
                         allow_private_networks: bool = False) -> tuple[RecordingAdapter, list]:
    """A feed on ``feed_server`` with one entry whose image is ``image_url``, approved and syndicated."""
    path = tmp_path / "feed.xml"
    write_feed(path, [{"guid": "a", "title": "Buurtloket", "html": "<p>Schuldhulp.</p>", "image": image_url}])
    feed_server.expect_request("/feed.xml").respond_with_data(path.read_bytes(), content_type="application/rss+xml")
    config: Config = replace(make_config(tmp_path), security=SecurityConfig(allow_private_networks),
                             destinations=(DestinationConfig(name="hub", adapter="wxr", path="x.xml"),))
    site = RecordingAdapter("hub")
    with Publisher(config, open_storage(config.database_url), adapter_for=lambda d: site) as publisher:
        source = publisher.add_source(feed_server.url_for("/feed.xml"), discover=False)
        assert all(r.ok for r in publisher.fetch_sources([source.id]))
        (story,) = publisher.list_stories()
        assert story.image_url == image_url
        publisher.approve_story(story.id)
        results = list(publisher.syndicate())
    return site, results


def test_an_image_on_a_private_address_is_left_out_and_the_story_still_published(
        tmp_path: Path, httpserver: HTTPServer, other: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    other.expect_request("/geheim.png").respond_with_data(png(), content_type="image/png")
    with caplog.at_level(logging.WARNING):
        site, results = syndicate_with_image(tmp_path, httpserver, other.url_for("/geheim.png"))
    (result,) = results
    assert result.ok
    assert result.warnings == ("featured image left out: refused: 127.0.0.1 is not a public address",)
    assert "refused: 127.0.0.1 is not a public address" in caplog.text
    (copy,) = site.live()
    assert copy.post.image is None and copy.post.image_id is None
    assert other.log == []  # the image server never heard from us


def test_with_private_networks_allowed_the_same_image_is_fetched(
        tmp_path: Path, httpserver: HTTPServer, other: HTTPServer) -> None:
    other.expect_request("/foto.png").respond_with_data(png(), content_type="image/png")
    site, results = syndicate_with_image(tmp_path, httpserver, other.url_for("/foto.png"),
                                         allow_private_networks=True)
    (result,) = results
    assert result.ok and result.warnings == ()
    (copy,) = site.live()
    assert copy.post.image is not None and copy.post.image.data == png()
    assert len(other.log) == 1


def test_a_redirect_from_an_image_server_to_a_private_address_is_never_followed(
        outside: HTTPServer, other: HTTPServer) -> None:
    outside.expect_request("/foto.png").respond_with_data("", status=302,
                                                          headers={"Location": other.url_for("/metadata")})
    other.expect_request("/metadata").respond_with_data(png(), content_type="image/png")
    retrievers = Retrievers(FetchConfig(deadline=10))
    try:
        with pytest.raises(FetchError) as raised:
            download_image(retrievers.for_content(), outside.url_for("/foto.png"))
    finally:
        retrievers.close()
    assert str(raised.value) == "refused: 127.0.0.1 is not a public address (after a redirect)"
    assert len(outside.log) == 1 and other.log == []


def test_a_redirect_from_a_configured_feed_to_another_host_is_guarded(
        tmp_path: Path, httpserver: HTTPServer, other: HTTPServer) -> None:
    # the operator trusts the feed's own host, not wherever its server sends us
    given = f"http://localhost:{httpserver.port}/feed.xml"
    httpserver.expect_request("/feed.xml").respond_with_data(
        "", status=302, headers={"Location": other.url_for("/intern.xml")})
    other.expect_request("/intern.xml").respond_with_data(b"<rss/>", content_type="application/rss+xml")
    for allow in (False, True):
        retrievers = Retrievers(FetchConfig(deadline=10), allow_private_networks=allow)
        try:
            if allow:
                assert retrievers.retrieve(given).content == b"<rss/>"
            else:
                with pytest.raises(FetchError, match="refused: 127.0.0.1 is not a public address"):
                    retrievers.retrieve(given)
                assert other.log == []
        finally:
            retrievers.close()
    assert len(other.log) == 1


def test_a_redirect_on_the_configured_feeds_own_host_is_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/oud").respond_with_data("", status=301, headers={"Location": "/nieuw"})
    httpserver.expect_request("/nieuw").respond_with_data(b"<rss/>", content_type="application/rss+xml")
    retrievers = Retrievers(FetchConfig(deadline=10))
    try:
        retrieved = retrievers.retrieve(httpserver.url_for("/oud"))
    finally:
        retrievers.close()
    assert retrieved.content == b"<rss/>" and retrieved.moved_to == httpserver.url_for("/nieuw")


@pytest.mark.parametrize("content_type, body, reason", [
    ("text/html", b"<html>inlogpagina</html>", "Content-Type text/html is not image/*"),
    ("", png(), "Content-Type missing is not image/*"),
    ("image/png", b"<html>geen plaatje</html>", "not an image (unrecognised content)"),
    ("image/svg+xml", b"<svg onload='alert(1)'/>", "not an image (unrecognised content)"),
], ids=["html", "no-content-type", "html-as-png", "svg"])
def test_only_image_answers_that_really_are_images_are_kept(
        outside: HTTPServer, content_type: str, body: bytes, reason: str) -> None:
    def answer(request: Request) -> Response:
        response = Response(body)
        del response.headers["Content-Type"]
        if content_type:
            response.headers["Content-Type"] = content_type
        return response

    outside.expect_request("/foto.png").respond_with_handler(answer)
    retrievers = Retrievers(FetchConfig(deadline=10))
    try:
        with pytest.raises(FetchError) as raised:
            download_image(retrievers.for_content(), outside.url_for("/foto.png"))
    finally:
        retrievers.close()
    assert str(raised.value) == reason


def test_an_image_is_capped_after_decompression(outside: HTTPServer) -> None:
    bomb = gzip.compress(png()[:16] + bytes(3 * 1024 * 1024))
    outside.expect_request("/bom.png").respond_with_data(
        bomb, content_type="image/png", headers={"Content-Encoding": "gzip"})
    retrievers = Retrievers(FetchConfig(deadline=10))
    try:
        with pytest.raises(FetchError, match="larger than the limit of 1048576 bytes"):
            download_image(retrievers.for_content(), outside.url_for("/bom.png"), max_bytes=1024 * 1024)
    finally:
        retrievers.close()
    assert len(bomb) < 64 * 1024


def test_a_trickling_image_server_is_cut_off_at_the_deadline(outside: HTTPServer) -> None:
    stop = threading.Event()

    def trickle(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield png()[:16]
            while not stop.wait(0.1):
                yield b"x"
        return Response(body(), content_type="image/png")

    outside.expect_request("/traag.png").respond_with_handler(trickle)
    retrievers = Retrievers(FetchConfig(deadline=1.0, read_timeout=0.5))
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match="no complete answer from 127.0.0.2 within 1 s"):
            download_image(retrievers.for_content(), outside.url_for("/traag.png"))
    finally:
        stop.set()
        retrievers.close()
    assert time.monotonic() - started < 4
