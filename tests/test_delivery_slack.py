"""Alerts delivered to a fake Slack incoming webhook through the outbox, under faults, exactly once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from alerts.delivery.enqueue import enqueue_state_change
from alerts.delivery.posting import RateLimiter
from alerts.delivery.routing import delivery_config
from alerts.delivery.sender import build_destination, send_pass
from brandpulse.config import Settings
from brandpulse.store.engine import session_scope
from brandpulse.store.outbox import claim, deliveries_for
from brandpulse.store.schema import AlertRow
from brandpulse.types import utcnow
from tests.fakeserver import Sleeps
from tests.slackfake import fake_slack
from tests.test_delivery_escape import HOSTILE
from tests.test_delivery_outbox import seed_alert

PUBLIC = "https://brandpulse.example.com"


def settings(**delivery: Any) -> Settings:
    return Settings(delivery={"public_url": PUBLIC, **delivery})


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(url: str) -> None:
        monkeypatch.setenv("BRANDPULSE_SLACK_WEBHOOK_URL", url)
    return use


def test_faults_then_recovery_every_alert_arrives_exactly_once(engine: Engine, slack_env: Any) -> None:
    ids = [seed_alert(engine, [HOSTILE[h], "x" * 5000], hour=h) for h in range(3)]
    with fake_slack("500", ("429", 1), "drop") as (url, slack):
        slack_env(url)
        counts = send_pass(engine, settings(), limiter=RateLimiter(1.0))
        again = send_pass(engine, settings(), limiter=RateLimiter(1.0))
    assert counts.as_dict() == {"claimed": 3, "sent": 3, "retrying": 0, "failed": 0}
    assert again.claimed == 0
    keys = [r.idempotency_key for r in slack.accepted]
    assert len(keys) == 3 == len(set(keys))
    assert slack.rejected == [] and slack.requests == 6
    assert slack.min_gap() >= 0.9  # 1 message per second per webhook, retries included (arrival jitter under load)
    rows = deliveries_for(engine)
    assert [(r.alert_id, r.status, r.response_status) for r in rows] == [(a, "sent", 200) for a in ids]
    assert [r.attempts for r in rows] == [4, 1, 1]
    first = slack.accepted[0]
    assert first.payload["blocks"][0]["text"]["text"].startswith("WARNING · Nimbus")
    assert f"<{PUBLIC}/?page=Alerts&amp;alert={ids[0]}|" in first.all_text()
    assert first.idempotency_key and first.idempotency_key in first.all_text()  # the footer carries the key too
    assert "<!channel>" not in first.all_text() and "&lt;!channel&gt;" in first.all_text()


def test_sender_killed_between_posting_and_marking_reposts_with_the_same_key(engine: Engine, slack_env: Any) -> None:
    seed_alert(engine, ["the app lost my data"])
    cfg = settings(lease_seconds=60)
    with fake_slack() as (url, slack):
        slack_env(url)
        t = utcnow()
        [held] = claim(engine, "dead-sender", now=t, lease_seconds=60)
        from alerts.delivery.message import build_message

        msg = build_message(engine, held.alert_id, held.event)
        assert msg is not None
        dest = build_destination("slack", delivery_config(cfg), limiter=RateLimiter(0))
        assert dest.deliver(msg, held.idempotency_key, held.id).ok  # posted, then the process died: no mark
        assert send_pass(engine, cfg, now=t + timedelta(seconds=30)).claimed == 0  # lease still held
        assert send_pass(engine, cfg, now=t + timedelta(seconds=61), limiter=RateLimiter(0)).sent == 1
    assert [r.idempotency_key for r in slack.accepted] == [held.idempotency_key] * 2
    [row] = deliveries_for(engine)
    assert row.status == "sent"


def test_escalation_and_resolution_send_follow_ups(engine: Engine, slack_env: Any) -> None:
    aid = seed_alert(engine, ["refund please"], severity="warning")
    cfg = settings()
    with fake_slack() as (url, slack):
        slack_env(url)
        send_pass(engine, cfg, limiter=RateLimiter(0))
        with session_scope(engine) as s:
            s.get(AlertRow, aid).severity = "critical"  # type: ignore[union-attr]
            enqueue_state_change(s, aid, "escalated", delivery_config(cfg))
        send_pass(engine, cfg, limiter=RateLimiter(0))
        with session_scope(engine) as s:
            s.get(AlertRow, aid).state = "resolved"  # type: ignore[union-attr]
            enqueue_state_change(s, aid, "resolved", delivery_config(cfg))
            enqueue_state_change(s, aid, "resolved", delivery_config(cfg))
        send_pass(engine, cfg, limiter=RateLimiter(0))
    headers = [r.payload["blocks"][0]["text"]["text"] for r in slack.accepted]
    assert [h.split(" · ")[0] for h in headers] == ["WARNING", "Escalated to CRITICAL", "Resolved"]
    assert len({r.idempotency_key for r in slack.accepted}) == 3


def test_long_retry_after_moves_the_delivery_to_a_later_pass(engine: Engine, slack_env: Any) -> None:
    seed_alert(engine, ["down again"])
    sleeps = Sleeps()
    with fake_slack(("429", 120)) as (url, slack):
        slack_env(url)
        counts = send_pass(engine, settings(), sleep=sleeps, limiter=RateLimiter(0))
    assert counts.retrying == 1 and not any(s >= 120 for s in sleeps)
    [row] = deliveries_for(engine)
    assert row.status == "pending" and row.response_status == 429 and row.claimed_by is None
    assert row.next_attempt_at is not None and row.next_attempt_at >= utcnow() + timedelta(seconds=110)
    assert slack.accepted == []


def test_a_revoked_webhook_is_marked_failed_not_retried(engine: Engine, slack_env: Any) -> None:
    seed_alert(engine, ["down again"])
    with fake_slack(("reply", 404, "no_service")) as (url, slack):
        slack_env(url)
        counts = send_pass(engine, settings(), limiter=RateLimiter(0))
    assert counts.failed == 1 and slack.requests == 1
    [row] = deliveries_for(engine)
    assert (row.status, row.response_status, row.attempts) == ("failed", 404, 1)
    assert "no_service" in (row.last_error or "")


def test_the_webhook_url_never_appears_in_logs_rows_or_errors(engine: Engine, slack_env: Any,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seed_alert(engine, ["a"], hour=0)
    seed_alert(engine, ["b"], hour=1)
    sleeps = Sleeps()
    with fake_slack("500", "drop", "500", "drop", "500", "drop", "500", "drop", "500", "drop") as (url, slack):
        slack_env(url)
        counts = send_pass(engine, settings(retries_per_pass=4), sleep=sleeps, limiter=RateLimiter(0))
    assert counts.retrying == 2 and slack.requests == 10
    secret_part = url.split("/services/")[1]
    rows = deliveries_for(engine)
    stored = " ".join(str(getattr(r, c)) for r in rows for c in ("destination", "last_error", "claimed_by", "event"))
    assert all(r.last_error for r in rows)
    assert secret_part not in stored and secret_part not in caplog.text
    assert "127.0.0.1" not in caplog.text and "127.0.0.1" not in stored

    # a URL that refuses connections: the error names the destination, not the URL
    caplog.clear()
    slack_env(url)  # the server is gone now
    with session_scope(engine) as s:
        for r in deliveries_for(engine):
            s.get(type(r), r.id).next_attempt_at = None  # type: ignore[union-attr]
    send_pass(engine, settings(retries_per_pass=0), sleep=sleeps, limiter=RateLimiter(0))
    assert secret_part not in caplog.text
    assert all(secret_part not in (r.last_error or "") for r in deliveries_for(engine))


def test_missing_webhook_url_is_reported_by_name_and_kept_for_later(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRANDPULSE_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("BRANDPULSE_SECRETS_FILE", raising=False)
    seed_alert(engine, ["a"])
    counts = send_pass(engine, settings(destinations={"slack": {"type": "slack"}}, routes={"default": {"slack": "notice"}}))
    assert counts.retrying == 1
    [row] = deliveries_for(engine)
    assert row.status == "pending" and "BRANDPULSE_SLACK_WEBHOOK_URL" in (row.last_error or "")
