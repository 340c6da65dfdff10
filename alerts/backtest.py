"""`alerts backtest`: the alerts every enabled rule would have raised in a past period (nothing stored),
through the same windowing as the detection pass (alerts.detect)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from alerts.detect import detect
from alerts.registry import configured_rules
from alerts.rule import CandidateAlert
from brandpulse.config import AlertRuleConfig


def backtest(engine: Engine, model_key: str, config: AlertRuleConfig, start: datetime, end: datetime,
             brand: str | None = None) -> list[CandidateAlert]:
    """Candidate alerts with hours in [start, end), optionally for one brand."""
    found, _ = detect(engine, model_key, configured_rules(config), since=start, until=end,
                      brands=[brand] if brand else None)
    return found
