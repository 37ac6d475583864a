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
from typing import TYPE_CHECKING, Any

from ._logging import IN_RESULT
from .coverage.model import Period
from .coverage.periods import last_complete, named, today_in_amsterdam
from .exceptions import PublisherError
from .reports import report_file_name
from .types import CycleResult

if TYPE_CHECKING:
    from .core import Publisher

log = logging.getLogger(__name__)

#: every step, in the order of a whole cycle
#: (webhooks last: every step before it may record events, a report sent by the outbox too)
STEPS = ("fetch", "hub", "approve", "syndicate", "coverage", "alerts", "reports", "digest", "outbox", "webhooks")


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
