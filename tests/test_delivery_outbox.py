"""The outbox in the store: alert + deliveries in one transaction, claims with a lease, two senders never share a row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from alerts.delivery.enqueue import add_alert, enqueue_state_change
from alerts.delivery.routing import DeliveryConfig
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.outbox import claim, deliveries_for, mark_sent, record_alert
from brandpulse.store.schema import AlertRow, DeliveryRow, MentionRow
from brandpulse.types import utcnow
from tests.conftest import T0, make_mention

ROUTES = DeliveryConfig.model_validate({
    "destinations": {"slack": {"type": "slack"}, "oncall": {"type": "webhook"}},
    "routes": {"default": {"slack": "notice"}, "Nimbus": {"slack": "notice", "oncall": "critical"}},
})


def new_alert(brand: str = "Nimbus", severity: str = "warning", hour: int = 0, post_ids: list[int] | None = None) -> AlertRow:
    now = utcnow()
    return AlertRow(brand=brand, rule="negativity_spike", window_start=T0 + timedelta(hours=hour),
                    window_end=T0 + timedelta(hours=hour + 2), severity=severity,
                    metrics={"negative": 42, "total": 68, "negative_share": 0.62, "baseline_share": 0.2},
                    evidence={"top_posts": post_ids or [], "top_terms": ["outage"], "why": "42 negative of 68"},
                    state="open", created_at=now, updated_at=now)


def seed_alert(engine: Engine, texts: list[str], *, brand: str = "Nimbus", severity: str = "warning",
               destinations: tuple[str, ...] = ("slack",), hour: int = 0) -> int:
    """Real mentions in the store and an alert whose evidence refers to them by id, with its deliveries."""
    base = 1000 * (hour + 1)
    insert_mentions(engine, [make_mention(base + i, brand=brand, text=t) for i, t in enumerate(texts)])
    with session_scope(engine) as s:
        ids = list(s.scalars(select(MentionRow.id).where(MentionRow.native_id.in_([str(base + i) for i in range(len(texts))]))))
    return record_alert(engine, new_alert(brand, severity, hour, ids), destinations)


def test_alert_and_deliveries_commit_together_or_not_at_all(engine: Engine) -> None:
    with session_scope(engine) as s:
        routed = add_alert(s, new_alert(severity="critical"), ROUTES)
    assert routed == ["slack", "oncall"]
    assert [(d.destination, d.event, d.status) for d in deliveries_for(engine)] == [
        ("slack", "opened", "pending"), ("oncall", "opened", "pending")]

    with pytest.raises(RuntimeError), session_scope(engine) as s:
        add_alert(s, new_alert(hour=5), ROUTES)
        raise RuntimeError("detection failed after writing")
    with session_scope(engine) as s:
        assert len(list(s.scalars(select(AlertRow)))) == 1
    assert len(deliveries_for(engine)) == 2


def test_routing_by_brand_and_minimum_severity(engine: Engine) -> None:
    assert ROUTES.destinations_for("Nimbus", "warning") == ["slack"]
    assert ROUTES.destinations_for("nimbus", "high") == ["slack", "oncall"]  # old detector name
    assert ROUTES.destinations_for("Other", "critical") == ["slack"]


def test_claim_leases_and_an_expired_lease_is_claimed_again(engine: Engine) -> None:
    aid = record_alert(engine, new_alert(), ["slack", "oncall"])
    t = utcnow()
    first = claim(engine, "a", now=t, lease_seconds=60)
    assert [c.alert_id for c in first] == [aid, aid]
    assert claim(engine, "b", now=t + timedelta(seconds=30), lease_seconds=60) == []  # still leased
    mark_sent(engine, first[0].id, attempts=1, response_status=200)
    again = claim(engine, "b", now=t + timedelta(seconds=61), lease_seconds=60)  # a died holding the second
    assert [c.id for c in again] == [first[1].id]
    assert again[0].idempotency_key == first[1].idempotency_key
    rows = {d.id: d for d in deliveries_for(engine)}
    assert rows[first[0].id].status == "sent" and rows[first[0].id].response_status == 200
    assert rows[first[0].id].attempts == 1 and rows[first[0].id].claimed_by is None
    assert rows[first[1].id].claimed_by == "b"


def test_follow_ups_are_queued_once_per_change(engine: Engine) -> None:
    with session_scope(engine) as s:
        alert = new_alert(severity="warning")
        add_alert(s, alert, ROUTES)
        aid = alert.id
    with session_scope(engine) as s:
        s.get(AlertRow, aid).severity = "critical"  # type: ignore[union-attr]
        assert enqueue_state_change(s, aid, "escalated", ROUTES) == 2  # oncall hears of it now
        assert enqueue_state_change(s, aid, "escalated", ROUTES) == 0
    with session_scope(engine) as s:
        s.get(AlertRow, aid).state = "resolved"  # type: ignore[union-attr]
        assert enqueue_state_change(s, aid, "resolved", ROUTES) == 2
        assert enqueue_state_change(s, aid, "resolved", ROUTES) == 0
    events = sorted((d.destination, d.event) for d in deliveries_for(engine, aid))
    assert events == [("oncall", "escalated:critical"), ("oncall", "resolved"), ("slack", "escalated:critical"),
                      ("slack", "opened"), ("slack", "resolved")]


def test_two_senders_never_claim_the_same_delivery(engine: Engine, db_url: str) -> None:
    for h in range(40):
        record_alert(engine, new_alert(hour=h), ["slack", "oncall"])
    got: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def sender(name: str) -> None:
        eng = make_engine(db_url)
        start.wait()
        while batch := claim(eng, name, limit=3, lease_seconds=600):
            got[name] += [c.id for c in batch]
        eng.dispose()

    threads = [threading.Thread(target=sender, args=(n,)) for n in got]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == sorted(d.id for d in deliveries_for(engine))
    with session_scope(engine) as s:
        assert all(d.claimed_by in ("a", "b") for d in s.scalars(select(DeliveryRow)))
