"""Retention of raw platform payloads: `[store] retention_days` purges `mentions.raw` of old mentions.

The parsed fields (text, author, counts) stay, so dashboards, rollups and alerts are unchanged; only the
platform's original JSON (which can carry more personal data than the product shows) is dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, null, update

from brandpulse.store.engine import session_scope
from brandpulse.store.schema import MentionRow


def purge_raw_payloads(engine: Engine, retention_days: int, *, now: datetime | None = None) -> int:
    """Set `raw` to NULL on every mention created more than `retention_days` days ago; returns how many."""
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with session_scope(engine) as s:
        result: Any = s.execute(
            update(MentionRow)
            .where(MentionRow.created_at < cutoff, MentionRow.raw.is_not(None))
            .values(raw=null())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)
