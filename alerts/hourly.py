"""Rollup rows → one dense hourly frame per brand (hours without mentions are zeros), the trailing
robust baseline (median / MAD) the rules compare each hour with, and the seasonal one (the same
hour in past weeks, or past days while weeks are short).

The frame is dense only where it matters: hours more than `pad_hours` apart from any data are left
out (a brand with one row in year 1 and one in 9999 is two short stretches, not eight million
rows), and each stretch after the first starts with `pad_hours` zero hours, so a rule whose
history is at most `pad_hours` sees exactly what a fully dense frame would show it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd

#: Columns of the dense hourly frame: per hour, all mentions, negative ones, and their reach.
COLUMNS = ["hour", "total", "negative", "reach", "negative_reach"]


def _stretches(hours: pd.DatetimeIndex, pad_hours: int | None) -> pd.DatetimeIndex:
    """The hours of the frame: dense from the first to the last data hour, except that gaps longer than
    `pad_hours` are cut down to `pad_hours` zero hours before the next data hour."""
    if pad_hours is None or len(hours) < 2:
        return pd.date_range(hours.min(), hours.max(), freq="h", tz="UTC")
    step = pd.Timedelta(hours=1)
    gap = hours[1:] - hours[:-1]
    cut = np.flatnonzero(gap > step * (pad_hours + 1))
    starts = [hours[0]] + [hours[i + 1] - step * pad_hours for i in cut]
    ends = [hours[i] for i in cut] + [hours[-1]]
    parts = [pd.date_range(a, b, freq="h", tz="UTC") for a, b in zip(starts, ends, strict=True)]
    return parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]


def hourly_frames(rollups: pd.DataFrame, pad_hours: int | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
    """(brand, hourly frame) for each brand in rollup rows (brand, hour, sentiment, count, reach); dense
    throughout, or (with `pad_hours`) dense within `pad_hours` of data (see the module docstring)."""
    if rollups.empty:
        return
    df = rollups.copy()
    df["hour"] = pd.to_datetime(df["hour"], utc=True)
    is_neg = df["sentiment"] == "negative"
    df["neg"] = np.where(is_neg, df["count"], 0)
    df["neg_reach"] = np.where(is_neg, df["reach"], 0)
    agg = df.groupby(["brand", "hour"], as_index=False).agg(
        total=("count", "sum"), negative=("neg", "sum"), reach=("reach", "sum"), negative_reach=("neg_reach", "sum"))
    for brand, g in agg.groupby("brand"):
        idx = _stretches(pd.DatetimeIndex(g["hour"].sort_values().unique()), pad_hours)
        dense = g.set_index("hour")[COLUMNS[1:]].reindex(idx, fill_value=0)
        dense.index.name = "hour"
        yield str(brand), dense.reset_index()


def trailing_baseline(values: pd.Series, window: int) -> pd.DataFrame:
    """Per hour, the `window` hours before it: sum, hours available, median, MAD, mean, and a robust σ
    (1.4826 × MAD, floored at √level and at 1, so a quiet series does not look volatile on two posts)."""
    prev = values.astype(float).shift(1)
    total = values.shift(1).rolling(window, min_periods=1).sum().fillna(0)
    avail = pd.Series(np.minimum(np.arange(len(values)), window), index=values.index).astype(float)
    median = prev.rolling(window, min_periods=1).median().fillna(0.0)
    mad = prev.rolling(window, min_periods=1).apply(lambda a: np.median(np.abs(a - np.median(a))), raw=True).fillna(0.0)
    mean = (total / avail.replace(0, np.nan)).fillna(0.0)
    sigma = np.maximum(np.maximum(1.4826 * mad, np.sqrt(np.maximum(mean, median))), 1.0)
    return pd.DataFrame({"sum": total, "avail": avail, "median": median, "mad": mad, "mean": mean, "sigma": sigma})


def in_range(frame: pd.DataFrame, since: object, until: object) -> pd.DataFrame:
    """Rows with since ≤ hour < until (either bound may be None)."""
    if since is not None:
        frame = frame[frame["hour"] >= pd.Timestamp(since)]
    if until is not None:
        frame = frame[frame["hour"] < pd.Timestamp(until)]
    return frame


def seasonal_baseline(hourly: pd.DataFrame, column: str, weeks: int, min_weeks: int, days: int,
                      min_days: int) -> pd.DataFrame:
    """Per hour of a frame (sorted by hour), `column` at the same hour in the `weeks` weeks before it
    (used when at least `min_weeks` of them lie inside the frame), else at the same hour on the `days`
    days before it (when at least `min_days` do): median, MAD, how many, and `period` (168, 24 or 0
    when neither is available). Hours missing from the frame count as zero; hours before the frame's
    first hour are unknown, not zero (`seasonal_sum` adds up the same lags)."""
    hours = pd.DatetimeIndex(hourly["hour"])
    lookup = pd.Series(hourly[column].to_numpy(dtype=float), index=hours)
    out = pd.DataFrame(index=hourly.index)
    out["median"], out["mad"], out["n"], out["period"] = np.nan, np.nan, 0, 0
    for period, count, least in ((24, days, min_days), (168, weeks, min_weeks)):
        if count <= 0:
            continue
        lagged = _lags(lookup, hours, period, count)
        n = np.sum(~np.isnan(lagged), axis=1)
        use = n >= max(least, 1)
        if not use.any():
            continue
        with warnings.catch_warnings():  # all-NaN rows (no lag available) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(lagged, axis=1)
            mad = np.nanmedian(np.abs(lagged - med[:, None]), axis=1)
        out.loc[use, "median"] = med[use]
        out.loc[use, "mad"] = mad[use]
        out.loc[use, "n"] = n[use]
        out.loc[use, "period"] = period
    return out


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _lags(lookup: pd.Series, hours: pd.DatetimeIndex, period: int, count: int) -> np.ndarray:
    """(rows × count) values at hour − k·period for k = 1..count; NaN before the frame's first hour.
    Computed on integer time stamps, so hours near year 1 do not overflow."""
    keys = hours.asi8
    values = dict(zip(keys.tolist(), lookup.to_numpy(dtype=float).tolist(), strict=True))
    step = period * 3600 * _PER_SECOND[hours.unit]
    start = int(keys.min()) if len(keys) else 0
    cols = []
    for k in range(1, count + 1):
        at = keys - step * k
        col = np.array([values.get(t, 0.0) for t in at.tolist()], dtype=float)
        col[at < start] = np.nan
        cols.append(col)
    return np.column_stack(cols) if cols else np.empty((len(hours), 0))


def seasonal_sum(hourly: pd.DataFrame, column: str, period: pd.Series, count: pd.Series, weeks: int,
                 days: int) -> pd.Series:
    """Per hour, the sum of `column` over the same lags `seasonal_baseline` used for it (0 where none)."""
    hours = pd.DatetimeIndex(hourly["hour"])
    lookup = pd.Series(hourly[column].to_numpy(dtype=float), index=hours)
    total = np.zeros(len(hours))
    for p, c in ((24, days), (168, weeks)):
        if c <= 0:
            continue
        lagged = np.nan_to_num(_lags(lookup, hours, p, c), nan=0.0)
        total = np.where(period.to_numpy() == p, lagged.sum(axis=1), total)
    return pd.Series(total, index=hourly.index)
