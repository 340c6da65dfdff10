"""Migration 0007: hours the old alert pass had not evaluated yet are marked dirty (nothing pending is lost),
and stored severities move to notice / warning / critical."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, text

from brandpulse.store.dirty_hours import dirty_hours
from brandpulse.store.engine import make_engine
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import UTCDateTime

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def test_migration_0007_marks_the_hours_the_old_pass_would_read_next_and_renames_severities(db_url: str) -> None:
    eng = make_engine(db_url)
    upgrade(eng, "0003")
    naive = T0.replace(tzinfo=None)
    with eng.begin() as c:
        for h in range(48):
            # written as the store writes them (UTCDateTime), so SQLite's string comparison sees the same format
            c.execute(text("INSERT INTO rollups_hourly (model_key, brand, hour, sentiment, count, reach)"
                           " VALUES ('m@r', 'Nimbus', :h, 'negative', 3, 0)").bindparams(
                               bindparam("h", type_=UTCDateTime())), {"h": T0 + timedelta(hours=h)})
        # the old pass got to hour 40; it would have re-read from hour 34 on
        c.execute(text("INSERT INTO cursors (source, key, position, updated_at) VALUES ('alerts', 'check', :p, :t)"),
                  {"p": (T0 + timedelta(hours=40)).isoformat(), "t": naive})
        for i, sev in enumerate(("medium", "high")):
            c.execute(text("INSERT INTO alerts (brand, rule, window_start, window_end, severity, metrics, evidence,"
                           " state, created_at, updated_at) VALUES ('Nimbus', 'negativity_spike', :s, :s, :sev, '{}',"
                           " '{}', 'open', :s, :s)"), {"s": naive + timedelta(hours=i), "sev": sev})
    upgrade(eng)
    assert [d.hour for d in dirty_hours(eng, "m@r")] == [T0 + timedelta(hours=h) for h in range(34, 48)]
    with eng.connect() as c:
        assert [r[0] for r in c.execute(text("SELECT severity FROM alerts ORDER BY window_start"))] == ["warning",
                                                                                                       "critical"]
    eng.dispose()
