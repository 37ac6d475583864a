"""Talking to other machines: one deadline over each whole exchange, and failures said in words.

A socket timeout bounds one operation, so a server that sends its status line one byte a
second never lets a read time out. Every exchange (a download with its redirects, one call
to a WordPress site, one SMTP step) therefore runs inside a :class:`Deadline`. Each socket
the exchange opens is watched from before it connects, and each socket it reuses from the
moment it is reused; when the time is up, a watchdog thread shuts those sockets down, so a
blocked connect, TLS handshake, read or write returns at once and the exchange ends with
:class:`DeadlineExceeded`. A connection that was shut down is closed by its pool, never reused.

Sockets are opened by :func:`create_connection` (the connection classes here and in
:mod:`.netguard`, :mod:`http.client` through ``_create_connection``, smtplib). The name
look-up before connecting is the one step not bounded: the resolver has its own timeouts.

:func:`describe` says what a foreign network exception means, in a short sentence with an
:class:`~.exceptions.ErrorKind`; retrievers, adapters and mail use it at their boundary.
"""

from __future__ import annotations

import contextvars
import errno
import heapq
import http.client
import itertools
import os
import smtplib
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import PoolManager, ProxyManager
from urllib3 import exceptions as u3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import allowed_gai_family

from .exceptions import ErrorKind, PublisherError

#: getaddrinfo entries: (family, type, proto, canonname, sockaddr)
AddressInfo = tuple[Any, ...]
Resolver = Callable[[str, int], Sequence[AddressInfo]]

_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("deadline", default=None)


class DeadlineExceeded(TimeoutError):
    """The exchange took longer than its deadline; its sockets were shut down."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        super().__init__(f"no complete answer from {deadline.host or 'the server'} "
                         f"within {_seconds(deadline.seconds)} s")


class Deadline:
    """The time limits of one exchange, as a context manager.

    ``seconds`` bounds the whole exchange, from the first connect to the last byte.
    ``connect`` and ``read`` are the per-operation timeouts the caller gives its socket
    library (:attr:`timeouts`); they default to ``seconds``. On leaving the block after
    the deadline, any foreign exception (or none at all, when the watchdog fired: a read
    cut short looks like the end of the body) becomes :class:`DeadlineExceeded`; our own
    errors pass.
    """

    def __init__(self, seconds: float, *, connect: float | None = None, read: float | None = None) -> None:
        self.seconds = seconds
        self.connect = seconds if connect is None else connect
        self.read = seconds if read is None else read
        #: the host the exchange talks to now (the last one connected to or reused)
        self.host = ""
        self.expires = 0.0
        self.fired = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._token: contextvars.Token[Deadline | None] | None = None

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read): the per-operation timeouts, for requests' ``timeout``."""
        return self.connect, self.read

    def __enter__(self) -> Deadline:
        self.expires = time.monotonic() + self.seconds
        self._token = _current.set(self)
        _watchdog.add(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        assert self._token is not None
        _current.reset(self._token)
        with self._lock:
            self._done = True
            for sock in self._sockets:
                sock.close()  # our duplicate only: the connection keeps its own descriptor
            self._sockets.clear()
        # a socket's own timeout may go off a moment before the watchdog: past the deadline,
        # that failure is the deadline's too
        expired = self.fired or time.monotonic() >= self.expires
        foreign = isinstance(error, Exception) and not isinstance(error, (PublisherError, DeadlineExceeded))
        if (self.fired and error is None) or (expired and foreign):
            raise DeadlineExceeded(self) from error

    def watch(self, sock: socket.socket, host: str) -> None:
        """Shut ``sock`` down when the deadline fires (now, if it has).

        Raises:
            DeadlineExceeded: the deadline has fired already.
        """
        with self._lock:
            self.host = host
            if self.fired:
                raise DeadlineExceeded(self)
            # a duplicate descriptor of our own: shutting it down ends the connection for every
            # descriptor, and it cannot be closed and reused under us by the thread that reads
            self._sockets.append(socket.socket(sock.family, sock.type, sock.proto,
                                               fileno=os.dup(sock.fileno())))

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # closed by its side meanwhile


def watch(sock: socket.socket, host: str) -> None:
    """Watch ``sock`` under the deadline in flight, if there is one.

    Raises:
        DeadlineExceeded: that deadline has fired already.
    """
    deadline = _current.get()
    if deadline is not None:
        deadline.watch(sock, host)


#: the watchdog's longest sleep: Condition.wait refuses an infinite one (a deadline of inf)
_LONGEST_WAIT = 3600.0


class _Watchdog:
    """One thread for every deadline of the process: the earliest is always next."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.expires, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # none yet, or we were forked
                self._thread = threading.Thread(target=self._run, name="deadline-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2]._done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._wake.wait(min(delay, _LONGEST_WAIT))
                    continue
                deadline = heapq.heappop(self._heap)[2]
            deadline._fire()


_watchdog = _Watchdog()


def _resolve(host: str, port: int) -> Sequence[AddressInfo]:
    return socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)


def create_connection(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
                      source_address: Any = None, *,
                      socket_options: Sequence[tuple[int, int, Any]] | None = None,
                      resolve: Resolver = _resolve) -> socket.socket:
    """Connect to ``address`` (each address the name resolves to in turn), as
    :func:`socket.create_connection` does, with the socket watched by the deadline in
    flight from before it connects.

    Raises:
        DeadlineExceeded: the deadline fired.
        OSError: no address could be connected to (``socket.gaierror``: the name does not resolve).
    """
    host, port = address
    host = host.strip("[]")
    deadline = _current.get()
    if deadline is not None:
        deadline.host = host
    answers = resolve(host, port)
    if not answers:
        raise socket.gaierror(socket.EAI_NONAME, f"no address for {host}")
    error: OSError | None = None
    for family, kind, protocol, _, sockaddr in answers:
        sock = socket.socket(family, kind, protocol)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, (int, float)):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            watch(sock, host)
            sock.connect(sockaddr)
            return sock
        except DeadlineExceeded:
            sock.close()
            raise
        except OSError as e:
            sock.close()
            error = e
            if deadline is not None and deadline.fired:
                raise DeadlineExceeded(deadline) from e
    assert error is not None
    raise error


# --------------------------------------------------------------------------- urllib3 and requests


class WatchedConnection(HTTPConnection):
    """A urllib3 connection whose socket the deadline in flight watches, reused or new."""

    def _resolve(self, host: str, port: int) -> Sequence[AddressInfo]:
        return _resolve(host, port)

    def _new_conn(self) -> socket.socket:
        # urllib3's own _new_conn, with our create_connection (same errors, same audit event)
        try:
            sock = create_connection((self._dns_host, self.port), self.timeout, self.source_address,
                                     socket_options=self.socket_options, resolve=self._resolve)
        except socket.gaierror as e:
            raise u3.NameResolutionError(self.host, self, e) from e
        except TimeoutError as e:
            raise u3.ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from e
        except OSError as e:
            raise u3.NewConnectionError(self, f"Failed to establish a new connection: {e}") from e
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def request(self, method: str, url: str, body: Any = None, headers: Any = None,
                **kwargs: Any) -> None:
        if self.sock is not None:  # a kept-alive connection, opened under another deadline
            watch(self.sock, self.host)
        super().request(method, url, body, headers, **kwargs)


class WatchedHTTPSConnection(WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """A requests transport whose connections are watched by the :class:`Deadline` in flight.

    Subclasses choose their connection pools with ``pool_classes``.
    """

    pool_classes: dict[str, type[HTTPConnectionPool]] = {"http": _WatchedPool, "https": _WatchedHTTPSPool}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.pool_classes)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # a SOCKS proxy keeps its own pools
            manager.pool_classes_by_scheme = dict(self.pool_classes)
        return manager


# --------------------------------------------------------------------------- failures in words


@dataclass(frozen=True)
class Failure:
    """What a network failure means: a kind for programs, a sentence for people."""

    kind: ErrorKind
    message: str

    def __str__(self) -> str:
        return self.message


def describe(error: BaseException, deadline: Deadline | None = None) -> Failure:
    """Say in words what a foreign network exception (requests, urllib3, http.client,
    ssl, socket, smtplib) means: "cannot reach example.org: name not found (DNS)",
    "no answer from example.org within 10 s".

    Args:
        deadline: the exchange's limits; they give the host and the seconds waited.
    """
    chain = list(_chain(error))
    host = (deadline.host if deadline else "") or "the server"

    def find(*types: type[BaseException]) -> Any:
        return next((e for e in chain if isinstance(e, types)), None)

    exceeded = find(DeadlineExceeded)
    if exceeded is not None:
        return Failure(ErrorKind.TIMEOUT, str(exceeded))
    if find(socket.gaierror, u3.NameResolutionError) is not None:
        lookup = find(socket.gaierror)
        missing = lookup is None or lookup.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None))
        return Failure(ErrorKind.DNS, f"cannot reach {host}: "
                       + ("name not found (DNS)" if missing else "the name could not be looked up (DNS)"))
    certificate = find(ssl.SSLCertVerificationError)
    if certificate is not None:
        return Failure(ErrorKind.TLS, f"no trusted connection to {host}: "
                       f"{certificate.verify_message or 'certificate not accepted'} (TLS)")
    if find(ConnectionRefusedError) is not None:
        return Failure(ErrorKind.REFUSED, f"cannot reach {host}: connection refused")
    if find(TimeoutError, u3.TimeoutError) is not None:
        waited = None if deadline is None else \
            deadline.connect if find(u3.ConnectTimeoutError) is not None else deadline.read
        return Failure(ErrorKind.TIMEOUT, f"no answer from {host} "
                       + ("in time" if waited is None else f"within {_seconds(waited)} s"))
    tls = find(ssl.SSLError)
    if tls is not None:
        detail = (tls.reason or "").replace("_", " ").lower() or "handshake failed"
        return Failure(ErrorKind.TLS, f"no secure connection to {host}: {detail} (TLS)")
    unreachable = next((e for e in chain if isinstance(e, OSError)
                        and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)), None)
    if unreachable is not None:
        return Failure(ErrorKind.UNREACHABLE, f"cannot reach {host}: no route to it (network unreachable)")
    if find(http.client.RemoteDisconnected, smtplib.SMTPServerDisconnected) is not None:
        return Failure(ErrorKind.RESET, f"{host} closed the connection without answering")
    if find(ConnectionError, http.client.IncompleteRead) is not None:
        return Failure(ErrorKind.RESET, f"{host} broke off the connection")
    if find(u3.DecodeError) is not None:
        return Failure(ErrorKind.PROTOCOL, f"{host} sent a compressed body that cannot be decompressed")
    if find(http.client.HTTPException, u3.ProtocolError) is not None:
        return Failure(ErrorKind.PROTOCOL, f"{host} did not answer with valid HTTP")
    system = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
    if system is not None:
        return Failure(ErrorKind.OTHER, f"cannot talk to {host}: {str(system.strerror).lower()}")
    return Failure(ErrorKind.OTHER, f"cannot talk to {host}: {_printable(str(error)) or type(error).__name__}")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and every error behind it (causes, contexts, urllib3's ``reason``)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None) if isinstance(e, u3.MaxRetryError) else None]
        todo += [a for a in e.args if isinstance(a, BaseException)]


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:160]
