"""`brandpulse bench score --count N`: the scoring stage over N stored mentions, streamed in chunks, with its
memory figures — run here with a tiny BERT through `[model]` so it takes seconds, not the real model's minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_scale_workers import tiny_model_config


def test_bench_score_count_scores_every_stored_mention_and_prints_memory(tmp_path: Path) -> None:
    cfg = tiny_model_config(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BRANDPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'mine.db'}"}
    env.pop("BRANDPULSE_CONFIG", None)
    res = subprocess.run([sys.executable, "-m", "brandpulse", "bench", "score", "--config", str(cfg), "--count", "5000",
                          "--n", "32", "--naive-n", "4", "--json"], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    stage = out["stage"]
    assert stage["count"] == 5000 and stage["backend"] == "sqlite"  # every stored mention scored once
    assert stage["rate"] > 0
    assert 0 < stage["rss_before_mb"] <= stage["peak_rss_mb"] and stage["scoring_rss_mb"] <= stage["peak_rss_mb"] + 1
    assert abs(stage["per_mention_kb"]) < 50  # streamed: memory does not grow by a mention's worth per mention
    said = " ".join(res.stdout.split())
    assert "scoring stage over 5,000 stored mentions" in said and "KB per mention" in said
    assert "device: cpu" in said
    assert not (tmp_path / "mine.db").exists()  # a scratch store, not the configured one
