"""Alert rules behind one interface: the registry, per-rule config tables, and a second rule
(volume_spike) added as one module — off by default, firing on a surge when enabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from alerts.backtest import backtest
from alerts.check import check_alerts
from alerts.detect import find_alerts
from alerts.registry import configured_rules, registry
from alerts.rules.volume_spike import VolumeSpike, VolumeSpikeConfig
from brandpulse.config import AlertRuleConfig, load_settings
from brandpulse.errors import ConfigError
from brandpulse.store.alerts import stored_alerts
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import Mention, SentimentScore
from tests.conftest import make_mention

T0 = datetime(2026, 11, 2, tzinfo=UTC)
VOLUME = VolumeSpike(VolumeSpikeConfig.model_validate({"enabled": True}))


def steady(hours: int, total: int, neg_share: float, surge: dict[int, int] | None = None, seed: int = 0) -> pd.DataFrame:
    """Rollup rows with Poisson volume around `total`/h at a fixed negative share; `surge` overrides hour → volume."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(hours):
        t = (surge or {}).get(h, int(rng.poisson(total)))
        n = int(rng.binomial(t, neg_share))
        hour = T0 + timedelta(hours=h)
        rows.append({"brand": "Nimbus", "hour": hour, "sentiment": "negative", "count": n, "reach": 0})
        rows.append({"brand": "Nimbus", "hour": hour, "sentiment": "neutral", "count": t - n, "reach": 0})
    return pd.DataFrame(rows)


def test_the_built_in_rules_are_registered_and_only_negativity_spike_runs_by_default() -> None:
    assert {"negativity_spike", "volume_spike"} <= set(registry())
    assert [r.name for r in configured_rules(AlertRuleConfig())] == ["negativity_spike"]
    enabled = AlertRuleConfig(rules={"volume_spike": {"enabled": True, "min_mentions": 50}})
    (vol,) = [r for r in configured_rules(enabled) if r.name == "volume_spike"]
    assert vol.config.min_mentions == 50


def test_volume_spike_fires_on_a_surge_at_a_flat_share_and_explains_it() -> None:
    df = steady(24 * 5, total=20, neg_share=0.2, surge={100: 140, 101: 110})
    (alert,) = find_alerts(df, [VOLUME])
    assert (alert.rule, alert.brand) == ("volume_spike", "Nimbus")
    assert (alert.start, alert.end) == (T0 + timedelta(hours=100), T0 + timedelta(hours=102))
    assert alert.metrics["total"] == 250 and alert.metrics["peak_per_hour"] == 140
    assert alert.metrics["volume_ratio"] >= 6
    assert alert.severity == "critical"
    why = VOLUME.explain(alert)
    assert "250 mentions" in why and "peak 140/h" in why
    # the share never moved, so only the negativity rule's volume signal sees it (7× the usual negatives)
    (neg,) = find_alerts(df, configured_rules(AlertRuleConfig()))
    assert neg.start == T0 + timedelta(hours=100)
    assert neg.metrics["share_signal_hours"] == 0 and neg.metrics["volume_signal_hours"] >= 1


@pytest.mark.parametrize("seed", range(4))
def test_volume_spike_stays_quiet_on_flat_noisy_volume(seed: int) -> None:
    assert find_alerts(steady(24 * 7, total=20, neg_share=0.2, seed=seed), [VOLUME]) == []


def test_volume_spike_needs_a_baseline_and_a_minimum_volume() -> None:
    assert find_alerts(steady(10, total=20, neg_share=0.2, surge={6: 200}), [VOLUME]) == []
    # a quiet brand going from ~1 to 12 mentions in an hour is below min_mentions (30)
    assert find_alerts(steady(24 * 5, total=1, neg_share=0.2, surge={100: 12}), [VOLUME]) == []


def _seed_surge(engine: Engine) -> None:
    ms: list[Mention] = []
    for h in range(100):
        for k in range(60 if h == 90 else 3):
            ms.append(make_mention(len(ms), hours=h + k / 70, text=f"nimbus launch day {len(ms)}"))
    insert_mentions(engine, ms)
    save_scores(engine, [(p.id, SentimentScore("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, 0.8, {},
                                               "m", "r")) for p in pending_mentions(engine, "m", "r", 10_000)])


def test_check_and_backtest_run_every_enabled_rule_through_the_same_windowing(engine: Engine) -> None:
    _seed_surge(engine)
    config = AlertRuleConfig(rules={"volume_spike": {"enabled": True}})
    assert check_alerts(engine, "m@r", AlertRuleConfig()).new == 0
    res = check_alerts(engine, "m@r", config)
    assert res.new == 1
    (stored,) = stored_alerts(engine)
    assert (stored.rule, stored.start) == ("volume_spike", T0 + timedelta(hours=90))
    assert "60 mentions" in stored.summary["why"]
    (bt,) = backtest(engine, "m@r", config, T0, T0 + timedelta(days=5))
    assert bt.as_json() == {"rule": "volume_spike", "brand": "Nimbus", "start": stored.start.isoformat(),
                            "end": stored.end.isoformat(), "severity": stored.severity, "metrics": stored.metrics}


def test_flat_alert_keys_still_work_with_a_warning_naming_the_new_table(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("BRANDPULSE_CONFIG", raising=False)
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("[alerts]\nmin_negative = 9\nz_threshold = 4.5\n", encoding="utf-8")
    with pytest.warns(FutureWarning, match=r"\[alerts.rules.negativity_spike\]"):
        settings = load_settings(cfg)
    (neg,) = configured_rules(settings.alerts)
    assert (neg.config.min_negative, neg.config.z_threshold, neg.config.share_ratio) == (9, 4.5, 1.8)


def test_rule_tables_are_validated_by_each_rule_with_key_names(tmp_path) -> None:
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text("[alerts.rules.negativity_spike]\nmin_negative = 0\nshare_ratio = 'lots'\n"
                   "[alerts.rules.volume_spike]\nenabled = true\nmin_mentions = 40\n", encoding="utf-8")
    settings = load_settings(cfg)
    with pytest.raises(ConfigError) as err:
        configured_rules(settings.alerts)
    msg = str(err.value)
    assert "alerts.rules.negativity_spike.min_negative" in msg and "alerts.rules.negativity_spike.share_ratio" in msg
    with pytest.raises(ConfigError, match=r"alerts.rules.negativity_spike.min_negatve: unknown key"):
        configured_rules(AlertRuleConfig(rules={"negativity_spike": {"min_negatve": 3}}))
    with pytest.raises(ConfigError, match=r"alerts.rules.volume_spikes: unknown alert rule \(registered: .*volume_spike"):
        configured_rules(AlertRuleConfig(rules={"volume_spikes": {}}))


PLUGIN = '''
from alerts.rule import AlertRule, CandidateAlert, RuleConfig


class QuietHours(AlertRule):
    """A plugin rule: every hour with no mentions at all."""

    name = "quiet_hours"
    Config = RuleConfig

    def baseline_hours(self):
        return 0

    def find(self, brand, hourly, since=None, until=None):
        from datetime import timedelta
        return [CandidateAlert(self.name, brand, r.hour.to_pydatetime(), r.hour.to_pydatetime() + timedelta(hours=1),
                               "medium", {"total": 0.0}) for r in hourly.itertuples() if r.total == 0]

    def explain(self, alert):
        return f"no mentions of {alert.brand}"
'''


def test_a_plugin_rule_registered_by_entry_point_runs_with_the_built_ins(tmp_path, monkeypatch) -> None:
    (tmp_path / "quiet_rule.py").write_text(PLUGIN, encoding="utf-8")
    dist = tmp_path / "quiet_rule-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: quiet-rule\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[brandpulse.alert_rules]\nquiet_hours = quiet_rule:QuietHours\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    rules = configured_rules(AlertRuleConfig())
    assert [r.name for r in rules] == ["negativity_spike", "quiet_hours"]
    df = steady(48, total=20, neg_share=0.2, surge={30: 0})
    (alert,) = find_alerts(df, rules)
    assert (alert.rule, alert.start) == ("quiet_hours", T0 + timedelta(hours=30))
    assert rules[1].explain(alert) == "no mentions of Nimbus"
