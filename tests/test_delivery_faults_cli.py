"""Delivery under faults end to end: `brandpulse alerts send` (a real subprocess) against a fake Slack that fails
(500, 429 with Retry-After, a dropped connection) and then recovers; every alert arrives exactly once, the webhook
URL never shows in the output or the stored rows."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from brandpulse.store.outbox import deliveries_for
from tests.conftest import REPO  # noqa: F401  (the subprocess runs this checkout)
from tests.slackfake import fake_slack
from tests.test_cli_output import cli
from tests.test_delivery_outbox import seed_alert


def test_every_alert_arrives_exactly_once_through_500_429_and_a_dropped_connection(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    ids = [seed_alert(engine, [f"Nimbus outage {h}, <!channel> refund"], hour=h) for h in (0, 10, 20)]
    (tmp_path / "brandpulse.toml").write_text("", encoding="utf-8")
    with fake_slack("500", ("429", 1), "drop") as (url, slack):
        env = {"BRANDPULSE_DATABASE_URL": db_url, "BRANDPULSE_SLACK_WEBHOOK_URL": url}
        first = cli(["alerts", "send", "--json"], tmp_path, env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout.strip().splitlines()[-1]) == {"claimed": 3, "sent": 3, "retrying": 0, "failed": 0}
        again = cli(["alerts", "send", "--json"], tmp_path, env)  # a second sender pass finds nothing left
        assert json.loads(again.stdout.strip().splitlines()[-1])["claimed"] == 0
        assert slack.requests == 3 + 3  # the three faults, then one accepted post per alert
        got = sorted(int(r.payload["blocks"][-1]["elements"][0]["text"].split("alert ")[1].split(" ")[0])
                     for r in slack.accepted)
        assert got == sorted(ids)
        assert len({r.idempotency_key for r in slack.accepted}) == 3
        assert all("&lt;!channel&gt;" in r.all_text() and "<!channel>" not in r.all_text() for r in slack.accepted)
        rows = deliveries_for(engine)
        assert [(d.status, d.delivered_at is not None) for d in rows] == [("sent", True)] * 3
        assert sum(d.attempts for d in rows) == 6
        secret = url.split("/services/")[1]
        assert secret not in first.stdout + first.stderr + again.stdout + again.stderr
        assert all(secret not in (d.last_error or "") and secret not in (d.claimed_by or "") for d in rows)
