"""Keep URLs that strangers chose away from our own networks (server-side request forgery).

A feed's author chooses the URLs of its images, its article pages and the
redirects its server answers. Fetched blindly, such a URL can reach a cloud
metadata endpoint or an intranet page, whose contents we would then publish.
So those URLs are fetched through :func:`guarded_session`, which connects only
to public unicast addresses.

The check is made where the socket is opened, not on the URL beforehand: the
host name is resolved once, every address in the answer must be public, and
the socket connects to one of those very addresses (the address actually
connected to is checked again). A DNS answer that changes between a look-up
and the connection (rebinding) therefore cannot get around it, and each
redirect is a new connection, checked the same way. The Host header, TLS SNI
and certificate check still use the host name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import allowed_gai_family

from .exceptions import ErrorKind, FetchError
from .network import AddressInfo, DeadlineAdapter, WatchedConnection, WatchedHTTPSConnection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")

# Spelled out rather than left to ``is_global`` alone, whose ranges differ between Python versions.
_NOT_PUBLIC_V4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",        # "this network", unspecified
    "10.0.0.0/8",       # private
    "100.64.0.0/10",    # carrier-grade NAT
    "127.0.0.0/8",      # loopback
    "169.254.0.0/16",   # link-local, cloud metadata endpoints
    "172.16.0.0/12",    # private
    "192.0.0.0/24",     # IETF protocol assignments
    "192.0.2.0/24",     # documentation
    "192.88.99.0/24",   # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",   # private
    "198.18.0.0/15",    # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",   # documentation
    "224.0.0.0/4",      # multicast
    "240.0.0.0/4",      # reserved, and 255.255.255.255 broadcast
))
_NOT_PUBLIC_V6 = tuple(ipaddress.IPv6Network(n) for n in (
    "::/128", "::1/128",  # unspecified, loopback
    "64:ff9b:1::/48",     # NAT64 for local use
    "100::/64",           # discard
    "2001::/23",          # IETF protocol assignments, Teredo (2001::/32) among them
    "2001:db8::/32",      # documentation
    "3fff::/20",          # documentation
    "fc00::/7",           # unique-local
    "fe80::/10",          # link-local
    "fec0::/10",          # site-local (deprecated)
    "ff00::/8",           # multicast
))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


class RefusedAddress(FetchError):
    """The guard will not connect there; the message says why.

    Not an ``OSError``, so urllib3 and requests let it through untouched to the
    retriever, which turns it into a :class:`FetchError` naming the URL.
    """

    default_reason = ErrorKind.BLOCKED


def is_public_address(ip: str | IPAddress) -> bool:
    """Whether ``ip`` is a public unicast address, one a URL from a stranger may reach.

    Loopback, private, carrier-grade NAT, link-local, unique-local, multicast,
    unspecified, reserved, broadcast and documentation addresses are not. An
    IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:127.0.0.1``,
    IPv4-compatible, IPv4-translated, NAT64, 6to4) is judged by the IPv4 address.
    Anything that is not an IP address is not public either.
    """
    if isinstance(ip, str):
        try:
            ip = ipaddress.ip_address(ip.split("%", 1)[0])  # a scope id (fe80::1%eth0) says nothing
        except ValueError:
            return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        return ip.is_global and not any(ip in network for network in _NOT_PUBLIC_V6)
    return ip.is_global and not any(ip in network for network in _NOT_PUBLIC_V4)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    value = int(ip)
    if value >> 32 == 0 or ip in _NAT64 or ip in _TRANSLATED:  # ::/96 is IPv4-compatible
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def public_addresses(host: str, port: int | None) -> list[tuple[Any, ...]]:
    """Resolve ``host`` as the operating system does; every address must be public.

    ``host`` may be any spelling the resolver accepts (``2130706433``,
    ``0x7f.0.0.1`` and ``127.1`` all mean 127.0.0.1). Nothing is connected to.

    Returns:
        The ``getaddrinfo`` entries, to connect to in turn.

    Raises:
        RefusedAddress: one of the addresses is not public.
        socket.gaierror: the name does not resolve.
    """
    host = host.strip("[]")
    answers = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    for answer in answers:
        address = str(answer[4][0])
        if not is_public_address(address):
            _refuse(host, address)
    if not answers:
        raise socket.gaierror(socket.EAI_NONAME, f"no address for {_printable(host)}")
    return answers


def check_url(url: str) -> None:
    """Refuse ``url`` unless it is http(s) and its host resolves to public addresses only.

    A look-up, not a guarantee: the answer may change before a connection is
    made. Use :func:`guarded_session` to fetch; this is for deciding early
    (e.g. whether to keep a URL at all).

    Raises:
        RefusedAddress: not http(s), no host, or a host with a non-public address.
        FetchError: the host name does not resolve.
    """
    check_scheme(url)
    parts = urlsplit(url)
    if not parts.hostname:
        raise RefusedAddress("refused: the URL has no host", url)
    try:
        public_addresses(parts.hostname, parts.port or (443 if parts.scheme.lower() == "https" else 80))
    except RefusedAddress as e:
        raise RefusedAddress(str(e), url) from None
    except (socket.gaierror, UnicodeError, ValueError) as e:
        raise FetchError(f"cannot resolve {_printable(parts.hostname)}: {e}", url, reason=ErrorKind.DNS) from e


def check_scheme(url: str) -> None:
    """Raises: RefusedAddress: ``url`` is not http or https."""
    if urlsplit(url).scheme.lower() not in SCHEMES:
        raise RefusedAddress("refused: only http and https URLs are fetched", url)


def _refuse(host: str, address: str) -> NoReturn:
    if host == address or _same_address(host, address):
        raise RefusedAddress(f"refused: {address} is not a public address")
    raise RefusedAddress(f"refused: {_printable(host)} resolves to {address}, which is not a public address")


def _same_address(host: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False


def _printable(text: str) -> str:
    # host names come from strangers and end up in logs and terminals
    return "".join(c if c.isprintable() else "?" for c in text)[:100]


class _GuardedConnection(WatchedConnection):
    """Connects only to public addresses: resolved once, every answer checked, connected to as checked."""

    def _resolve(self, host: str, port: int) -> Sequence[AddressInfo]:
        return public_addresses(host, port)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            peer = str(sock.getpeername()[0])
        except OSError:
            peer = ""
        if not is_public_address(peer):  # cannot happen when connecting to a checked address
            sock.close()
            _refuse(self.host, peer)
        return sock


class _GuardedHTTPSConnection(_GuardedConnection, WatchedHTTPSConnection):
    """TLS over a guarded socket; SNI and the certificate check use the host name."""


class _GuardedPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(DeadlineAdapter):
    """A requests transport whose every connection goes to public addresses only.

    It uses no proxy: behind one, the proxy would choose the address and the
    guard could not see it.
    """

    pool_classes = {"http": _GuardedPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise RefusedAddress("refused: URLs from feed content are not fetched through a proxy")


def guarded_session(pool_size: int = 10) -> requests.Session:
    """A :class:`requests.Session` that connects only to public addresses over http(s).

    It ignores proxy settings and ``.netrc`` from the environment. Redirects must
    be followed by the caller (``allow_redirects=False``), each hop a new request.
    """
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    for scheme in SCHEMES:
        session.mount(f"{scheme}://", adapter)
    return session
