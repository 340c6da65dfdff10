"""Runs collectors against the store: batches of mentions, then the cursor, in one transaction.

Because items and the cursor after them commit together, a killed process resumes exactly
where the last committed batch ended; anything fetched again dedups on (platform, native id).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from brandpulse.errors import BrandpulseError
from brandpulse.store.cursors import load_cursor, record_health, save_cursor_in
from brandpulse.store.engine import session_scope
from brandpulse.store.mentions import delete_mentions_in, insert_mentions_in
from brandpulse.types import Deletion, Mention, utcnow
from listener.base import Collector
from listener.common import describe
from listener.dedup import StoreDeduper
from listener.unstarted import UnstartedSource

log = logging.getLogger(__name__)


@dataclass
class CollectStats:
    source: str
    key: str
    fetched: int = 0
    new: int = 0
    deleted: int = 0
    near_duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _key_of(collector: Collector) -> str:
    return str(getattr(collector, "key", None) or "default")


def collect_once(
    engine: Engine,
    collector: Collector,
    *,
    batch_size: int = 500,
    max_batch_seconds: float = 2.0,
    on_batch: Callable[[CollectStats], None] | None = None,
    stop: threading.Event | None = None,
    deduper: StoreDeduper | None = None,
) -> CollectStats:
    """Drain one collector once: store what it yields in batches, saving its cursor with each batch.

    A batch is committed when it holds `batch_size` items or is `max_batch_seconds` old, so a slow
    stream is stored (and scorable) promptly instead of waiting for a full batch.
    """
    deduper = deduper or StoreDeduper(engine)
    key = _key_of(collector)
    stats = CollectStats(source=collector.name, key=key)
    since = load_cursor(engine, collector.name, key)
    batch: list[Mention] = []
    deletions: list[Deletion] = []

    def flush() -> None:
        cur = collector.cursor()
        with session_scope(engine) as s:
            res = insert_mentions_in(s, batch)
            stats.new += res.new
            stats.near_duplicates += deduper.assign(s, res.new_ids, batch)
            stats.deleted += delete_mentions_in(s, [(d.platform, d.native_id) for d in deletions])
            if cur is not None:
                save_cursor_in(s, cur)
        batch.clear()
        deletions.clear()
        started[0] = time.monotonic()
        if on_batch:
            on_batch(stats)

    newest = None
    started = [time.monotonic()]
    try:
        for item in collector.fetch(since):
            if isinstance(item, Deletion):
                deletions.append(item)
            else:
                batch.append(item)
                stats.fetched += 1
                newest = item.created_at if newest is None or item.created_at > newest else newest
            if len(batch) + len(deletions) >= batch_size or time.monotonic() - started[0] >= max_batch_seconds:
                flush()
            if stop is not None and stop.is_set():
                break
        flush()
    except BrandpulseError as exc:
        flush()
        stats.errors.append(str(exc))
        record_health(engine, collector.name, key, ok=False, error=_first_line(exc),
                      details=_safe_health(collector))
        raise
    lag = (utcnow() - newest).total_seconds() if newest else None
    record_health(engine, collector.name, key, ok=True, lag_seconds=lag, details=_safe_health(collector))
    return stats


def _safe_health(collector: Collector) -> dict[str, Any]:
    """The collector's ``health()``, nested values as JSON data (nested times as ISO strings); never raises.

    Top-level times stay datetimes (the store keeps ``rate_limit_reset`` in its own column).
    """
    try:
        return {str(k): v if isinstance(v, datetime) else _jsonable(v) for k, v in dict(collector.health()).items()}
    except Exception as exc:  # health is informational; never let it break collection
        return {"health_error": exc.__class__.__name__}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return lines[0][:300] if lines and lines[0].strip() else exc.__class__.__name__


def _note_health(engine: Engine, c: Collector, **health: Any) -> None:
    """Record `c`'s health; when the store itself is what failed (a restarting server), log it and go on."""
    try:
        record_health(engine, c.name, _key_of(c), **health)
    except Exception as exc:
        log.warning("could not record the health of %s/%s: %s", c.name, _key_of(c), exc.__class__.__name__)


def follow(
    engine: Engine,
    collectors: Iterable[Collector],
    *,
    interval_s: float = 60.0,
    stop: threading.Event | None = None,
    max_rounds: int | None = None,
    on_stats: Callable[[CollectStats], None] | None = None,
) -> None:
    """Run every collector concurrently, round after round; one failing source never stops the others."""
    stop = stop or threading.Event()
    deduper = StoreDeduper(engine)
    threads: list[threading.Thread] = []

    def spawn(c: Collector) -> None:
        t = threading.Thread(target=loop, args=(c,), name=f"collect-{c.name}", daemon=True)
        threads.append(t)
        t.start()

    def start(c: UnstartedSource) -> bool:
        """Try again to build a source that could not start; True when it did (its collectors now run)."""
        try:
            started = c.start()
        except Exception as exc:  # a credential still missing, a bad query found once it built, a bug
            log.warning("source %s cannot start: %s", c.name, _first_line(exc))
            _note_health(engine, c, ok=False, error=_first_line(exc), details=_safe_health(c))
            return False
        log.info("source %s started", c.name)
        _note_health(engine, c, ok=True, details={"started": True})
        for built in started:
            spawn(built)
        return True

    def loop(c: Collector) -> None:
        rounds = 0
        backoff = interval_s
        while not stop.is_set() and (max_rounds is None or rounds < max_rounds):
            rounds += 1
            if isinstance(c, UnstartedSource):  # could not start (credentials, login): retried with backoff
                if start(c):
                    return
                backoff = min(backoff * 2, 3600.0)
            else:
                try:
                    st = collect_once(engine, c, stop=stop, deduper=deduper)
                    backoff = interval_s
                    if on_stats:
                        on_stats(st)
                except BrandpulseError as exc:
                    log.warning("source %s/%s failed: %s", c.name, _key_of(c), _first_line(exc))
                    backoff = min(backoff * 2, 3600.0)
                except Exception as exc:  # an unexpected bug in one collector must not kill the others
                    log.exception("source %s/%s crashed", c.name, _key_of(c))
                    _note_health(engine, c, ok=False, error=describe(exc))
                    backoff = min(backoff * 2, 3600.0)
            if max_rounds is not None and rounds >= max_rounds:
                break
            stop.wait(backoff)

    for c in collectors:
        spawn(c)
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
    except KeyboardInterrupt:
        stop.set()
        for t in threads:
            t.join(timeout=10)
