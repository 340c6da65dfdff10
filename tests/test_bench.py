"""`brandpulse bench score --json`: the documented figures, measured on the real model (few texts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_bench_score_reports_batched_and_naive_rates(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BRANDPULSE_MODEL__CPU_DTYPE": "bfloat16"}
    env.pop("BRANDPULSE_CONFIG", None)
    res = subprocess.run([sys.executable, "-m", "brandpulse", "bench", "score", "--n", "48", "--naive-n", "6", "--json"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["n"] == 48 and out["naive_n"] == 6 and out["runtime"] == "torch" and out["dtype"] == "bfloat16"
    for key in ("rate", "naive_rate", "naive_rate_fp32", "naive_pipeline_rate_fp32"):
        assert out[key] > 0, key
    assert out["ratio"] == pytest.approx(out["rate"] / out["naive_rate"], rel=0.02)
    assert out["speedup_vs_pipeline"] == pytest.approx(out["rate"] / out["naive_pipeline_rate_fp32"], rel=0.02)
    # bf16 vs fp32 on the same texts: almost every label is the same
    assert out["label_agreement_fp32"] >= 0.9
    assert out["peak_rss_mb"] > 100 and "lora" in out["model"]
    assert out["rounds"] == 4 and out["workers"] >= 1
    assert "naive transformers pipeline" in res.stdout


def test_bench_score_rejects_an_unknown_runtime(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-m", "brandpulse", "bench", "score", "--runtime", "tensorflow"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode != 0
    said = " ".join((res.stdout + res.stderr).split())  # the console wraps long lines
    assert "--runtime" in said and 'runtime must be "torch", "onnx" or "onnx-fp32"' in said
    assert "Traceback" not in res.stderr
