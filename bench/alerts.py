#!/usr/bin/env python3
"""Alerts benchmark: one alert turn on a big store, with and without the index that finds the
items fetched this week.

Set-up (not timed): a SQLite store made with ``open_storage``, filled with SQLAlchemy Core
executemany: --items press items with ~2 KB of text each and a counted mention each, all
fetched and published a month ago but for 50 fetched now. Then, in one process, interleaved
rounds (best of --repeat): ``run_alerts`` with one rule (terms ``["dakloos*"]``) and the spike
on, the marks of the round before removed first, once with ``ix_stories_first_seen`` and once
without it (the planner then reads every story row). The turn looks at the 50 new mentions
either way; the ratio is what the index saves every cycle.

    python bench/alerts.py                    # 200,000 items (set-up about 15 s)
    python bench/alerts.py --items 20000      # quick check
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, insert, text

from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher._storage._schema import alert_spikes, alerted_mentions, mentions, outlets, stories
from sociaalwerk_publisher.alerts import run_alerts
from sociaalwerk_publisher.config import AlertRuleConfig, AlertsConfig, Config, DatabaseConfig, EmailConfig

NEW = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        storage = open_storage(url)
        started = time.perf_counter()
        _fill(storage, args.items, now)
        print(f"set-up: {args.items:,} items in {time.perf_counter() - started:.1f} s")
        config = Config(
            database=DatabaseConfig(url=url),
            email=EmailConfig(host="127.0.0.1", security="none", sender="a@b.nl", recipients=("c@d.nl",)),
            alerts=AlertsConfig(rules=(AlertRuleConfig("Dakloosheid", ("e@f.nl",), terms=("dakloos*",)),),
                                spike_recipients=("g@h.nl",)),
        )
        best = {"with the index": float("inf"), "without": float("inf")}
        for _ in range(args.repeat):
            for name in best:
                with storage.begin() as conn:
                    conn.execute(delete(alerted_mentions))
                    conn.execute(delete(alert_spikes))
                    conn.execute(text("DELETE FROM outbox"))
                    conn.execute(text("DROP INDEX IF EXISTS ix_stories_first_seen") if name == "without" else
                                 text("CREATE INDEX IF NOT EXISTS ix_stories_first_seen ON stories (first_seen_at)"))
                started = time.perf_counter()
                summary = run_alerts(storage, config, (), now + timedelta(hours=12))
                best[name] = min(best[name], time.perf_counter() - started)
                assert summary.looked_at == NEW, summary
        storage.close()
    for name, seconds in best.items():
        print(f"alert turn, {name:>15}: {seconds * 1000:8.1f} ms")
    print(f"ratio without / with: {best['without'] / best['with the index']:.0f}x")


def _fill(storage: object, items: int, now: datetime) -> None:
    body = "Het sociaal werk in de wijk ziet de dakloosheid groeien. " * 36  # about 2 KB
    month_ago = now - timedelta(days=30)
    with storage.begin() as conn:  # type: ignore[attr-defined]
        outlet = conn.execute(insert(outlets).values(domain="destentor.nl", name="De Stentor", type="overig",
                                                     created_at=now)).inserted_primary_key[0]
        for start in range(0, items, 10_000):
            ids = range(start + 1, min(items, start + 10_000) + 1)
            conn.execute(insert(stories), [
                {"id": i, "canonical_url": f"https://destentor.nl/{i}", "title": f"Bericht {i}", "content_html": body,
                 "text": body, "excerpt": "", "kind": "media", "status": "new",
                 "first_seen_at": now if i <= NEW else month_ago, "published_at": month_ago, "changed_at": month_ago,
                 "content_hash": "h"} for i in ids])
            conn.execute(insert(mentions), [
                {"id": i, "story_id": i, "outlet_id": outlet, "published_at": month_ago, "counted": True,
                 "own_channel": False, "matched_at": month_ago} for i in ids])


if __name__ == "__main__":
    main()
