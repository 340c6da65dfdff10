"""The alert lifecycle: open → acknowledged → resolved, with who and when.

A person acknowledges (`brandpulse alerts ack ID --by NAME`) or resolves (`alerts resolve ID --by NAME`) an
alert; the run loop resolves an alert by "auto" once its brand has been back at baseline for
`[alerts] auto_resolve_hours` of stream time (the hours evaluated after the alert's window without its rule firing).
A resolution queues a "resolved" follow-up to every destination that heard of the alert, in the same transaction.
New hours of the same episode within `[alerts] cooldown_hours` reopen a resolved alert without paging again
(alerts/check.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alerts.delivery.enqueue import enqueue_state_change
from alerts.delivery.routing import DeliveryConfig
from brandpulse.config import AlertRuleConfig
from brandpulse.store.alerts import OnResolved, acknowledge_alert, auto_resolve_alerts, resolve_alert


def _announce(delivery: DeliveryConfig | None) -> OnResolved | None:
    if delivery is None:
        return None

    def on_resolved(session: Session, alert_id: int) -> None:
        enqueue_state_change(session, alert_id, "resolved", delivery)

    return on_resolved


def acknowledge(engine: Engine, alert_id: int, by: str) -> bool:
    """Someone is on it. False when the alert was already acknowledged (InputError: unknown or resolved)."""
    return acknowledge_alert(engine, alert_id, by)


def resolve(engine: Engine, alert_id: int, by: str, delivery: DeliveryConfig | None = None) -> bool:
    """Resolve an alert by hand; with `delivery`, its "resolved" follow-up is queued in the same transaction.
    False when it was already resolved (InputError: unknown alert)."""
    return resolve_alert(engine, alert_id, by, on_resolved=_announce(delivery))


def auto_resolve(engine: Engine, config: AlertRuleConfig, evaluated_until: datetime | None,
                 delivery: DeliveryConfig | None = None) -> list[int]:
    """Resolve the active alerts whose window ended `auto_resolve_hours` or more before `evaluated_until` (the
    hour the detection pass has evaluated up to, exclusive): their rule has not fired since. Returns their ids."""
    if evaluated_until is None:
        return []
    calm_since = evaluated_until - timedelta(hours=config.auto_resolve_hours)
    return auto_resolve_alerts(engine, calm_since, on_resolved=_announce(delivery))
