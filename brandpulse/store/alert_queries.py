"""Read-side queries for the dashboard's Alerts page.

The metric-vs-baseline series comes from the hourly rollups (never a scan of all mentions);
the platform mix of an alert's window reads mentions bounded by brand and window, as evidence does.
The page changes an alert's state through alerts.lifecycle (acknowledge / resolve).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AlertRow, MentionRow, RollupRow

SERIES_COLUMNS = ["hour", "total", "negative", "negative_share", "reach", "negative_reach"]


def alert_series(engine: Engine, model_key: str, brand: str, start: datetime, end: datetime,
                 before_hours: int = 72, after_hours: int = 12) -> pd.DataFrame:
    """One row per hour from `before_hours` before `start` to `after_hours` after `end` (capped at the data's
    last hour): all mentions, negative mentions, negative share, reach and negative reach, from the rollups.
    Hours without mentions are zero rows, so a chart shows quiet hours as quiet."""
    lo, hi = start - timedelta(hours=before_hours), end + timedelta(hours=after_hours)
    neg = func.sum(RollupRow.count).filter(RollupRow.sentiment == "negative")
    neg_reach = func.sum(RollupRow.reach).filter(RollupRow.sentiment == "negative")
    q = (select(RollupRow.hour, func.sum(RollupRow.count).label("total"), neg.label("negative"),
                func.sum(RollupRow.reach).label("reach"), neg_reach.label("negative_reach"))
         .where(RollupRow.model_key == model_key, RollupRow.brand == brand, RollupRow.hour >= lo, RollupRow.hour < hi)
         .group_by(RollupRow.hour).order_by(RollupRow.hour))
    with session_scope(engine) as s:
        rows = [r._asdict() for r in s.execute(q)]
    if not rows:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    df = pd.DataFrame(rows).fillna(0)
    df["hour"] = pd.to_datetime(df["hour"], utc=True)
    last = max(df["hour"].max(), pd.Timestamp(end).tz_convert("UTC") - pd.Timedelta(hours=1))
    hours = pd.date_range(pd.Timestamp(lo).tz_convert("UTC"), last, freq="h")
    df = df.set_index("hour").reindex(hours, fill_value=0).rename_axis("hour").reset_index()
    for col in ("total", "negative", "reach", "negative_reach"):
        df[col] = df[col].astype("int64")
    df["negative_share"] = (df["negative"] / df["total"].where(df["total"] > 0)).fillna(0.0)
    return df[SERIES_COLUMNS]


def window_platforms(engine: Engine, brand: str, start: datetime, end: datetime, limit: int = 20) -> pd.DataFrame:
    """platform × mentions of a brand in an alert's window, most first."""
    n = func.count().label("mentions")
    q = (select(MentionRow.platform, n)
         .where(MentionRow.brand == brand, MentionRow.created_at >= start, MentionRow.created_at < end)
         .group_by(MentionRow.platform).order_by(n.desc(), MentionRow.platform).limit(limit))
    with session_scope(engine) as s:
        rows = [r._asdict() for r in s.execute(q)]
    return pd.DataFrame(rows, columns=["platform", "mentions"])


def window_total(engine: Engine, model_key: str, brand: str, start: datetime, end: datetime) -> int:
    """Mentions of a brand in a window, from the rollups (the denominator of a campaign's share)."""
    q = select(func.coalesce(func.sum(RollupRow.count), 0)).where(
        RollupRow.model_key == model_key, RollupRow.brand == brand, RollupRow.hour >= start, RollupRow.hour < end)
    with session_scope(engine) as s:
        return int(s.scalar(q) or 0)


def alert_brands(engine: Engine) -> list[str]:
    """The brands that have alerts in any state, by name."""
    with session_scope(engine) as s:
        return sorted(s.scalars(select(AlertRow.brand).distinct()))
