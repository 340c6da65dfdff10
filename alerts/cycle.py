"""One pass of the alerts role of the run loop: detect (queueing messages with the alerts), auto-resolve calm
alerts, then send what the outbox holds — with Slack/webhook messages carrying the evidence read from the store now.

`brandpulse run --role alerts|all` calls `alert_cycle` every interval; the demo, the alerts benchmark and the tests
call the same function, so what they measure is what the service does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from alerts.check import CheckResult, check_and_record
from alerts.delivery.routing import delivery_config
from alerts.delivery.sender import SendCounts, send_pass
from alerts.evidence import render
from alerts.lifecycle import auto_resolve
from brandpulse.config import Settings
from brandpulse.store.alerts import alert_position, has_dirty_hours, stored_alert
from brandpulse.store.outbox import has_due_deliveries
from brandpulse.store.queries import latest_model_key


def delivery_evidence(engine: Engine, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The `render_evidence` adapter for alerts.delivery.sender.send_pass: the alert's evidence rendered from the
    store now (top posts with their current text and links, top authors, lifted terms, the anger/disgust shares in
    the window). A post deleted or an author forgotten since detection simply drops out. An alert stored without
    evidence ids (written by hand or by an older version) shows the evidence its row holds."""
    alert = stored_alert(engine, int(snapshot["id"]))
    if alert is None:
        return dict(snapshot.get("evidence") or {})
    ev = render(engine, alert)
    stored = dict(snapshot.get("evidence") or {})
    for key, has_refs in (("top_posts", alert.refs.post_ids), ("top_authors", alert.refs.authors)):
        if not has_refs and stored.get(key):  # an alert written without evidence ids: what its row holds
            ev[key] = stored[key]
    shifts = ev.get("emotions") or {}
    ev["emotions"] = {str(e): float(v["window"]) for e, v in shifts.items()
                      if isinstance(v, dict) and isinstance(v.get("window"), int | float) and v["window"] > 0}
    return ev


def work_waiting(engine: Engine) -> bool:
    """Whether a pass has anything to do: rollup hours changed since the last pass, or a delivery is due."""
    return has_dirty_hours(engine) or has_due_deliveries(engine)


@dataclass
class CycleResult:
    check: CheckResult | None
    resolved: list[int] = field(default_factory=list)
    sent: SendCounts = field(default_factory=SendCounts)


def alert_cycle(engine: Engine, settings: Settings, *, model_key: str | None = None, send: bool = True,
                auto_resolve_calm: bool = True, **send_options: Any) -> CycleResult:
    """Detect → auto-resolve → send. `send_options` go to send_pass (tests pass `sleep`, `limiter`, `now`).

    `auto_resolve_calm=False` leaves calm alerts open (the demo loads a whole past week in one pass, where every
    episode is long over in stream time, and shows its alert open)."""
    key = model_key or latest_model_key(engine)
    delivery = delivery_config(settings)
    res: CheckResult | None = None
    resolved: list[int] = []
    if key is not None:
        res = check_and_record(engine, key, settings.alerts, delivery)
        if auto_resolve_calm:
            resolved = auto_resolve(engine, settings.alerts, alert_position(engine), delivery)
    counts = send_pass(engine, settings, render_evidence=delivery_evidence, **send_options) if send else SendCounts()
    return CycleResult(res, resolved, counts)
