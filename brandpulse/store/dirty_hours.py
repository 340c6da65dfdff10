"""Dirty hours: the (brand, hour) rollups that changed since the alert pass last evaluated them.

Scoring marks them in the same transaction as the rollups (brandpulse.store.rollups), so no change
can be missed; the alert pass reads the marks, evaluates those hours, and clears exactly the marks
it read (a mark changed again meanwhile has a higher `version` and stays for the next pass).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, delete, select
from sqlalchemy.orm import Session

from brandpulse.store.dialect import upsert_insert
from brandpulse.store.engine import session_scope
from brandpulse.store.schema import DirtyHourRow


@dataclass(frozen=True)
class DirtyHour:
    brand: str
    hour: datetime
    version: int


def mark_dirty_hours(session: Session, model_key: str, hours: Iterable[tuple[str, datetime]]) -> None:
    """Mark (brand, hour) pairs as changed for `model_key` (sorted, so concurrent writers lock in one order)."""
    rows = [{"model_key": model_key, "brand": b, "hour": h, "version": 1} for b, h in sorted(set(hours))]
    if not rows:
        return
    table = DirtyHourRow.__table__
    stmt = upsert_insert(session, table).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=["model_key", "brand", "hour"],
                                      set_={"version": table.c.version + 1})
    session.execute(stmt)


def dirty_hours(engine: Engine, model_key: str, limit: int | None = None) -> list[DirtyHour]:
    """The changed hours of `model_key` not yet evaluated, oldest first (at most `limit`)."""
    q = (select(DirtyHourRow.brand, DirtyHourRow.hour, DirtyHourRow.version)
         .where(DirtyHourRow.model_key == model_key).order_by(DirtyHourRow.hour, DirtyHourRow.brand))
    if limit is not None:
        q = q.limit(limit)
    with session_scope(engine) as s:
        return [DirtyHour(r.brand, r.hour, r.version) for r in s.execute(q)]


def clear_dirty_hours(engine: Engine, model_key: str, marks: Sequence[DirtyHour]) -> int:
    """Remove the marks a pass evaluated, unless they changed again since it read them."""
    t = DirtyHourRow
    removed = 0
    with session_scope(engine) as s:
        for m in marks:
            res = s.execute(delete(t).where(and_(t.model_key == model_key, t.brand == m.brand, t.hour == m.hour,
                                                 t.version == m.version)))
            removed += int(getattr(res, "rowcount", 0) or 0)
    return removed
