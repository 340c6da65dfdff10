"""`brandpulse demo --no-dashboard` end to end on the bundled stream: stored, scored, the episode alert raised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_loads_scores_and_raises_the_episode_alert(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if k not in ("BRANDPULSE_DATABASE_URL", "BRANDPULSE_CONFIG")}
    env["HF_HUB_OFFLINE"] = "1"
    res = subprocess.run([sys.executable, "-m", "brandpulse", "demo", "--no-dashboard", "--database", str(db)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    out = " ".join(res.stdout.split())
    assert str(db) in out
    assert "2487 new" in out and "scored 2487 mentions" in out
    assert "ALERT" in out and "Nimbus 2026-11-06" in out
    assert "http://127.0.0.1:8501" in out
    env["BRANDPULSE_DATABASE_URL"] = f"sqlite:///{db}"
    st = subprocess.run([sys.executable, "-m", "brandpulse", "status", "--json"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120)
    status = json.loads(st.stdout.strip().splitlines()[-1])
    assert status["counts"]["open_alerts"] == 1
    assert {r["role"] for r in status["runs"]} >= {"score", "alerts"}
    bt = subprocess.run([sys.executable, "-m", "brandpulse", "alerts", "backtest", "--from", "2026-11-02", "--to",
                         "2026-11-08", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    alerts = json.loads(bt.stdout.strip().splitlines()[-1])
    # exactly the one episode, for Nimbus only: no false alarm on the other days or the competitors
    assert [(a["brand"], a["start"][:10]) for a in alerts] == [("Nimbus", "2026-11-06")]
