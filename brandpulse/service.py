"""`brandpulse run`: the service loop. Each role reads from and writes to the store only."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from brandpulse.errors import BrandpulseError, ConfigError

if TYPE_CHECKING:
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


def run_service(ctx: Context, role: str, *, interval_s: float = 30.0, stop: threading.Event | None = None) -> None:
    from alerts.check import check_and_record
    from brandpulse.collecting import build_collectors
    from brandpulse.store.queries import latest_model_key
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

        def alert_step() -> None:
            key = latest_model_key(engine)
            if key is None:
                return
            check_and_record(engine, key, ctx.settings.alerts)

        threads.append(threading.Thread(target=_every, args=(interval_s, stop, alert_step, "alerts"), name="alerts",
                                        daemon=True))
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            stop.wait(0.5)
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join(timeout=10)
