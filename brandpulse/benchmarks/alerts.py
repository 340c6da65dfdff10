"""`brandpulse bench alerts`: time from a negative mention being stored to a webhook receiving its alert.

Setup: a fresh SQLite store with the demo config (`brandpulse demo`'s brands) holding `history` generated mentions
over the 90 days before the demo stream (the `bench dashboard` generator: scored, with rollups), then the bundled
demo stream, imported and scored directly through the store (a label derived from the mention id, so no model is
needed), and one detection pass to take in that history. The prepared store is copied, so each design runs on an
identical store of its own; a webhook receiver on 127.0.0.1 is started here (a JSON webhook destination "bench").

The same script of trials is played against each design: each trial fills the hours since the previous one with
ordinary traffic (so every burst meets a normal baseline), waits until the design has taken that in, then stores
a burst of negative, already-scored mentions for one brand in a fresh hour (as the scoring stage would:
`save_scores` updates the rollups and marks the hour) and waits for the receiver to get that alert's "opened"
message. Trials are spaced past the cooldown (and past the webhook's one message per second), cycling the brands.

- **rollups** (the design shipped): the run loop's alerts role (brandpulse.service.alerts_loop) polls for rollup
  hours that scoring marked changed and runs detect (rollups, changed hours only) → outbox → send.
- **naive**: polls at the same rate and, each pass, recounts the hourly counts from every raw scored mention in
  the rules' history window (`raw_counts`) and runs the same detection over the last `NAIVE_LOOKBACK_HOURS` (it
  cannot know what changed), then the same storing, outbox and send. It differs only in where the counts come from.

Both must deliver the same alerts (rule, brand, window start, severity, every trial's included): the result says
`same_alerts`, and on a mismatch gives the differences instead of the naive figures and the ratio.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import SecretStr
from sqlalchemy import Engine, and_, func, select

from alerts.check import check_alerts, check_and_record
from alerts.cycle import work_waiting
from alerts.delivery.posting import RateLimiter
from alerts.delivery.routing import delivery_config
from alerts.delivery.sender import send_pass
from alerts.delivery.webhook import WebhookDestination
from alerts.detect import shift_hours
from brandpulse.benchmarks.dashboard import generate_store
from brandpulse.config import Settings
from brandpulse.demo import DEMO_DIR, demo_settings
from brandpulse.importer import import_file
from brandpulse.model_key import ModelKey
from brandpulse.service import alerts_loop
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import MentionBrandRow, MentionRow, RollupRow, ScoreRow
from brandpulse.store.scores import pending_mentions, save_scores
from brandpulse.types import AuthorRef, Engagement, Mention, SentimentScore

MODEL, REVISION = "bench-labels", "1"
MODEL_KEY = f"{MODEL}@{REVISION}"
#: Negative mentions per injected burst (at least; more on a busy store, see `_burst_size`), and calm ones beside
#: them in the same hour.
BURST, CALM = 24, 3
#: Hours the naive design evaluates each pass (it re-reads these and the rules' history before them).
NAIVE_LOOKBACK_HOURS = 24
#: What a delivered alert is compared by.
AlertKey = tuple[str, str, str, str]  # (rule, brand, window start ISO, severity)


# --------------------------------------------------------------------------- the webhook receiver
@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 recording when each alert's "opened" message first arrived."""

    arrivals: list[tuple[AlertKey, datetime, datetime, float]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def record(self, body: dict[str, Any]) -> None:
        alert = body.get("alert") or {}
        if body.get("event") != "opened":
            return
        start, end = _when(alert.get("window_start")), _when(alert.get("window_end"))
        key = (str(alert.get("rule")), str(alert.get("brand")), start.isoformat(), str(alert.get("severity")))
        with self.cond:
            self.arrivals.append((key, start, end, time.monotonic()))
            self.cond.notify_all()

    def wait_for(self, brand: str, hour: datetime, timeout: float) -> float | None:
        """When the first alert of `brand` whose window holds `hour` arrived (None: not within `timeout`)."""

        def found() -> float | None:
            return next((t for k, a, e, t in self.arrivals if k[1] == brand and a <= hour < e), None)

        with self.cond:
            self.cond.wait_for(lambda: found() is not None, timeout=timeout)
            return found()

    def alerts(self) -> set[AlertKey]:
        with self.cond:
            return {k for k, _a, _e, _t in self.arrivals}


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


@contextlib.contextmanager
def _receiving() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/hooks/bench"
    finally:
        server.shutdown()
        server.server_close()


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


def _burst(engine: Engine, brand: str, hour: datetime, seq: int, size: int) -> None:
    step = 55.0 / (size + CALM)
    ms = [Mention(platform="x", native_id=f"burst-{seq}-{k}", created_at=hour + timedelta(minutes=2 + step * k),
                  author=AuthorRef(f"bench_user_{seq}_{k}", followers=50 + k),
                  text=(f"{brand} outage again, nothing works, refund now ({seq}.{k})" if k < size
                        else f"{brand} is fine today ({seq}.{k})"),
                  engagement=Engagement(likes=k % 4, reposts=0, replies=0), brand=brand)
          for k in range(size + CALM)]
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


def _stream_start(engine: Engine) -> datetime:
    with session_scope(engine) as s:
        first: datetime = s.scalar(select(func.min(MentionRow.created_at)))  # type: ignore[assignment]
    return first.replace(minute=0, second=0, microsecond=0)


def _burst_size(engine: Engine, until: datetime) -> int:
    """Negatives per burst: a wave for the busiest brand too (its usual negatives per hour over the four weeks
    before `until`, three times over, plus `BURST`'s margin), and never fewer than `BURST`."""
    since = until - timedelta(weeks=4)
    q = (select(RollupRow.brand, func.sum(RollupRow.count)).where(RollupRow.model_key == MODEL_KEY,
                                                                  RollupRow.sentiment == "negative",
                                                                  RollupRow.hour >= since, RollupRow.hour < until)
         .group_by(RollupRow.brand))
    with session_scope(engine) as s:
        per_hour = max((float(n) / (24 * 7 * 4) for _b, n in s.execute(q)), default=0.0)
    return max(BURST, BURST + math.ceil(3 * per_hour))


def _prepare(path: Path, settings: Settings, history: int, step: Callable[[str], None]) -> tuple[int, int]:
    """The store both designs start from; returns how many mentions it holds and the burst size."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        step("importing and scoring the demo stream")
        import_file(engine, DEMO_DIR / "stream.csv")
        _score(engine)
        if history:
            demo_start = _stream_start(engine)
            generate_store(engine, history, end=demo_start, model=MODEL, revision=REVISION,
                           progress=lambda m: step(f"generating history: {m}"))
        step("taking in the history (one detection pass)")
        check_and_record(engine, MODEL_KEY, settings.alerts)  # alerts of the past, stored without deliveries
        with session_scope(engine) as s:
            mentions = int(s.scalar(select(func.count()).select_from(MentionRow)) or 0)
        return mentions, _burst_size(engine, _stream_end(engine))
    finally:
        engine.dispose()


def _copy_store(src: Path, dst: Path) -> None:
    with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(dst)) as b:
        a.backup(b)


# --------------------------------------------------------------------------- the naive design
def raw_counts(engine: Engine, model_key: str, brands: list[str] | None, since: datetime | None,
               until: datetime | None) -> pd.DataFrame:
    """The rollup rows (brand, hour, sentiment, count, reach) recounted from every raw scored mention in
    [since, until): what the naive design reads on every pass instead of the rollups."""
    key = ModelKey.parse(model_key)
    q = (select(MentionBrandRow.brand, MentionRow.created_at, ScoreRow.label, MentionRow.author_followers)
         .join(MentionBrandRow, MentionBrandRow.mention_id == MentionRow.id)
         .join(ScoreRow, and_(ScoreRow.mention_id == MentionRow.id, ScoreRow.model == key.name,
                              ScoreRow.revision == key.revision)))
    if brands:
        q = q.where(MentionBrandRow.brand.in_(brands))
    if since is not None:
        q = q.where(MentionRow.created_at >= since)
    if until is not None:
        q = q.where(MentionRow.created_at < until)
    with session_scope(engine) as s:
        raw = pd.DataFrame(s.execute(q).all(), columns=["brand", "created_at", "sentiment", "reach"])
    if raw.empty:
        return pd.DataFrame(columns=["brand", "hour", "sentiment", "count", "reach"])
    raw["hour"] = pd.to_datetime(raw["created_at"], utc=True).dt.floor("h")
    raw["reach"] = raw["reach"].fillna(0).astype("int64")
    out = (raw.groupby(["brand", "hour", "sentiment"], as_index=False)
           .agg(count=("reach", "size"), reach=("reach", "sum")))
    return out.sort_values(["hour", "brand", "sentiment"], ignore_index=True)


@dataclass
class _Passes:
    done: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def tick(self) -> None:
        with self.cond:
            self.done += 1
            self.cond.notify_all()

    def wait_two(self, timeout: float) -> None:
        """Until a pass that started after now has finished (the one running now may have missed new rows)."""
        with self.cond:
            target = self.done + 2
            self.cond.wait_for(lambda: self.done >= target, timeout=timeout)


def _naive_loop(engine: Engine, settings: Settings, dest: WebhookDestination, stop: threading.Event, poll_s: float,
                passes: _Passes) -> None:
    cfg = delivery_config(settings)
    while not stop.is_set():
        latest = _stream_end(engine)
        check_alerts(engine, MODEL_KEY, settings.alerts, since=shift_hours(latest, -NAIVE_LOOKBACK_HOURS),
                     until=latest, delivery=cfg, read_rows=raw_counts)
        send_pass(engine, settings, destinations={"bench": dest})
        passes.tick()
        stop.wait(poll_s)


# --------------------------------------------------------------------------- measuring
def _quantiles(xs: list[float]) -> tuple[float, float]:
    if not xs:
        return float("nan"), float("nan")
    s = sorted(xs)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s) + 0.5) - 1))]
    return statistics.median(s), p95


def _trials(engine: Engine, receiver: Receiver, brands: list[str], start: datetime, n: int, timeout_s: float,
            gap_hours: int, burst: int, settle: Callable[[], None]) -> list[float]:
    out: list[float] = []
    for t in range(n):
        brand = brands[t % len(brands)]
        hour = start + timedelta(hours=gap_hours * t)
        _calm(engine, brands, hour - timedelta(hours=gap_hours - 1), gap_hours - 1, t)
        settle()  # the design has taken in the calm hours
        time.sleep(1.05)  # and its last post is past the webhook's 1 message/s
        _burst(engine, brand, hour, t, burst)
        stored = time.monotonic()
        got = receiver.wait_for(brand, hour, timeout_s)
        out.append(got - stored if got is not None else timeout_s)
    return out


def _run_rollups(db: Path, settings: Settings, trials: int, poll_s: float, timeout_s: float, gap: int,
                 burst: int) -> tuple[list[float], set[AlertKey]]:
    engine = make_engine(f"sqlite:///{db}")
    with _receiving() as (receiver, url):
        dest = WebhookDestination("bench", SecretStr(url), limiter=RateLimiter(1.0))
        stop = threading.Event()
        loop = threading.Thread(target=alerts_loop, args=(engine, settings, stop),
                                kwargs={"poll_s": poll_s, "interval_s": 3600.0, "model_key": MODEL_KEY,
                                        "destinations": {"bench": dest}}, daemon=True)
        loop.start()

        def settle() -> None:
            until = time.monotonic() + timeout_s
            while work_waiting(engine) and time.monotonic() < until:
                time.sleep(0.05)

        try:
            start = _stream_end(engine) + timedelta(hours=gap)
            times = _trials(engine, receiver, [b.name for b in settings.brands], start, trials, timeout_s, gap, burst,
                            settle)
        finally:
            stop.set()
            loop.join(timeout=60)
            engine.dispose()
        return times, receiver.alerts()


def _run_naive(db: Path, settings: Settings, trials: int, poll_s: float, timeout_s: float, gap: int,
               burst: int) -> tuple[list[float], set[AlertKey], float]:
    engine = make_engine(f"sqlite:///{db}")
    with _receiving() as (receiver, url):
        dest = WebhookDestination("bench", SecretStr(url), limiter=RateLimiter(1.0))
        stop = threading.Event()
        passes = _Passes()
        t0 = time.perf_counter()
        loop = threading.Thread(target=_naive_loop, args=(engine, settings, dest, stop, poll_s, passes), daemon=True)
        loop.start()
        try:
            passes.wait_two(timeout_s)
            start = _stream_end(engine) + timedelta(hours=gap)
            times = _trials(engine, receiver, [b.name for b in settings.brands], start, trials, timeout_s, gap, burst,
                            lambda: passes.wait_two(timeout_s))
        finally:
            stop.set()
            loop.join(timeout=60)
            engine.dispose()
        pass_s = (time.perf_counter() - t0) / max(passes.done, 1)
        return times, receiver.alerts(), pass_s


def bench_alerts(trials: int = 20, *, poll_s: float = 0.25, timeout_s: float = 30.0, history: int = 200_000,
                 on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run both designs on copies of one store (the demo after `history` generated mentions); returns p50_s, p95_s,
    naive_p50_s, naive_p95_s, ratio (naive p95 / p95), same_alerts and the counts behind them. A trial whose alert
    never arrives counts as `timeout_s` (and in `missed`). When the two designs did not deliver the same alerts,
    the naive figures and the ratio are None and `mismatch` lists the alerts only one of them delivered."""
    step = on_step or (lambda _m: None)
    base = demo_settings(Path("unused.db"))
    settings = base.model_copy(update={"delivery": {"destinations": {"bench": {"type": "webhook"}},
                                                    "routes": {"default": {"bench": "notice"}}}})
    gap = int(settings.alerts.cooldown_hours) + 2
    with tempfile.TemporaryDirectory(prefix="brandpulse-bench-alerts-") as tmp:
        real_db, naive_db = Path(tmp) / "rollups.db", Path(tmp) / "naive.db"
        mentions, burst = _prepare(real_db, settings, history, step)
        _copy_store(real_db, naive_db)
        step(f"rollups + outbox: {trials} trials")
        fast, fast_alerts = _run_rollups(real_db, settings, trials, poll_s, timeout_s, gap, burst)
        step(f"naive (raw mentions): {trials} trials")
        slow, slow_alerts, naive_pass_s = _run_naive(naive_db, settings, trials, poll_s, timeout_s, gap, burst)
    p50, p95 = _quantiles(fast)
    n50, n95 = _quantiles(slow)
    missed, naive_missed = sum(x >= timeout_s for x in fast), sum(x >= timeout_s for x in slow)
    same = fast_alerts == slow_alerts and missed == naive_missed == 0
    res: dict[str, Any] = {
        "trials": trials, "p50_s": round(p50, 3), "p95_s": round(p95, 3),
        "naive_p50_s": round(n50, 3) if same else None, "naive_p95_s": round(n95, 3) if same else None,
        "ratio": round(n95 / p95, 2) if same and p95 > 0 else None,
        "same_alerts": same, "alerts": len(fast_alerts), "missed": missed, "naive_missed": naive_missed,
        "naive_pass_s": round(naive_pass_s, 3), "mentions": mentions, "history": history, "poll_s": poll_s,
        "backend": "sqlite", "burst": burst,
    }
    if not same:
        res["mismatch"] = {"only_rollups": sorted(map(list, fast_alerts - slow_alerts)),
                           "only_naive": sorted(map(list, slow_alerts - fast_alerts)),
                           "naive_p95_s_unsound": round(n95, 3)}
    return res
