"""Migration 0013: an active alert already announced as resolved was reopened before; its next resolution is
announced (not swallowed by the first "resolved" delivery)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade
from brandpulse.store.outbox import resolved_event

T0 = datetime(2026, 11, 2)


def test_migration_0013_counts_a_reopening_the_old_code_did_not(db_url: str) -> None:
    eng = make_engine(db_url)
    upgrade(eng, "0012")
    with eng.begin() as c:
        for i, state in enumerate(("open", "resolved", "open")):
            c.execute(text("INSERT INTO alerts (id, brand, rule, window_start, window_end, severity, metrics, evidence,"
                           " state, created_at, updated_at) VALUES (:id, 'Nimbus', 'negativity_spike', :s, :s,"
                           " 'warning', '{}', '{}', :state, :s, :s)"),
                      {"id": i + 1, "s": T0 + timedelta(hours=i), "state": state})
        # alerts 1 (reopened since) and 2 (resolved) were announced as resolved; alert 3 never was
        for aid, event in ((1, "opened"), (1, "resolved"), (2, "opened"), (2, "resolved"), (3, "opened")):
            c.execute(text("INSERT INTO deliveries (alert_id, destination, event, status, attempts)"
                           " VALUES (:a, 'slack', :e, 'sent', 1)"), {"a": aid, "e": event})
    upgrade(eng)
    with eng.connect() as c:
        reopens = dict(c.execute(text("SELECT id, reopens FROM alerts ORDER BY id")).all())  # type: ignore[arg-type]
    assert reopens == {1: 1, 2: 0, 3: 0}
    assert [resolved_event(reopens[a]) for a in (1, 2, 3)] == ["resolved:2", "resolved", "resolved"]
    eng.dispose()
