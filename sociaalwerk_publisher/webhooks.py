"""Webhooks: events POSTed as signed JSON to the addresses in ``[[webhooks]]``.

An event is recorded in the store in the same transaction as the change that causes it (a
decision, a syndication record, a batch of new mentions, a report marked sent), one row per
webhook that wants it, so no change is ever without its event nor an event without its change.
Delivery works like the mail outbox: each event is claimed (committed) before the request, and
only a 2xx answer marks it delivered. A worker killed after sending but before recording leaves
a claim that expires, and the event goes again with the same id: delivery is at least once,
receivers deduplicate on ``X-SWP-Event-Id``. The events of one story go to a webhook in the
order they happened: a later one waits while an earlier one is undelivered.

The body is ``{"id", "type", "created_at", "data"}``, the same bytes on every attempt. The
signature ``X-SWP-Signature: sha256=<hex>`` is HMAC-SHA256 with the webhook's secret over
``f"{timestamp}.{body}"``, where the timestamp (``X-SWP-Timestamp``, Unix seconds) is the
moment of sending, so a receiver can refuse replays of old requests.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests

from ._storage import Storage
from .backoff import backoff
from .config import WEBHOOK_EVENTS, WebhookConfig, secret_from_env
from .network import Deadline, DeadlineAdapter, describe
from .types import WebhookCounts, WebhookDelivery

RETRY_MIN = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=6)
#: how long a claim outlives the request's own timeout before another worker may send it again
CLAIM_MARGIN = timedelta(minutes=1)
#: delivered events are kept this long (for `webhooks list`), then pruned
KEEP_DELIVERED = timedelta(days=30)


def subscriptions(webhooks: Sequence[WebhookConfig]) -> dict[str, list[str]]:
    """Event type -> the names of the webhooks that want it."""
    return {kind: [w.name for w in webhooks if kind in w.events] for kind in WEBHOOK_EVENTS}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-SWP-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Webhooks:
    """The webhook events in the store, and their delivery."""

    def __init__(self, storage: Storage, webhooks: Sequence[WebhookConfig]) -> None:
        self._storage = storage
        self._webhooks = {w.name: w for w in webhooks}
        self._keys = {w.name: f"webhooks[{i}].secret_env" for i, w in enumerate(webhooks)}

    def counts(self) -> list[WebhookCounts]:
        """Pending, failed and delivered events per webhook (configured ones first)."""
        stored = self._storage.webhooks.counts()
        names = [*self._webhooks, *sorted(set(stored) - set(self._webhooks))]
        return [WebhookCounts(name, stored.get(name, {}).get("pending", 0), stored.get(name, {}).get("failed", 0),
                              stored.get(name, {}).get("delivered", 0)) for name in names]

    def deliver(self, worker: str, now: datetime, *, force: bool = False) -> list[WebhookDelivery]:
        """Send every undelivered event that is due (every one with ``force``), in order per
        story and webhook. A webhook that fails is not tried again in this call.

        Raises:
            ConfigError: a webhook's secret variable is not set.
        """
        if not self._webhooks:
            return []
        secrets = {name: secret_from_env(w.secret_env, self._keys[name]) for name, w in self._webhooks.items()}
        store = self._storage.webhooks
        store.prune_delivered(now - KEEP_DELIVERED)
        results: list[WebhookDelivery] = []
        down: set[str] = set()
        with requests.Session() as session:
            for scheme in ("http://", "https://"):
                session.mount(scheme, DeadlineAdapter())
            session.headers["User-Agent"] = "sociaalwerk-publisher (webhooks)"
            # a round sends what is free to go; the next one what that delivery unblocked
            delivered = True
            while delivered:
                delivered = False
                blocked: set[tuple[str, int]] = set()
                live = [n for n in self._webhooks if n not in down]
                for row in store.due(now, live, force=force) if live else ():
                    chain = (row.webhook, row.story_id)
                    if row.webhook in down or chain in blocked:
                        continue
                    webhook = self._webhooks[row.webhook]
                    event = store.claim(row.id, worker, now, timedelta(seconds=webhook.timeout) + CLAIM_MARGIN)
                    if event is None:  # taken by another worker, or an earlier event of its story waits
                        if row.story_id is not None:
                            blocked.add(chain)
                        continue
                    result = _send(session, webhook, secrets[webhook.name], event)
                    results.append(result)
                    if result.ok:
                        store.finish(row.id, delivered_at=now, last_error=None, next_attempt_at=None)
                        delivered = True
                    else:
                        store.finish(row.id, last_error=result.error,
                                     next_attempt_at=now + backoff(event.attempts, RETRY_MIN, RETRY_MAX))
                        down.add(webhook.name)
        return results


def _send(session: requests.Session, webhook: WebhookConfig, secret: str, event: Any) -> WebhookDelivery:
    """POST one event; never raises for what the network or the receiver does."""
    body = event.body.encode()
    timestamp = str(int(time.time()))  # the receiver compares it with its own clock
    headers: Mapping[str, str] = {
        "Content-Type": "application/json; charset=utf-8", "X-SWP-Event": event.type,
        "X-SWP-Event-Id": event.event_id, "X-SWP-Timestamp": timestamp,
        "X-SWP-Signature": sign(secret, timestamp, body),
    }
    exchange = Deadline(webhook.timeout)
    try:
        with exchange:
            # a redirect is a failure: the signed event goes to the configured address only
            response = session.post(webhook.url, data=body, headers=headers, timeout=exchange.timeouts,
                                    allow_redirects=False)
    except (requests.RequestException, OSError) as e:
        return WebhookDelivery(event.event_id, webhook.name, event.type, False, error=str(describe(e, exchange)))
    status = response.status_code
    if 200 <= status < 300:
        return WebhookDelivery(event.event_id, webhook.name, event.type, True, status)
    if response.is_redirect or response.is_permanent_redirect:
        error = (f"HTTP {status}: redirected to {response.headers.get('Location')}, which is not followed;"
                 " set url to the final address")
    else:
        error = f"HTTP {status} {response.reason or ''}".rstrip()
    return WebhookDelivery(event.event_id, webhook.name, event.type, False, status, error)
