"""`brandpulse run`: the service loop. Each role reads from and writes to the store only."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from brandpulse.errors import BrandpulseError, ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from brandpulse.config import Settings
    from brandpulse.context import Context

log = logging.getLogger(__name__)
ROLES = ("collect", "score", "alerts", "all")
#: How often the score role purges old raw payloads when `[store] retention_days` is set.
PURGE_EVERY_S = 3600.0


def _every(interval: float, stop: threading.Event, step: Callable[[], None], name: str) -> None:
    while not stop.is_set():
        try:
            step()
        except BrandpulseError as exc:
            log.warning("%s step failed: %s", name, str(exc).splitlines()[0])
        except Exception:
            log.exception("%s step crashed; retrying after %.0f s", name, interval)
        stop.wait(interval)


#: How often the alerts role looks for changed rollup hours or due deliveries (a cheap query) between full passes.
ALERTS_POLL_S = 0.25


def alerts_loop(engine: Engine, settings: Settings, stop: threading.Event, *, interval_s: float = 60.0,
                poll_s: float = ALERTS_POLL_S, **send_options: Any) -> None:
    """The alerts role: a detect → auto-resolve → send pass (alerts.cycle.alert_cycle) as soon as scoring has marked
    changed rollup hours or a delivery is due (checked every `poll_s`), and at least every `interval_s`.
    `send_options` go to the sender (the alerts benchmark passes its own rate limiter)."""
    from alerts.cycle import alert_cycle, work_waiting

    last = float("-inf")

    def step() -> None:
        nonlocal last
        if time.monotonic() - last >= interval_s or work_waiting(engine):
            last = time.monotonic()
            alert_cycle(engine, settings, **send_options)

    _every(poll_s, stop, step, "alerts")


def run_service(ctx: Context, role: str, *, interval_s: float = 30.0, stop: threading.Event | None = None) -> None:
    from brandpulse.collecting import build_collectors
    from brandpulse.store.retention import purge_raw_payloads
    from listener.runner import follow
    from sentiment.stage import score_pending

    if not interval_s > 0:
        raise ConfigError(f"the interval must be more than 0 seconds, got {interval_s}", hint="")
    stop = stop or threading.Event()
    engine = ctx.migrated_engine()
    threads: list[threading.Thread] = []

    if role in ("collect", "all"):
        collectors = build_collectors(ctx.settings)
        threads.append(threading.Thread(target=follow, args=(engine, collectors),
                                        kwargs={"interval_s": interval_s, "stop": stop}, name="collect", daemon=True))
    if role in ("score", "all"):
        scorer = ctx.scorer
        retention_days = ctx.settings.store.retention_days
        last_purge: list[float] = []

        def score_step() -> None:
            n = score_pending(engine, scorer)
            if n:
                log.info("scored %d mentions", n)
            if retention_days is not None and (not last_purge or time.monotonic() - last_purge[0] >= PURGE_EVERY_S):
                last_purge[:] = [time.monotonic()]
                purged = purge_raw_payloads(engine, retention_days)
                if purged:
                    log.info("purged the raw payloads of %d mentions older than %d days", purged, retention_days)

        threads.append(threading.Thread(target=_every, args=(5.0, stop, score_step, "score"), name="score",
                                        daemon=True))
    if role in ("alerts", "all"):
        # detect (alerts and their Delivery rows in one transaction), auto-resolve, then send the outbox — as data arrives
        threads.append(threading.Thread(target=alerts_loop, args=(engine, ctx.settings, stop),
                                        kwargs={"interval_s": interval_s}, name="alerts", daemon=True))
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            stop.wait(0.5)
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join(timeout=10)
