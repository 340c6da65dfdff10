"""One detection pass: run every enabled rule over the hours whose rollups changed since the last
pass (the dirty hours scoring marks; late rows included), store new/extended alerts with their
evidence ids, clear the marks evaluated, and move the pass's position (a cursors row) forward.

An alert already stored is extended or left alone, never raised twice: a changed hour inside or
next to a stored alert is re-evaluated from that alert's start, and a stretch that starts within
`[alerts] cooldown_hours` of a stored alert's end extends (or reopens) that alert instead of paging again.

With a delivery config, a new alert and its Delivery rows (one per routed destination) are written in one
transaction, and an escalation queues its follow-up in the transaction that raises the severity.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alerts.delivery.enqueue import add_alert, enqueue_state_change
from alerts.delivery.routing import DeliveryConfig
from alerts.detect import RowsReader, detect, detect_hours, read_rollups, shift_hours, stretches
from alerts.evidence import collect
from alerts.registry import configured_rules
from alerts.rule import CandidateAlert
from brandpulse.config import AlertRuleConfig
from brandpulse.store.alerts import Outcome, alert_position, alert_windows, save_alert_position, upsert_alert_in
from brandpulse.store.cursors import finish_run, start_run
from brandpulse.store.dirty_hours import DirtyHour, clear_dirty_hours, dirty_hours
from brandpulse.store.engine import session_scope
from brandpulse.store.outbox import OPENED, enqueue_in
from brandpulse.store.schema import AlertRow

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
    delivery: DeliveryConfig | None = None,
    read_rows: RowsReader = read_rollups,
) -> CheckResult:
    """Detect alerts and store them: in [since, until) when a range is given, else in every hour whose
    rollups changed since the last recorded pass (and the few hours after each). With `delivery`, new alerts
    and escalations queue their messages (routed by brand and severity) in the same transaction. `read_rows` is
    where the hourly counts come from (the rollups; the alerts benchmark's naive design recounts raw mentions)."""
    rules = {r.name: r for r in configured_rules(config)}
    marks: list[DirtyHour] = []
    if since is not None or until is not None:
        found, last_hour = detect(engine, model_key, list(rules.values()), since=since, until=until,
                                  read_rows=read_rows)
        evaluated_from, evaluated_until = since, until or last_hour
    else:
        marks = dirty_hours(engine, model_key, limit=MAX_DIRTY_HOURS_PER_PASS)
        changed = _from_alert_starts(engine, marks)
        found, ranges = detect_hours(engine, model_key, list(rules.values()), changed, read_rows)
        evaluated_from = min((a for a, _ in ranges), default=None)
        last = max((m.hour for m in marks), default=None)
        evaluated_until = shift_hours(last, 1) if last is not None else None
        position = alert_position(engine)
        if position is not None and (evaluated_until is None or evaluated_until < position):
            evaluated_until = position
    outcomes: dict[int, Outcome] = {}
    for alert in found:
        ev = collect(engine, model_key, rules[alert.rule], alert)
        with session_scope(engine) as s:
            row, outcome = upsert_alert_in(s, rule=alert.rule, brand=alert.brand, start=alert.start, end=alert.end,
                                           severity=alert.severity, metrics=alert.metrics, summary=ev.summary,
                                           refs=ev.refs, cooldown_hours=config.cooldown_hours)
            if delivery is not None:
                _queue(s, row, outcome, delivery, first_seen=outcomes.get(row.id) == "new")
            alert_id = row.id
        outcomes[alert_id] = _stronger(outcomes.get(alert_id), outcome)
    tally = Counter(outcomes.values())
    new, updated = tally["new"], tally["extended"] + tally["escalated"] + tally["reopened"]
    log.info("alerts check: %d new, %d updated", new, updated)
    return CheckResult(evaluated_from, evaluated_until, new, updated, found, outcomes, marks)


def _queue(session: Session, row: AlertRow, outcome: Outcome, delivery: DeliveryConfig, *, first_seen: bool) -> None:
    """The messages an alert change sends, in the transaction that stores it. An alert raised and escalated in the
    same pass has sent nothing yet: its "opened" message (built when sent) already shows the higher severity, so
    only the destinations that the higher severity adds get it too."""
    if outcome == "new":
        add_alert(session, row, delivery)
    elif outcome == "escalated" and first_seen:
        enqueue_in(session, row.id, delivery.destinations_for(row.brand, row.severity), OPENED)
    elif outcome == "escalated":
        enqueue_state_change(session, row.id, "escalated", delivery)


_RANK: dict[str, int] = {"unchanged": 0, "extended": 1, "reopened": 2, "escalated": 3, "new": 4}


def _stronger(before: Outcome | None, now: Outcome) -> Outcome:
    """What one pass did to an alert several candidates updated (a new alert stays "new")."""
    return now if before is None or _RANK[now] > _RANK[before] else before


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


def check_and_record(engine: Engine, model_key: str, config: AlertRuleConfig,
                     delivery: DeliveryConfig | None = None) -> CheckResult:
    """One detection pass recorded as an "alerts" run; the next pass resumes from the saved position.

    With `delivery` (alerts.delivery.routing.delivery_config(settings)), new alerts and escalations queue their
    messages in the transaction that stores them (`brandpulse alerts send` or the run loop posts them)."""
    run_id = start_run(engine, "alerts")
    try:
        res = check_alerts(engine, model_key, config, delivery=delivery)
    except Exception as exc:
        finish_run(engine, run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    clear_dirty_hours(engine, model_key, res.marks)
    if res.evaluated_until is not None:
        save_alert_position(engine, res.evaluated_until)
    finish_run(engine, run_id, counts={"new": res.new, "updated": res.updated})
    return res
