"""`brandpulse status`: counts, last runs, cursors and source health. Never secrets."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from brandpulse.store.cursors import all_cursors, last_runs, source_health
from brandpulse.store.queries import counts
from brandpulse.store.schema import RunRow
from brandpulse.types import utcnow

#: A "running" run on another machine whose heartbeat is older than this is shown as interrupted.
STALE_HEARTBEAT = timedelta(minutes=30)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def run_state(run: RunRow, *, now: datetime | None = None, host: str | None = None) -> str:
    """The run's status as a person should read it: a "running" run whose process is gone (same host) or whose
    heartbeat is stale (another host, or no pid recorded) is "interrupted"."""
    if run.status != "running":
        return run.status
    here = host or socket.gethostname()[:255]
    if run.pid is not None and run.host == here:
        return "running" if _process_alive(run.pid) else "interrupted"
    last = run.heartbeat_at or run.started_at
    return "interrupted" if (now or utcnow()) - last > STALE_HEARTBEAT else "running"


def gather_status(engine: Engine, database: str) -> dict[str, Any]:
    return {
        "database": database,
        "counts": counts(engine),
        "runs": [
            {"role": r.role, "started_at": r.started_at, "finished_at": r.finished_at, "status": run_state(r),
             "counts": r.counts, "error": r.error, "heartbeat_at": r.heartbeat_at}
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
