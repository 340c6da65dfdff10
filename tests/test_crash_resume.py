"""Kill the replay + score loop mid-way (a real subprocess, SIGKILL), restart it: every mention once, all scored."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.schema import MentionRow, RollupRow, ScoreRow
from tests.conftest import REPO

pytestmark = pytest.mark.slow
N = 240


def _stream(tmp_path: Path) -> Path:
    src = REPO / "brandpulse" / "demo_data" / "stream.csv"
    out = tmp_path / "stream.csv"
    with src.open(encoding="utf-8", newline="") as fi, out.open("w", encoding="utf-8", newline="") as fo:
        reader = csv.DictReader(fi)
        writer = csv.DictWriter(fo, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for i, row in enumerate(reader):
            if i >= N:
                break
            writer.writerow(row)
    return out


def _counts(url: str) -> tuple[int, int, int, int]:
    eng = make_engine(url)
    try:
        with session_scope(eng) as s:
            mentions = s.scalar(select(func.count()).select_from(MentionRow)) or 0
            distinct = s.scalar(select(func.count(func.distinct(MentionRow.native_id)))) or 0
            scores = s.scalar(select(func.count()).select_from(ScoreRow)) or 0
            rolled = s.scalar(select(func.coalesce(func.sum(RollupRow.count), 0))) or 0
    except Exception:
        return (0, 0, 0, 0)
    finally:
        eng.dispose()
    return int(mentions), int(distinct), int(scores), int(rolled)


def _start(cfg: Path, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "brandpulse", "run", "--config", str(cfg), "--role", "all", "--interval", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _wait_for(pred, timeout: float, url: str) -> tuple[int, int, int, int]:
    deadline = time.time() + timeout
    c = _counts(url)
    while time.time() < deadline:
        c = _counts(url)
        if pred(c):
            return c
        time.sleep(0.5)
    raise AssertionError(f"timed out; counts (mentions, distinct, scores, rolled up) = {c}")


def test_sigkill_mid_way_then_restart_stores_each_mention_once_and_scores_all(db_url: str, tmp_path: Path) -> None:
    stream = _stream(tmp_path)
    first, last = stream.read_text(encoding="utf-8").splitlines()[1], stream.read_text(encoding="utf-8").splitlines()[-1]
    span = (time.mktime(time.strptime(last.split(",")[1], "%Y-%m-%dT%H:%M:%SZ"))
            - time.mktime(time.strptime(first.split(",")[1], "%Y-%m-%dT%H:%M:%SZ")))
    speed = span / 20.0  # the replay takes ~20 s of wall time
    cfg = tmp_path / "brandpulse.toml"
    cfg.write_text(f"[[brands]]\nname='Nimbus'\n[[brands]]\nname='Vireo'\n[[brands]]\nname='Kestrel'\n"
                   f"[sources.replay]\npath='{stream}'\nspeed={speed}\n", encoding="utf-8")
    proc = _start(cfg, db_url)
    try:
        mid = _wait_for(lambda c: c[0] >= 30 and c[2] >= 1, 120, db_url)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert mid[0] < N, "the loop finished before it could be killed mid-way"
    proc = _start(cfg, db_url)
    try:
        final = _wait_for(lambda c: c[0] == N and c[2] == N, 180, db_url)
        time.sleep(2)  # a duplicate insert or a double-count would show up now
        final = _counts(db_url)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    mentions, distinct, scores, rolled = final
    assert mentions == distinct == N
    assert scores == N
    assert rolled == N  # rollups count each scored mention exactly once
