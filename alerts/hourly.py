"""Rollup rows → one dense hourly frame per brand (hours without mentions are zeros), and the
trailing robust baseline (median / MAD) the rules compare each hour with."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

#: Columns of the dense hourly frame: per hour, all mentions, negative ones, and their reach.
COLUMNS = ["hour", "total", "negative", "reach", "negative_reach"]


def hourly_frames(rollups: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """(brand, dense hourly frame) for each brand in rollup rows (brand, hour, sentiment, count, reach)."""
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
        idx = pd.date_range(g["hour"].min(), g["hour"].max(), freq="h", tz="UTC")
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
