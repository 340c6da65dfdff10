"""Crash safety end to end: `brandpulse run --role all` (a real process: replay collector, scoring, alert detection
and Slack delivery) is SIGKILLed at seeded random moments 20 times and restarted each time; then it runs to the end.
Every mention of the stream is stored once and scored once, the rollups equal a recount from mentions and scores,
and every alert reached the (fake, local) Slack exactly once. The same on PostgreSQL, and on PostgreSQL a run whose
database server is restarted under it: the workers reconnect and finish.

The model is a tiny BERT (tests/tiny_model.py) with nearest-centroid heads fitted here on its own embeddings, so a
post with "awful bad" is negative and one with "good great" is positive and the run starts in about a second; the
stream has four calm days and one negative episode, so alerts fire.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import AlertRow, DeliveryRow, MentionRow, ScoreRow
from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.heads_io import EmotionHead, Heads, SentimentHead, save_heads
from tests.conftest import PG_URL, REPO
from tests.recount import assert_once_and_rolled_up
from tests.slackfake import SlackState, fake_slack
from tests.tiny_model import tiny_bert_dir

pytestmark = pytest.mark.slow
KILLS = 20
START = datetime(2026, 11, 2, tzinfo=UTC)
TEXTS = {"negative": "the service is awful bad", "neutral": "the service is ok", "positive": "the service is good great"}
FILLER = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
          "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey"]


# --------------------------------------------------------------------------- the model, the stream, the config
def _tiny_model(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny encoder and sentiment heads that put each of TEXTS' words in its class (nearest centroid)."""
    from brandpulse.config import ModelConfig
    from sentiment.loading import load_scorer

    encoder = tiny_bert_dir(tmp_path / "tiny-encoder", pooler=False)
    rng = np.random.default_rng(16)
    emotion = EmotionHead(rng.normal(size=(len(EMOTIONS), 32)), np.zeros(len(EMOTIONS)), EMOTIONS,
                          np.full(len(EMOTIONS), 0.5))
    probe_dir = tmp_path / "probe-heads"
    save_heads(Heads(SentimentHead(np.zeros((3, 32)), np.zeros(3), SENTIMENTS, 1.0), emotion, {"version": "probe"}),
               probe_dir)
    probe = load_scorer(ModelConfig(encoder=str(encoder), heads_dir=str(probe_dir), device="cpu", threads=1,
                                    cpu_workers=1))
    centroids = np.asarray(probe.embed([TEXTS[s] for s in SENTIMENTS]), dtype=np.float64)  # type: ignore[attr-defined]
    scale = 50.0 / max(float(np.linalg.norm(centroids, axis=1).max()) ** 2, 1e-9)
    heads_dir = tmp_path / "tiny-heads"
    save_heads(Heads(SentimentHead(centroids * scale, -0.5 * scale * (centroids ** 2).sum(axis=1), SENTIMENTS, 1.0),
                     emotion, {"version": "tiny-centroids"}), heads_dir)
    return encoder, heads_dir


def _stream(path: Path, seed: int) -> int:
    """Four calm days (a few complaints an hour) for Acme and Beta, then a four-hour wave of complaints about Acme."""
    rng = random.Random(seed)
    rows = []
    for h in range(4 * 24 + 6):
        hour = START + timedelta(hours=h)
        episode = 96 <= h < 100
        for brand in ("Acme", "Beta"):
            n = 30 if episode and brand == "Acme" else rng.randint(6, 9)
            for _ in range(n):
                neg = rng.random() < (0.8 if episode and brand == "Acme" else 0.15)
                kind = "negative" if neg else rng.choice(["neutral", "positive", "positive"])
                words = " ".join(rng.sample(FILLER, 3))
                at = hour + timedelta(seconds=rng.randrange(3600))
                rows.append((at, f"u{rng.randrange(400)}", f"{brand} {words} {TEXTS[kind]}", brand))
    rows.sort()
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "created_at", "author", "text", "brand"])
        for i, (at, author, text, brand) in enumerate(rows):
            w.writerow([f"p{i}", at.strftime("%Y-%m-%dT%H:%M:%SZ"), author, text, brand])
    return len(rows)


def _config(tmp_path: Path, stream: Path, n: int, wall_s: float) -> Path:
    encoder, heads = _tiny_model(tmp_path)
    span = (4 * 24 + 6) * 3600
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(
        "[[brands]]\nname = 'Acme'\ncompetitors = ['Beta']\n[[brands]]\nname = 'Beta'\n"
        f"[sources.replay]\npath = '{stream}'\nspeed = {span / wall_s}\n"
        f"[model]\nencoder = '{encoder}'\nheads_dir = '{heads}'\ndevice = 'cpu'\nthreads = 1\ncpu_workers = 1\n",
        encoding="utf-8")
    return cfg


# --------------------------------------------------------------------------- the process and the store
def _start(cfg: Path, url: str, slack: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": url, "HF_HUB_OFFLINE": "1", "BRANDPULSE_SLACK_WEBHOOK_URL": slack,
           "PYTHONPATH": str(REPO)}
    env.pop("BRANDPULSE_CONFIG", None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "brandpulse", "run", "--config", str(cfg), "--role", "all",
                                 "--interval", "1"], env=env, cwd=cfg.parent, stdout=subprocess.DEVNULL, stderr=out)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _state(engine: Engine) -> dict[str, int]:
    try:
        with session_scope(engine) as s:
            return {
                "mentions": int(s.scalar(select(func.count()).select_from(MentionRow)) or 0),
                "scores": int(s.scalar(select(func.count()).select_from(ScoreRow)) or 0),
                "alerts": int(s.scalar(select(func.count()).select_from(AlertRow)) or 0),
                "unsent": int(s.scalar(select(func.count()).select_from(DeliveryRow)
                                       .where(DeliveryRow.status != "sent")) or 0),
            }
    except Exception:  # the store is not there yet, or its server is restarting
        return {}


def _wait(what: str, pred: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        assert proc.poll() is None, f"the run loop exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}"
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}: {log.read_text(errors='replace')[-2000:]}")


def _finish(engine: Engine, cfg: Path, url: str, slack_url: str, n: int, log: Path) -> None:
    """Run to the end: everything stored and scored, alerts detected and sent, then quiet for a few passes."""
    proc = _start(cfg, url, slack_url, log)
    try:
        done = lambda: (st := _state(engine)) and st["mentions"] == n and st["scores"] == n and st["alerts"] > 0 \
            and st["unsent"] == 0  # noqa: E731
        _wait("the stream stored, scored and alerted", done, 300, proc, log)
        time.sleep(4)  # a duplicate insert, score or post would show up now
        assert done()
    finally:
        _kill(proc)


def _check(engine: Engine, n: int, slack: SlackState) -> None:
    with session_scope(engine) as s:
        assert_once_and_rolled_up(s, n)
        alerts = list(s.scalars(select(AlertRow)))
        deliveries = list(s.scalars(select(DeliveryRow)))
    assert alerts and any(a.brand == "Acme" for a in alerts)
    assert all(a.brand == "Acme" for a in alerts), [(a.brand, a.window_start) for a in alerts]  # Beta stayed calm
    assert deliveries and all(d.status == "sent" for d in deliveries)
    keys = [r.idempotency_key for r in slack.accepted]
    assert len(keys) == len(set(keys)) == len(deliveries), "a delivery reached Slack twice or not at all"
    assert not slack.rejected


@pytest.fixture
def scenario(tmp_path: Path) -> tuple[Path, int]:
    stream = tmp_path / "stream.csv"
    n = _stream(stream, seed=16)
    return _config(tmp_path, stream, n, wall_s=40.0), n


# --------------------------------------------------------------------------- the tests
def test_twenty_sigkills_of_run_all_lose_nothing_and_deliver_each_alert_once(
    scenario: tuple[Path, int], db_url: str, tmp_path: Path
) -> None:
    cfg, n = scenario
    rng = random.Random(20)
    engine = make_engine(db_url)
    upgrade(engine)
    log = tmp_path / "run.log"
    seen: list[dict[str, int]] = []
    try:
        with fake_slack() as (slack_url, slack):
            for _ in range(KILLS):
                proc = _start(cfg, db_url, slack_url, log)
                time.sleep(rng.uniform(0.5, 6.0))  # during start-up, collection, scoring, detection or sending
                _kill(proc)
                seen.append(_state(engine))
            assert seen[-1].get("mentions", 0) < n or seen[-1].get("alerts", 0) == 0 or seen[-1].get("unsent", 0) \
                or seen[-1].get("scores", 0) < n, "the kills never interrupted any work"
            _finish(engine, cfg, db_url, slack_url, n, log)
            _check(engine, n, slack)
    finally:
        engine.dispose()


def _pg_ctl(data: Path, port: int, action: str) -> None:
    subprocess.run(["bash", str(REPO / ".ci" / "pg.sh"), action], check=True, capture_output=True,
                   env={**os.environ, "BRANDPULSE_PGDATA": str(data), "BRANDPULSE_PGPORT": str(port)})


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Callable[[], None]]]:
    """A throw-away PostgreSQL server of this test's own (so restarting it touches no other test)."""
    if not PG_URL:
        pytest.skip("needs PostgreSQL binaries (CI installs them; BRANDPULSE_TEST_DATABASE_URL marks them present)")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = Path("/tmp") / f"bp-fault-pg-{port}"
    _pg_ctl(data, port, "start")

    def restart() -> None:
        _pg_ctl(data, port, "stop")
        time.sleep(3.0)  # the workers see a refused connection for a while
        _pg_ctl(data, port, "start")

    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/brandpulse_test", restart
    finally:
        _pg_ctl(data, port, "stop")
        subprocess.run(["rm", "-rf", str(data)], check=False)


def test_run_all_survives_a_postgres_restart_mid_run(
    scenario: tuple[Path, int], own_postgres: tuple[str, Callable[[], None]], tmp_path: Path
) -> None:
    cfg, n = scenario
    url, restart = own_postgres
    engine = make_engine(url)
    upgrade(engine)
    log = tmp_path / "run.log"
    try:
        with fake_slack() as (slack_url, slack):
            proc = _start(cfg, url, slack_url, log)
            try:
                _wait("work under way", lambda: 0 < _state(engine).get("mentions", 0) < n, 120, proc, log)
                restart()
                engine.dispose()  # the test's own pool held connections to the old server
                done = lambda: (st := _state(engine)) and st["mentions"] == n and st["scores"] == n \
                    and st["alerts"] > 0 and st["unsent"] == 0  # noqa: E731
                _wait("the same process to finish the stream after the restart", done, 300, proc, log)
                time.sleep(4)
                assert proc.poll() is None, "the run loop exited"
            finally:
                _kill(proc)
            _check(engine, n, slack)
    finally:
        engine.dispose()
