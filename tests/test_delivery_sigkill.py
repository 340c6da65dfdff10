"""A real SIGKILL between a destination having the post and the sender marking the delivery sent.

`brandpulse alerts send` runs as a subprocess; the destination (the generic webhook receiver, then the fake Slack)
takes the body in and holds its reply, and the test kills the sender with SIGKILL while it waits. The claimed rows
stay pending; the next `alerts send` after the lease posts them again with the same idempotency key. The webhook
receiver drops the repeated key, so the alert is processed once; Slack has no idempotency, so the channel gets the
message twice (the documented at-least-once window), both carrying the same "ref" key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from brandpulse.store.outbox import deliveries_for
from tests.conftest import REPO
from tests.slackfake import fake_slack
from tests.test_delivery_outbox import seed_alert
from tests.test_delivery_webhook import SECRET, receiver

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

LEASE_S = 5  # the smallest lease the config allows
CONFIG = f"""
[delivery]
lease_seconds = {LEASE_S}

[delivery.destinations.slack]
type = "slack"
[delivery.destinations.oncall]
type = "webhook"
timeout = 30

[delivery.routes]
default = {{ slack = "notice", oncall = "notice" }}
"""


def start_send(cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_DATABASE_URL", "BRANDPULSE_CONFIG")}
    full["PYTHONPATH"] = str(REPO) + os.pathsep + full.get("PYTHONPATH", "")
    full.update(env)
    return subprocess.Popen([sys.executable, "-m", "brandpulse", "alerts", "send", "--json"], cwd=cwd, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_when_held(proc: subprocess.Popen[str], held: Any, release: Any) -> None:
    """Wait until the destination has the body (its reply held back), then SIGKILL the sender and let the reply go."""
    try:
        assert held.wait(timeout=90), "the destination never received the post"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        release.set()
    assert proc.returncode == -signal.SIGKILL


def finish_send(cwd: Path, env: dict[str, str]) -> dict[str, int]:
    proc = start_send(cwd, env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    counts: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return counts


def test_a_sender_killed_after_posting_reposts_with_the_same_key_and_loses_nothing(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    hooked = seed_alert(engine, ["Nimbus outage, refund now"], destinations=("oncall",), hour=0)
    slacked = seed_alert(engine, ["Nimbus outage again"], destinations=("slack",), hour=10)
    (tmp_path / "brandpulse.toml").write_text(CONFIG, encoding="utf-8")
    with receiver("hold") as hook, fake_slack("hold") as (slack_url, slack):
        srv: Any = hook.server
        env = {"BRANDPULSE_DATABASE_URL": db_url, "BRANDPULSE_SLACK_WEBHOOK_URL": slack_url,
               "BRANDPULSE_DESTINATION_ONCALL_URL": hook.url + "/hooks/brandpulse",
               "BRANDPULSE_DESTINATION_ONCALL_SECRET": SECRET}

        # 1. killed while the webhook receiver holds its reply: it has processed the alert, the row is not marked
        kill_when_held(start_send(tmp_path, env), srv.held, srv.release)
        assert [(d.destination, d.status, d.claimed_by is not None) for d in deliveries_for(engine)] == [
            ("oncall", "pending", True), ("slack", "pending", True)]
        assert len(srv.processed) == 1 and len(slack.accepted) == 0

        # 2. after the lease: the same key again (dropped by the receiver); then killed while Slack holds its reply
        time.sleep(LEASE_S + 0.5)
        kill_when_held(start_send(tmp_path, env), slack.held, slack.release)
        rows = {d.destination: d for d in deliveries_for(engine)}
        assert (rows["oncall"].status, rows["slack"].status) == ("sent", "pending")

        # 3. after the lease again: Slack gets the message a second time, with the same ref; nothing else is posted
        time.sleep(LEASE_S + 0.5)
        assert finish_send(tmp_path, env) == {"claimed": 1, "sent": 1, "retrying": 0, "failed": 0}
        assert finish_send(tmp_path, env)["claimed"] == 0

    rows = {d.destination: d for d in deliveries_for(engine)}
    assert {d: (r.status, r.alert_id) for d, r in rows.items()} == {"oncall": ("sent", hooked),
                                                                     "slack": ("sent", slacked)}
    hook_key = f"brandpulse-alert-{hooked}-delivery-{rows['oncall'].id}"
    assert srv.seen == [hook_key, hook_key]  # posted twice, one key ...
    [(body, _headers)] = srv.processed.values()  # ... processed once
    assert body["alert"]["id"] == hooked and body["idempotency_key"] == hook_key

    slack_key = f"brandpulse-alert-{slacked}-delivery-{rows['slack'].id}"
    assert [r.idempotency_key for r in slack.accepted] == [slack_key, slack_key]  # at least once: the duplicate
    assert all(f"ref {slack_key}" in r.all_text() for r in slack.accepted)
