"""Rule "negativity_spike": an hour whose negative share and negative volume both stand out.

Against the brand's trailing baseline (the `baseline_hours` before it, hours without
mentions counted as zero), an hour fires when:
  - negative volume ≥ `min_negative`, and
  - negative share ≥ max(`min_share`, `share_ratio` × baseline share), and
  - negative volume is ≥ `z_threshold` robust standard deviations above the baseline
    (median and MAD of the baseline hours; σ floored at √mean and 1, so a quiet brand does not
    alert on two posts), and
  - that many negatives among the hour's mentions is improbable under the baseline share
    (binomial tail p-value ≤ `max_p_value`), which keeps random noise from paging anyone.
Consecutive firing hours form one alert. Severity: "high" when z ≥ 2 × threshold or the
share is ≥ 3 × baseline, else "medium".
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import binom

from alerts.hourly import in_range, trailing_baseline
from alerts.rule import AlertLike, AlertRule, CandidateAlert, RuleConfig, consecutive_runs


class NegativitySpikeConfig(RuleConfig):
    #: the trailing window each hour is compared with
    baseline_hours: int = Field(72, ge=6)
    #: never alert on fewer negative mentions in an hour
    min_negative: int = Field(5, ge=1)
    #: negative share must be this many times the baseline share…
    share_ratio: float = Field(1.8, gt=1.0)
    #: …and at least this share
    min_share: float = Field(0.35, ge=0.0, le=1.0)
    #: negative volume this many robust standard deviations above the baseline
    z_threshold: float = Field(3.0, gt=0.0)
    #: and that many negatives must be this improbable at the baseline share
    max_p_value: float = Field(1e-5, gt=0.0, lt=1.0)


class NegativitySpike(AlertRule[NegativitySpikeConfig]):
    name = "negativity_spike"
    Config = NegativitySpikeConfig
    evidence_label = "negative"

    def baseline_hours(self) -> int:
        return self.config.baseline_hours

    def evaluate(self, hourly: pd.DataFrame, since: datetime | None = None,
                 until: datetime | None = None) -> pd.DataFrame:
        """Per-hour metrics and the firing flag for one brand's dense hourly frame."""
        rule = self.config
        h = hourly.sort_values("hour").reset_index(drop=True)
        w = rule.baseline_hours
        prev_total = h["total"].shift(1).rolling(w, min_periods=1).sum().fillna(0)
        base = trailing_baseline(h["negative"], w)
        base_share = (base["sum"] / prev_total.replace(0, np.nan)).fillna(0.0)
        share = (h["negative"] / h["total"].replace(0, np.nan)).fillna(0.0)
        z = (h["negative"] - base["median"]) / base["sigma"]
        p0 = np.clip(base_share.to_numpy(dtype=float), 0.02, 0.98)
        p_value = binom.sf(h["negative"].to_numpy() - 1, h["total"].to_numpy(), p0)
        enough_history = base["avail"] >= min(w, 24)
        fires = (
            enough_history
            & (h["negative"] >= rule.min_negative)
            & (share >= np.maximum(rule.min_share, rule.share_ratio * base_share))
            & (z >= rule.z_threshold)
            & (p_value <= rule.max_p_value)
        )
        out = h.assign(share=share, baseline_share=base_share, baseline_negative=base["mean"], z=z, p_value=p_value,
                       fires=fires)
        return in_range(out, since, until)

    def find(self, brand: str, hourly: pd.DataFrame, since: datetime | None = None,
             until: datetime | None = None) -> list[CandidateAlert]:
        found = []
        for run in consecutive_runs(self.evaluate(hourly, since, until)):
            alert = CandidateAlert(rule=self.name, brand=brand, start=run[0].hour.to_pydatetime(),
                                   end=run[-1].hour.to_pydatetime() + timedelta(hours=1), severity="medium")
            for row in run:
                alert.hours.append(row.hour.to_pydatetime())
                self._merge(alert, row)
            found.append(alert)
        return found

    def _merge(self, alert: CandidateAlert, row: Any) -> None:
        m = alert.metrics
        neg, total, z, base_share = float(row.negative), float(row.total), float(row.z), float(row.baseline_share)
        m["negative"] = m.get("negative", 0.0) + neg
        m["total"] = m.get("total", 0.0) + total
        m["negative_share"] = round(m["negative"] / m["total"], 4) if m["total"] else 0.0
        m.setdefault("baseline_share", round(base_share, 4))
        m.setdefault("baseline_negative_per_hour", round(float(row.baseline_negative), 3))
        m["peak_negative_per_hour"] = max(m.get("peak_negative_per_hour", 0.0), neg)
        m["max_z"] = round(max(m.get("max_z", -math.inf), z), 2)
        m["min_p_value"] = float(f"{min(m.get('min_p_value', 1.0), float(row.p_value)):.3g}")
        ratio = m["negative_share"] / m["baseline_share"] if m["baseline_share"] > 0 else math.inf
        m["share_ratio"] = round(ratio, 2) if math.isfinite(ratio) else 999.0
        alert.severity = "high" if m["max_z"] >= 2 * self.config.z_threshold or ratio >= 3 else "medium"

    def explain(self, alert: AlertLike) -> str:
        m = alert.metrics
        return (f"{int(m['negative'])} negative of {int(m['total'])} mentions "
                f"({m['negative_share']:.0%}) vs a {m['baseline_share']:.0%} baseline share; "
                f"peak {int(m['peak_negative_per_hour'])} negative/h vs "
                f"{m['baseline_negative_per_hour']:.1f}/h usual (z={m['max_z']})")
