"""Writing to the outbox from detection and from the alert lifecycle (same transaction as the alert change).

    with session_scope(engine) as s:
        add_alert(s, AlertRow(...), cfg)                    # the alert + one "opened" delivery per routed destination
        enqueue_state_change(s, alert_id, "escalated", cfg)  # after raising alert.severity
        enqueue_state_change(s, alert_id, "resolved", cfg)   # after setting alert.state = "resolved"

Each lifecycle event is one outbox row per destination, unique on (alert, destination, event), so a retried or
restarted sender never announces an event twice and a repeated state change adds nothing:

- an escalation is routed by the new severity (so a destination with a higher minimum hears of it first now) and is
  keyed `escalated:<severity>`; severity only goes up, so each level is announced once per alert;
- a resolution goes to every destination that heard of the alert, keyed by its number: `resolved` for the first,
  `resolved:2`, `resolved:3`, … for an alert that was reopened (new hours within the cooldown, alerts/check.py,
  counted in `alerts.reopens`) and resolved again. So each resolution is announced once, however often it is
  queued, and a second one is not swallowed by the first.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from alerts.delivery.routing import DeliveryConfig, severity_name
from brandpulse.store.outbox import add_alert_with_deliveries, destinations_of, enqueue_in, resolved_event
from brandpulse.store.schema import AlertRow


def add_alert(session: Session, alert: AlertRow, cfg: DeliveryConfig) -> list[str]:
    """Add `alert` and its routed deliveries in the session's transaction; returns the destination names."""
    destinations = cfg.destinations_for(alert.brand, alert.severity)
    add_alert_with_deliveries(session, alert, destinations)
    return destinations


def enqueue_state_change(session: Session, alert_id: int, change: Literal["escalated", "resolved"],
                         cfg: DeliveryConfig) -> int:
    """Queue the follow-up message for an alert that escalated (severity already raised) or resolved.

    Returns how many deliveries were added (0 when this change was already announced).
    """
    alert = session.get(AlertRow, alert_id)
    if alert is None:
        raise ValueError(f"alert {alert_id} does not exist")
    if change == "resolved":
        return enqueue_in(session, alert_id, destinations_of(session, alert_id), resolved_event(alert.reopens or 0))
    if change == "escalated":
        try:
            level = severity_name(alert.severity)
        except ValueError:
            level = alert.severity
        return enqueue_in(session, alert_id, cfg.destinations_for(alert.brand, alert.severity), f"escalated:{level}")
    raise ValueError(f"unknown state change {change!r} (escalated or resolved)")
