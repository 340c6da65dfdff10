"""Hourly rollups (model × brand × hour × sentiment: count, reach), maintained incrementally."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from brandpulse.model_key import ModelKey
from brandpulse.store.dialect import upsert_insert
from brandpulse.store.dirty_hours import mark_dirty_hours
from brandpulse.store.schema import RollupRow


def hour_of(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def add_to_rollups(
    session: Session, model_key: ModelKey | str, items: Iterable[tuple[str | None, datetime, str, int | None]]
) -> int:
    """Add (brand, created_at, label, followers) items to the rollups; returns rows touched."""
    counts: Counter[tuple[str, datetime, str]] = Counter()
    reach: Counter[tuple[str, datetime, str]] = Counter()
    for brand, created_at, label, followers in items:
        if brand is None:
            continue
        k = (brand, hour_of(created_at), label)
        counts[k] += 1
        reach[k] += followers or 0
    if not counts:
        return 0
    table = RollupRow.__table__
    # Sorted so concurrent scoring workers lock rollup rows in one order (no deadlock on PostgreSQL).
    rows = [
        {"model_key": str(model_key), "brand": b, "hour": h, "sentiment": s, "count": c, "reach": reach[(b, h, s)]}
        for (b, h, s), c in sorted(counts.items())
    ]
    stmt = upsert_insert(session, table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["model_key", "brand", "hour", "sentiment"],
        set_={"count": table.c.count + stmt.excluded.count, "reach": table.c.reach + stmt.excluded.reach},
    )
    session.execute(stmt)
    mark_dirty_hours(session, str(model_key), {(b, h) for b, h, _ in counts})
    return len(rows)
