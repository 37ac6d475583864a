"""The command line on a real terminal: a pseudo-terminal of 120 x 40, rendered with pyte,
as a person sees it (progress bars redrawn, lines overwritten)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte

REPO = Path(__file__).resolve().parent.parent


class Terminal:
    """``sociaalwerk-publisher ARGS`` started on a terminal of its own."""

    def __init__(self, *args: str, cwd: Path, columns: int = 120, lines: int = 40) -> None:
        self.screen = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        self._master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", "COLUMNS": str(columns),
               "LINES": str(lines)}
        for variable in ("CI", "NO_COLOR", "FORCE_COLOR"):
            env.pop(variable, None)
        self.process = subprocess.Popen([sys.executable, "-m", "sociaalwerk_publisher", *args], cwd=cwd,
                                        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self._closed = False

    def text(self) -> str:
        """What the terminal shows now, trailing blanks removed."""
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip()

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self._master, 65536)
        except OSError:  # the program has ended and closed the terminal
            data = b""
        if data:
            self._stream.feed(data)
        else:
            self._closed = True

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """Read until the terminal shows ``text``; returns what it shows then."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if self._closed or time.monotonic() > deadline:
                raise AssertionError(f"the terminal never showed {text!r}; it shows:\n{self.text()}")
            self._read(0.1)
        return self.text()

    def press(self, key: str, timeout: float = 60) -> None:
        """Press ``key`` once the program reads single keys: switching the terminal to that
        mode discards what was typed before, as it does for a person typing ahead. (So wait
        for the answer to one key before pressing the next.)"""
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self._master)[3] & termios.ICANON:
            if time.monotonic() > deadline:
                raise AssertionError(f"the program never asked for a key; the terminal shows:\n{self.text()}")
            self._read(0.05)
        os.write(self._master, key.encode())

    def type_line(self, text: str) -> None:
        """Type a line of text and Enter, as for a prompt."""
        os.write(self._master, f"{text}\r".encode())

    def finish(self, timeout: float = 60) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + timeout
        while not self._closed and time.monotonic() < deadline:
            self._read(0.1)
        return self.process.wait(max(deadline - time.monotonic(), 1))

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:  # a test that failed half-way: end the program
            self.process.kill()
            self.process.wait(10)
        os.close(self._master)
