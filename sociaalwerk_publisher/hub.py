"""Review in WordPress: the hub's "Pending Review" queue is the approval queue.

Each new story that passes the hub's filters is placed on the hub as a pending
post. Each run reads those posts back: published by an editor -> approved (the
version the editor published is what member sites receive); trashed or deleted
-> rejected; still pending -> nothing. While a story waits, a change to the
original updates the pending post, unless an editor already edited it (then the
editor's version wins and the conflict is shown by `status`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .adapters.base import Adapter, HubAdapter, RemoteState, state_hash
from .composition import PostComposer, passes_filter
from .exceptions import AdapterError, ConfigError
from .clock import utcnow
from .mail import Outbox, build_message
from .municipalities import municipalities
from .rendering import render
from .review import check_transition
from .themes import story_themes
from .types import Decision, HubSummary, SourceKind, Story, StoryFilter, StoryStatus, SyndicationState

if TYPE_CHECKING:
    from ._storage import Storage
    from ._storage.records import EditorVersion, HubReviewRecord
    from .config import Config, DestinationConfig

log = logging.getLogger(__name__)

#: Published hub posts are re-read this long after approval, so later edits reach members.
FOLLOW_EDITS = timedelta(days=30)
LIVE = frozenset({"publish", "future", "private"})
WAITING = frozenset({"pending", "draft"})


def hub_name(config: Config) -> str:
    """The destination editors review on, or "" in cli review mode."""
    return config.review.hub if config.review.mode == "wordpress" else ""


@dataclass(frozen=True)
class HubOutcome:
    """What review in WordPress means for syndication: the hub, the stories placed there for
    review, and the editors' versions of approved ones (what member sites receive)."""

    hub: str = ""  #: empty when review is not in WordPress
    placed: frozenset[int] = frozenset()
    versions: Mapping[int, EditorVersion] = field(default_factory=dict)

    @classmethod
    def read(cls, storage: Storage, config: Config) -> HubOutcome:
        hub = hub_name(config)
        return cls(hub, frozenset(storage.hub.all()), storage.hub.versions()) if hub else cls()

    def is_hub(self, destination: DestinationConfig) -> bool:
        return destination.name == self.hub

    def placed_on(self, destination: DestinationConfig, story: Story) -> bool:
        """Whether ``story`` is on ``destination`` as the hub post an editor reviews: on the
        hub that post is the publication."""
        return self.is_hub(destination) and story.id in self.placed

    def version(self, story: Story, destination: DestinationConfig) -> EditorVersion | None:
        """The editor's version ``destination`` receives instead of ``story``, if there is one
        (the hub itself has it already)."""
        return None if self.is_hub(destination) else self.versions.get(story.id)

    def content_hash(self, story: Story, destination: DestinationConfig) -> str:
        """What a destination's copy must match: the editor's version where there is one."""
        version = self.version(story, destination)
        return version.version_hash if version is not None else story.content_hash


class HubReview:
    """Keeps the hub's review queue and the store in step; see the module docstring."""

    def __init__(self, storage: Storage, config: Config, composer: PostComposer, adapter: Adapter) -> None:
        if not isinstance(adapter, HubAdapter):
            raise ConfigError(f"the {config.review.hub} destination's adapter cannot serve as review hub",
                              "review.hub")
        self._storage = storage
        self._config = config
        self._composer = composer
        self._adapter: HubAdapter = adapter
        self._hub = config.destination(config.review.hub)

    def sync(self) -> HubSummary:
        """Read the editors' decisions, then queue new stories. One failing post never stops the rest."""
        counts = {"queued": 0, "updated": 0, "approved": 0, "rejected": 0, "edited": 0, "conflicts": 0}
        errors: list[str] = []
        reviews = self._storage.hub.all()
        now = utcnow()
        for story_id, review in reviews.items():
            try:
                outcome = self._follow(story_id, review, now)
                if outcome:
                    counts[outcome] += 1
            except AdapterError as e:
                errors.append(f"story {story_id}: {e}")
        waiting = self._storage.stories.list(StoryFilter(status=StoryStatus.NEW, kind=SourceKind.BLOG, limit=0))
        for story in waiting:
            if story.id in reviews or not passes_filter(story, self._hub, story_themes(story, self._config)):
                continue
            try:
                self._queue(story, now)
                counts["queued"] += 1
            except AdapterError as e:
                errors.append(f"story {story.id}: {e}")
        return HubSummary(**counts, errors=tuple(errors))

    # -- placing stories on the hub ----------------------------------------------------

    def _push(self, story: Story, remote_id: str | None, now: datetime) -> tuple[str, str]:
        post, _ = self._composer.compose(story, self._hub, now, status="pending")
        if remote_id is None:
            earlier = self._adapter.find_existing(post)  # an interrupted earlier run
            remote = self._adapter.update(earlier.id, post) if earlier else self._adapter.publish(post)
        else:
            remote = self._adapter.update(remote_id, post)
        state = self._adapter.read(remote.id)
        return remote.id, state_hash(state) if state else ""

    def _queue(self, story: Story, now: datetime) -> None:
        remote_id, pushed = self._push(story, None, now)
        self._storage.hub.add(story_id=story.id, remote_id=remote_id, state="pending", queued_at=now,
                              story_hash=story.content_hash, pushed_hash=pushed)
        log.info("story %d waits for review on %s as post %s", story.id, self._hub.name, remote_id)

    # -- reading decisions back ---------------------------------------------------------

    def _follow(self, story_id: int, review: HubReviewRecord, now: datetime) -> str | None:
        if review.state == "rejected":
            return None
        if review.state == "approved" and review.decided_at and review.decided_at < now - FOLLOW_EDITS:
            return None
        story = self._storage.stories.get(story_id)
        state = self._adapter.read(review.remote_id)
        self._storage.hub.update(story_id, checked_at=now)
        gone = state is None or state.status == "trash"
        if review.state == "pending":
            if story.status is not StoryStatus.NEW:
                return self._decided_here(story, review, state)
            if gone:
                self._decide(story, StoryStatus.REJECTED, state, "verwijderd in WordPress")
                self._storage.hub.update(story_id, state="rejected", decided_at=now)
                return "rejected"
            assert state is not None
            if state.status in LIVE:
                self._decide(story, StoryStatus.APPROVED, state, "goedgekeurd in WordPress")
                self._keep_version(story_id, state, state="approved", decided_at=now)
                return "approved"
            if story.content_hash != review.story_hash:
                return self._original_changed(story, review, state, now)
            return None
        # approved: carry later edits of the hub post to the member sites
        if gone or state is None:
            return None
        if state_hash(state) != review.version_hash:
            self._keep_version(story_id, state)
            return "edited"
        return None

    def _original_changed(self, story: Story, review: HubReviewRecord, state: RemoteState, now: datetime) -> str:
        if state_hash(state) != review.pushed_hash:  # an editor has been at work: their version wins
            self._storage.hub.update(story.id, conflict="het origineel is gewijzigd nadat een redacteur"
                                     " het bericht in WordPress bewerkte; de versie van de redacteur blijft staan")
            return "conflicts"
        _, pushed = self._push(story, review.remote_id, now)
        self._storage.hub.update(story.id, story_hash=story.content_hash, pushed_hash=pushed, conflict=None)
        return "updated"

    def after_decision(self, story_id: int) -> None:
        """Make the hub agree with a decision taken with the CLI, right away."""
        review = self._storage.hub.get(story_id)
        if review is not None and review.state == "pending":
            self._follow(story_id, review, utcnow())

    def _decided_here(self, story: Story, review: HubReviewRecord, state: RemoteState | None) -> str | None:
        """A decision taken with the CLI while the story waited: make the hub agree."""
        if story.status is StoryStatus.APPROVED and state is not None and state.status != "trash":
            if state.status in WAITING:
                self._adapter.set_status(review.remote_id, "publish")
                state = self._adapter.read(review.remote_id) or state
            self._keep_version(story.id, state, state="approved", decided_at=utcnow())
            return "approved"
        if story.status in (StoryStatus.REJECTED, StoryStatus.RETRACTED):
            if state is not None and state.status != "trash":
                self._adapter.retract(review.remote_id)
            self._storage.hub.update(story.id, state="rejected", decided_at=utcnow())
            return "rejected"
        return None

    def _keep_version(self, story_id: int, remote: RemoteState, **values: Any) -> None:
        self._storage.hub.update(
            story_id, title=remote.title, content_html=remote.content_html,
            categories="\t".join(remote.categories), tags="\t".join(remote.tags), image_url=remote.image_url,
            version_hash=state_hash(remote), conflict=None, **values,
        )

    def _decide(self, story: Story, to: StoryStatus, state: RemoteState | None, note: str) -> None:
        check_transition(story.id, story.status, to)
        who = f"wordpress:{state.modified_by}" if state is not None and state.modified_by else "wordpress"
        when = state.modified if state is not None and state.modified else utcnow()
        with self._storage.begin() as conn:
            self._storage.decisions.record(conn, Decision(story.id, story.status, to, who, when, note))
        log.info("story %d %s in WordPress by %s", story.id, to.value, who)


def queue_digest(storage: Storage, config: Config, day: date) -> str | None:
    """Queue the e-mail that lists the stories waiting on the hub for its editors, and the
    copies members changed or unlinked since the last one: at most one a day, and only when
    there is something new. The key queued, if any."""
    review, email = config.review, config.email
    recipients = review.digest_recipients or email.recipients
    key = f"digest:{day.isoformat()}"
    outbox = Outbox(storage)
    last = max((i.created_at for i in outbox.items() if i.kind == "digest"), default=None)
    kept = storage.syndications.kept_by_members(last)
    if outbox.has(key) or not (storage.hub.queued_since(last) or kept):
        return None
    hub = config.destination(review.hub)
    waiting = []
    for story_id, row in sorted(storage.hub.all().items()):
        if row.state != "pending":
            continue
        story = storage.stories.get(story_id)
        municipality = municipalities().get(story.municipality or "")
        waiting.append({
            "title": story.title, "source": story.source_title or "-", "organisation": story.organisation,
            "municipality": municipality.name if municipality else None, "excerpt": story.excerpt,
            "url": story.url, "edit_url": f"{hub.url.rstrip('/')}/wp-admin/post.php?post={row.remote_id}&action=edit",
        })
    copies = [{
        "id": record.story_id, "title": storage.stories.get(record.story_id).title,
        "destination": record.destination, "url": record.remote_url,
        "unlinked": record.state is SyndicationState.UNLINKED, "how": record.unlinked_how,
    } for record in kept]
    if not waiting and not copies:
        return None
    folder = str(config.resolve(config.templates.folder)) if config.templates.folder else None
    context = {"stories": waiting, "copies": copies, "hub_name": hub.name}
    if waiting:
        subject = f"{len(waiting)} {'verhaal wacht' if len(waiting) == 1 else 'verhalen wachten'} op beoordeling"
    else:
        subject = f"{len(copies)} {'kopie' if len(copies) == 1 else 'kopieën'} bewerkt of ontkoppeld door leden"
    message = build_message(key=key, sender=email.sender, recipients=recipients, subject=subject,
                            text=render("digest.txt.j2", folder, **context),
                            html=render("digest.html.j2", folder, **context))
    outbox.add(key, "digest", message, recipients, utcnow())
    return key
