"""The windowing shared by `alerts check` and `alerts backtest`: read the rollups a range needs
(each rule's history before it, never more), build each brand's hourly frame, and run the rules.

Two ways in: `detect` evaluates one range [since, until) (the backtest, or a check given a range);
`detect_hours` evaluates the hours whose rollups changed since the last pass (the dirty hours that
scoring marks, brandpulse.store.dirty_hours), each stretch of them read on its own with just the
history it needs, so late rows for last month are evaluated exactly as the backtest would, and a
row dated year 1 next to one dated 9999 costs two short reads, not a frame across millennia.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine

from alerts.hourly import hourly_frames
from alerts.rule import AlertRule, CandidateAlert
from brandpulse.store.queries import rollups

#: Where detection reads its hourly counts: (engine, model key, brands or None, since, until) → rollup-shaped rows
#: (brand, hour, sentiment, count, reach). The rollups always; `brandpulse bench alerts` passes a recount from the
#: raw mentions for its naive design.
RowsReader = Callable[[Engine, str, "list[str] | None", "datetime | None", "datetime | None"], pd.DataFrame]


def read_rollups(engine: Engine, model_key: str, brands: list[str] | None, since: datetime | None,
             until: datetime | None) -> pd.DataFrame:
    return rollups(engine, model_key, brands, since=since, until=until)


#: After a changed hour, this many hours are re-evaluated too (their baselines and windows include it).
FOLLOW_HOURS = 6
#: Changed hours closer than this are evaluated as one stretch (one read).
MERGE_GAP_HOURS = 24

_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC, minute=0, second=0, microsecond=0)


def shift_hours(t: datetime, hours: int) -> datetime:
    """t + hours, clamped to the representable range (a row dated year 1 or 9999 must not overflow)."""
    try:
        return t + timedelta(hours=hours)
    except OverflowError:
        return _MIN if hours < 0 else _MAX


def find_alerts(rollup_rows: pd.DataFrame, rules: Sequence[AlertRule], since: datetime | None = None,
                until: datetime | None = None) -> list[CandidateAlert]:
    """Every candidate alert of every rule in rollup rows, for hours in [since, until).

    Each rule sees only the `history_hours()` before `since`, so a rule's result does not depend
    on which other rules run (or how much history they asked for); each brand is evaluated with
    its own options (`rule.for_brand`).
    """
    found: list[CandidateAlert] = []
    if rollup_rows.empty:
        return found
    for rule in rules:
        rows = rollup_rows
        history = rule.history_hours()
        if since is not None:
            rows = rows[rows["hour"] >= pd.Timestamp(shift_hours(since, -history))]
        for brand, hourly in hourly_frames(rows, pad_hours=history):
            found.extend(rule.for_brand(brand).find(brand, hourly, since, until))
    return sorted(found, key=lambda a: (a.start, a.brand, a.rule))


def detect(engine: Engine, model_key: str, rules: Sequence[AlertRule], since: datetime | None = None,
           until: datetime | None = None, brands: list[str] | None = None,
           read_rows: RowsReader = read_rollups) -> tuple[list[CandidateAlert], datetime | None]:
    """Candidate alerts in [since, until) from the store's rollups, and the end of the last hour with data."""
    history = max((r.history_hours() for r in rules), default=0)
    rows = read_rows(engine, model_key, brands, shift_hours(since, -history) if since else None, until)
    if rows.empty:
        return [], None
    last_hour = shift_hours(rows["hour"].max().to_pydatetime(), 1)
    return find_alerts(rows, rules, since, until), last_hour


def stretches(hours: Iterable[datetime], follow: int = FOLLOW_HOURS,
              gap: int = MERGE_GAP_HOURS) -> list[tuple[datetime, datetime]]:
    """Changed hours → the [start, end) ranges to evaluate: each hour and the `follow` after it, ranges
    closer than `gap` hours merged."""
    out: list[tuple[datetime, datetime]] = []
    for h in sorted(set(hours)):
        end = shift_hours(h, follow + 1)
        if out and h <= shift_hours(out[-1][1], gap):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((h, end))
    return out


def detect_hours(engine: Engine, model_key: str, rules: Sequence[AlertRule], changed: dict[str, list[datetime]],
                 read_rows: RowsReader = read_rollups) -> tuple[list[CandidateAlert], list[tuple[datetime, datetime]]]:
    """Candidate alerts in the hours that changed (per brand) and the few after them; also the ranges read."""
    found: list[CandidateAlert] = []
    ranges: list[tuple[datetime, datetime]] = []
    for brand in sorted(changed):
        for since, until in stretches(changed[brand]):
            alerts, _ = detect(engine, model_key, rules, since=since, until=until, brands=[brand], read_rows=read_rows)
            found.extend(alerts)
            ranges.append((since, until))
    return sorted(found, key=lambda a: (a.start, a.brand, a.rule)), ranges
