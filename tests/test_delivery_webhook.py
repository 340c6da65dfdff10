"""The generic JSON webhook: versioned body, Idempotency-Key, HMAC-SHA256 signature; retries; the secret never leaks."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from alerts.delivery.message import build_message
from alerts.delivery.posting import RateLimiter
from alerts.delivery.routing import delivery_config
from alerts.delivery.sender import build_destination, send_pass
from alerts.delivery.webhook import SCHEMA, SIGNATURE_HEADER, verify
from brandpulse.config import Settings
from brandpulse.store.outbox import claim, deliveries_for
from brandpulse.types import utcnow
from tests.fakeserver import LocalServer, QuietHandler, send
from tests.test_delivery_outbox import seed_alert

SECRET = "whsec-test-4f1d2c9a8b7e6d5c"
CFG: dict[str, Any] = {"destinations": {"oncall": {"type": "webhook", "timeout": 0.5}},
                       "routes": {"default": {"oncall": "notice"}}, "public_url": "https://bp.example"}


class Receiver(QuietHandler):
    """A team's receiver: verifies the signature over the raw body, processes each Idempotency-Key once."""

    def do_POST(self) -> None:
        srv: Any = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with srv.lock:
            fault = srv.faults.pop(0) if srv.faults else None
        if fault == "slow":
            time.sleep(1.0)  # the sender times out, but this request is still processed below
        elif fault is not None and fault != "hold":
            send(self, int(fault), b'{"error":"unavailable"}')
            return
        if not verify(raw, self.headers.get(SIGNATURE_HEADER, ""), SECRET):
            send(self, 401, b'{"error":"bad signature"}')
            return
        key = self.headers["Idempotency-Key"]
        with srv.lock:
            srv.seen.append(key)
            if key not in srv.processed:
                srv.processed[key] = (json.loads(raw), dict(self.headers.items()))
        if fault == "hold":  # processed; the reply waits until the test has killed the sender
            srv.held.set()
            srv.release.wait(timeout=60)
            with contextlib.suppress(OSError):
                send(self, 202, b'{"status":"accepted"}')
        elif fault != "slow":
            send(self, 202, b'{"status":"accepted"}')


def receiver(*faults: Any) -> LocalServer:
    """A receiver playing `faults` one per request: a status code, "slow" (processed after the sender's timeout),
    "hold" (processed, then the reply waits for `server.release`; `server.held` is set once the body is in)."""
    return LocalServer(Receiver, faults=list(faults), seen=[], processed={}, lock=threading.Lock(),
                       held=threading.Event(), release=threading.Event())


@pytest.fixture
def hook_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(url: str) -> None:
        monkeypatch.setenv("BRANDPULSE_DESTINATION_ONCALL_URL", url + "/hooks/brandpulse?token=t0k3n-in-url")
        monkeypatch.setenv("BRANDPULSE_DESTINATION_ONCALL_SECRET", SECRET)
    return use


def test_body_headers_and_signature_are_as_documented(engine: Engine, hook_env: Any) -> None:
    aid = seed_alert(engine, ["<!channel> *the* app & my data are gone"], destinations=("oncall",))
    with receiver() as srv:
        hook_env(srv.url)
        assert send_pass(engine, Settings(delivery=CFG), limiter=RateLimiter(0)).sent == 1
    [(body, headers)] = srv.server.processed.values()  # type: ignore[attr-defined]
    [row] = deliveries_for(engine)
    assert body["schema"] == SCHEMA == "brandpulse.alert/1"
    assert body["event"] == "opened" and body["delivery_id"] == row.id
    assert headers["Idempotency-Key"] == body["idempotency_key"] == f"brandpulse-alert-{aid}-delivery-{row.id}"
    assert headers["X-Brandpulse-Alert-Id"] == str(aid) and headers["X-Brandpulse-Event"] == "opened"
    alert = body["alert"]
    assert alert["brand"] == "Nimbus" and alert["severity"] == "warning" and alert["state"] == "open"
    assert alert["metrics"]["negative"] == 42 and alert["window_start"].endswith("Z")
    assert alert["top_posts"][0]["text"] == "<!channel> *the* app & my data are gone"  # data, not markup
    assert alert["dashboard_url"] == f"https://bp.example/?page=Alerts&alert={aid}"
    assert (row.status, row.response_status, row.attempts) == ("sent", 202, 1)


def test_a_tampered_body_fails_verification() -> None:
    from alerts.delivery.webhook import sign

    raw = b'{"schema":"brandpulse.alert/1"}'
    assert verify(raw, sign(raw, SECRET), SECRET)
    assert not verify(raw.replace(b"1", b"2"), sign(raw, SECRET), SECRET)
    assert not verify(raw, sign(raw, "other"), SECRET)


def test_retries_and_a_timed_out_duplicate_is_harmless(engine: Engine, hook_env: Any) -> None:
    seed_alert(engine, ["a"], destinations=("oncall",))
    with receiver(503, "slow") as srv:
        hook_env(srv.url)
        counts = send_pass(engine, Settings(delivery=CFG), limiter=RateLimiter(0))
        time.sleep(1.2)  # let the slow request finish
    s: Any = srv.server
    assert counts.sent == 1
    assert len(s.seen) == 2 and len(set(s.seen)) == 1  # received twice, one key
    assert len(s.processed) == 1  # processed once
    [row] = deliveries_for(engine)
    assert row.attempts == 3 and row.status == "sent"


def test_killed_sender_reposts_with_the_same_key(engine: Engine, hook_env: Any) -> None:
    seed_alert(engine, ["a"], destinations=("oncall",))
    cfg = Settings(delivery={**CFG, "lease_seconds": 60})
    with receiver() as srv:
        hook_env(srv.url)
        t = utcnow()
        [held] = claim(engine, "dead", now=t, lease_seconds=60)
        msg = build_message(engine, held.alert_id, held.event)
        assert msg is not None
        dest = build_destination("oncall", delivery_config(cfg), limiter=RateLimiter(0))
        assert dest.deliver(msg, held.idempotency_key, held.id).ok  # posted; died before marking
        assert send_pass(engine, cfg, now=t + timedelta(seconds=61), limiter=RateLimiter(0)).sent == 1
    s: Any = srv.server
    assert s.seen == [held.idempotency_key] * 2 and len(s.processed) == 1


def test_url_and_secret_never_appear_in_logs_rows_or_errors(engine: Engine, hook_env: Any,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seed_alert(engine, ["a"], destinations=("oncall",))
    with receiver(500, 500, 500) as srv:
        hook_env(srv.url)
        counts = send_pass(engine, Settings(delivery={**CFG, "retries_per_pass": 2}), sleep=lambda s: None,
                           limiter=RateLimiter(0))
    assert counts.retrying == 1
    [row] = deliveries_for(engine)
    stored = repr([(row.destination, row.last_error, row.claimed_by, row.event, row.response_status)])
    assert row.last_error and "500" in row.last_error
    for leak in (SECRET, "t0k3n-in-url", srv.url):
        assert leak not in caplog.text and leak not in stored
    dest = build_destination("oncall", delivery_config(Settings(delivery=CFG)))
    assert SECRET not in repr(dest) and "t0k3n" not in repr(dest) and "t0k3n" not in repr(vars(dest))


def test_a_refusal_is_permanent(engine: Engine, hook_env: Any) -> None:
    seed_alert(engine, ["a"], destinations=("oncall",))
    with receiver(410) as srv:
        hook_env(srv.url)
        counts = send_pass(engine, Settings(delivery=CFG), limiter=RateLimiter(0))
    assert counts.failed == 1
    [row] = deliveries_for(engine)
    assert (row.status, row.response_status) == ("failed", 410)
