"""Four scoring workers (`brandpulse run --role score` processes) on one PostgreSQL store; one is SIGKILLed while
it holds a claimed chunk. The others take the chunk over: every mention is scored exactly once and the hourly
rollups equal a recount from the scores.

The workers load a tiny BERT (tests/tiny_model.py) with heads of its width through `[model]` in their config, so
they start in seconds and score through the real loading, encoding and saving paths. No sleeps that race: the
workers are held at a lock until all four are waiting for work, and the victim is stopped (SIGSTOP) and seen to
hold its claims before it is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, text

from brandpulse.benchmarks.ingest import generate_mentions
from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.mentions import insert_mentions
from brandpulse.store.migrate import upgrade
from brandpulse.store.rollups import hour_of
from brandpulse.store.schema import MentionBrandRow, MentionRow, RollupRow, ScoreClaimRow, ScoreRow
from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.heads_io import EmotionHead, Heads, SentimentHead, save_heads
from tests.conftest import PG_URL, _reset_postgres
from tests.tiny_model import tiny_bert_dir

pytestmark = pytest.mark.postgres
N = 6_000  # about six of the stage's 1024-mention chunks: more chunks than workers


def tiny_model_config(tmp_path: Path) -> Path:
    """A config whose `[model]` is a 32-wide, 2-layer BERT with random heads of its width (loads in ~1 s)."""
    model = tiny_bert_dir(tmp_path / "tiny-encoder", pooler=False)
    rng = np.random.default_rng(7)
    save_heads(Heads(SentimentHead(rng.normal(size=(3, 32)), np.zeros(3), SENTIMENTS, 1.0),
                     EmotionHead(rng.normal(size=(len(EMOTIONS), 32)), np.zeros(len(EMOTIONS)), EMOTIONS,
                                 np.full(len(EMOTIONS), 0.5)),
                     {"version": "tiny"}), tmp_path / "tiny-heads")
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(f"[[brands]]\nname='Nimbus'\n[model]\nencoder='{model}'\nheads_dir='{tmp_path / 'tiny-heads'}'\n"
                   "device='cpu'\nthreads=1\ncpu_workers=1\n", encoding="utf-8")
    return cfg


def wait_for(what: str, pred: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def scalar(engine: Engine, q: Any) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(q) or 0)


@pytest.fixture
def pg() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("needs PostgreSQL (BRANDPULSE_TEST_DATABASE_URL); claims under SKIP LOCKED are what it tests")
    _reset_postgres(PG_URL)
    yield PG_URL


def _claims_of(engine: Engine, pid: int) -> int:
    return scalar(engine, select(func.count()).select_from(ScoreClaimRow)
                  .where(ScoreClaimRow.claimed_by.like(f"%:{pid}:%")))


def _waiting_on_the_gate(engine: Engine) -> int:
    """Sessions of this database blocked on a lock while inserting claims (the workers at the gate)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock' AND query ILIKE '%score_claims%'")).scalar() or 0)


def test_four_workers_one_killed_mid_batch_every_mention_scored_once(pg: str, tmp_path: Path) -> None:
    engine = make_engine(pg)
    upgrade(engine)
    insert_mentions(engine, generate_mentions(N))
    cfg = tiny_model_config(tmp_path)
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": pg, "HF_HUB_OFFLINE": "1"}
    env.pop("BRANDPULSE_CONFIG", None)
    gate = engine.connect()
    gate_tx = gate.begin()
    gate.execute(text("LOCK TABLE score_claims IN EXCLUSIVE MODE"))  # readers pass; no worker can claim yet
    logs = [tmp_path / f"worker-{i}.log" for i in range(4)]
    outs = [log.open("wb") for log in logs]
    procs = [subprocess.Popen([sys.executable, "-m", "brandpulse", "run", "--config", str(cfg), "--role", "score"],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=out) for out in outs]
    try:
        wait_for("all four workers at the gate", lambda: _waiting_on_the_gate(engine) == 4
                 or any(p.poll() is not None for p in procs), 240)
        assert all(p.poll() is None for p in procs), [log.read_text(errors="replace")[-1500:] for log in logs]
        gate_tx.commit()
        gate.close()
        # stop a worker that holds a chunk (claimed, not yet saved), make sure it still does, then kill it
        victim = None
        for _ in range(50):
            holder = wait_for("a worker holding a chunk",
                              lambda: next((p for p in procs if _claims_of(engine, p.pid)), None), 60, every=0.01)
            os.kill(holder.pid, signal.SIGSTOP)
            held = _claims_of(engine, holder.pid)
            time.sleep(0.3)  # a commit already on its way to the server lands meanwhile
            if held and _claims_of(engine, holder.pid) == held:
                victim = holder
                break
            os.kill(holder.pid, signal.SIGCONT)  # it had just saved its chunk: let it go on, pick again
        assert victim is not None, "no worker could be stopped while holding a chunk"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        orphaned = _claims_of(engine, victim.pid)
        assert orphaned > 0  # killed mid-batch: its chunk is claimed and unscored
        survivors = [p for p in procs if p is not victim]
        wait_for("every mention scored",
                 lambda: scalar(engine, select(func.count()).select_from(ScoreRow)) >= N
                 or any(p.poll() is not None for p in survivors), 300, every=0.5)
        assert all(p.poll() is None for p in survivors), [log.read_text(errors="replace")[-1500:] for log in logs]
        wait_for("no claims left", lambda: scalar(engine, select(func.count()).select_from(ScoreClaimRow)) == 0, 60)
    finally:
        gate.close()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
        for out in outs:
            out.close()
    assert scalar(engine, select(func.count()).select_from(ScoreRow)) == N
    assert scalar(engine, select(func.count(func.distinct(ScoreRow.mention_id)))) == N
    # the rollups equal a recount from the scores: no chunk counted twice, the killed one counted once
    with session_scope(engine) as s:
        rolled = {(r.brand, r.hour, r.sentiment): (r.count, r.reach) for r in s.scalars(select(RollupRow))}
        recount: dict[tuple[str, Any, str], tuple[int, int]] = {}
        for brand, created, label, followers in s.execute(
            select(MentionBrandRow.brand, MentionRow.created_at, ScoreRow.label, MentionRow.author_followers)
            .join(MentionRow, MentionRow.id == MentionBrandRow.mention_id)
            .join(ScoreRow, ScoreRow.mention_id == MentionRow.id)
        ):
            k = (brand, hour_of(created), label)
            c, r = recount.get(k, (0, 0))
            recount[k] = (c + 1, r + (followers or 0))
    assert rolled == recount
    assert sum(c for c, _ in rolled.values()) == scalar(engine, select(func.count()).select_from(MentionBrandRow))
    engine.dispose()
