"""Alerts: new mentions that ``[[alerts.rules]]`` match, and spikes in the number of mentions.

One turn (:func:`run_alerts`, the cycle's step ``alerts`` after coverage matching) looks at the
press mentions fetched since the last turn, once each: every rule's matches go to its
recipients as one mail per recipient (a recipient of several rules gets one mail with a part
per rule), never one mail per mention. The mails are stored in the outbox in the same
transaction that marks the mentions seen, and hosts take turns one after the other, so a crash,
a mail server that is down or a second worker never loses or doubles an alert.

In quiet hours (``[alerts] quiet_hours``, Europe/Amsterdam) a turn does nothing: the mentions
wait unseen, and the first turn after the quiet hours sends one mail with all of them.

A spike: the mentions published in the last 24 hours are more than the daily mean of the 7
days before plus ``spike_k`` standard deviations, and at least ``spike_minimum``. It is mailed
once when it starts; while it lasts nothing more, and once the count is back under the
threshold the next spike is mailed again.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ._storage import Storage
from ._storage.alerts import FETCHED_WITHIN, AlertStore
from .config import AlertRuleConfig, Config, quiet_hours
from .coverage.figures import gouden_codes
from .coverage.periods import AMSTERDAM
from .exceptions import ConfigError
from .mail import Outbox, build_message
from .municipalities import lookup
from .rendering import render
from .reports import _Format, _plain
from .themes import ThemeMatcher
from .types import AlertSummary

__all__ = ["FETCHED_WITHIN", "in_quiet_hours", "run_alerts", "spike_threshold"]

#: A part of an alert mail lists the newest this many mentions, then says how many more.
LISTED = 100
DAY = timedelta(hours=24)
#: the spike of all press mentions (the state table has room for more scopes)
SPIKE_SCOPE = "all"

LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Nieuwe vermeldingen",
        "subject": "Nieuwe vermeldingen: {count} {noun} ({rules})",
        "section": "{rule}: {count} {noun}",
        "more": "en {n} meer",
        "spike_title": "Piek in de persaandacht",
        "spike_subject": "Piek in de persaandacht: {count} vermeldingen in 24 uur",
        "spike_text": "{count} vermeldingen in de afgelopen 24 uur, tegen gemiddeld {mean} per dag in de 7 dagen"
                      " ervoor (een piek is meer dan {threshold} en minstens {minimum}).",
        "latest": "Nieuwste vermeldingen",
        "mention_one": "vermelding",
        "mention_many": "vermeldingen",
        "footer": "Gemaakt door sociaalwerk-publisher op {moment}. Een vermelding komt één keer in een alert;"
                  " de regels staan in [alerts] van het configuratiebestand.",
        "spike_footer": "Gemaakt door sociaalwerk-publisher op {moment}. Een piek wordt één keer gemeld, niet"
                        " opnieuw zolang hij duurt; de drempel staat in [alerts] van het configuratiebestand.",
    },
    "en": {
        "title": "New mentions",
        "subject": "New mentions: {count} {noun} ({rules})",
        "section": "{rule}: {count} {noun}",
        "more": "and {n} more",
        "spike_title": "Spike in press coverage",
        "spike_subject": "Spike in press coverage: {count} mentions in 24 hours",
        "spike_text": "{count} mentions in the last 24 hours, against a mean of {mean} a day in the 7 days"
                      " before (a spike is more than {threshold} and at least {minimum}).",
        "latest": "Latest mentions",
        "mention_one": "mention",
        "mention_many": "mentions",
        "footer": "Made by sociaalwerk-publisher on {moment}. A mention is alerted once; the rules are in"
                  " [alerts] of the configuration file.",
        "spike_footer": "Made by sociaalwerk-publisher on {moment}. A spike is alerted once, not again while it"
                        " lasts; the threshold is set in [alerts] of the configuration file.",
    },
}


@dataclass(frozen=True)
class _Listed:
    when: str
    outlet: str
    title: str
    url: str
    place: str


def in_quiet_hours(now: datetime, quiet: str) -> bool:
    """Whether ``now`` falls in ``quiet`` ("22:00-07:00", Amsterdam time; also over midnight)."""
    bounds = quiet_hours(quiet)
    if bounds is None:
        return False
    start, end = bounds
    local = now.astimezone(AMSTERDAM)
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end


def spike_threshold(daily: Sequence[int], k: float) -> float:
    """The daily mean of ``daily`` plus ``k`` (population) standard deviations."""
    mean = sum(daily) / len(daily)
    return mean + k * math.sqrt(sum((n - mean) ** 2 for n in daily) / len(daily))


class _Rules:
    """The rules compiled once: which of them a mention matches."""

    def __init__(self, config: Config, members: Sequence[str]) -> None:
        self.rules = config.alerts.rules
        canonical = {name.casefold(): name for name in members}
        for name, aliases in config.coverage.organisations.items():
            canonical.update((alias.casefold(), name) for alias in aliases)
        self._organisations: list[frozenset[str]] = []
        for i, rule in enumerate(self.rules):
            unknown = [o for o in rule.organisations if o.strip().casefold() not in canonical]
            if unknown:
                raise ConfigError(f"{unknown[0]!r} is not a member organisation (known: {', '.join(members) or 'none'})",
                                  f"alerts.rules[{i}].organisations")
            self._organisations.append(frozenset(canonical[o.strip().casefold()] for o in rule.organisations))
        self._golden = frozenset(gouden_codes(config))
        self._terms = [ThemeMatcher({rule.name: rule.terms}) if rule.terms else None for rule in self.rules]

    def matching(self, row: Any, facts: set[tuple[str, str]]) -> list[AlertRuleConfig]:
        found = []
        organisations = {value for kind, value in facts if kind == "organisation"}
        for rule, wanted, terms in zip(self.rules, self._organisations, self._terms):
            if (wanted & organisations
                    or (rule.gouden and any(kind == "gouden" for kind, _ in facts))
                    or (rule.gouden_gemeenten and row.municipality in self._golden)
                    or (terms is not None and terms.match(f"{row.title}\n{row.text or ''}"))):
                found.append(rule)
        return found


def run_alerts(storage: Storage, config: Config, members: Sequence[str], now: datetime,
               template_folder: str | None = None) -> AlertSummary:
    """One alert turn: mail the new mentions the rules match, and a spike when one starts.

    Args:
        members: every member organisation's name (the rules' organisations are checked
            against them and their aliases).

    Raises:
        ConfigError: a rule names an organisation that is not a member.
        TemplateError: an alert template is missing or broken.
    """
    alerts = config.alerts
    if not alerts.rules and not alerts.spike_recipients:
        # still marked seen: alerts switched on later start from then, not from a week's history
        with storage.alerts.turn() as turn:
            unseen = [r.id for r in turn.new_mentions(now - FETCHED_WITHIN)]
            turn.mark_seen(unseen, now)
            turn.prune_seen(now - FETCHED_WITHIN - DAY)
        return AlertSummary(looked_at=len(unseen))
    if in_quiet_hours(now, alerts.quiet_hours):
        return AlertSummary(quiet=True)
    rules = _Rules(config, members)
    fmt = _Format(config.report.language if config.report.language in LABELS else "nl")
    outbox = Outbox(storage)
    queued: list[str] = []
    with storage.alerts.turn() as turn:
        rows = turn.new_mentions(now - FETCHED_WITHIN)
        facts = turn.facts([r.id for r in rows], ("organisation", "gouden")) if rules.rules else {}
        by_recipient: dict[str, dict[str, list[Any]]] = {}
        for row in rows:  # newest first
            for rule in rules.matching(row, facts.get(row.id, set())):
                for recipient in rule.recipients:
                    by_recipient.setdefault(recipient, {}).setdefault(rule.name, []).append(row)
        order = [rule.name for rule in rules.rules]
        for recipient, sections in by_recipient.items():
            parts = {name: sections[name] for name in order if name in sections}
            queued.append(_queue_matches(outbox, turn, config, fmt, recipient, parts, now, template_folder))
        turn.mark_seen([r.id for r in rows], now)
        # a mark outlives its mention's place in the window by a day: seen_at >= first_seen_at
        turn.prune_seen(now - FETCHED_WITHIN - DAY)
        spike = _spike(outbox, turn, config, fmt, now, template_folder) if alerts.spike_recipients else None
    if spike:
        queued.append(spike)
    return AlertSummary(looked_at=len(rows), queued=tuple(queued), spike=spike is not None)


def _queue_matches(outbox: Outbox, turn: AlertStore, config: Config, fmt: _Format, recipient: str,
                   sections: Mapping[str, list[Any]], now: datetime, template_folder: str | None) -> str:
    labels = LABELS[fmt.language]
    distinct = {row.id for rows in sections.values() for row in rows}
    subject = labels["subject"].format(count=fmt.number(len(distinct)), noun=_noun(labels, len(distinct)),
                                       rules=", ".join(_plain(name) for name in sections))
    parts = [
        {"heading": labels["section"].format(rule=_plain(name), count=fmt.number(len(rows)),
                                             noun=_noun(labels, len(rows))),
         "mentions": [_listed(row, fmt) for row in rows[:LISTED]],
         "more": labels["more"].format(n=fmt.number(len(rows) - LISTED)) if len(rows) > LISTED else ""}
        for name, rows in sections.items()
    ]
    # the same recipient and mentions give the same key: a mail is queued once, whoever queues it
    digest = hashlib.sha256(",".join(map(str, sorted(distinct))).encode()).hexdigest()[:16]
    key = f"alert:{recipient}:{now:%Y-%m-%dT%H:%M}:{digest}"
    _queue(outbox, turn, config, key, [recipient], subject, labels["title"], parts, None, fmt, now, template_folder)
    return key


def _spike(outbox: Outbox, turn: AlertStore, config: Config, fmt: _Format, now: datetime,
           template_folder: str | None) -> str | None:
    """The outbox key of the spike alert queued now, if a spike started; keeps the state."""
    alerts = config.alerts
    current = turn.counted(now - DAY, now)
    daily = [turn.counted(now - DAY * (d + 1), now - DAY * d) for d in range(1, 8)]
    threshold = spike_threshold(daily, alerts.spike_k)
    spiking = current > threshold and current >= alerts.spike_minimum
    state = turn.spike(SPIKE_SCOPE)
    active = bool(state is not None and state.active)
    if spiking == active:
        return None
    turn.set_spike(SPIKE_SCOPE, active=spiking, since=now if spiking else None, now=now)
    if not spiking:
        return None  # fell back: the next spike alerts again
    labels = LABELS[fmt.language]
    text = labels["spike_text"].format(count=fmt.number(current), mean=fmt.decimal(sum(daily) / len(daily)),
                                       threshold=fmt.decimal(threshold),
                                       minimum=fmt.number(alerts.spike_minimum))
    rows = turn.published(now - DAY, now, LISTED)
    parts = [{"heading": labels["latest"], "mentions": [_listed(row, fmt) for row in rows],
              "more": labels["more"].format(n=fmt.number(current - len(rows))) if current > len(rows) else ""}]
    key = f"spike:{SPIKE_SCOPE}:{now:%Y-%m-%dT%H:%M}"
    _queue(outbox, turn, config, key, alerts.spike_recipients, labels["spike_subject"].format(
        count=fmt.number(current)), labels["spike_title"], parts, text, fmt, now, template_folder,
           footer="spike_footer")
    return key


def _queue(outbox: Outbox, turn: AlertStore, config: Config, key: str, recipients: Iterable[str], subject: str,
           title: str, parts: list[dict[str, Any]], intro: str | None, fmt: _Format, now: datetime,
           template_folder: str | None, footer: str = "footer") -> None:
    labels = LABELS[fmt.language]
    context = {"title": title, "subject": subject, "intro": intro, "parts": parts,
               "footer": labels[footer].format(moment=fmt.moment(now)), "moment": fmt.moment(now),
               "language": fmt.language}
    message = build_message(key=key, sender=config.email.sender, recipients=tuple(recipients), subject=subject,
                            text=render("alert.txt.j2", template_folder, **context),
                            html=render("alert.html.j2", template_folder, **context))
    outbox.add(key, "alert", message, tuple(recipients), now, turn.conn)


def _listed(row: Any, fmt: _Format) -> _Listed:
    municipality = lookup(row.municipality) if row.municipality else None
    return _Listed(when=f"{fmt.day(row.published_at)} {row.published_at.astimezone(AMSTERDAM):%H:%M}",
                   outlet=_plain(row.outlet or ""), title=_plain(row.title or ""),
                   url=fmt.href(row.url or "") or "", place=municipality.name if municipality else "")


def _noun(labels: Mapping[str, str], n: int) -> str:
    return labels["mention_one"] if n == 1 else labels["mention_many"]
