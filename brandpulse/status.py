"""`brandpulse status`: counts, last runs, cursors and source health. Never secrets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from brandpulse.store.cursors import all_cursors, last_runs, source_health
from brandpulse.store.queries import counts


def gather_status(engine: Engine, database: str) -> dict[str, Any]:
    return {
        "database": database,
        "counts": counts(engine),
        "runs": [
            {"role": r.role, "started_at": r.started_at, "finished_at": r.finished_at, "status": r.status,
             "counts": r.counts, "error": r.error}
            for r in last_runs(engine)
        ],
        "cursors": [{"source": c.source, "key": c.key, "position": c.position, "updated_at": c.updated_at}
                    for c in all_cursors(engine)],
        "health": [
            {"source": h.source, "key": h.key, "last_success": h.last_success, "lag_seconds": h.lag_seconds,
             "error_count": h.error_count, "last_error": h.last_error,
             "rate_limit_remaining": h.rate_limit_remaining, "rate_limit_reset": h.rate_limit_reset,
             "details": h.details}
            for h in source_health(engine)
        ],
    }
