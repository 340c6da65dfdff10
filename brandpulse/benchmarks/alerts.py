"""`brandpulse bench alerts`: time from a negative mention being stored to a webhook receiving its alert.

Setup: a fresh SQLite store with the demo config (`brandpulse demo`'s brands), the bundled demo stream imported and
scored directly through the store (a label derived from the mention id, so no model is needed), one alert pass to
take in that history, and a webhook receiver on 127.0.0.1 started here (a JSON webhook destination "bench").

The design measured is the run loop's alerts role (brandpulse.service.alerts_loop): it polls for rollup hours
that scoring marked changed and then runs detect (rollups) → outbox → send. Each trial stores a burst of negative,
already-scored mentions for one brand in a fresh hour (as the scoring stage would: `save_scores` updates the rollups
and marks the hour), and waits for the receiver to get that alert's "opened" message. Trials are spaced past the
cooldown (and past Slack's one message per second per webhook), cycling through the brands; the hours between two
bursts are filled (untimed) with ordinary traffic, so each burst meets a normal baseline.

The naive design, measured in the same run on the same store, polls at the same rate but detects over the raw
mentions: each pass reads every scored mention in the rules' history window, rebuilds the hourly counts from them,
runs the same rules and posts new alerts straight to the receiver (no outbox).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from pydantic import SecretStr
from sqlalchemy import Engine, and_, func, select

from alerts.cycle import alert_cycle, work_waiting
from alerts.delivery.posting import RateLimiter
from alerts.delivery.webhook import WebhookDestination
from alerts.detect import find_alerts, shift_hours
from alerts.registry import configured_rules
from brandpulse.config import Settings
from brandpulse.demo import DEMO_DIR, demo_settings
from brandpulse.importer import import_file
from brandpulse.service import alerts_loop
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import MentionRow, ScoreRow
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import AuthorRef, Engagement, Mention, SentimentScore

MODEL, REVISION = "bench-labels", "1"
MODEL_KEY = f"{MODEL}@{REVISION}"
#: Negative mentions per injected burst, and calm ones beside them in the same hour.
BURST, CALM = 12, 3


# --------------------------------------------------------------------------- the webhook receiver
@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 recording when each alert (brand, window) first arrived."""

    arrivals: list[tuple[str, datetime, datetime, float]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def record(self, body: dict[str, Any]) -> None:
        alert = body.get("alert") or {}
        if body.get("event") != "opened":
            return
        got = (str(alert.get("brand")), _when(alert.get("window_start")), _when(alert.get("window_end")),
               time.monotonic())
        with self.cond:
            self.arrivals.append(got)
            self.cond.notify_all()

    def wait_for(self, brand: str, hour: datetime, timeout: float) -> float | None:
        """When the first alert of `brand` whose window holds `hour` arrived (None: not within `timeout`)."""

        def found() -> float | None:
            return next((t for b, a, e, t in self.arrivals if b == brand and a <= hour < e), None)

        with self.cond:
            self.cond.wait_for(lambda: found() is not None, timeout=timeout)
            return found()


def _when(iso: Any) -> datetime:
    return datetime.fromisoformat(str(iso).replace("Z", "+00:00"))


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with contextlib.suppress(ValueError):
                receiver.record(json.loads(raw))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


# --------------------------------------------------------------------------- the store
def _label(mention_id: int) -> str:
    return "negative" if mention_id % 7 == 0 else ("neutral" if mention_id % 3 == 0 else "positive")


def _score(engine: Engine, negative: bool | None = None) -> None:
    """Scores for every unscored mention, written through the store as the scoring stage writes them."""
    scored = []
    for p in pending_mentions(engine, MODEL, REVISION, 1_000_000):
        label = _label(p.id) if negative is None else ("negative" if "outage" in p.text else "positive")
        probs = {"negative": 0.05, "neutral": 0.05, "positive": 0.05, label: 0.9}
        scored.append((p.id, SentimentScore(label, probs, 0.9, {}, MODEL, REVISION, ())))
    save_scores(engine, scored)


def _burst(engine: Engine, brand: str, hour: datetime, seq: int) -> None:
    ms = [Mention(platform="x", native_id=f"bench-{seq}-{k}", created_at=hour + timedelta(minutes=2 + 4 * k),
                  author=AuthorRef(f"bench_user_{seq}_{k}", followers=50 + k),
                  text=(f"{brand} outage again, nothing works, refund now ({seq}.{k})" if k < BURST
                        else f"{brand} is fine today ({seq}.{k})"),
                  engagement=Engagement(likes=k % 4, reposts=0, replies=0), brand=brand)
          for k in range(BURST + CALM)]
    insert_mentions(engine, ms)
    _score(engine, negative=True)


def _calm(engine: Engine, brands: list[str], since: datetime, hours: int, seq: int) -> None:
    """Ordinary hours (a few posts per brand, one in six negative) between bursts, so every burst meets a baseline."""
    ms = [Mention(platform="x", native_id=f"calm-{seq}-{b}-{h}-{k}", created_at=since + timedelta(hours=h, minutes=7 * k),
                  author=AuthorRef(f"calm_user_{(seq + h + k) % 97}", followers=20 + k),
                  text=(f"{brand} outage? slow today ({seq}.{h}.{k})" if (h + k + b) % 6 == 0
                        else f"{brand} works fine ({seq}.{h}.{k})"),
                  engagement=Engagement(likes=k % 3, reposts=0, replies=0), brand=brand)
          for b, brand in enumerate(brands) for h in range(hours) for k in range(6)]
    insert_mentions(engine, ms)
    _score(engine, negative=True)


def _stream_end(engine: Engine) -> datetime:
    with session_scope(engine) as s:
        last: datetime = s.scalar(select(func.max(MentionRow.created_at)))  # type: ignore[assignment]
    return last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


# --------------------------------------------------------------------------- the naive design
def _naive_rows(engine: Engine, since: datetime) -> pd.DataFrame:
    """Rollup-shaped rows (brand, hour, sentiment, count, reach) rebuilt from every raw scored mention since `since`."""
    q = (select(MentionRow.brand, MentionRow.created_at, ScoreRow.label, MentionRow.author_followers)
         .join(ScoreRow, and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == MODEL,
                              ScoreRow.revision == REVISION))
         .where(MentionRow.created_at >= since))
    with session_scope(engine) as s:
        raw = pd.DataFrame(s.execute(q).all(), columns=["brand", "created_at", "sentiment", "reach"])
    if raw.empty:
        return pd.DataFrame(columns=["brand", "hour", "sentiment", "count", "reach"])
    raw["hour"] = pd.to_datetime(raw["created_at"], utc=True).dt.floor("h")
    raw["reach"] = raw["reach"].fillna(0)
    return (raw.groupby(["brand", "hour", "sentiment"], as_index=False)
            .agg(count=("reach", "size"), reach=("reach", "sum")))


def _naive_loop(engine: Engine, settings: Settings, url: str, stop: threading.Event, poll_s: float) -> None:
    rules = configured_rules(settings.alerts)
    history = max(r.history_hours() for r in rules)
    seen: set[tuple[str, str]] = set()
    first = True
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            latest = _stream_end(engine)
            rows = _naive_rows(engine, shift_hours(latest, -history - 1))
            since = shift_hours(latest, -3)
            for a in find_alerts(rows, rules, since=since):
                hours = {(a.brand, h.isoformat()) for h in (a.hours or [a.start])}
                if hours <= seen:  # nothing new in this alert
                    continue
                seen |= hours
                if not first:
                    body = {"event": "opened", "alert": {"brand": a.brand, "window_start": a.start.isoformat(),
                                                         "window_end": a.end.isoformat(), "severity": a.severity,
                                                         "metrics": a.metrics}}
                    client.post(url, json=body)
            first = False
            stop.wait(poll_s)


# --------------------------------------------------------------------------- measuring
def _quantiles(xs: list[float]) -> tuple[float, float]:
    if not xs:
        return float("nan"), float("nan")
    s = sorted(xs)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s) + 0.5) - 1))]
    return statistics.median(s), p95


def _trials(engine: Engine, receiver: Receiver, brands: list[str], start: datetime, n: int, seq0: int,
            timeout_s: float, gap_hours: int, wait_idle: bool) -> list[float]:
    out: list[float] = []
    for t in range(n):
        brand = brands[t % len(brands)]
        hour = start + timedelta(hours=gap_hours * t)
        _calm(engine, brands, hour - timedelta(hours=gap_hours - 1), gap_hours - 1, seq0 + t)
        idle_until = time.monotonic() + timeout_s
        while wait_idle and work_waiting(engine) and time.monotonic() < idle_until:  # the loop has taken in the calm hours
            time.sleep(0.05)
        time.sleep(1.05)  # and its last post (a "resolved" follow-up) is past Slack's 1 message/s per webhook
        _burst(engine, brand, hour, seq0 + t)
        stored = time.monotonic()
        got = receiver.wait_for(brand, hour, timeout_s)
        out.append(got - stored if got is not None else timeout_s)
    return out


def bench_alerts(trials: int = 20, *, poll_s: float = 0.25, timeout_s: float = 30.0,
                 database: Path | None = None, on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run both designs on one fresh demo store; returns p50_s, p95_s, naive_p50_s, naive_p95_s, ratio (naive p95 /
    p95) and the counts behind them. A trial whose alert never arrives counts as `timeout_s` (and in `missed`)."""
    step = on_step or (lambda _m: None)
    tmp = tempfile.TemporaryDirectory(prefix="brandpulse-bench-alerts-")
    db = database or Path(tmp.name) / "bench.db"
    base = demo_settings(db)
    settings = base.model_copy(update={"delivery": {"destinations": {"bench": {"type": "webhook"}},
                                                    "routes": {"default": {"bench": "notice"}}}})
    engine = make_engine(settings.database_url)
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/bench"
    try:
        upgrade(engine)
        step("importing and scoring the demo stream")
        import_file(engine, DEMO_DIR / "stream.csv")
        _score(engine)
        brands = [b.name for b in settings.brands]
        gap = int(settings.alerts.cooldown_hours) + 2
        dest = WebhookDestination("bench", SecretStr(url), limiter=RateLimiter(1.0))
        stop = threading.Event()
        loop = threading.Thread(target=alerts_loop, args=(engine, settings, stop),
                                kwargs={"poll_s": poll_s, "interval_s": 3600.0, "model_key": MODEL_KEY,
                                        "destinations": {"bench": dest}}, daemon=True)
        alert_cycle(engine, settings, model_key=MODEL_KEY, send=False)  # take in the history before timing
        step(f"rollups + outbox: {trials} trials")
        loop.start()
        start = _stream_end(engine) + timedelta(hours=gap)
        fast = _trials(engine, receiver, brands, start, trials, 0, timeout_s, gap, True)
        stop.set()
        loop.join(timeout=30)

        step(f"naive (raw mentions): {trials} trials")
        stop = threading.Event()
        naive = threading.Thread(target=_naive_loop, args=(engine, settings, url, stop, poll_s), daemon=True)
        naive.start()
        time.sleep(poll_s * 2)
        start = _stream_end(engine) + timedelta(hours=gap)
        slow = _trials(engine, receiver, brands, start, trials, 10_000, timeout_s, gap, False)
        stop.set()
        naive.join(timeout=30)
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()
        tmp.cleanup()
    p50, p95 = _quantiles(fast)
    n50, n95 = _quantiles(slow)
    return {"trials": trials, "p50_s": round(p50, 3), "p95_s": round(p95, 3), "naive_p50_s": round(n50, 3),
            "naive_p95_s": round(n95, 3), "ratio": round(n95 / p95, 2) if p95 > 0 else None,
            "missed": sum(x >= timeout_s for x in fast), "naive_missed": sum(x >= timeout_s for x in slow),
            "poll_s": poll_s, "backend": "sqlite", "burst": BURST}
