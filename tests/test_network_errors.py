"""Network failures are said in words, and kept as a kind for programs.

What a fetch result, ``sources list`` and ``status`` show is one short sentence naming the
host ("cannot reach www.welzijnnoord.example: name not found (DNS)", "no answer from
127.0.0.1 within 1 s"), never a library's text cut off mid-word; the kind
(:class:`ErrorKind`) is on the error as ``reason`` and stored as ``sources.last_error_kind``,
for the report to say it in Dutch.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher import ErrorKind, FetchOutcome, Publisher, SourceKind, make_publisher
from sociaalwerk_publisher.cli import cli

from .conftest import make_config
from .trickle import Trickler


def fetched(publisher: Publisher, *urls: str) -> dict[str, tuple[str, str | None]]:
    """(error message, stored kind) of each URL after one fetch."""
    for url in urls:
        publisher.add_source(url, SourceKind.BLOG, discover=False)
    results = {r.source.url: r for r in publisher.fetch_sources()}
    assert all(r.outcome is FetchOutcome.FAILED for r in results.values())
    stored = {s.url: s for s in publisher.list_sources()}
    for url, result in results.items():
        assert result.error is not None and stored[url].last_error == str(result.error)
        assert stored[url].last_error_kind == (result.error.reason.value if result.error.reason else None)
    return {url: (str(results[url].error), stored[url].last_error_kind) for url in urls}


def test_a_name_that_does_not_resolve_is_said_in_words_everywhere(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "www.welzijnnoord.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    config = tmp_path / "sociaalwerk-publisher.toml"
    config.write_text("[fetch]\nparse_processes = 1\n", encoding="utf-8")
    sentence = "cannot reach www.welzijnnoord.example: name not found (DNS)"
    with make_publisher(config) as publisher:
        assert fetched(publisher, "https://www.welzijnnoord.example/blog/") == {
            "https://www.welzijnnoord.example/blog/": (sentence, "dns")}
    for command in (["sources", "list"], ["status"]):
        output = CliRunner().invoke(cli, ["--config", str(config), *command], catch_exceptions=False).output
        assert f": {sentence}" in output, command
        assert "Max retries" not in output and "HTTPSConnection" not in output


def test_the_seconds_waited_are_the_configured_ones(tmp_path: Path) -> None:
    with Trickler("silent") as silent, \
            make_publisher(make_config(tmp_path, read_timeout=1, deadline=10)) as publisher:
        assert fetched(publisher, silent.url) == {silent.url: ("no answer from 127.0.0.1 within 1 s", "timeout")}


def test_refused_reset_and_garbled_answers_are_told_apart(tmp_path: Path) -> None:
    with Trickler("silent", hold=0.3) as hangs_up, Trickler(None, status="wat") as garbled, \
            make_publisher(make_config(tmp_path)) as publisher:
        assert fetched(publisher, "http://127.0.0.1:9/feed", hangs_up.url, garbled.url) == {
            "http://127.0.0.1:9/feed": ("cannot reach 127.0.0.1: connection refused", "refused"),
            hangs_up.url: ("127.0.0.1 closed the connection without answering", "reset"),
            garbled.url: ("127.0.0.1 did not answer with valid HTTP", "protocol"),
        }


def test_an_untrusted_certificate_is_said_in_words(tmp_path: Path) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)  # signed by a CA nobody trusts
    with Trickler(None, tls=context) as server, make_publisher(make_config(tmp_path)) as publisher:
        assert fetched(publisher, server.url) == {server.url: (
            "no trusted connection to 127.0.0.1: unable to get local issuer certificate (TLS)", "tls")}


def test_what_a_server_answered_is_kept_as_its_kind(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/weg").respond_with_data("", status=410)
    httpserver.expect_request("/druk").respond_with_data("", status=429, headers={"Retry-After": "60"})
    httpserver.expect_request("/onderhoud").respond_with_data("", status=503)
    httpserver.expect_request("/fout").respond_with_data("", status=404)
    httpserver.expect_request("/pagina").respond_with_data("<p>geen feed</p>", content_type="text/plain")
    urls = [httpserver.url_for(path) for path in ("/weg", "/druk", "/onderhoud", "/fout", "/pagina")]
    with make_publisher(make_config(tmp_path)) as publisher:
        kinds = {url: kind for url, (_, kind) in fetched(publisher, *urls).items()}
    assert list(kinds.values()) == [ErrorKind.GONE.value, ErrorKind.RATE_LIMITED.value, ErrorKind.HTTP_STATUS.value,
                                    ErrorKind.HTTP_STATUS.value, ErrorKind.NOT_A_FEED.value]


def test_a_success_clears_the_kind_with_the_error(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/feed").respond_with_data("", status=500)
    httpserver.expect_ordered_request("/feed").respond_with_data(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
        content_type="application/rss+xml")
    with make_publisher(make_config(tmp_path)) as publisher:
        assert fetched(publisher, httpserver.url_for("/feed"))[httpserver.url_for("/feed")][1] == "http-status"
        (source,) = publisher.list_sources()
        (result,) = publisher.fetch_sources([source.id])  # named, so polled despite the backoff
        source = publisher.get_source(source.id)
    assert result.outcome is FetchOutcome.OK and (source.last_error, source.last_error_kind) == (None, None)
