"""One detection pass: run every enabled rule over the hours whose rollups changed since the last
pass (the dirty hours scoring marks; late rows included), store new/extended alerts with their
evidence ids, clear the marks evaluated, and move the pass's position (a cursors row) forward.

An alert already stored is extended or left alone, never raised twice: a changed hour inside or
next to a stored alert is re-evaluated from that alert's start.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from alerts.detect import detect, detect_hours, shift_hours, stretches
from alerts.evidence import collect
from alerts.registry import configured_rules
from alerts.rule import CandidateAlert
from brandpulse.config import AlertRuleConfig
from brandpulse.store.alerts import Outcome, alert_position, alert_windows, save_alert_position, upsert_alert
from brandpulse.store.cursors import finish_run, start_run
from brandpulse.store.dirty_hours import DirtyHour, clear_dirty_hours, dirty_hours

log = logging.getLogger(__name__)

#: At most this many changed hours are evaluated per pass (the rest wait for the next one).
MAX_DIRTY_HOURS_PER_PASS = 50_000


@dataclass(frozen=True)
class CheckResult:
    evaluated_from: datetime | None
    evaluated_until: datetime | None
    new: int
    updated: int
    alerts: list[CandidateAlert]
    #: per alert id: "new", "extended", "escalated" (what delivery announces) or "unchanged"
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    #: the changed-hour marks this pass evaluated (check_and_record clears them once the alerts are stored)
    marks: list[DirtyHour] = field(default_factory=list)


def check_alerts(
    engine: Engine,
    model_key: str,
    config: AlertRuleConfig,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CheckResult:
    """Detect alerts and store them: in [since, until) when a range is given, else in every hour whose
    rollups changed since the last recorded pass (and the few hours after each)."""
    rules = {r.name: r for r in configured_rules(config)}
    marks: list[DirtyHour] = []
    if since is not None or until is not None:
        found, last_hour = detect(engine, model_key, list(rules.values()), since=since, until=until)
        evaluated_from, evaluated_until = since, until or last_hour
    else:
        marks = dirty_hours(engine, model_key, limit=MAX_DIRTY_HOURS_PER_PASS)
        changed = _from_alert_starts(engine, marks)
        found, ranges = detect_hours(engine, model_key, list(rules.values()), changed)
        evaluated_from = min((a for a, _ in ranges), default=None)
        last = max((m.hour for m in marks), default=None)
        evaluated_until = shift_hours(last, 1) if last is not None else None
        position = alert_position(engine)
        if position is not None and (evaluated_until is None or evaluated_until < position):
            evaluated_until = position
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
    return CheckResult(evaluated_from, evaluated_until, new, updated, found, outcomes, marks)


def _from_alert_starts(engine: Engine, marks: list[DirtyHour]) -> dict[str, list[datetime]]:
    """Changed hours per brand, plus the start of every stored alert that a changed hour (or the hours
    re-evaluated after it) overlaps, so that alert is re-evaluated whole rather than in part."""
    changed: dict[str, list[datetime]] = {}
    for m in marks:
        changed.setdefault(m.brand, []).append(m.hour)
    for brand, hours in changed.items():
        for lo, hi in stretches(hours):
            hours.extend(start for start, _ in alert_windows(engine, brand, lo, hi) if start < lo)
    return changed


def check_and_record(engine: Engine, model_key: str, config: AlertRuleConfig) -> CheckResult:
    """One detection pass recorded as an "alerts" run; the next pass resumes from the saved position."""
    run_id = start_run(engine, "alerts")
    try:
        res = check_alerts(engine, model_key, config)
    except Exception as exc:
        finish_run(engine, run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    clear_dirty_hours(engine, model_key, res.marks)
    if res.evaluated_until is not None:
        save_alert_position(engine, res.evaluated_until)
    finish_run(engine, run_id, counts={"new": res.new, "updated": res.updated})
    return res
