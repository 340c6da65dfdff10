"""One detection pass: run every enabled rule over the rollups, store new/extended alerts with
their evidence ids, and move the pass's position (a cursors row) forward."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from alerts.detect import detect
from alerts.evidence import collect
from alerts.registry import configured_rules
from alerts.rule import CandidateAlert
from brandpulse.config import AlertRuleConfig
from brandpulse.store.alerts import Outcome, alert_position, save_alert_position, upsert_alert
from brandpulse.store.cursors import finish_run, start_run

log = logging.getLogger(__name__)

#: Each pass re-evaluates this many hours before the previous pass's end (hours still filling up).
OVERLAP_HOURS = 6


@dataclass(frozen=True)
class CheckResult:
    evaluated_from: datetime | None
    evaluated_until: datetime | None
    new: int
    updated: int
    alerts: list[CandidateAlert]
    #: per alert id: "new", "extended", "escalated" (what delivery announces) or "unchanged"
    outcomes: dict[int, Outcome] = field(default_factory=dict)


def check_alerts(
    engine: Engine,
    model_key: str,
    config: AlertRuleConfig,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CheckResult:
    """Detect alerts in hours ≥ `since` (default: 6 h before the last pass's position, or everything) and store them."""
    if since is None:
        position = alert_position(engine)
        since = position - timedelta(hours=OVERLAP_HOURS) if position else None
    rules = {r.name: r for r in configured_rules(config)}
    found, last_hour = detect(engine, model_key, list(rules.values()), since=since, until=until)
    outcomes: dict[int, Outcome] = {}
    for alert in found:
        ev = collect(engine, model_key, rules[alert.rule], alert)
        alert_id, outcome = upsert_alert(engine, rule=alert.rule, brand=alert.brand, start=alert.start, end=alert.end,
                                         severity=alert.severity, metrics=alert.metrics, summary=ev.summary,
                                         refs=ev.refs)
        outcomes[alert_id] = outcome
    tally = Counter(outcomes.values())
    new, updated = tally["new"], tally["extended"] + tally["escalated"]
    log.info("alerts check: %d new, %d updated", new, updated)
    return CheckResult(since, until or last_hour, new, updated, found, outcomes)


def check_and_record(engine: Engine, model_key: str, config: AlertRuleConfig) -> CheckResult:
    """One detection pass recorded as an "alerts" run; the next pass resumes from the saved position."""
    run_id = start_run(engine, "alerts")
    try:
        res = check_alerts(engine, model_key, config)
    except Exception as exc:
        finish_run(engine, run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    if res.evaluated_until is not None:
        save_alert_position(engine, res.evaluated_until)
    finish_run(engine, run_id, counts={"new": res.new, "updated": res.updated})
    return res
