"""Cursors (where each collector stopped), source health and run records."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from brandpulse.store.engine import session_scope
from brandpulse.store.schema import CursorRow, RunRow, SourceHealthRow
from brandpulse.types import Cursor, utcnow


def load_cursor(engine: Engine, source: str, key: str) -> Cursor | None:
    with session_scope(engine) as s:
        row = s.get(CursorRow, (source, key))
        return Cursor(row.source, row.key, row.position, row.updated_at) if row else None


def save_cursor_in(session: Session, cursor: Cursor) -> None:
    row = session.get(CursorRow, (cursor.source, cursor.key))
    if row is None:
        session.add(CursorRow(source=cursor.source, key=cursor.key, position=cursor.position, updated_at=utcnow()))
    else:
        row.position = cursor.position
        row.updated_at = utcnow()


def all_cursors(engine: Engine) -> list[Cursor]:
    with session_scope(engine) as s:
        return [Cursor(r.source, r.key, r.position, r.updated_at) for r in s.scalars(select(CursorRow))]


def record_health(
    engine: Engine,
    source: str,
    key: str,
    *,
    ok: bool,
    error: str | None = None,
    lag_seconds: float | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    now = utcnow()
    details = dict(details or {})
    with session_scope(engine) as s:
        row = s.get(SourceHealthRow, (source, key))
        if row is None:
            row = SourceHealthRow(source=source, key=key, error_count=0, updated_at=now)
            s.add(row)
        if ok:
            row.last_success = now
        else:
            row.last_error = error
            row.last_error_at = now
            row.error_count = (row.error_count or 0) + 1
        if lag_seconds is not None:
            row.lag_seconds = lag_seconds
        remaining = details.pop("rate_limit_remaining", None)
        reset = details.pop("rate_limit_reset", None)
        if remaining is not None:
            row.rate_limit_remaining = int(remaining)
        if isinstance(reset, datetime):
            row.rate_limit_reset = reset
        row.details = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in details.items() if v is not None}
        row.updated_at = now


def source_health(engine: Engine) -> list[SourceHealthRow]:
    with session_scope(engine) as s:
        return list(s.scalars(select(SourceHealthRow).order_by(SourceHealthRow.source, SourceHealthRow.key)))


def start_run(engine: Engine, role: str) -> int:
    """Record a run as "running" by this process (pid + host), with a first heartbeat."""
    now = utcnow()
    with session_scope(engine) as s:
        row = RunRow(role=role, started_at=now, status="running", pid=os.getpid(), host=socket.gethostname()[:255],
                     heartbeat_at=now)
        s.add(row)
        s.flush()
        return row.id


def touch_run(engine: Engine, run_id: int) -> None:
    """The run is still alive: refresh its heartbeat (long runs call this every batch or so)."""
    with session_scope(engine) as s:
        s.execute(update(RunRow).where(RunRow.id == run_id, RunRow.status == "running").values(heartbeat_at=utcnow()))


class RunHeartbeat:
    """Call it as often as you like; it refreshes the run's heartbeat at most every `every_s` seconds."""

    def __init__(self, engine: Engine, run_id: int, every_s: float = 30.0) -> None:
        self.engine, self.run_id, self.every_s = engine, run_id, every_s
        self._last = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            touch_run(self.engine, self.run_id)


def finish_run(engine: Engine, run_id: int, *, counts: dict[str, Any] | None = None, error: str | None = None) -> None:
    with session_scope(engine) as s:
        row = s.get(RunRow, run_id)
        if row is None:
            return
        row.finished_at = utcnow()
        row.status = "failed" if error else "ok"
        row.counts = counts
        row.error = error


def last_runs(engine: Engine, limit: int = 10) -> list[RunRow]:
    with session_scope(engine) as s:
        return list(s.scalars(select(RunRow).order_by(RunRow.id.desc()).limit(limit)))


def last_run_counts(engine: Engine, role: str) -> dict[str, Any] | None:
    with session_scope(engine) as s:
        row = s.scalars(
            select(RunRow).where(RunRow.role == role, RunRow.status == "ok").order_by(RunRow.id.desc()).limit(1)
        ).first()
        return row.counts if row else None
