"""Generic JSON webhook destination (Teams/Discord bridges, PagerDuty-style receivers, a team's own service).

Request: ``POST <BRANDPULSE_DESTINATION_<NAME>_URL>`` with a UTF-8 JSON body, version ``brandpulse.alert/1``::

    {
      "schema": "brandpulse.alert/1",
      "event": "opened",                      # opened | escalated | resolved
      "delivery_id": 34,
      "idempotency_key": "brandpulse-alert-12-delivery-34",
      "sent_at": "2026-11-02T15:00:03Z",
      "alert": {
        "id": 12, "brand": "Nimbus", "rule": "negativity_spike",
        "severity": "critical",                 # notice | warning | critical
        "state": "open",                        # open | acknowledged | resolved
        "window_start": "2026-11-02T13:00:00Z", "window_end": "2026-11-02T15:00:00Z",
        "metrics": {"negative": 42, "total": 68, "negative_share": 0.62, "baseline_share": 0.2, ...},
        "why": "42 negative of 68 mentions (62%) vs a 20% baseline share; ...",
        "top_posts": [{"text": "...", "url": "https://...", "author": "handle", "platform": "x", "followers": 120}],
        "top_authors": [{"platform": "x", "author_handle": "...", "negative_posts": 3, "followers": 120}],
        "top_terms": ["outage", "refund"],
        "emotions": {"anger": 0.41},
        "dashboard_url": "https://brandpulse.example.com/?page=Alerts&alert=12"   # null without [delivery] public_url
      }
    }

Post text is sent as written (it is data here, not markup); receivers that render it must escape it themselves.
New keys may be added within version 1; a change that removes or retypes a key bumps the version.

Headers:

- ``Content-Type: application/json``
- ``Idempotency-Key``: the delivery's key (the same on every retry and on a re-post after a sender crash; receivers
  should drop a key they have already processed)
- ``X-Brandpulse-Alert-Id``, ``X-Brandpulse-Event``: the alert id and event, for routing without parsing the body
- ``X-Brandpulse-Signature: sha256=<hex>``: HMAC-SHA256 of the raw request body with the destination's secret
  (``BRANDPULSE_DESTINATION_<NAME>_SECRET``); sent only when that secret is set. Verify it over the bytes received,
  before parsing, with a constant-time comparison.

Any 2xx is success. 429 (with ``Retry-After``), 408, 5xx, timeouts and dropped connections are retried with backoff;
other 4xx are permanent refusals (the delivery is marked failed with the status).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from alerts.delivery.message import AlertMessage
from alerts.delivery.posting import (
    Destination,
    Outcome,
    Reply,
    parse_retry_after,
    protect,
    redact,
)

SCHEMA = "brandpulse.alert/1"
SIGNATURE_HEADER = "X-Brandpulse-Signature"


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body_for(msg: AlertMessage, delivery_id: int, idempotency_key: str, *, sent_at: datetime | None = None) -> dict[str, Any]:
    """The versioned JSON body for one delivery (see the module docstring)."""
    return {
        "schema": SCHEMA,
        "event": msg.event_kind,
        "delivery_id": delivery_id,
        "idempotency_key": idempotency_key,
        "sent_at": _iso(sent_at or datetime.now(UTC)),
        "alert": {
            "id": msg.alert_id, "brand": msg.brand, "rule": msg.rule, "severity": msg.severity, "state": msg.state,
            "window_start": _iso(msg.window_start), "window_end": _iso(msg.window_end),
            "metrics": msg.metrics, "why": msg.why,
            "top_posts": [{"text": p.text, "url": p.url, "author": p.author, "platform": p.platform,
                           "followers": p.followers} for p in msg.posts],
            "top_authors": msg.authors, "top_terms": msg.terms, "emotions": msg.emotions,
            "dashboard_url": msg.dashboard_url,
        },
    }


def sign(raw_body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify(raw_body: bytes, header_value: str, secret: str) -> bool:
    """What a receiver does: recompute the signature over the bytes received and compare in constant time."""
    return hmac.compare_digest(sign(raw_body, secret), header_value)


class WebhookDestination(Destination):
    """Posts the JSON body to one URL with an idempotency key and an HMAC signature."""

    kind = "webhook"

    def __init__(self, name: str, url: SecretStr, secret: SecretStr | None = None, *,
                 transport: httpx.BaseTransport | None = None, **policy: Any) -> None:
        super().__init__(name, url, **policy)
        self._secret = secret
        self.transport = transport

    def deliver(self, msg: AlertMessage, idempotency_key: str, delivery_id: int = 0) -> Outcome:
        url = self._url.get_secret_value()
        secret = self._secret.get_secret_value() if self._secret else None
        protect(url, secret)
        raw = json.dumps(body_for(msg, delivery_id, idempotency_key), ensure_ascii=False, separators=(",", ":"),
                         default=str).encode("utf-8")
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key,
                   "X-Brandpulse-Alert-Id": str(msg.alert_id), "X-Brandpulse-Event": msg.event_kind,
                   "User-Agent": "brandpulse-delivery/1"}
        if secret:
            headers[SIGNATURE_HEADER] = sign(raw, secret)

        with httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False) as client:

            def once() -> Reply:
                try:
                    resp = client.post(url, content=raw, headers=headers)
                except httpx.HTTPError as exc:  # timeouts, refused or dropped connections
                    return Reply(None, note=redact(f"{type(exc).__name__}: {exc}", url, secret))
                note = "" if resp.is_success else redact(f"HTTP {resp.status_code}: {resp.text[:120]}", url, secret)
                return Reply(resp.status_code, parse_retry_after(resp.headers.get("retry-after")), note)

            return self.post(once, url)
