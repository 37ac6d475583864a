"""`daemon`: the cycle's jobs on a timetable (the `schedule` library), one job at a time.

Each job is `Publisher.run_cycle` with a few of its steps: it takes the same lock
as `run`, so cron and the daemon never overlap, and its outcome shows in `status`.
A job that finds the lock taken, or fails, simply runs again at its next slot.
Reports are checked hourly and made from ``report_hour`` on, in Europe/Amsterdam
time whatever the host's time zone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import schedule

from .coverage.periods import AMSTERDAM
from .exceptions import AlreadyRunningError, PublisherError
from .types import CycleResult

if TYPE_CHECKING:
    from .core import Publisher

log = logging.getLogger(__name__)


def build_scheduler(publisher: Publisher, stop: threading.Event,
                    on_done: Callable[[str, CycleResult], None] | None = None) -> schedule.Scheduler:
    """A scheduler holding every job at its configured interval."""
    timetable = publisher.config.daemon
    scheduler = schedule.Scheduler()

    def job(*steps: str) -> Callable[[], None]:
        def run() -> None:
            if stop.is_set():
                return
            try:
                result = publisher.run_cycle(steps, stop=stop)
            except AlreadyRunningError:
                log.info("%s skipped: another run holds the lock", "+".join(steps))
                return
            except PublisherError as e:
                log.error("%s: %s", "+".join(steps), e)
                return
            except Exception:  # noqa: BLE001 - one broken job must not end the daemon
                log.exception("%s failed unexpectedly; it runs again at its next slot", "+".join(steps))
                return
            log.info("%s: %s", "+".join(steps), result.summary())
            if on_done:
                on_done("+".join(steps), result)
        return run

    def reports() -> None:
        if datetime.now(timezone.utc).astimezone(AMSTERDAM).hour >= timetable.report_hour:
            job("reports", "digest", "outbox", "webhooks")()

    scheduler.every(timetable.fetch_minutes).minutes.do(job("fetch", "hub", "approve"))
    scheduler.every(timetable.syndicate_minutes).minutes.do(job("syndicate"))
    scheduler.every(timetable.coverage_minutes).minutes.do(job("coverage", "alerts"))
    # webhook events go out with the mail: what the other jobs caused waits at most this long
    scheduler.every(timetable.outbox_minutes).minutes.do(job("outbox", "webhooks"))
    scheduler.every().hour.do(reports)
    return scheduler


def run_daemon(publisher: Publisher, stop: threading.Event,
               on_done: Callable[[str, CycleResult], None] | None = None) -> None:
    """Run every job once, then on the timetable until ``stop`` is set."""
    scheduler = build_scheduler(publisher, stop, on_done)
    scheduler.run_all()
    while not stop.is_set():
        scheduler.run_pending()
        idle = scheduler.idle_seconds
        stop.wait(max(0.0, min(idle if idle is not None else 1.0, 1.0)))
    log.info("daemon stopped")
