"""`collect`, `score` and `alerts check` run at the same time as separate processes on one store (SQLite and
PostgreSQL), as a team's cron jobs would: none fails (no "database is locked" reaches the user), nothing is stored or
scored twice, nothing is lost, no alert is raised twice, and the rollups equal a recount."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from brandpulse.store.engine import make_engine, session_scope
from brandpulse.store.migrate import upgrade
from brandpulse.store.schema import AlertRow
from tests.conftest import REPO
from tests.recount import assert_once_and_rolled_up
from tests.test_fault_injection import _config, _stream

pytestmark = pytest.mark.slow


def _cli(args: list[str], cfg: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": url, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    env.pop("BRANDPULSE_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "brandpulse", *args, "--config", str(cfg)], env=env,
                            cwd=cfg.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_collect_score_and_alerts_check_at_once(db_url: str, tmp_path: Path) -> None:
    stream = tmp_path / "stream.csv"
    n = _stream(stream, seed=7)
    cfg = _config(tmp_path, stream, n, wall_s=12.0)  # the replay takes ~12 s: the others run meanwhile
    engine = make_engine(db_url)
    upgrade(engine)
    finished: list[tuple[list[str], int, str]] = []

    def reap(procs: list[tuple[list[str], subprocess.Popen[str]]]) -> list[tuple[list[str], subprocess.Popen[str]]]:
        alive = []
        for args, p in procs:
            if p.poll() is None:
                alive.append((args, p))
            else:
                out, err = p.communicate()
                finished.append((args, p.returncode, out + err))
        return alive

    collect = _cli(["collect", "--source", "replay"], cfg, db_url)
    running: list[tuple[list[str], subprocess.Popen[str]]] = []
    try:
        while collect.poll() is None:
            running = reap(running)
            for args, at_once in ((["score"], 2), (["alerts", "check"], 1)):  # two scorers and a checker at all times
                while sum(1 for a, _ in running if a == args) < at_once:
                    running.append((args, _cli(args, cfg, db_url)))
            time.sleep(0.2)
        out, err = collect.communicate()
        finished.append((["collect"], collect.returncode, out + err))
        for _, p in running:
            p.wait(timeout=300)
        reap(running)
    finally:
        for _, p in running:
            if p.poll() is None:
                p.kill()
    last = _cli(["score"], cfg, db_url)  # what was stored after the last concurrent pass
    out, err = last.communicate(timeout=300)
    finished.append((["score"], last.returncode, out + err))
    check = _cli(["alerts", "check"], cfg, db_url)
    out, err = check.communicate(timeout=300)
    finished.append((["alerts", "check"], check.returncode, out + err))

    assert sum(1 for a, _, _ in finished if a == ["score"]) >= 3 and any(a[0] == "alerts" for a, _, _ in finished)
    failed = [(a, rc, text[-800:]) for a, rc, text in finished if rc != 0]
    assert not failed
    joined = "\n".join(text for _, _, text in finished)
    assert "database is locked" not in joined and "Traceback" not in joined
    with session_scope(engine) as s:
        assert_once_and_rolled_up(s, n)
        windows = [(a.brand, a.rule, a.window_start) for a in s.scalars(select(AlertRow))]
    assert windows and len(windows) == len(set(windows))  # the episode raised its alert, once
    engine.dispose()
