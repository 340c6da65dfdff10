"""One delivery pass: claim due deliveries from the outbox, post each to its destination, mark the result.

`send_pass(engine, settings)` is what `brandpulse alerts send` and the run loop call. Claims hold a lease
(`[delivery] lease_seconds`); a sender that dies leaves its rows to the next pass after the lease (see
brandpulse.store.outbox). A delivery that fails for a while is retried on later passes with a growing delay, and
marked failed after `[delivery] max_attempts` posts or on a permanent refusal. Logs and stored rows name the
destination, never its URL or secret.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from alerts.delivery.message import AlertMessage, EvidenceRenderer, build_message
from alerts.delivery.posting import WEBHOOK_RATE, Outcome, RateLimiter, Sleep
from alerts.delivery.routing import DeliveryConfig, delivery_config, destination_secret, destination_url
from alerts.delivery.slack import SlackDestination
from alerts.delivery.webhook import WebhookDestination
from brandpulse.config import Settings
from brandpulse.errors import CredentialsError
from brandpulse.store.outbox import ClaimedDelivery, claim, mark_failed, mark_retry, mark_sent
from brandpulse.types import utcnow

log = logging.getLogger(__name__)


class Destination(Protocol):
    name: str
    kind: str

    def deliver(self, msg: AlertMessage, idempotency_key: str, delivery_id: int = 0) -> Outcome: ...


@dataclass
class SendCounts:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def worker_id() -> str:
    """A name for this sender in claimed_by: host, pid and a random suffix."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_destination(name: str, cfg: DeliveryConfig, *, sleep: Sleep = time.sleep,
                      limiter: RateLimiter = WEBHOOK_RATE) -> Destination:
    """The destination `name` with its URL (and secret) from the environment; CredentialsError when unset."""
    spec = cfg.all_destinations().get(name)
    if spec is None:
        raise KeyError(name)
    common = {"timeout": spec.timeout, "retries": cfg.retries_per_pass, "max_retry_after": cfg.max_retry_after,
              "sleep": sleep, "limiter": limiter}
    if spec.type == "slack":
        return SlackDestination(name, destination_url(name), **common)  # type: ignore[arg-type]
    return WebhookDestination(name, destination_url(name), destination_secret(name), **common)  # type: ignore[arg-type]


def retry_delay(total_attempts: int, retry_after: float | None = None) -> float:
    """Seconds before a failed delivery is due again: 30 s doubling per attempt, at most an hour (or Retry-After)."""
    backoff = min(30.0 * 2 ** max(0, total_attempts - 1), 3600.0)
    return max(backoff, retry_after or 0.0)


def _deliver_one(engine: Engine, d: ClaimedDelivery, cfg: DeliveryConfig, dest: Destination | None,
                 counts: SendCounts, render_evidence: EvidenceRenderer | None) -> None:
    if dest is None:
        mark_failed(engine, d.id, attempts=0, response_status=None,
                    error=f"destination {d.destination!r} is no longer configured in [delivery.destinations]")
        counts.failed += 1
        log.warning("delivery %d: destination %r is not configured; marked failed", d.id, d.destination)
        return
    msg = build_message(engine, d.alert_id, d.event, public_url=cfg.public_url, render_evidence=render_evidence)
    if msg is None:
        mark_failed(engine, d.id, attempts=0, response_status=None, error="the alert was deleted")
        counts.failed += 1
        return
    outcome = dest.deliver(msg, d.idempotency_key, d.id)
    total = d.attempts + outcome.attempts
    if outcome.ok:
        mark_sent(engine, d.id, attempts=outcome.attempts, response_status=outcome.status)
        counts.sent += 1
        log.info("delivered alert %d (%s) to %s after %d attempt(s)", d.alert_id, d.event, d.destination, total)
    elif outcome.permanent or total >= cfg.max_attempts:
        mark_failed(engine, d.id, attempts=outcome.attempts, response_status=outcome.status, error=outcome.error)
        counts.failed += 1
        log.warning("delivery of alert %d to %s failed after %d attempt(s): %s", d.alert_id, d.destination, total,
                    outcome.error)
    else:
        due = utcnow() + timedelta(seconds=retry_delay(total, outcome.retry_at_s))
        mark_retry(engine, d.id, attempts=outcome.attempts, response_status=outcome.status, error=outcome.error,
                   next_attempt_at=due)
        counts.retrying += 1
        log.info("delivery of alert %d to %s will be retried at %s: %s", d.alert_id, d.destination,
                 due.isoformat(timespec="seconds"), outcome.error)


def send_pass(engine: Engine, settings: Settings, *, worker: str | None = None, limit: int | None = None,
              now: datetime | None = None, sleep: Sleep = time.sleep, limiter: RateLimiter = WEBHOOK_RATE,
              destinations: Mapping[str, Destination] | None = None,
              render_evidence: EvidenceRenderer | None = None) -> SendCounts:
    """Claim up to `limit` (default `[delivery] batch_size`) due deliveries and post them; returns the counts.

    `now` is the claim time (tests move it past a lease); `destinations` replaces the configured ones by name;
    `render_evidence` is the alerts stage's evidence renderer (default: the evidence stored on the alert).
    """
    cfg = delivery_config(settings)
    worker = worker or worker_id()
    claimed = claim(engine, worker, limit=limit or cfg.batch_size, lease_seconds=cfg.lease_seconds, now=now)
    counts = SendCounts(claimed=len(claimed))
    built: dict[str, Destination | None] = dict(destinations or {})
    for d in claimed:
        if d.destination not in built:
            try:
                built[d.destination] = build_destination(d.destination, cfg, sleep=sleep, limiter=limiter)
            except KeyError:
                built[d.destination] = None
            except CredentialsError as exc:
                error = str(exc).splitlines()[0]
                mark_retry(engine, d.id, attempts=0, response_status=None, error=error,
                           next_attempt_at=utcnow() + timedelta(seconds=retry_delay(d.attempts + 1)))
                counts.retrying += 1
                log.warning("delivery %d to %s: %s", d.id, d.destination, error)
                continue
        _deliver_one(engine, d, cfg, built[d.destination], counts, render_evidence)
    if claimed:
        log.info("alerts send: %s", counts.as_dict())
    return counts
