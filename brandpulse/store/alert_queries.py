"""Read-side queries for the dashboard's Alerts page, and the page's state change.

The metric-vs-baseline series comes from the hourly rollups (never a scan of all mentions);
the platform mix of an alert's window reads mentions bounded by brand and window, as evidence does.
`set_alert_state` is the minimal open → acknowledged → resolved transition the page needs
(the alert lifecycle of issue 12 may replace it with its own acknowledge / resolve functions).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from brandpulse.errors import InputError
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AlertRow, MentionRow, RollupRow
from brandpulse.types import utcnow

log = logging.getLogger(__name__)

SERIES_COLUMNS = ["hour", "total", "negative", "negative_share", "reach", "negative_reach"]
#: Which state each state may move to (a resolved alert stays resolved; a new episode is a new alert).
_NEXT_STATES = {"open": ("acknowledged", "resolved"), "acknowledged": ("resolved",), "resolved": ()}


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


def set_alert_state(engine: Engine, alert_id: int, state: str, by: str) -> str:
    """Move an alert to "acknowledged" or "resolved" (`by` names who did it, for the log); returns the old state.

    Raises InputError for an unknown alert or a move the lifecycle does not allow (e.g. re-opening a resolved one).
    """
    who = " ".join(by.split())[:120] or "someone"
    with session_scope(engine) as s:
        row = s.get(AlertRow, alert_id)
        if row is None:
            raise InputError(f"no alert with id {alert_id}", hint="Pick an alert from the list.")
        old = row.state
        if state == old:
            return old
        if state not in _NEXT_STATES.get(old, ()):
            raise InputError(f"alert {alert_id} is {old}; it cannot become {state}",
                             hint="Only open alerts can be acknowledged; open or acknowledged ones resolved.")
        row.state, row.updated_at = state, utcnow()
    log.info("alert %s: %s -> %s by %s", alert_id, old, state, who)
    return old
