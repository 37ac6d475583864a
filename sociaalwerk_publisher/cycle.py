"""The jobs: fetch -> auto-approve -> syndicate -> match coverage -> alerts -> reports -> outbox -> webhooks.

`Publisher.run_cycle` runs them under the run lock and records the outcome for
`status`: `run` does them all once (each step's failure is recorded and the next
step still runs); `daemon` runs groups of them on a timetable. A job stops
between items when ``stop`` is set, so a shutdown never waits for a whole batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._logging import IN_RESULT
from ._wording import count
from .coverage.model import Period
from .coverage.periods import last_complete, named, today_in_amsterdam
from .exceptions import PublisherError
from .reports import report_file_name
from .types import FetchResult, SyndicationResult, WebhookDelivery

if TYPE_CHECKING:
    from .core import Publisher

log = logging.getLogger(__name__)

#: every step, in the order of a whole cycle
#: (webhooks last: every step before it may record events, a report sent by the outbox too)
STEPS = ("fetch", "hub", "approve", "syndicate", "coverage", "alerts", "reports", "digest", "outbox", "webhooks")


@dataclass
class CycleResult:
    """What a cycle (or one job) did, step by step."""

    fetched: list[FetchResult] = field(default_factory=list)
    approved: int = 0
    reviewed: int = 0  #: decisions read back from the WordPress hub
    syndicated: list[SyndicationResult] = field(default_factory=list)
    matched: int = 0
    counted: int = 0
    alerts: list[str] = field(default_factory=list)  #: alert mails queued (outbox keys)
    reports: list[str] = field(default_factory=list)  #: files written and messages queued
    written: list[tuple[str, str]] = field(default_factory=list)  #: (HTML, CSV) report files written
    unsent: list[str] = field(default_factory=list)  #: messages still waiting in the outbox
    webhooks: list[WebhookDelivery] = field(default_factory=list)  #: webhook events sent or tried
    errors: list[str] = field(default_factory=list)  #: "step: message" for each failed step

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unsent and all(r.ok for r in self.fetched) \
            and all(r.ok for r in self.syndicated) and all(w.ok for w in self.webhooks)

    def summary(self) -> str:
        failed_sources = sum(not r.ok for r in self.fetched)
        failed_sends = sum(not r.ok for r in self.syndicated)
        return (f"fetched {count(len(self.fetched), 'source')} ({sum(r.new for r in self.fetched)} new,"
                f" {failed_sources} failed); approved {self.approved} automatically"
                + (f", {self.reviewed} decided in WordPress" if self.reviewed else "") + "; syndicated"
                f" {len(self.syndicated) - failed_sends} ({failed_sends} failed); matched {count(self.matched, 'item')}"
                f" ({self.counted} counted)"
                + (f"; alerts {len(self.alerts)}" if self.alerts else "") + f"; reports {len(self.reports)}"
                + (f"; {count(len(self.unsent), 'message')} waiting" if self.unsent else "")
                + (f"; webhook events {sum(w.ok for w in self.webhooks)} delivered"
                   f" ({sum(not w.ok for w in self.webhooks)} failed)" if self.webhooks else "")
                + (f"; {count(len(self.errors), 'step')} failed" if self.errors else ""))


class Jobs:
    """The steps of a cycle, each usable alone (the daemon) or in order (`run`)."""

    def __init__(self, publisher: Publisher, result: CycleResult | None = None,
                 on_item: Callable[[Any], None] | None = None, stop: threading.Event | None = None) -> None:
        self.publisher = publisher
        self.result = result or CycleResult()
        self._notify = on_item or (lambda item: None)
        self._stop = stop or threading.Event()
        self._steps: dict[str, Callable[[], None]] = {
            "fetch": self.fetch, "hub": self.hub, "approve": self.approve, "syndicate": self.syndicate,
            "coverage": self.coverage, "alerts": self.alerts, "reports": self.reports, "digest": self.digest, "outbox": self.outbox,
            "webhooks": self.webhooks,
        }

    def step(self, name: str) -> None:
        """Run one step; its failure is recorded, never raised."""
        try:
            self._steps[name]()
        except PublisherError as e:
            log.error("%s: %s", name, e, extra=IN_RESULT)
            self.result.errors.append(f"{name}: {e}")

    def run(self, steps: Iterable[str] = STEPS) -> CycleResult:
        """Run ``steps`` in order until ``stop`` is set."""
        for name in steps:
            if self._stop.is_set():
                break
            self.step(name)
        return self.result

    def fetch(self) -> None:
        opml = self.publisher.config.sources.opml
        if opml:
            self.publisher.import_opml(self.publisher.config.resolve(opml))
        results = self.publisher.fetch_sources(due_only=True)
        for item in results:
            self.result.fetched.append(item)
            self._notify(item)
            if self._stop.is_set():
                results.close()  # abandons downloads not yet stored; they are polled next time

    def hub(self) -> None:
        """Review in WordPress: read the editors' decisions, queue new stories."""
        summary = self.publisher.sync_hub()
        self.result.reviewed += summary.approved + summary.rejected
        self.result.errors.extend(f"hub: {e}" for e in summary.errors)

    def digest(self) -> None:
        self.publisher.send_digest()

    def approve(self) -> None:
        self.result.approved += len(self.publisher.auto_approve())

    def syndicate(self) -> None:
        results = self.publisher.syndicate()
        for item in results:
            self.result.syndicated.append(item)
            self._notify(item)
            if self._stop.is_set():
                results.close()

    def coverage(self) -> None:
        summary = self.publisher.match_coverage()
        self.result.matched += summary.items
        self.result.counted += summary.counted

    def alerts(self) -> None:
        self.result.alerts.extend(self.publisher.send_alerts().queued)

    def reports(self) -> None:
        """Make the reports whose period is complete and not yet made (idempotent)."""
        publisher, config = self.publisher, self.publisher.config
        today = today_in_amsterdam()
        for kind in config.report.schedule:
            period = named(kind, config.report.language) or last_complete(kind, today, config.report.language)
            if period.end >= today:
                continue  # a named month that is not over yet
            if config.report.output_folder:
                folder = config.resolve(config.report.output_folder)
                target = folder / report_file_name(period)
                if not target.exists():
                    folder.mkdir(parents=True, exist_ok=True)
                    csv_file, _ = publisher.write_report(period, target)
                    self.result.reports.append(str(target))
                    self.result.written.append((str(target), str(csv_file)))
            if config.email.host:
                for organisation in (None, *(m.organisation for m in config.report.members)):
                    self._queue(period, organisation)

    def _queue(self, period: Period, organisation: str | None) -> None:
        """Queue one report; a member's that cannot be made is recorded, the others still go."""
        try:
            key, added = self.publisher.queue_report(period, organisation=organisation)
        except PublisherError as e:
            if organisation is None:
                raise
            log.error("reports: %s: %s", organisation, e, extra=IN_RESULT)
            self.result.errors.append(f"reports: {organisation}: {e}")
            return
        if added:
            self.result.reports.append(key)

    def outbox(self) -> None:
        if self.publisher.config.email.host:
            self.publisher.deliver_outbox()
            self.result.unsent = [i.key for i in self.publisher.outbox() if i.state == "pending"]

    def webhooks(self) -> None:
        self.result.webhooks.extend(self.publisher.deliver_webhooks())
