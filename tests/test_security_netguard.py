"""The address guard: which addresses count as public, and that sockets only go there.

Only loopback is ever connected to here. Other addresses are judged without a
connection: by the classifier, or with ``socket.connect`` replaced by a recorder.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from sociaalwerk_publisher.config import FetchConfig
from sociaalwerk_publisher.exceptions import FetchError
from sociaalwerk_publisher.feeds.retrieve import HttpRetriever, Retrievers
from sociaalwerk_publisher.netguard import RefusedAddress, check_url, is_public_address

NOT_PUBLIC = [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255",
    "240.0.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "192.0.0.8",
    "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "ff02::1", "fec0::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "::ffff:0:a00:1",
    "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "not an address", "",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34",
          "2002:5db8:d822::1", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_loopback_link_local_and_special_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_addresses_are_public(address: str) -> None:
    assert is_public_address(address)


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to connect a socket is recorded and fails at once; nothing leaves the machine."""
    attempts: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise ConnectionRefusedError(111, "connections are switched off in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture
def content() -> Iterator[HttpRetriever]:
    retrievers = Retrievers(FetchConfig(deadline=10))
    yield retrievers.for_content()
    retrievers.close()


@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.1/", "http://0x7f000001/",
    "http://017700000001/", "http://localhost/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "https://127.0.0.1/", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/", "http://[fc00::1]/", "http://100.64.0.1/", "http://0.0.0.0/",
])
def test_every_spelling_of_a_private_address_is_refused_without_connecting(
        url: str, content: HttpRetriever, no_connections: list[Any]) -> None:
    with pytest.raises(RefusedAddress, match="not a public address"):
        check_url(url)
    with pytest.raises(FetchError, match="^refused: .*not a public address"):
        content.retrieve(url)
    assert no_connections == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x.png", "gopher://127.0.0.1:70/",
                                 "javascript:alert(1)", "//example.org/x.png"])
def test_only_http_and_https_urls_from_feed_content_are_fetched(
        url: str, content: HttpRetriever, no_connections: list[Any]) -> None:
    with pytest.raises(FetchError, match="refused: only http and https"):
        content.retrieve(url)
    assert no_connections == []


def stub_resolver(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """``socket.getaddrinfo`` answering ``answers`` for their names; returns the names looked up."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        if host in answers:
            asked.append(host)
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port) if ":" not in a else (a, port, 0, 0)) for a in answers[host]]
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_host_name_resolving_to_loopback_is_refused(
        monkeypatch: pytest.MonkeyPatch, content: HttpRetriever, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/foto.png").respond_with_data(b"\x89PNG\r\n\x1a\n", content_type="image/png")
    stub_resolver(monkeypatch, {"plaatjes.example.test": ["127.0.0.1"]})
    with pytest.raises(FetchError) as raised:
        content.retrieve(f"http://plaatjes.example.test:{httpserver.port}/foto.png")
    assert str(raised.value) == "refused: plaatjes.example.test resolves to 127.0.0.1, which is not a public address"
    assert httpserver.log == []


def test_a_name_with_one_private_address_among_public_ones_is_refused_before_any_connection(
        monkeypatch: pytest.MonkeyPatch, content: HttpRetriever, no_connections: list[Any]) -> None:
    stub_resolver(monkeypatch, {"gemengd.example.test": ["93.184.216.34", "10.0.0.1"]})
    with pytest.raises(FetchError, match="refused: gemengd.example.test resolves to 10.0.0.1"):
        content.retrieve("https://gemengd.example.test/foto.png")
    assert no_connections == []


def test_the_address_connected_to_is_the_one_checked_so_dns_rebinding_cannot_slip_through(
        monkeypatch: pytest.MonkeyPatch, content: HttpRetriever, no_connections: list[Any]) -> None:
    # a rebinding server answers a public address first and loopback to every later look-up
    answers = iter([["93.184.216.34"]])

    real = socket.getaddrinfo
    looked_up: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "wissel.example.test":
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        address = next(answers, ["127.0.0.1"])[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(FetchError, match="cannot reach wissel.example.test: connection refused"):
        content.retrieve("http://wissel.example.test/foto.png")
    assert looked_up == ["wissel.example.test"]  # one look-up per connection, no second one to fool
    assert no_connections == [("93.184.216.34", 80)]  # and the socket went to the address checked


def test_the_guard_is_lifted_when_private_networks_are_allowed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/foto.png").respond_with_data(b"\x89PNG\r\n\x1a\n", content_type="image/png")
    retrievers = Retrievers(FetchConfig(deadline=10))
    try:
        retrieved = retrievers.for_content(allow_private_networks=True).retrieve(httpserver.url_for("/foto.png"))
    finally:
        retrievers.close()
    assert retrieved.content == b"\x89PNG\r\n\x1a\n"


def test_proxies_from_the_environment_are_not_used_for_urls_from_feed_content(
        monkeypatch: pytest.MonkeyPatch, content: HttpRetriever, httpserver: HTTPServer,
        no_connections: list[Any]) -> None:
    # behind a proxy the proxy would pick the address, out of the guard's sight
    monkeypatch.setenv("HTTP_PROXY", httpserver.url_for("/"))
    monkeypatch.setenv("HTTPS_PROXY", httpserver.url_for("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    stub_resolver(monkeypatch, {"plaatjes.example.test": ["93.184.216.34"]})
    with pytest.raises(FetchError, match="cannot reach plaatjes.example.test: connection refused"):
        content.retrieve("http://plaatjes.example.test/foto.png")
    assert no_connections == [("93.184.216.34", 80)]
    assert httpserver.log == []
