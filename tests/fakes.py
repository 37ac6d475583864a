"""Fakes that implement the same Protocols as the real parts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sociaalwerk_publisher.adapters.base import Post, RemotePost
from sociaalwerk_publisher.exceptions import RemoteRejectedError, TransportError
from sociaalwerk_publisher.types import CheckResult


@dataclass
class RemoteCopy:
    id: str
    post: Post
    status: str
    history: list[str] = field(default_factory=list)


class RecordingAdapter:
    """An in-memory destination that records every call; ``fail_next`` injects errors."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.posts: dict[str, RemoteCopy] = {}
        self.calls: list[str] = []
        self.fail_next: list[Exception] = []
        self._lock = threading.Lock()
        self._next_id = 1

    def _maybe_fail(self, call: str) -> None:
        self.calls.append(call)
        if self.fail_next:
            raise self.fail_next.pop(0)

    def publish(self, post: Post) -> RemotePost:
        with self._lock:
            self._maybe_fail("publish")
            remote_id = str(self._next_id)
            self._next_id += 1
            self.posts[remote_id] = RemoteCopy(remote_id, post, post.status, ["publish"])
            return RemotePost(remote_id, f"https://fake.example/{remote_id}", post.status,
                              image_id="m1" if post.image or post.image_id else None)

    def update(self, remote_id: str, post: Post) -> RemotePost:
        with self._lock:
            self._maybe_fail("update")
            if remote_id not in self.posts:
                raise RemoteRejectedError("no such post", self.name, status=404)
            copy = self.posts[remote_id]
            copy.post, copy.status = post, post.status
            copy.history.append("update")
            return RemotePost(remote_id, f"https://fake.example/{remote_id}", post.status)

    def retract(self, remote_id: str, *, delete: bool = False) -> None:
        with self._lock:
            self._maybe_fail("retract")
            if remote_id in self.posts:
                if delete:
                    del self.posts[remote_id]
                else:
                    self.posts[remote_id].status = "trash"

    def find_existing(self, post: Post) -> RemotePost | None:
        with self._lock:
            self._maybe_fail("find_existing")
            for copy in self.posts.values():
                if copy.status != "trash" and post.marker in copy.post.content_html:
                    return RemotePost(copy.id, None, copy.status)
            return None

    def check(self) -> CheckResult:
        return CheckResult(self.name, "fake")

    def close(self) -> None:
        pass

    def live(self) -> list[RemoteCopy]:
        return [c for c in self.posts.values() if c.status != "trash"]


def transport_error(name: str = "fake") -> TransportError:
    return TransportError("HTTP 503 Service Unavailable", name)
