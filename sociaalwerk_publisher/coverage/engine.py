"""Turn media and alert items into counted mentions: match, attribute, cluster."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from .._storage import Storage
from ..config import Config
from ..clock import utcnow
from ..themes import ThemeMatcher
from . import pickups
from .matching import DEFAULT_EXCLUSIONS, DEFAULT_TERMS, Matcher, Watchlist
from .places import attribute

log = logging.getLogger(__name__)

BATCH = 2000


@dataclass(frozen=True)
class MatchSummary:
    """What one matching pass did."""

    items: int
    counted: int
    own_channel: int
    new_outlets: int


def domain_of(url: str | None) -> str | None:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.lower().removeprefix("www.") or None


def watchlist(config: Config, storage: Storage) -> Watchlist:
    """The configured watchlist plus every organisation and ambassador named on a source."""
    coverage = config.coverage
    organisations = dict(coverage.organisations)
    ambassadors = list(coverage.ambassadors)
    for source in storage.sources.list():
        if source.organisation:
            organisations.setdefault(source.organisation, ())
        if source.ambassador and source.ambassador not in ambassadors:
            ambassadors.append(source.ambassador)
    # the campaign's "gouden" persons and institutions are watch terms too (and reported apart)
    terms = tuple(dict.fromkeys((*(coverage.terms or DEFAULT_TERMS), *config.campaign.gouden)))
    return Watchlist(terms=terms, organisations=organisations,
                     ambassadors=tuple(ambassadors), exclusions=coverage.exclusions or DEFAULT_EXCLUSIONS)


def own_domains(config: Config, storage: Storage) -> frozenset[str]:
    """Our own channels, never press coverage: destination sites and members' blogs
    (the hosts of their feeds and of the stories those feeds carry)."""
    domains = {domain_of(d.url) for d in config.destinations if d.url}
    domains |= {domain_of(s.url) for s in storage.sources.list() if s.kind.value == "blog"}
    domains |= {domain_of(url) for url in storage.coverage.blog_story_urls()}
    return frozenset(d for d in domains if d)


def match_mentions(storage: Storage, config: Config, *, rematch: bool = False,
                   now: datetime | None = None,
                   article_text: Callable[[str], str | None] | None = None) -> MatchSummary:
    """Match new candidate items (or all of them with ``rematch``) and cluster their pickups.

    Args:
        article_text: the text of the article page at a URL, or None when it cannot be had;
            asked for items whose feed text is a snippet (``coverage.fulltext``). The page
            text is matched, not stored: the item keeps what its feed said.
    """
    now = now or utcnow()
    watched = watchlist(config, storage)
    matcher = Matcher(watched)
    themer = ThemeMatcher(config.themes, (*watched.terms, *watched.ambassadors,
                                          *(n for name, aliases in watched.organisations.items() for n in (name, *aliases))))
    gouden = frozenset(config.campaign.gouden)
    own = own_domains(config, storage)
    candidates = storage.coverage.candidates(since=None, only_new=not rematch)
    window_start = now - pickups.CLUSTER_WINDOW
    threshold = config.coverage.cluster_threshold
    storage.coverage.prune_pickups(window_start)
    if rematch:
        storage.coverage.clear_pickups(window_start)  # every item is linked again below
    elif candidates and not storage.coverage.has_pickups():
        pickups.rebuild(storage, threshold, now)  # the first pass since the index came (schema 3)
    counted = own_count = 0
    known_outlets = {row.domain: row for row in storage.coverage.outlets()}
    created = 0
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start:start + BATCH]
        fresh: list[dict[str, object]] = []
        for item in batch:
            domain = domain_of(item.publisher_url) or domain_of(item.canonical_url) or "onbekend"
            if domain not in known_outlets and domain not in {f["domain"] for f in fresh}:
                fresh.append({"domain": domain, "name": item.publisher or domain, "type": "unclassified",
                              "created_at": now})
        storage.coverage.add_outlets(fresh)
        created += len(fresh)
        if fresh:
            known_outlets = {row.domain: row for row in storage.coverage.outlets()}
        rows = []
        to_link = []  # (story id, text) of counted items recent enough to be pickups
        for item in batch:
            domain = domain_of(item.publisher_url) or domain_of(item.canonical_url) or "onbekend"
            outlet = known_outlets[domain]
            text = f"{item.title}\n{item.text}"
            if article_text is not None and item.canonical_url \
                    and len(item.text.split()) < config.coverage.fulltext_below_words:
                text = f"{text}\n{article_text(item.canonical_url) or ''}"
            found = matcher.match(text)
            is_own = domain in own
            municipality = attribute(outlet.municipality, item.source_municipality, text, outlet.province)
            themes = themer.match(text)
            is_counted = found.counts and not is_own
            counted += is_counted
            own_count += is_own
            if is_counted and item.published_at >= window_start:
                to_link.append((item.id, text))
            facts = ([("organisation", v) for v in found.organisations] + [("theme", v) for v in themes]
                     + [("term", v) for v in found.terms] + [("ambassador", v) for v in found.ambassadors]
                     + [("gouden", v) for v in found.terms if v in gouden])
            rows.append({
                "story_id": item.id, "outlet_id": outlet.id, "url": item.canonical_url,
                "published_at": item.published_at, "municipality": municipality,
                "excluded_by": ", ".join(found.excluded_by) or None, "counted": is_counted,
                "own_channel": is_own, "matched_at": now, "facts": facts,
            })
        mention_ids = storage.coverage.save_mentions(rows)
        pickups.link(storage, [(mention_ids[story_id], text) for story_id, text in to_link], threshold)
    log.info("matched %d items: %d counted, %d own channels", len(candidates), counted, own_count)
    return MatchSummary(len(candidates), counted, own_count, created)
