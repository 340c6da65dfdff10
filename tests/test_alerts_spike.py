"""Negativity spike rule over hourly rollups, and the stored alert with its evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from alerts.check import check_alerts
from alerts.detect import find_alerts
from alerts.evidence import alert_views
from alerts.rules.negativity_spike import NegativitySpike
from brandpulse.config import AlertRuleConfig
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import SentimentScore
from tests.conftest import make_mention

T0 = datetime(2026, 11, 2, tzinfo=UTC)
RULE = AlertRuleConfig()
NEGATIVITY = NegativitySpike()


def series(hours: int, total: int, neg: int, spike_at: dict[int, tuple[int, int]] | None = None,
           brand: str = "Nimbus", seed: int = 0) -> pd.DataFrame:
    """Rollup rows with a noisy steady baseline and optional (total, negative) overrides per hour."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(hours):
        t = int(rng.poisson(total))
        n = int(rng.binomial(t, neg / total))
        if spike_at and h in spike_at:
            t, n = spike_at[h]
        hour = T0 + timedelta(hours=h)
        rows.append({"brand": brand, "hour": hour, "sentiment": "negative", "count": n, "reach": n * 10})
        rows.append({"brand": brand, "hour": hour, "sentiment": "positive", "count": max(t - n, 0), "reach": 0})
    return pd.DataFrame(rows)


def test_steady_noise_raises_nothing() -> None:
    for seed in range(5):
        assert find_alerts(series(24 * 7, total=20, neg=3, seed=seed), [NEGATIVITY]) == []


def test_episode_fires_once_across_consecutive_hours_with_metrics() -> None:
    df = series(24 * 6, total=20, neg=3, spike_at={100: (60, 45), 101: (70, 55), 102: (40, 28)})
    (sp,) = find_alerts(df, [NEGATIVITY])
    assert sp.start == T0 + timedelta(hours=100)
    assert sp.end == T0 + timedelta(hours=103)
    assert sp.metrics["negative"] == 128
    assert sp.metrics["negative_share"] > 0.7 > 0.3 > sp.metrics["baseline_share"]
    assert sp.severity == "critical"


def test_busy_hour_with_normal_share_is_not_a_negativity_spike() -> None:
    # volume triples but the share of negative posts stays at baseline: a launch, not a crisis
    df = series(24 * 5, total=20, neg=3, spike_at={90: (60, 9)})
    assert find_alerts(df, [NEGATIVITY]) == []


def test_quiet_brand_does_not_alert_on_a_handful_of_posts() -> None:
    df = series(24 * 5, total=2, neg=0, spike_at={90: (4, 3)})
    assert find_alerts(df, [NEGATIVITY]) == []


def test_no_alert_without_a_baseline() -> None:
    df = series(10, total=20, neg=3, spike_at={5: (60, 50)})
    assert find_alerts(df, [NEGATIVITY]) == []


def test_other_brands_do_not_share_a_baseline() -> None:
    a = series(24 * 5, total=20, neg=3, spike_at={100: (60, 45)}, brand="Nimbus")
    b = series(24 * 5, total=20, neg=3, brand="Orbita", seed=3)
    spikes = find_alerts(pd.concat([a, b]), [NEGATIVITY])
    assert [s.brand for s in spikes] == ["Nimbus"]


def _neg(label: str) -> SentimentScore:
    probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9}
    return SentimentScore(label, probs, 0.9, {}, "m", "r")


def test_check_stores_alert_with_evidence_and_is_idempotent(engine) -> None:
    ms, i = [], 0
    for h in range(80):
        n = 12 if h == 75 else 4
        for k in range(n):
            neg = h == 75 or k == 0
            text = ("nimbus outage again, refund now!!" if h == 75 else ("nimbus meh" if neg else "nimbus is great"))
            ms.append(make_mention(i, hours=h + k / 60, text=text, author=f"a{i % 9}", followers=10 * (i % 50)))
            i += 1
    from brandpulse.store.engine import session_scope
    from brandpulse.store.mentions import insert_mentions_in
    from listener.dedup import StoreDeduper

    with session_scope(engine) as s:
        res = insert_mentions_in(s, ms)
        StoreDeduper(engine).assign(s, res.new_ids, ms)
    pend = pending_mentions(engine, "m", "r", 10_000)
    by_id = {m.native_id: m for m in ms}
    save_scores(engine, [(p.id, _neg("negative" if ("outage" in p.text or "meh" in p.text) else "positive"))
                         for p in pend])
    assert len(pend) == len(by_id)  # every distinct mention was stored and scored
    checked = check_alerts(engine, "m@r", RULE)
    assert checked.new == 1
    alerts = alert_views(engine)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.brand == "Nimbus"
    assert a.start == T0 + timedelta(hours=75)
    ev = a.evidence
    assert len(ev["top_posts"]) == 5 and all("outage" in p["text"] for p in ev["top_posts"])
    assert "outage" in ev["top_terms"] and "refund" in ev["top_terms"]
    assert "12 negative of 12" in ev["why"]
    # the 12 identical complaints are one copy-paste campaign, and the alert says so
    assert [(c["posts"], c["authors"]) for c in ev["campaigns"]] == [(12, 9)]
    assert "campaign of 12 near-identical posts by 9 accounts" in ev["why"]
    again = check_alerts(engine, "m@r", RULE, since=T0)
    assert (again.new, again.updated) == (0, 0)
    assert len(alert_views(engine)) == 1


def test_backtest_command_lists_the_episode_as_json(engine, db_url: str, tmp_path, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from brandpulse.cli import app
    from tests.seed import EPISODE_HOUR, seed_week

    seed_week(engine)
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("", encoding="utf-8")
    res = CliRunner().invoke(app, ["alerts", "backtest", "--from", "2026-11-02", "--to", "2026-11-09", "--json",
                                   "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert [(a["brand"], a["start"]) for a in out] == [("Nimbus", (T0 + timedelta(hours=EPISODE_HOUR)).isoformat())]
    assert {"brand", "start", "end", "severity", "metrics"} <= set(out[0])
    res = CliRunner().invoke(app, ["alerts", "backtest", "--from", "2026-11-02", "--to", "2026-11-04", "--json",
                                   "--config", str(cfg)])
    assert json.loads(res.output.strip().splitlines()[-1]) == []
