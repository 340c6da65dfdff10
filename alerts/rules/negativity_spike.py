"""Rule "negativity_spike": a wave of negativity, seen by any of three signals.

Each hour of a brand is compared with its baseline: the same hour of the week over the past
`seasonal_weeks` weeks (median / MAD) once at least `min_seasonal_weeks` of them are known, else
the trailing `baseline_hours` (hours without mentions counted as zero). For the volume signal,
while weeks are short, the same hour on the past `seasonal_days` days stands in for the week, so
a daily rhythm does not page either. Signals (each can be switched off):

- **share** (`share_signal`): negative volume ≥ `min_negative`, negative share ≥ max(`min_share`,
  `share_ratio` × baseline share), negative volume ≥ `z_threshold` robust σ above the expected
  level, and that many negatives improbable at the baseline share (binomial tail ≤ `max_p_value`).
- **volume** (`volume_signal`): negative mentions over the last `surge_hours` hours ≥
  `surge_min_negative`, ≥ `surge_ratio` × what those hours usually hold, ≥ `z_threshold` robust σ
  above it, and improbable for a Poisson count at that level (tail ≤ `max_p_value`) — a wave of
  complaints alerts even when the share of negative posts stays where it always is.
- **reach** (`reach_signal`): the followers reached by negative posts in the hour ≥
  `min_negative_reach` and ≥ `reach_ratio` × the usual negative reach per hour, with the
  reach-weighted negative share ≥ `min_share` (one post by an account with a million followers
  matters more than ten by accounts with none).

The quiet-brand protections hold for every signal: minimum volumes, a σ floored at √level and 1,
and a tail probability. Consecutive firing hours form one alert. Severity: "critical" when the
share signal fires with z ≥ 2 × `z_threshold` or a share ≥ 3 × baseline, or the volume signal at
≥ 2 × `surge_ratio`; "warning" for any other share or volume hour; "notice" when only reach fired.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import binom, poisson

from alerts.hourly import in_range, seasonal_baseline, seasonal_sum, trailing_baseline
from alerts.rule import SEVERITIES, AlertLike, AlertRule, CandidateAlert, RuleConfig, alerts_from_runs, severity_rank


class NegativitySpikeConfig(RuleConfig):
    #: the trailing window each hour is compared with (while weeks of history are short)
    baseline_hours: int = Field(72, ge=6)
    #: never alert on fewer negative mentions in an hour
    min_negative: int = Field(5, ge=1)
    #: share signal: negative share must be this many times the baseline share…
    share_ratio: float = Field(1.8, gt=1.0)
    #: …and at least this share (also the least reach-weighted share for the reach signal)
    min_share: float = Field(0.35, ge=0.0, le=1.0)
    #: negative volume this many robust standard deviations above the expected level
    z_threshold: float = Field(3.0, gt=0.0)
    #: and that many negatives must be this improbable at the baseline (binomial / Poisson tail)
    max_p_value: float = Field(1e-5, gt=0.0, lt=1.0)
    #: seasonal baseline: the same hour in this many past weeks (0 = trailing window only)…
    seasonal_weeks: int = Field(4, ge=0, le=12)
    #: …used once this many of those weeks are known
    min_seasonal_weeks: int = Field(2, ge=1)
    #: while weeks are short, the volume signal's expected level is the same hour on this many past days…
    seasonal_days: int = Field(3, ge=0, le=14)
    #: …once this many of them are known (else the trailing window)
    min_seasonal_days: int = Field(2, ge=1)
    share_signal: bool = True
    volume_signal: bool = True
    #: volume signal: hours summed (a sustained wave is stronger evidence than one noisy hour)
    surge_hours: int = Field(3, ge=1, le=24)
    #: negatives in those hours must be at least this many…
    surge_min_negative: int = Field(15, ge=1)
    #: …and this many times what those hours usually hold
    surge_ratio: float = Field(1.6, gt=1.0)
    reach_signal: bool = True
    #: reach signal: followers reached by negative posts in an hour, at least…
    min_negative_reach: int = Field(500_000, ge=1)
    #: …and this many times the usual negative reach per hour
    reach_ratio: float = Field(10.0, gt=1.0)


class NegativitySpike(AlertRule[NegativitySpikeConfig]):
    name = "negativity_spike"
    Config = NegativitySpikeConfig
    evidence_label = "negative"

    def baseline_hours(self) -> int:
        return self.config.baseline_hours

    def own_history_hours(self) -> int:
        cfg = self.config
        return max(cfg.baseline_hours, 168 * cfg.seasonal_weeks, 24 * cfg.seasonal_days) + cfg.surge_hours

    def evaluate(self, hourly: pd.DataFrame, since: datetime | None = None,
                 until: datetime | None = None) -> pd.DataFrame:
        """Per-hour metrics, the signals and the firing flag for one brand's hourly frame."""
        cfg = self.config
        h = hourly.sort_values("hour").reset_index(drop=True)
        w = cfg.baseline_hours
        neg, total = h["negative"].astype(float), h["total"].astype(float)
        # trailing window (the fallback)
        prev_total = total.shift(1).rolling(w, min_periods=1).sum().fillna(0)
        base = trailing_baseline(h["negative"], w)
        base_share = (base["sum"] / prev_total.replace(0, np.nan)).fillna(0.0)
        expected, sigma = base["median"].copy(), base["sigma"].copy()
        # the same hour in past weeks, where known
        weekly = seasonal_baseline(h, "negative", cfg.seasonal_weeks, cfg.min_seasonal_weeks, 0, 1)
        is_weekly = (weekly["period"] == 168).to_numpy()
        if is_weekly.any():
            lag_neg = seasonal_sum(h, "negative", weekly["period"], weekly["n"], cfg.seasonal_weeks, 0)
            lag_total = seasonal_sum(h, "total", weekly["period"], weekly["n"], cfg.seasonal_weeks, 0)
            w_share = (lag_neg / lag_total.replace(0, np.nan)).fillna(0.0)
            w_sigma = np.maximum(np.maximum(1.4826 * weekly["mad"], np.sqrt(weekly["median"])), 1.0)
            base_share = base_share.where(~is_weekly, w_share)
            expected = expected.where(~is_weekly, weekly["median"])
            sigma = sigma.where(~is_weekly, w_sigma)
        share = (neg / total.replace(0, np.nan)).fillna(0.0)
        z = (neg - expected) / sigma
        enough_history = (base["avail"] >= min(w, 24)) | is_weekly
        p0 = np.clip(base_share.to_numpy(dtype=float), 0.02, 0.98)
        p_share = binom.sf(h["negative"].to_numpy() - 1, h["total"].to_numpy(), p0)
        share_fires = (
            enough_history & (neg >= cfg.min_negative)
            & (share >= np.maximum(cfg.min_share, cfg.share_ratio * base_share))
            & (z >= cfg.z_threshold) & (p_share <= cfg.max_p_value)
        ) if cfg.share_signal else pd.Series(False, index=h.index)
        # volume: the last `surge_hours` against what those hours usually hold
        level = self._usual_negative(h, base)
        k = cfg.surge_hours
        surge_obs = neg.rolling(k, min_periods=1).sum()
        surge_exp = level.rolling(k, min_periods=1).sum()
        surge_sigma = np.sqrt((sigma**2).rolling(k, min_periods=1).sum())
        surge_z = (surge_obs - surge_exp) / surge_sigma
        surge_ratio = surge_obs / np.maximum(surge_exp, 0.5)
        p_surge = poisson.sf(surge_obs.to_numpy() - 1, np.maximum(surge_exp.to_numpy(dtype=float), 0.5))
        volume_fires = (
            enough_history & (neg >= cfg.min_negative) & (surge_obs >= cfg.surge_min_negative)
            & (surge_ratio >= cfg.surge_ratio) & (surge_z >= cfg.z_threshold) & (p_surge <= cfg.max_p_value)
        ) if cfg.volume_signal else pd.Series(False, index=h.index)
        # reach-weighted negativity
        neg_reach = h["negative_reach"].astype(float)
        reach_base = neg_reach.shift(1).rolling(w, min_periods=1).mean().fillna(0.0)
        reach_share = (neg_reach / h["reach"].astype(float).replace(0, np.nan)).fillna(0.0)
        reach_fires = (
            enough_history & (neg_reach >= cfg.min_negative_reach)
            & (neg_reach >= cfg.reach_ratio * reach_base) & (reach_share >= cfg.min_share)
        ) if cfg.reach_signal else pd.Series(False, index=h.index)
        critical = ((share_fires & ((z >= 2 * cfg.z_threshold) | (share >= 3 * base_share)))
                    | (volume_fires & (surge_ratio >= 2 * cfg.surge_ratio)))
        severity = np.select([critical, share_fires | volume_fires, reach_fires], [2, 1, 0], default=-1)
        out = h.assign(share=share, baseline_share=base_share, baseline_negative=level, z=z,
                       p_value=np.minimum(np.where(share_fires, p_share, 1.0), np.where(volume_fires, p_surge, 1.0)),
                       surge_ratio=surge_ratio, baseline_negative_reach=reach_base, weekly=is_weekly,
                       share_fires=share_fires, volume_fires=volume_fires, reach_fires=reach_fires,
                       severity_rank=severity, fires=share_fires | volume_fires | reach_fires)
        return in_range(out, since, until)

    def _usual_negative(self, h: pd.DataFrame, base: pd.DataFrame) -> pd.Series:
        """What an hour usually holds in negatives: the same hour of past weeks (or days while weeks are short),
        never below the trailing median; where neither is known yet, the trailing window's 90th percentile
        (a busy hour of the day, so the first days' daily peaks do not page)."""
        cfg = self.config
        seasonal = seasonal_baseline(h, "negative", cfg.seasonal_weeks, cfg.min_seasonal_weeks, cfg.seasonal_days,
                                     cfg.min_seasonal_days)
        known = seasonal["period"] > 0
        busy = h["negative"].astype(float).shift(1).rolling(cfg.baseline_hours, min_periods=1).quantile(0.9).fillna(0.0)
        usual = np.where(known, np.maximum(seasonal["median"].fillna(0.0), base["median"]), np.maximum(busy, base["mean"]))
        return pd.Series(usual, index=h.index).astype(float)

    def find(self, brand: str, hourly: pd.DataFrame, since: datetime | None = None,
             until: datetime | None = None) -> list[CandidateAlert]:
        return alerts_from_runs(self.name, brand, self.evaluate(hourly, since, until), SEVERITIES[0], self._merge)

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
        m["negative_reach"] = m.get("negative_reach", 0.0) + float(row.negative_reach)
        m.setdefault("baseline_negative_reach_per_hour", round(float(row.baseline_negative_reach), 1))
        m["max_volume_ratio"] = round(max(m.get("max_volume_ratio", 0.0), float(row.surge_ratio)), 2)
        for signal in ("share", "volume", "reach"):
            m[f"{signal}_signal_hours"] = m.get(f"{signal}_signal_hours", 0.0) + float(bool(getattr(row, f"{signal}_fires")))
        m.setdefault("seasonal_baseline", float(bool(row.weekly)))
        if severity_rank(alert.severity) < int(row.severity_rank):
            alert.severity = SEVERITIES[int(row.severity_rank)]

    def explain(self, alert: AlertLike) -> str:
        m = alert.metrics
        why = (f"{int(m['negative'])} negative of {int(m['total'])} mentions "
               f"({m['negative_share']:.0%}) vs a {m['baseline_share']:.0%} baseline share; "
               f"peak {int(m['peak_negative_per_hour'])} negative/h vs "
               f"{m['baseline_negative_per_hour']:.1f}/h usual (z={m['max_z']})")
        signals = [s for s in ("share", "volume", "reach") if m.get(f"{s}_signal_hours", 0) > 0]
        if signals and signals != ["share"]:
            why += f"; signals: {', '.join(signals)}"
        if m.get("volume_signal_hours", 0) > 0:
            why += f" (negative volume ×{m.get('max_volume_ratio', 0)} the usual)"
        if m.get("reach_signal_hours", 0) > 0:
            why += (f" (negative posts reached {int(m.get('negative_reach', 0)):,} followers vs "
                    f"{m.get('baseline_negative_reach_per_hour', 0):,.0f}/h usual)")
        if m.get("seasonal_baseline"):
            why += "; baseline: same hour in past weeks"
        return why
