"""Negativity spike detection over hourly rollups (pure functions; no database).

Rule "negativity_spike": an hour fires when, against the brand's trailing baseline
(the `baseline_hours` before it, hours without mentions counted as zero):
  - negative volume ≥ `min_negative`, and
  - negative share ≥ max(`min_share`, `share_ratio` × baseline share), and
  - negative volume is ≥ `z_threshold` robust standard deviations above the baseline mean
    (median and MAD of the baseline hours; σ floored at √mean and 1, so a quiet brand does not alert
    on two posts), and
  - that many negatives among the hour's mentions is improbable under the baseline share
    (binomial tail p-value ≤ `max_p_value`), which keeps random noise from paging anyone.
Consecutive firing hours form one alert. Severity: "high" when z ≥ 2 × threshold or the
share is ≥ 3 × baseline, else "medium".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy.stats import binom

from brandpulse.config import AlertRuleConfig

RULE = "negativity_spike"


@dataclass
class Spike:
    brand: str
    start: datetime
    end: datetime  # exclusive
    severity: str
    metrics: dict[str, float] = field(default_factory=dict)
    hours: list[datetime] = field(default_factory=list)


def hourly_frame(rollups: pd.DataFrame) -> pd.DataFrame:
    """Rollup rows (brand, hour, sentiment, count) → dense hourly frame per brand with total/negative."""
    if rollups.empty:
        return pd.DataFrame(columns=["brand", "hour", "total", "negative"])
    df = rollups.copy()
    df["hour"] = pd.to_datetime(df["hour"], utc=True)
    df["neg"] = np.where(df["sentiment"] == "negative", df["count"], 0)
    agg = df.groupby(["brand", "hour"], as_index=False).agg(total=("count", "sum"), negative=("neg", "sum"))
    frames = []
    for brand, g in agg.groupby("brand"):
        idx = pd.date_range(g["hour"].min(), g["hour"].max(), freq="h", tz="UTC")
        dense = g.set_index("hour")[["total", "negative"]].reindex(idx, fill_value=0)
        dense.index.name = "hour"
        dense = dense.reset_index()
        dense.insert(0, "brand", brand)
        frames.append(dense)
    return pd.concat(frames, ignore_index=True)


def evaluate_brand(
    hourly: pd.DataFrame, rule: AlertRuleConfig, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """Per-hour metrics and the firing flag for one brand's dense hourly frame (sorted by hour)."""
    h = hourly.sort_values("hour").reset_index(drop=True)
    w = rule.baseline_hours
    prev_total = h["total"].shift(1).rolling(w, min_periods=1).sum().fillna(0)
    prev_neg = h["negative"].shift(1).rolling(w, min_periods=1).sum().fillna(0)
    # hours of history actually available (the first hours of a stream have a short baseline)
    avail = pd.Series(np.minimum(np.arange(len(h)), w), index=h.index).astype(float)
    # robust baseline level and spread (median / MAD), so an ongoing episode does not inflate its own baseline
    prev = h["negative"].astype(float).shift(1)
    med_neg = prev.rolling(w, min_periods=1).median().fillna(0.0)
    mad = prev.rolling(w, min_periods=1).apply(lambda a: np.median(np.abs(a - np.median(a))), raw=True).fillna(0.0)
    mean_neg = (prev_neg / avail.replace(0, np.nan)).fillna(0.0)
    sigma = np.maximum(np.maximum(1.4826 * mad, np.sqrt(np.maximum(mean_neg, med_neg))), 1.0)
    base_share = (prev_neg / prev_total.replace(0, np.nan)).fillna(0.0)
    share = (h["negative"] / h["total"].replace(0, np.nan)).fillna(0.0)
    z = (h["negative"] - med_neg) / sigma
    p0 = np.clip(base_share.to_numpy(dtype=float), 0.02, 0.98)
    p_value = binom.sf(h["negative"].to_numpy() - 1, h["total"].to_numpy(), p0)
    enough_history = avail >= min(w, 24)
    fires = (
        enough_history
        & (h["negative"] >= rule.min_negative)
        & (share >= np.maximum(rule.min_share, rule.share_ratio * base_share))
        & (z >= rule.z_threshold)
        & (p_value <= rule.max_p_value)
    )
    out = h.assign(share=share, baseline_share=base_share, baseline_negative=mean_neg, z=z, p_value=p_value,
                   fires=fires)
    if since is not None:
        out = out[out["hour"] >= pd.Timestamp(since)]
    if until is not None:
        out = out[out["hour"] < pd.Timestamp(until)]
    return out


def find_spikes(
    rollups: pd.DataFrame, rule: AlertRuleConfig, since: datetime | None = None, until: datetime | None = None
) -> list[Spike]:
    """Every negativity spike in the rollups (optionally only hours in [since, until))."""
    spikes: list[Spike] = []
    dense = hourly_frame(rollups)
    for brand, g in dense.groupby("brand"):
        ev = evaluate_brand(g, rule, since, until)
        current: Spike | None = None
        for row in ev.itertuples(index=False):
            hour = row.hour.to_pydatetime()
            if not row.fires:
                current = None
                continue
            if current is None or current.end != hour:
                current = Spike(brand=str(brand), start=hour, end=hour, severity="medium")
                spikes.append(current)
            current.end = hour + timedelta(hours=1)
            current.hours.append(hour)
            _merge_metrics(current, row, rule)
    return spikes


def _merge_metrics(spike: Spike, row: object, rule: AlertRuleConfig) -> None:
    m = spike.metrics
    neg = float(row.negative)  # type: ignore[attr-defined]
    total = float(row.total)  # type: ignore[attr-defined]
    z = float(row.z)  # type: ignore[attr-defined]
    base_share = float(row.baseline_share)  # type: ignore[attr-defined]
    m["negative"] = m.get("negative", 0.0) + neg
    m["total"] = m.get("total", 0.0) + total
    m["negative_share"] = round(m["negative"] / m["total"], 4) if m["total"] else 0.0
    m["baseline_share"] = round(base_share, 4) if "baseline_share" not in m else m["baseline_share"]
    m["baseline_negative_per_hour"] = (
        round(float(row.baseline_negative), 3)  # type: ignore[attr-defined]
        if "baseline_negative_per_hour" not in m
        else m["baseline_negative_per_hour"]
    )
    m["peak_negative_per_hour"] = max(m.get("peak_negative_per_hour", 0.0), neg)
    m["max_z"] = round(max(m.get("max_z", -math.inf), z), 2)
    m["min_p_value"] = float(f"{min(m.get('min_p_value', 1.0), float(row.p_value)):.3g}")  # type: ignore[attr-defined]
    ratio = m["negative_share"] / m["baseline_share"] if m["baseline_share"] > 0 else math.inf
    m["share_ratio"] = round(ratio, 2) if math.isfinite(ratio) else 999.0
    spike.severity = "high" if m["max_z"] >= 2 * rule.z_threshold or ratio >= 3 else "medium"
