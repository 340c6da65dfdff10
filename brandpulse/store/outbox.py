"""The delivery outbox: alerts and their Delivery rows written together, claimed with a lease, marked sent or failed.

How a row moves::

    pending ──claim (lease: claimed_by, claimed_at)──► posted ──mark_sent──► sent
       ▲                                     │
       └──── mark_retry (next_attempt_at) ◄──┴──mark_failed──► failed   (a permanent refusal, or too many attempts)

A claimed row stays `pending` with a fresh `claimed_at`; it is claimable again only once its lease has expired, so
rows held by a sender that died (between claiming, posting and marking) are picked up by the next sender after the
lease. That window is why every post carries an idempotency key built from the delivery id (`idempotency_key`):
a re-post after a crash carries the same key as the first one.

PostgreSQL claims with ``SELECT … FOR UPDATE SKIP LOCKED`` inside the claiming UPDATE, so concurrent senders never
claim the same row; SQLite claims with the same single UPDATE, which holds the database's write lock.
Nothing here stores a destination's URL or secret: the caller passes only names, status codes and redacted errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from brandpulse.store.dialect import upsert_insert
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import AlertRow, DeliveryRow, MentionRow
from brandpulse.types import utcnow

#: Delivery.status values.
PENDING, SENT, FAILED = "pending", "sent", "failed"
#: Delivery.event values (escalations are "escalated:<severity>"; the n-th resolution of a reopened alert is
#: "resolved:<n>" from n = 2 on).
OPENED, RESOLVED = "opened", "resolved"


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this sender holds the lease on."""

    id: int
    alert_id: int
    destination: str
    event: str
    attempts: int

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.alert_id, self.id)


def idempotency_key(alert_id: int, delivery_id: int) -> str:
    """The key every post of one delivery carries (the same on a re-post after a crash)."""
    return f"brandpulse-alert-{alert_id}-delivery-{delivery_id}"


def enqueue_in(session: Session, alert_id: int, destinations: Iterable[str], event: str = OPENED) -> int:
    """Add a pending Delivery per destination for `event` (existing ones are kept); returns how many were added."""
    rows = [{"alert_id": alert_id, "destination": d, "event": event, "status": PENDING, "attempts": 0}
            for d in dict.fromkeys(destinations)]
    if not rows:
        return 0
    stmt = upsert_insert(session, DeliveryRow.__table__).values(rows).on_conflict_do_nothing(
        index_elements=["alert_id", "destination", "event"]
    ).returning(DeliveryRow.__table__.c.id)
    return len(session.execute(stmt).all())


def add_alert_with_deliveries(session: Session, alert: AlertRow, destinations: Sequence[str]) -> AlertRow:
    """Write `alert` and one pending "opened" Delivery per destination in the session's transaction.

    Use inside ``session_scope(engine)``: the alert and its deliveries commit together or not at all.
    """
    session.add(alert)
    session.flush()
    enqueue_in(session, alert.id, destinations, OPENED)
    return alert


def destinations_of(session: Session, alert_id: int) -> list[str]:
    """Destinations that have (or had) a delivery of this alert."""
    q = select(DeliveryRow.destination).where(DeliveryRow.alert_id == alert_id).distinct().order_by(DeliveryRow.destination)
    return list(session.scalars(q))


def resolved_event(reopens: int) -> str:
    """The event key of an alert's resolution after it was reopened `reopens` times: "resolved", then
    "resolved:2", "resolved:3", … (one key per resolution, so a second one is not swallowed by the first)."""
    return RESOLVED if reopens <= 0 else f"{RESOLVED}:{reopens + 1}"


def record_alert(engine: Engine, alert: AlertRow, destinations: Sequence[str]) -> int:
    """`add_alert_with_deliveries` in a transaction of its own; returns the new alert's id."""
    with session_scope(engine) as s:
        return add_alert_with_deliveries(s, alert, destinations).id


def _claimable(now: datetime, lease: timedelta) -> Any:
    return and_(
        DeliveryRow.status == PENDING,
        or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= now),
        or_(DeliveryRow.claimed_at.is_(None), DeliveryRow.claimed_at <= now - lease),
    )


def has_due_deliveries(engine: Engine, now: datetime | None = None, lease_seconds: float = 120.0) -> bool:
    """Whether any delivery is claimable now (a cheap poll for the run loop)."""
    now = now or utcnow()
    with session_scope(engine) as s:
        q = select(DeliveryRow.id).where(_claimable(now, timedelta(seconds=lease_seconds))).limit(1)
        return s.scalars(q).first() is not None


def claim(engine: Engine, worker: str, *, limit: int = 20, lease_seconds: float = 120.0,
          now: datetime | None = None) -> list[ClaimedDelivery]:
    """Take the lease on up to `limit` due deliveries (oldest first) for `worker`."""
    now = now or utcnow()
    lease = timedelta(seconds=lease_seconds)
    with session_scope(engine) as s:
        pick = select(DeliveryRow.id).where(_claimable(now, lease)).order_by(DeliveryRow.id).limit(limit)
        if s.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(pick.scalar_subquery()), _claimable(now, lease))
            .values(claimed_by=worker[:64], claimed_at=now)
            .returning(DeliveryRow.id, DeliveryRow.alert_id, DeliveryRow.destination, DeliveryRow.event,
                       DeliveryRow.attempts)
            .execution_options(synchronize_session=False)
        )
        rows = s.execute(stmt).all()
    return sorted((ClaimedDelivery(r.id, r.alert_id, r.destination, r.event, r.attempts) for r in rows),
                  key=lambda c: c.id)


def mark_sent(engine: Engine, delivery_id: int, *, attempts: int, response_status: int | None,
              now: datetime | None = None) -> None:
    """The destination accepted the post: status sent, attempts added, the lease released."""
    now = now or utcnow()
    with session_scope(engine) as s:
        s.execute(
            update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.status != SENT)
            .values(status=SENT, delivered_at=now, attempts=DeliveryRow.attempts + attempts,
                    response_status=response_status, last_error=None, claimed_by=None, claimed_at=None,
                    next_attempt_at=None)
        )


def mark_retry(engine: Engine, delivery_id: int, *, attempts: int, response_status: int | None, error: str,
               next_attempt_at: datetime) -> None:
    """Not delivered this time: stays pending until `next_attempt_at`; the lease is released. `error` must be redacted."""
    with session_scope(engine) as s:
        s.execute(
            update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.status == PENDING)
            .values(attempts=DeliveryRow.attempts + attempts, response_status=response_status, last_error=error[:500],
                    next_attempt_at=next_attempt_at, claimed_by=None, claimed_at=None)
        )


def mark_failed(engine: Engine, delivery_id: int, *, attempts: int, response_status: int | None, error: str) -> None:
    """Given up (a permanent refusal or too many attempts). `error` must be redacted."""
    with session_scope(engine) as s:
        s.execute(
            update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.status == PENDING)
            .values(status=FAILED, attempts=DeliveryRow.attempts + attempts, response_status=response_status,
                    last_error=error[:500], claimed_by=None, claimed_at=None)
        )


def alert_snapshot(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    """The alert as a plain dict (id, brand, rule, window, severity, state, metrics, evidence), or None if deleted."""
    with session_scope(engine) as s:
        a = s.get(AlertRow, alert_id)
        if a is None:
            return None
        return {"id": a.id, "brand": a.brand, "rule": a.rule, "window_start": a.window_start, "window_end": a.window_end,
                "severity": a.severity, "state": a.state, "metrics": dict(a.metrics or {}),
                "evidence": dict(a.evidence or {}), "created_at": a.created_at, "updated_at": a.updated_at}


def mentions_by_id(engine: Engine, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Text, link and author of mentions (for evidence that stores mention ids)."""
    if not ids:
        return {}
    q = select(MentionRow.id, MentionRow.platform, MentionRow.author_handle, MentionRow.author_followers,
               MentionRow.text, MentionRow.url, MentionRow.created_at).where(MentionRow.id.in_(list(ids)))
    with session_scope(engine) as s:
        return {r.id: {**r._asdict(), "created_at": r.created_at.isoformat()} for r in s.execute(q)}


def deliveries_for(engine: Engine, alert_id: int | None = None) -> list[DeliveryRow]:
    """Delivery rows (of one alert, or all), oldest first."""
    q = select(DeliveryRow).order_by(DeliveryRow.id)
    if alert_id is not None:
        q = q.where(DeliveryRow.alert_id == alert_id)
    with session_scope(engine) as s:
        return list(s.scalars(q))


def outbox_counts(engine: Engine) -> dict[str, int]:
    """Deliveries per status (for `status`)."""
    from sqlalchemy import func

    with session_scope(engine) as s:
        return {str(st): int(n) for st, n in s.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status))}
