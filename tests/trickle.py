"""A raw-socket HTTP(S) server that holds one phase of its answer: one byte at a time, or nothing.

``Trickler(phase)`` listens on 127.0.0.1 (or ``host``); for every request it answers
``status``, ``headers`` and ``body`` as given, except in the phase named:

- ``"tls"``: the TLS handshake (the server's first flight) goes out one byte per tick;
- ``"status"``, ``"headers"``, ``"body"``: that part goes out one byte per tick;
- ``"silent"``: the connection is accepted and the request read, then nothing is sent;
- ``"banner"``: for protocols where the server speaks first (SMTP), ``body`` goes out one
  byte per tick as soon as a connection is accepted;
- ``"backlog"``: connections are never accepted and the listen queue is full, so connecting hangs;
- ``None``: a normal answer.

With ``hold_path``, only requests for paths starting with it are held; the others get
the normal answer (with the extra ``headers``).

A held phase lasts at most ``hold`` seconds (then the connection is closed), so a client
without a deadline waits that long, long enough for a test to notice, not forever.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from types import TracebackType

PHASES = ("tls", "status", "headers", "body", "silent", "banner", "backlog")
TICK = 0.1  #: seconds between two trickled bytes: far below any per-read timeout in the tests


class Trickler:
    def __init__(self, phase: str | None, *, body: bytes = b"", content_type: str = "application/rss+xml",
                 status: str = "200 OK", headers: dict[str, str] | None = None,
                 tls: ssl.SSLContext | None = None, host: str = "127.0.0.1", hold_path: str | None = None,
                 hold: float = 8.0) -> None:
        assert phase in (*PHASES, None)
        assert phase != "tls" or tls is not None, "a TLS handshake needs a server context"
        self.phase = phase
        self.body = body
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nConnection: close\r\n{extra}".encode()
        self.hold_path = hold_path
        self.tls = tls
        self.hold = hold
        self.requests = 0
        self._stop = threading.Event()
        self._listener = socket.create_server((host, 0), backlog=0 if phase == "backlog" else 16)
        self._fillers: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.host, self.port = self._listener.getsockname()[:2]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/"

    def url_for(self, path: str) -> str:
        return self.url + path.lstrip("/")

    def __enter__(self) -> Trickler:
        if self.phase == "backlog":
            self._fill_backlog()
        else:
            self._spawn(self._accept)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        self._listener.close()
        for filler in self._fillers:
            filler.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _fill_backlog(self) -> None:
        # Linux drops a SYN while the accept queue is full: the next connect waits for ever
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect((self.host, self.port))
            except BlockingIOError:
                pass
            self._fillers.append(filler)
        time.sleep(0.2)

    def _accept(self) -> None:
        self._listener.settimeout(TICK)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        started = time.monotonic()
        connection.settimeout(TICK)
        try:
            if self.tls is not None:
                if self.phase == "tls":
                    self._trickle_handshake(connection, started)
                    return
                connection.settimeout(5)
                connection = self.tls.wrap_socket(connection, server_side=True)
                connection.settimeout(TICK)
            if self.phase == "banner":
                self._trickle(connection, self._forever(self.body), started)
                return
            path = self._read_request(connection, started)
            if path is None:
                return
            self.requests += 1
            if self.hold_path is not None and not path.startswith(self.hold_path):
                self._answer(connection)
            elif self.phase == "silent":
                self._stop.wait(max(0.0, started + self.hold - time.monotonic()))
            elif self.phase == "status":
                self._trickle(connection, self._forever(b"HTTP/1.1 200 OK"), started)
            elif self.phase == "headers":
                connection.sendall(self.head)
                self._trickle(connection, self._forever(b"X-Slow: a"), started)
            elif self.phase == "body":
                connection.sendall(self.head + b"\r\n")  # no Content-Length: the body ends when closed
                self._trickle(connection, self._forever(self.body), started)
            else:
                self._answer(connection)
        except (OSError, ssl.SSLError):
            pass  # the client gave up: what a deadline is for
        finally:
            connection.close()

    @staticmethod
    def _forever(data: bytes) -> Iterator[int]:
        """``data``, then its last byte again and again."""
        return itertools.chain(data, itertools.repeat((data[-1:] or b" ")[0]))

    def _answer(self, connection: socket.socket) -> None:
        connection.sendall(self.head + f"Content-Length: {len(self.body)}\r\n\r\n".encode() + self.body)

    def _read_request(self, connection: socket.socket, started: float) -> str | None:
        """The path asked for, once the whole request is read; None if the client went away."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._recv(connection, started)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            chunk = self._recv(connection, started)
            if not chunk:
                return None
            rest += chunk
        return head.split(b" ", 2)[1].decode()

    def _recv(self, connection: socket.socket, started: float) -> bytes:
        while not self._stop.is_set() and time.monotonic() < started + self.hold:
            try:
                return connection.recv(65536)
            except TimeoutError:
                continue
            except ssl.SSLWantReadError:
                continue
        return b""

    def _trickle(self, connection: socket.socket, data: Iterator[int], started: float) -> None:
        for byte in data:
            if self._stop.wait(TICK) or time.monotonic() > started + self.hold:
                return
            connection.sendall(bytes([byte]))

    def _trickle_handshake(self, connection: socket.socket, started: float) -> None:
        assert self.tls is not None
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.tls.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            hello = self._recv(connection, started)
            if not hello:
                return
            incoming.write(hello)
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            flight = outgoing.read()
            if flight:
                self._trickle(connection, iter(flight), started)
                return
