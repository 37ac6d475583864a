"""Kernel file locks: the run lock beside the database, and the lock of each WXR file.

One ``flock`` helper, :class:`FileLock`; the kernel releases a lock when its holder dies,
so a killed process never leaves a stale lock behind. ``flock`` locks belong to an open
file, so two threads of one process that open the lock file each exclude each other too.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from .exceptions import AlreadyRunningError, StorageError

#: how often a waiting :class:`FileLock` tries again
_POLL_SECONDS = 0.01


class LockBusy(Exception):
    """Another process still held the lock when :class:`FileLock` stopped waiting.

    Internal: each caller turns it into its own error (:class:`RunLock` into
    :class:`~sociaalwerk_publisher.exceptions.AlreadyRunningError`).
    """

    def __init__(self, path: Path, holder: str) -> None:
        self.path = path
        self.holder = holder  #: what the holder wrote into the lock file, if anything
        super().__init__(f"{path} is locked by {holder or 'another process'}")


class FileLock:
    """An exclusive ``flock`` on ``path``, created if missing (its folder too).

    Args:
        path: the lock file.
        wait: seconds to wait for another holder to let go; 0 tries once.
        mode: permissions of a new lock file (before the umask).
    """

    def __init__(self, path: Path, *, wait: float = 0.0, mode: int = 0o600) -> None:
        self.path = path
        self.wait = wait
        self.mode = mode
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        """Take the lock.

        Raises:
            LockBusy: another process held it for longer than ``wait``.
            OSError: the lock file cannot be created or opened.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, self.mode)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.read(fd, 64).decode(errors="replace").strip()
                    os.close(fd)
                    raise LockBusy(self.path, holder) from None
                time.sleep(_POLL_SECONDS)
            except BaseException:
                os.close(fd)
                raise
        self._fd = fd
        return self

    def note(self, text: str) -> None:
        """Write ``text`` (who holds the lock) into the lock file, for a :class:`LockBusy` to show."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


class RunLock(FileLock):
    """One run at a time (``run`` and ``daemon``): a lock that is not waited for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    def __enter__(self) -> RunLock:
        """Take the lock and note this process's id in it.

        Raises:
            AlreadyRunningError: another run holds it.
            StorageError: the lock file cannot be created or opened.
        """
        try:
            super().__enter__()
        except LockBusy as e:
            raise AlreadyRunningError(
                f"another run is in progress ({e.holder or 'another process'}); did nothing") from None
        except OSError as e:
            raise StorageError(f"cannot open the lock file {self.path}: {e.strerror}") from e
        self.note(f"pid {os.getpid()}")
        return self
