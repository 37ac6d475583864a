"""A destination that is one WordPress eXtended RSS (WXR 1.2) file.

Every post sent to the destination lives in a single file that any WordPress site
imports with *Tools → Import → WordPress* (the ``wordpress-importer`` plugin). It is
the embedded default destination: no site, no credentials, and the result loads into
a real WordPress. The format itself is :mod:`.wxr_format`; this module decides what
goes into the file and how it gets there.

* :meth:`WxrAdapter.publish` adds an ``<item>`` with a new ``wp:post_id`` (the highest
  id in the file plus one), its featured image as an attachment item, and definitions
  of the terms that are new to the file;
* :meth:`WxrAdapter.update` writes the item anew (its id, guid and foreign postmeta
  stay) and removes the old version;
* :meth:`WxrAdapter.retract` removes the item, and the attachments no other post uses:
  a retracted story leaves the file (with or without ``delete``), so that an import
  never brings it back, not even into the receiving site's trash;
* :meth:`WxrAdapter.find_existing` finds a live post by its marker.

A new post's ``wp:post_name`` is ``Post.slug`` unless another item in the file has that
name, then ``Post.fallback_slug``; an update keeps the name the item has.

Titles and excerpts are plain text and WordPress treats them as HTML, so they are
written HTML-escaped (``&`` → ``&amp;``), as the REST adapter sends them; content is
HTML already and term names WordPress escapes itself. A featured image becomes an
attachment item (``wp:attachment_url`` is the image's original URL, which the importer
downloads when *Download and import file attachments* is ticked) and a
``_thumbnail_id`` postmeta on the post, which the importer remaps. Posts sharing an
image URL share one attachment; ``Post.image_id`` (an attachment id from an earlier
post) is reused while that attachment is in the file. ``RemotePost.url`` is the file's
``file://`` URI with the fragment ``#post-<id>``; item links and guids use the
destination's ``url`` (else the campaign site) as WordPress would: ``<url>/?p=<id>``.

Writing in place
----------------
The file grows to thousands of posts, and the engine calls the adapter once per post,
so a call must cost what its own item costs, not what the file costs (reading and
rewriting the whole file per call made 3,000 posts take hours). Two designs give that:

* a journal of items beside the file, merged into the file at :meth:`close`: simple,
  but the file lacks a run's posts until the run ends (after a crash, until the next
  run), and every run rewrites the whole file, so one post added to a large archive
  costs the archive;
* writing the file in place, with an index beside it: this module. Every file written
  here ends with the closing tags (:data:`.wxr_format.TAIL`). An item is *added* by
  writing it, after definitions of its terms new to the file, over the closing tags,
  followed by the tags: one write at the end, whatever the file's size (WordPress's
  parsers read term definitions anywhere in the channel). An item is *removed* by
  overwriting its bytes with whitespace, which XML allows between items; an update adds
  the new version and removes the old. The index (:mod:`.wxr_index`, SQLite, in
  ``<file>.index``) knows each item's byte range, id, slug, marker and image, so no call
  reads the whole file.

Two refinements keep the cost per call near that of one durable write. During a run the
file keeps whitespace after its closing tags (XML allows it there too), grown an eighth
of the file at a time, so an addition seldom changes the file's size and ``fdatasync``
seldom waits for the file system's journal; :meth:`close` cuts it off again. And the
whitespace left by removed items is squeezed out by rewriting the file at :meth:`close`
once it is a third of the file, so a run that updates every post rewrites it once.

The first call on a file the index does not describe (a file from before, an edit by
hand, a lost index) reads the whole file once and rewrites it in this layout; posts this
tool moved to the trash before retracting removed them leave the file then.

Crashes and concurrent runs
---------------------------
Every call holds an exclusive ``flock`` on ``<file>.lock`` (:class:`~..locking.FileLock`,
waited for up to the destination's ``timeout``) from reading the index to committing
it, and reads the index afresh, so two runs, or two adapters in one process, see each
other's posts and never write the same bytes.

A change writes the file, makes it durable (``fdatasync``), then commits the index,
which records the file's inode, size, modification time, where the closing tags are and
the bytes before them. The next call of any run compares these with the file (and finds
the closing tags where they were), so a change cut short is settled before anything else:

* an addition touches nothing before the closing tags. Killed after its write, the file
  is valid and holds the new item: it no longer matches the index, so it is read again
  and the item indexed (an interrupted run's post is found, never sent twice). Killed
  during that write, its end is torn: the committed part is recognised (same inode,
  same bytes before the closing tags) and what follows is kept as far as it is whole
  items, the rest cut off;
* a removal overwrites bytes inside the file, so the bytes it overwrites are first
  committed to the index's journal, durably; a removal cut short is undone from it;
* a change that fails within the process (disk full, an I/O error) is undone at once;
* the whole-file rewrites go through a temporary file, fsync and rename.

Only a process that dies in the middle of a write leaves the file not well-formed, until
the next call; each post is in it at most once, and what :meth:`find_existing` answers
is what the file holds. The index waits for the disk only around the journal: it is a cache, and
one that a power cut set back is noticed (the file differs from it) and rebuilt.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable, Iterable
from dataclasses import astuple, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from ..config import DEFAULT_CONTACT, DestinationConfig
from ..exceptions import AdapterError, RemoteRejectedError, TransportError
from .._wording import count
from ..locking import FileLock, LockBusy
from ..types import CheckResult
from .base import Post, RemotePost
from .wxr_format import (
    AUTHOR_DISPLAY_NAME,
    AUTHOR_LOGIN,
    TAIL,
    Channel,
    Document,
    Item,
    TermDef,
    WxrFormatError,
    clean,
    filler,
    header,
    item_bytes,
    complete_length,
    parse,
    parse_items,
    post_dates,
    term_definitions,
    term_slug,
)
from .wxr_index import FileState, Index, Row

__all__ = ["WxrAdapter"]

log = logging.getLogger(__name__)

META_MARKER = "swp_marker"
#: the original's address; the companion plugin (integrations/wordpress/) makes it the
#: canonical link of the imported post
META_ORIGINAL_URL = "swp_original_url"
META_OLD_ORIGINAL_URL = "swp_source_url"  #: its name in files written before the plugin
META_THUMBNAIL = "_thumbnail_id"
#: Statuses a post may be sent with.
POST_STATUSES = ("publish", "draft", "pending", "private", "future")
#: :meth:`WxrAdapter.close` rewrites the file once this share of it is whitespace left by removed items
COMPACT_SHARE = 1 / 3
#: bytes before the tail kept in the index, to recognise the committed part of a torn file
_ANCHOR = 64
#: whitespace kept after the closing tags during a run, so that additions do not change the file's size
_SLACK_MIN, _SLACK_MAX = 64 * 1024, 4 * 1024 * 1024

T = TypeVar("T")


class WxrAdapter:
    """Publishes into one WXR file; see the module documentation for the format and guarantees.

    Args:
        config: the destination; ``config.path`` is the file, relative to ``base_dir``.
        secret: unused (a file needs no credentials).
        base_dir: the config file's folder.
    """

    #: the importer downloads ``attachment_url`` itself, so the image is never fetched here
    needs_image_data = False

    def __init__(self, config: DestinationConfig, secret: str | None = None,
                 base_dir: Path | str | None = None) -> None:
        self.name = config.name
        self.config = config
        folder = Path(base_dir) if base_dir is not None else Path.cwd()
        self.path = (folder / os.path.expanduser(config.path or f"{config.name}.xml")).absolute()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.index_path = self.path.with_name(self.path.name + ".index")
        self.site_url = (config.url or DEFAULT_CONTACT).rstrip("/")
        self.lock_timeout = config.timeout if config.timeout > 0 else 30.0
        self._index: Index | None = None

    @classmethod
    def check_settings(cls, destination: DestinationConfig) -> list[tuple[str, str]]:
        """What the destination's settings lack, as (key, problem): a file needs its ``path``."""
        return [] if destination.path else [("path", "is required for the wxr adapter")]

    # ----------------------------------------------------------------- Protocol

    def publish(self, post: Post) -> RemotePost:
        """Add the post (and its featured image) with the next free id."""
        _check_post(post, self.name)

        def change(index: Index, state: FileState | None) -> RemotePost:
            plan = _Plan(index, state or self._rewrite(index, Document()))  # the first post makes the file
            item = Item(post_id=plan.new_id(), post_name=post.new_slug(plan.named))
            item.link = item.guid = f"{self.site_url}/?p={item.post_id}"
            warnings, attachment = self._fill(plan, item, post)
            plan.add(item)
            if attachment is not None:
                plan.add(attachment)
            self._commit(plan)
            return self._remote(plan.rows[item.post_id], warnings)

        return self._guard("publish to", lambda: self._locked(change))

    def update(self, remote_id: str, post: Post) -> RemotePost:
        """Replace the item's title, content, excerpt, dates, terms, image and status (not its slug)."""
        _check_post(post, self.name)

        def change(index: Index, state: FileState | None) -> RemotePost:
            row = index.row(_post_id(remote_id) or -1) if state is not None else None
            if state is None or row is None or row.post_type == "attachment":
                raise RemoteRejectedError(f"no post {remote_id!r} in {self.path}", self.name, status=404)
            plan = _Plan(index, state)
            item = self._read_item(index, row)
            warnings, attachment = self._fill(plan, item, post)
            plan.replace(row, item)
            if attachment is not None:
                plan.add(attachment)
            if row.thumbnail:
                self._tidy(plan, [row.thumbnail])
            self._commit(plan)
            return self._remote(plan.rows[row.post_id], warnings)

        return self._guard("update", lambda: self._locked(change))

    def retract(self, remote_id: str, *, delete: bool = False) -> None:
        """Remove the post from the file (``delete`` or not); a post (or file) already gone is fine."""
        wanted = _post_id(remote_id)

        def change(index: Index, state: FileState | None) -> None:
            row = index.row(wanted) if state is not None and wanted is not None else None
            if state is None or row is None or row.post_type == "attachment":
                return
            plan = _Plan(index, state)
            plan.remove(row)
            self._tidy(plan, [*([row.thumbnail] if row.thumbnail else []), *index.children(row.post_id)])
            self._commit(plan)

        def run() -> None:
            if wanted is not None and self.path.exists():
                self._locked(change)

        self._guard("retract from", run)

    def find_existing(self, post: Post) -> RemotePost | None:
        """A live post whose ``swp_marker`` is ``post.marker`` (never one by its slug: not ours alone)."""

        def look(index: Index, state: FileState | None) -> RemotePost | None:
            row = index.live_post(post.marker) if state is not None else None
            return self._remote(row) if row is not None else None

        def run() -> RemotePost | None:
            return self._locked(look) if self.path.exists() else None

        return self._guard("read", run)

    def check(self) -> CheckResult:
        """Whether the folder can be written and the file (if any) is a WXR file we can keep."""
        problems: list[str] = []
        details: list[str] = [f"file: {self.path}"]
        try:
            self._check(problems, details)
        except OSError as e:
            problems.append(f"cannot check {e.filename or self.path}: {e.strerror or e}")
        except Exception as e:  # never let a foreign exception escape the adapter
            problems.append(f"cannot check {self.path}: {type(e).__name__}: {e}")
        # a file has no credentials: its author login is what the posts carry, not a user to check
        return CheckResult(destination=self.name, user=None, problems=tuple(problems),
                           details=tuple(details), verified="the file can be written")

    def _check(self, problems: list[str], details: list[str]) -> None:
        folder = self.path.parent
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            problems.append(f"{existing} is not a folder, so {folder} cannot be created")
        elif existing != folder:
            if not os.access(existing, os.W_OK | os.X_OK):
                problems.append(f"{folder} does not exist and {existing} is not writable")
            else:
                details.append(f"{folder} will be created")
        else:
            problem = _probe_writable(folder)
            if problem:
                problems.append(problem)
        if self.path.exists() or self.path.is_symlink():
            try:
                if not self.path.is_file():
                    problems.append(f"{self.path} is not a regular file")
                else:
                    items = parse(self.path.read_bytes()).items
                    posts = [i for i in items if i.is_post]
                    trashed = sum(1 for i in posts if i.status == "trash")
                    details.append(f"{count(len(posts), 'post')}"
                                   f"{f' ({trashed} in the trash)' if trashed else ''}, "
                                   f"{count(len(items) - len(posts), 'attachment')}")
            except WxrFormatError as e:
                problems.append(f"{self.path} {e}")
            except OSError as e:
                problems.append(f"cannot read {self.path}: {e.strerror or e}")
        else:
            details.append("the file does not exist yet; the first post creates it")

    def close(self) -> None:
        """Tidy the file and close the index.

        The whitespace kept after the closing tags for additions is cut off, and the file
        is rewritten once if a third of it is whitespace left by removed items (or its
        channel changed). A failure is logged and left for the next run: the file is
        valid either way.
        """
        if self._index is None:
            return
        try:
            self._guard("tidy", lambda: self._locked(self._tidy_file))
        except AdapterError as e:
            log.warning("%s", e)
        finally:
            self._index.close()
            self._index = None

    def __enter__(self) -> WxrAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WxrAdapter({self.name!r}, {str(self.path)!r})"

    # ----------------------------------------------------------------- what goes into the file

    def _fill(self, plan: _Plan, item: Item, post: Post) -> tuple[tuple[str, ...], Item | None]:
        """Write ``post`` into ``item`` (keeping its id, guid, slug and foreign postmeta).

        Returns the warnings, and the attachment item to add for a featured image new to the file.
        """
        item.post_date, item.post_date_gmt, item.pub_date = post_dates(post.date)
        item.post_type = "post"
        # WordPress treats titles and excerpts as HTML: plain text goes in escaped
        item.title = html.escape(post.title, quote=False)
        item.content = post.content_html
        item.excerpt = html.escape(post.excerpt, quote=False)
        item.status = post.status
        item.creator = AUTHOR_LOGIN
        item.comment_status = item.ping_status = "closed"
        item.terms = []
        for domain, names in (("category", post.categories), ("post_tag", post.tags)):
            seen: set[str] = set()
            for name in names:
                name = clean(name).strip()
                slug = term_slug(name) if name else ""
                if slug and slug not in seen:
                    seen.add(slug)
                    item.terms.append((domain, slug, name))
        item.set_meta(META_MARKER, post.marker)
        item.set_meta(META_OLD_ORIGINAL_URL, None)
        item.set_meta(META_ORIGINAL_URL, post.source_url or None)
        attachment = None
        if post.image_id:  # reuse an earlier upload, when it is still in the file
            attachment = plan.row(_post_id(post.image_id) or -1)
            if attachment is not None and attachment.post_type != "attachment":
                attachment = None
        new = None
        if attachment is None and post.image is not None:
            attachment = plan.attachment_for(post.image.url)
            if attachment is None:
                new = self._attachment(plan.new_id(), item, post)
        thumbnail = new.post_id if new is not None else attachment.post_id if attachment is not None else None
        item.set_meta(META_THUMBNAIL, str(thumbnail) if thumbnail else None)
        if post.image_id and thumbnail is None:
            return (f"featured image {post.image_id} is no longer in {self.path.name}; left out",), new
        return (), new

    def _attachment(self, post_id: int, parent: Item, post: Post) -> Item:
        assert post.image is not None
        stem = post.image.filename.rsplit(".", 1)[0] or post.image.filename or "afbeelding"
        attachment = Item(post_id=post_id, post_type="attachment", title=stem, post_name=term_slug(stem),
                          status="inherit", post_parent=parent.post_id, attachment_url=post.image.url,
                          guid=post.image.url, link=f"{self.site_url}/?attachment_id={post_id}")
        attachment.post_date, attachment.post_date_gmt, attachment.pub_date = post_dates(post.date)
        return attachment

    def _tidy(self, plan: _Plan, attachment_ids: Iterable[int]) -> None:
        """Attachments no post uses any more leave; one whose parent left moves to a post that uses it."""
        for attachment_id in sorted(set(attachment_ids)):
            row = plan.row(attachment_id)
            if row is None or row.post_type != "attachment":
                continue
            users = plan.users(attachment_id)
            if not users:
                plan.remove(row)
            elif row.parent not in users and plan.row(row.parent) is None:
                item = self._read_item(plan.index, row)
                item.post_parent = users[0]
                plan.replace(row, item)

    def _remote(self, row: Row, warnings: tuple[str, ...] = ()) -> RemotePost:
        return RemotePost(id=str(row.post_id), url=f"{self.path.as_uri()}#post-{row.post_id}",
                          status=row.status, image_id=str(row.thumbnail) if row.thumbnail else None,
                          warnings=warnings)

    def _channel(self) -> Channel:
        return Channel(
            title=f"{AUTHOR_DISPLAY_NAME} – {self.name}",
            link=self.site_url,
            description="Verhalen uit het lokale sociaal werk, om in WordPress te importeren "
                        "(Extra → Importeren → WordPress).",
        )

    # ----------------------------------------------------------------- how it gets there

    def _locked(self, action: Callable[[Index, FileState | None], T]) -> T:
        """Run ``action`` under the file's lock, on the index and the file's settled state."""
        try:
            with FileLock(self.lock_path, wait=self.lock_timeout, mode=0o666):
                if self._index is None:
                    self._index = Index(self.index_path)
                return action(self._index, self._sync(self._index))
        except LockBusy as e:
            raise TransportError(f"{self.path} stayed locked by another process for {self.lock_timeout:g}s "
                                 f"(lock file {self.lock_path})", self.name) from e

    def _sync(self, index: Index) -> FileState | None:
        """The file as the index describes it, once what a crash left is settled; ``None``: no file."""
        state = index.state()
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            if state is not None:
                index.forget()  # the file was removed: the next post starts a new one
            return None
        if state is None:
            return self._adopt(index, self.path.read_bytes())
        journal = index.journal()
        if journal and found.st_ino == state.ino:  # a removal was cut short: undo it
            fd = os.open(self.path, os.O_RDWR)
            try:
                return self._undo(fd, index, state, journal)
            finally:
                os.close(fd)
        # the closing tags are checked too: after a power cut the size and time may not have moved
        if state.same_file(found.st_ino, found.st_size, found.st_mtime_ns) and self._intact(state, TAIL):
            return state
        data = self.path.read_bytes()
        try:
            return self._adopt(index, data)  # an addition finished but was not committed, or an edit
        except WxrFormatError:
            if found.st_ino != state.ino or found.st_size < state.tail or not self._intact(state):
                raise
            # an addition was torn (killed while writing): what of it is whole stays, the rest goes
            return self._adopt(index, data[:state.tail + complete_length(data[state.tail:])] + TAIL)

    def _intact(self, state: FileState, tail: bytes = b"") -> bool:
        """Whether the bytes before the committed tail (and ``tail`` at it) are as committed."""
        with open(self.path, "rb") as f:
            f.seek(state.tail - len(state.anchor))
            return f.read(len(state.anchor) + len(tail)) == state.anchor + tail

    def _adopt(self, index: Index, data: bytes) -> FileState:
        """Take ``data`` as the file: rewrite it in this layout and index it."""
        document = parse(data)
        # stories retracted before retracting removed them: their text leaves the file now
        document.items = [i for i in document.items if not (i.status == "trash" and i.get_meta(META_MARKER))]
        _drop_unused_attachments(document)
        return self._rewrite(index, document)

    def _tidy_file(self, index: Index, state: FileState | None) -> None:
        if state is None:
            return
        if state.dead > state.tail * COMPACT_SHARE or state.channel != self._channel_key():
            self._rewrite(index, parse(self.path.read_bytes()))
        elif state.size > state.tail + len(TAIL):
            fd = os.open(self.path, os.O_RDWR)
            try:
                os.ftruncate(fd, state.tail + len(TAIL))  # only whitespace after the closing tags goes
                _datasync(fd)
                trimmed = os.fstat(fd)
                index.commit(replace(state, size=trimmed.st_size, mtime_ns=trimmed.st_mtime_ns), (), (), ())
            finally:
                os.close(fd)

    def _channel_key(self) -> str:
        return "\n".join(astuple(self._channel()))

    def _rewrite(self, index: Index, document: Document) -> FileState:
        """Write the whole file anew (temporary file, fsync, rename) and index it."""
        names: dict[tuple[str, str], str] = {}
        for item in document.items:
            for domain, slug, name in item.terms:
                if domain in ("category", "post_tag") and slug:
                    names.setdefault((domain, slug), name)
        next_term = max(document.term_ids.values(), default=0) + 1
        terms = []
        for key, name in names.items():  # term ids stay as they were; only terms in use are defined
            term_id = document.term_ids.get(key)
            if term_id is None:
                term_id, next_term = next_term, next_term + 1
            terms.append(TermDef(*key, name, term_id))
        terms.sort(key=lambda t: t.term_id)
        chunks = [header(self._channel(), terms, datetime.now(timezone.utc))]
        offset, rows = len(chunks[0]), []
        for item in document.items:
            chunks.append(item_bytes(item))
            rows.append(_row(item, offset, len(chunks[-1])))
            offset += len(chunks[-1])
        data = b"".join(chunks) + TAIL
        written = self._write_new_file(data)
        state = FileState(written.st_ino, written.st_size, written.st_mtime_ns, offset, 0,
                          data[max(offset - _ANCHOR, 0):offset], self._channel_key())
        index.replace_all(state, rows, terms)
        return state

    def _commit(self, plan: _Plan) -> None:
        """Write ``plan`` into the file, fsync, and commit it to the index; undone at once if that fails."""
        writes = plan.writes()
        if not writes:
            return
        state = plan.state
        inside = any(offset < state.tail for offset, _ in writes)
        fd = os.open(self.path, os.O_RDWR)
        try:
            before = [(offset, os.pread(fd, min(len(data), state.size - offset), offset))
                      for offset, data in writes if offset < state.size]
            if inside:
                plan.index.write_journal(before)  # on disk before a byte inside the file changes
            try:
                for offset, data in writes:
                    _write_at(fd, data, offset)
                # the size rarely changes (whitespace is kept after the tail), so this seldom waits
                # for the file system's journal (nor for other files' writes that it would carry)
                _datasync(fd)
                written = os.fstat(fd)
                tail = plan.new_tail
                anchor = os.pread(fd, min(_ANCHOR, tail), tail - min(_ANCHOR, tail))
                plan.index.commit(
                    replace(state, size=written.st_size, mtime_ns=written.st_mtime_ns, tail=tail, dead=plan.dead,
                            anchor=anchor),
                    plan.rows.values(), plan.dropped, plan.terms, durable=inside)
            except BaseException:
                try:
                    self._undo(fd, plan.index, state, before)
                except (OSError, sqlite3.Error) as e:
                    log.warning("%s: could not undo an unfinished change (%s); the next call does", self.name, e)
                raise
        finally:
            os.close(fd)

    def _undo(self, fd: int, index: Index, state: FileState, before: list[tuple[int, bytes]]) -> FileState:
        """Put back the bytes a change overwrote and cut what it added; the file is as committed."""
        os.ftruncate(fd, state.size)
        for offset, data in before:
            _write_at(fd, data, offset)
        _datasync(fd)
        settled = replace(state, mtime_ns=os.fstat(fd).st_mtime_ns)
        index.settle(settled)
        return settled

    def _read_item(self, index: Index, row: Row) -> Item:
        with open(self.path, "rb") as f:
            f.seek(row.offset)
            data = f.read(row.length)
        with contextlib.suppress(WxrFormatError):
            items = parse_items(data)
            if [i.post_id for i in items] == [row.post_id]:
                return items[0]
        index.forget()
        raise TransportError(f"item {row.post_id} is not where {self.index_path.name} says; the index is "
                             "rebuilt from the file on the next attempt", self.name)

    def _write_new_file(self, data: bytes) -> os.stat_result:
        """Write a temporary file beside the target, fsync it and move it over the target."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            temporary = folder / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:  # pragma: no cover - 32 random bits
                continue
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                written = os.fstat(f.fileno())
            with contextlib.suppress(OSError):  # keep the old file's permissions
                os.chmod(temporary, stat.S_IMODE(os.stat(self.path).st_mode))
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return written

    def _guard(self, doing: str, action: Callable[[], T]) -> T:
        """Run ``action``, translating every failure into the adapter's exceptions."""
        try:
            return action()
        except AdapterError:
            raise
        except WxrFormatError as e:
            raise RemoteRejectedError(f"cannot {doing} {self.path}: the file {e}", self.name) from e
        except OSError as e:
            where = e.filename or self.path
            raise TransportError(f"cannot {doing} {where}: {e.strerror or e}", self.name) from e
        except sqlite3.Error as e:
            raise TransportError(f"cannot {doing} {self.path}: its index {self.index_path.name}: {e}",
                                 self.name) from e
        except Exception as e:  # never let a foreign exception escape the adapter
            raise AdapterError(f"cannot {doing} {self.path}: {type(e).__name__}: {e}", self.name) from e


class _Plan:
    """One change of the file: items removed (overwritten with whitespace) and items added at the end."""

    def __init__(self, index: Index, state: FileState) -> None:
        self.index = index
        self.state = state
        self.tail = state.tail  #: where the closing tags start
        self.rows: dict[int, Row] = {}  #: items added, by id
        self.dropped: set[int] = set()  #: ids of items removed
        self.terms: list[TermDef] = []  #: definitions added
        self.dead = state.dead
        self._blanks: list[tuple[int, int]] = []
        self._added = bytearray()
        self._next_id = index.max_id() + 1
        self._next_term = index.max_term_id() + 1

    def new_id(self) -> int:
        """An item id no item has."""
        self._next_id += 1
        return self._next_id - 1

    def row(self, post_id: int) -> Row | None:
        """The item with this id, as it will be after the change."""
        if post_id in self.rows:
            return self.rows[post_id]
        return None if post_id in self.dropped else self.index.row(post_id)

    def named(self, slug: str) -> bool:
        """Whether an item will have ``post_name`` ``slug`` after the change."""
        return any(i not in self.dropped and i not in self.rows for i in self.index.named(slug)) \
            or any(r.slug == slug for r in self.rows.values())

    def attachment_for(self, url: str) -> Row | None:
        found = self.index.attachment_for(url)
        return found if found is not None and found.post_id not in self.dropped else None

    def users(self, attachment_id: int) -> list[int]:
        """The posts whose featured image this attachment will be."""
        return sorted({i for i in self.index.users(attachment_id) if i not in self.dropped and i not in self.rows}
                      | {r.post_id for r in self.rows.values() if r.thumbnail == attachment_id})

    def add(self, item: Item) -> None:
        """Add ``item`` at the end, after definitions of its terms the file does not define yet."""
        defined = {(t.taxonomy, t.slug) for t in self.terms}
        new_terms = []
        for domain, slug, name in item.terms:
            if domain in ("category", "post_tag") and slug and (domain, slug) not in defined \
                    and self.index.term_id(domain, slug) is None:
                defined.add((domain, slug))
                new_terms.append(TermDef(domain, slug, name, self._next_term))
                self._next_term += 1
        self.terms += new_terms
        self._added += term_definitions(new_terms)
        data = item_bytes(item)
        self.rows[item.post_id] = _row(item, self.tail + len(self._added), len(data))
        self.dropped.discard(item.post_id)
        self._added += data

    def remove(self, row: Row) -> None:
        """Overwrite the item's bytes with whitespace."""
        self._blanks.append((row.offset, row.length))
        self.dead += row.length
        self.rows.pop(row.post_id, None)
        self.dropped.add(row.post_id)

    def replace(self, row: Row, item: Item) -> None:
        """Remove the item's old version and add the new one."""
        self.remove(row)
        self.add(item)

    @property
    def new_tail(self) -> int:
        """Where the closing tags will start."""
        return self.tail + len(self._added)

    def writes(self) -> list[tuple[int, bytes]]:
        """The bytes to write, by offset: whitespace over removed items, then the end anew."""
        writes = [(offset, filler(length)) for offset, length in self._blanks]
        if self._added:
            end = bytes(self._added) + TAIL
            if self.tail + len(end) > self.state.size:  # room for the next additions too
                end += filler(min(max(self.state.size // 8, _SLACK_MIN), _SLACK_MAX))
            writes.append((self.tail, end))
        return writes


def _row(item: Item, offset: int, length: int) -> Row:
    thumbnail = _post_id(item.get_meta(META_THUMBNAIL) or "") if item.is_post else None
    return Row(item.post_id, item.post_type, item.status, item.post_name, item.get_meta(META_MARKER),
               thumbnail, item.attachment_url, item.post_parent, offset, length)


def _post_id(remote_id: str) -> int | None:
    try:
        value = int(str(remote_id).strip())
    except ValueError:
        return None
    return value if value > 0 else None


def _check_post(post: Post, destination: str) -> None:
    if post.status not in POST_STATUSES:
        raise RemoteRejectedError(
            f"post status {post.status!r} is not one of {', '.join(POST_STATUSES)}", destination)


def _datasync(fd: int) -> None:
    """``fdatasync``: the data and the size on disk, not the times (macOS has only ``fsync``)."""
    (os.fdatasync if hasattr(os, "fdatasync") else os.fsync)(fd)


def _write_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _drop_unused_attachments(document: Document) -> None:
    """Remove attachments no item points at; re-parent shared ones whose parent is gone."""
    users: dict[int, list[int]] = {}
    for item in document.items:
        if item.is_post:
            thumbnail = _post_id(item.get_meta(META_THUMBNAIL) or "")
            if thumbnail:
                users.setdefault(thumbnail, []).append(item.post_id)
    ids = {i.post_id for i in document.items}
    kept = []
    for item in document.items:
        if not item.is_post:
            if item.post_id not in users:
                continue
            if item.post_parent not in users[item.post_id] and item.post_parent not in ids:
                item.post_parent = users[item.post_id][0]
        kept.append(item)
    document.items = kept


def _probe_writable(folder: Path) -> str | None:
    """Create and remove a file in ``folder``; the problem, if that fails."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    probe = folder / f".wxr-check.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return f"{folder} is not writable: {e.strerror or e}"
    return None
