"""Rule "volume_spike" (off by default): mention volume far above the brand's trailing baseline,
whatever the sentiment — a story breaking, a post going viral, a campaign starting.

Against the `baseline_hours` before it (hours without mentions counted as zero), an hour fires when:
  - it has ≥ `min_mentions` mentions, and
  - that is ≥ `ratio` × the baseline level (the larger of the trailing median and mean), and
  - ≥ `z_threshold` robust standard deviations above the trailing median (σ from the MAD, floored
    at √level and 1), and
  - that many mentions is improbable for a Poisson count at the baseline mean (tail p ≤ `max_p_value`).
Consecutive firing hours form one alert. Severity: "critical" when z ≥ 2 × threshold, else "warning".
Switch it on with `[alerts.rules.volume_spike] enabled = true`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import poisson

from alerts.hourly import in_range, trailing_baseline
from alerts.rule import AlertLike, AlertRule, CandidateAlert, RuleConfig, alerts_from_runs


class VolumeSpikeConfig(RuleConfig):
    enabled: bool = False
    baseline_hours: int = Field(72, ge=6)
    min_mentions: int = Field(30, ge=1)
    ratio: float = Field(3.0, gt=1.0)
    z_threshold: float = Field(4.0, gt=0.0)
    max_p_value: float = Field(1e-6, gt=0.0, lt=1.0)


class VolumeSpike(AlertRule[VolumeSpikeConfig]):
    name = "volume_spike"
    Config = VolumeSpikeConfig
    evidence_label = None

    def baseline_hours(self) -> int:
        return self.config.baseline_hours

    def find(self, brand: str, hourly: pd.DataFrame, since: datetime | None = None,
             until: datetime | None = None) -> list[CandidateAlert]:
        cfg = self.config
        h = hourly.sort_values("hour").reset_index(drop=True)
        base = trailing_baseline(h["total"], cfg.baseline_hours)
        level = np.maximum(base["median"], base["mean"])
        z = (h["total"] - base["median"]) / base["sigma"]
        p_value = poisson.sf(h["total"].to_numpy() - 1, np.maximum(base["mean"].to_numpy(dtype=float), 0.5))
        fires = ((base["avail"] >= min(cfg.baseline_hours, 24)) & (h["total"] >= cfg.min_mentions)
                 & (h["total"] >= cfg.ratio * level) & (z >= cfg.z_threshold) & (p_value <= cfg.max_p_value))
        ev = in_range(h.assign(baseline=base["mean"], level=level, z=z, p_value=p_value, fires=fires), since, until)
        return alerts_from_runs(self.name, brand, ev, "warning", self._merge)

    def _merge(self, alert: CandidateAlert, row: Any) -> None:
        m = alert.metrics
        m["total"] = m.get("total", 0.0) + float(row.total)
        m["negative"] = m.get("negative", 0.0) + float(row.negative)
        m["negative_share"] = round(m["negative"] / m["total"], 4) if m["total"] else 0.0
        m.setdefault("baseline_per_hour", round(float(row.baseline), 3))
        m["peak_per_hour"] = max(m.get("peak_per_hour", 0.0), float(row.total))
        m["volume_ratio"] = max(m.get("volume_ratio", 0.0), round(float(row.total) / max(float(row.level), 1.0), 2))
        m["max_z"] = round(max(m.get("max_z", -math.inf), float(row.z)), 2)
        m["min_p_value"] = float(f"{min(m.get('min_p_value', 1.0), float(row.p_value)):.3g}")
        alert.severity = "critical" if m["max_z"] >= 2 * self.config.z_threshold else "warning"

    def explain(self, alert: AlertLike) -> str:
        m = alert.metrics
        return (f"{int(m['total'])} mentions ({m['negative_share']:.0%} negative); "
                f"peak {int(m['peak_per_hour'])}/h vs {m['baseline_per_hour']:.1f}/h usual "
                f"(×{m['volume_ratio']}, z={m['max_z']})")
