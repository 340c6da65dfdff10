"""The bundled demo reaches Slack: replayed in stream order, hour by hour, through the run loop's functions
(store → score → alert_cycle), the Nimbus episode (6 Nov from 13:00 UTC) reaches a fake Slack within its first hour
of stream time and the calm days deliver nothing; `brandpulse demo --no-dashboard` delivers it too."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.cycle import alert_cycle
from alerts.delivery.posting import RateLimiter
from brandpulse.demo import DEMO_DIR, demo_settings
from brandpulse.store.engine import make_engine
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.migrate import upgrade
from brandpulse.types import Mention
from listener.mention_file import read_rows as read_import_rows
from listener.mention_file import to_mention
from sentiment.stage import score_pending
from tests.slackfake import fake_slack

pytestmark = pytest.mark.slow
EPISODE = datetime(2026, 11, 6, 13, tzinfo=UTC)


def demo_hours() -> dict[datetime, list[Mention]]:
    by_hour: dict[datetime, list[Mention]] = defaultdict(list)
    for line, row in read_import_rows(DEMO_DIR / "stream.csv"):
        m = to_mention(line, row)
        assert isinstance(m, Mention)
        by_hour[m.created_at.replace(minute=0, second=0, microsecond=0)].append(m)
    return dict(sorted(by_hour.items()))


def test_the_demo_episode_reaches_slack_within_its_first_hour_and_the_calm_days_send_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sentiment.loading import load_scorer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = demo_settings(tmp_path / "demo.db")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    scorer = load_scorer(settings.model)
    with fake_slack() as (url, slack):
        monkeypatch.setenv("BRANDPULSE_SLACK_WEBHOOK_URL", url)
        arrived: list[tuple[datetime, str]] = []
        for hour, mentions in demo_hours().items():
            insert_mentions(engine, mentions)  # what the collector stores in this hour of stream time
            score_pending(engine, scorer)
            alert_cycle(engine, settings, sleep=lambda _s: None, limiter=RateLimiter(0.0))
            arrived += [(hour + timedelta(hours=1), r.payload["blocks"][0]["text"]["text"])
                        for r in slack.accepted[len(arrived):]]
    opened = [(t, h) for t, h in arrived if "negativity alert" in h]
    assert len(opened) == 1, arrived
    when, header = opened[0]
    assert "Nimbus" in header and "06 Nov 2026 13:00" in header
    assert EPISODE < when <= EPISODE + timedelta(hours=1)  # delivered by 14:00 stream time
    assert all(t > EPISODE for t, _ in arrived)  # the calm days before it sent nothing
    assert all("Nimbus" in h for _, h in arrived)  # nor the competitors


def test_brandpulse_demo_no_dashboard_delivers_the_episode_to_slack(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_DATABASE_URL", "BRANDPULSE_CONFIG")}
    env["HF_HUB_OFFLINE"] = "1"
    with fake_slack() as (url, slack):
        env["BRANDPULSE_SLACK_WEBHOOK_URL"] = url
        res = subprocess.run([sys.executable, "-m", "brandpulse", "demo", "--no-dashboard", "--database",
                              str(tmp_path / "demo.db")], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=900)
    assert res.returncode == 0, res.stderr
    assert "1 message(s) sent" in " ".join(res.stdout.split())
    assert [r.payload["blocks"][0]["text"]["text"].split(" · ")[1] for r in slack.accepted] == ["Nimbus negativity alert"]
    assert url.split("/services/")[1] not in res.stdout + res.stderr
