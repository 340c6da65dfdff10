"""The windowing shared by `alerts check` and `alerts backtest`: read the rollups a range needs
(each rule's baseline before it), build each brand's dense hourly frame, and run the rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine

from alerts.hourly import hourly_frames
from alerts.rule import AlertRule, CandidateAlert
from brandpulse.store.queries import rollups


def find_alerts(rollup_rows: pd.DataFrame, rules: Sequence[AlertRule], since: datetime | None = None,
                until: datetime | None = None) -> list[CandidateAlert]:
    """Every candidate alert of every rule in rollup rows, for hours in [since, until).

    Each rule sees only the `history_hours()` before `since`, so a rule's result does not depend
    on which other rules run (or how much history they asked for).
    """
    found: list[CandidateAlert] = []
    if rollup_rows.empty:
        return found
    for rule in rules:
        rows = rollup_rows
        if since is not None:
            rows = rows[rows["hour"] >= pd.Timestamp(since - timedelta(hours=rule.history_hours()))]
        for brand, hourly in hourly_frames(rows):
            found.extend(rule.find(brand, hourly, since, until))
    return sorted(found, key=lambda a: (a.start, a.brand, a.rule))


def detect(engine: Engine, model_key: str, rules: Sequence[AlertRule], since: datetime | None = None,
           until: datetime | None = None, brands: list[str] | None = None) -> tuple[list[CandidateAlert], datetime | None]:
    """Candidate alerts in [since, until) from the store's rollups, and the end of the last hour with data."""
    history = max((r.history_hours() for r in rules), default=0)
    rows = rollups(engine, model_key, brands, since=since - timedelta(hours=history) if since else None, until=until)
    if rows.empty:
        return [], None
    last_hour = rows["hour"].max().to_pydatetime() + timedelta(hours=1)
    return find_alerts(rows, rules, since, until), last_hour
