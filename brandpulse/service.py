"""`brandpulse run`: the service loop. Each role reads from and writes to the store only."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from brandpulse.errors import BrandpulseError, ConfigError

if TYPE_CHECKING:
    from brandpulse.context import Context

log = logging.getLogger(__name__)
ROLES = ("collect", "score", "alerts", "all")


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
    from alerts.cycle import alert_cycle
    from brandpulse.collecting import build_collectors
    from brandpulse.scoring import score_pending
    from listener.runner import follow

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

        def score_step() -> None:
            n = score_pending(engine, scorer)
            if n:
                log.info("scored %d mentions", n)

        threads.append(threading.Thread(target=_every, args=(5.0, stop, score_step, "score"), name="score",
                                        daemon=True))
    if role in ("alerts", "all"):

        def alert_step() -> None:
            # detect (alerts and their Delivery rows in one transaction), auto-resolve, then send the outbox
            alert_cycle(engine, ctx.settings)

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
