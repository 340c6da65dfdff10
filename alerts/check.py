"""One detection pass: evaluate the rule over the rollups, store new/extended alerts with their evidence."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from alerts.spike import RULE, Spike, find_spikes
from brandpulse.config import AlertRuleConfig
from brandpulse.store.cursors import last_run_counts
from brandpulse.store.engine import session_scope
from brandpulse.store.queries import (
    campaigns_in_window,
    negative_posts,
    rollups,
    texts_in_window,
    top_negative_authors,
    top_terms,
)
from brandpulse.store.schema import AlertRow
from brandpulse.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    evaluated_from: datetime | None
    evaluated_until: datetime | None
    new: int
    updated: int
    spikes: list[Spike]


def _split_key(model_key: str) -> tuple[str, str]:
    model, _, revision = model_key.rpartition("@")
    return model, revision


def evidence_for(engine: Engine, model_key: str, spike: Spike, baseline_hours: int) -> dict[str, object]:
    model, revision = _split_key(model_key)
    window_texts = texts_in_window(engine, model, revision, spike.brand, spike.start, spike.end, label="negative")
    base_texts = texts_in_window(
        engine, model, revision, spike.brand, spike.start - timedelta(hours=baseline_hours), spike.start
    )
    campaigns = campaigns_in_window(engine, spike.brand, spike.start, spike.end)
    why_campaign = ""
    if campaigns:
        c = campaigns[0]
        why_campaign = f"; includes a copy-paste campaign of {c['posts']} near-identical posts by {c['authors']} accounts"
    return {
        "top_posts": negative_posts(engine, model, revision, spike.brand, spike.start, spike.end),
        "campaigns": campaigns,
        "top_authors": top_negative_authors(engine, model, revision, spike.brand, spike.start, spike.end),
        "top_terms": top_terms(window_texts, base_texts),
        "model": model_key,
        "why": (
            f"{int(spike.metrics['negative'])} negative of {int(spike.metrics['total'])} mentions "
            f"({spike.metrics['negative_share']:.0%}) vs a {spike.metrics['baseline_share']:.0%} baseline share; "
            f"peak {int(spike.metrics['peak_negative_per_hour'])} negative/h vs "
            f"{spike.metrics['baseline_negative_per_hour']:.1f}/h usual (z={spike.metrics['max_z']})"
            + why_campaign
        ),
    }


def check_alerts(
    engine: Engine,
    model_key: str,
    rule: AlertRuleConfig,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CheckResult:
    """Detect spikes in hours ≥ `since` (default: 6 h before the last pass, or everything) and store them."""
    if since is None:
        prev = last_run_counts(engine, "alerts")
        if prev and prev.get("evaluated_until"):
            since = datetime.fromisoformat(prev["evaluated_until"]) - timedelta(hours=6)
    history_from = since - timedelta(hours=rule.baseline_hours + 1) if since else None
    df = rollups(engine, model_key, since=history_from, until=until)
    if df.empty:
        return CheckResult(since, until, 0, 0, [])
    spikes = find_spikes(df, rule, since=since, until=until)
    new = updated = 0
    now = utcnow()
    for sp in spikes:
        evidence = evidence_for(engine, model_key, sp, rule.baseline_hours)
        with session_scope(engine) as s:
            existing = s.scalars(
                select(AlertRow).where(
                    AlertRow.brand == sp.brand, AlertRow.rule == RULE,
                    AlertRow.window_start <= sp.start, AlertRow.window_end >= sp.start,
                )
            ).first()
            if existing is None:
                s.add(AlertRow(brand=sp.brand, rule=RULE, window_start=sp.start, window_end=sp.end,
                               severity=sp.severity, metrics=sp.metrics, evidence=evidence, state="open",
                               created_at=now, updated_at=now))
                new += 1
            else:
                if sp.end > existing.window_end or sp.metrics != existing.metrics:
                    existing.window_end = max(existing.window_end, sp.end)
                    existing.metrics = sp.metrics
                    existing.evidence = evidence
                    existing.severity = sp.severity
                    existing.updated_at = now
                    updated += 1
    last_hour = df["hour"].max().to_pydatetime() + timedelta(hours=1)
    log.info("alerts check: %d new, %d updated", new, updated)
    return CheckResult(since, until or last_hour, new, updated, spikes)


def check_and_record(engine: Engine, model_key: str, rule: AlertRuleConfig) -> CheckResult:
    """One detection pass recorded as an "alerts" run (its `evaluated_until` is where the next pass resumes)."""
    from brandpulse.store.cursors import finish_run, start_run

    run_id = start_run(engine, "alerts")
    try:
        res = check_alerts(engine, model_key, rule)
    except Exception as exc:
        finish_run(engine, run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    finish_run(engine, run_id, counts={
        "new": res.new, "updated": res.updated,
        "evaluated_until": res.evaluated_until.isoformat() if res.evaluated_until else None,
    })
    return res
