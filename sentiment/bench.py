"""`brandpulse bench score`: the batched scorer against the same model called one text at a time."""

from __future__ import annotations

import csv
import resource
import sys
import time
from pathlib import Path
from typing import Any

from brandpulse.config import ModelConfig

DEMO_STREAM = Path(__file__).resolve().parent.parent / "brandpulse" / "demo_data" / "stream.csv"


def bench_texts(n: int) -> list[str]:
    """n mixed en/ru/uk texts from the bundled demo stream (cycled if it is shorter)."""
    with DEMO_STREAM.open(encoding="utf-8", newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    step = max(len(texts) // max(n, 1), 1)
    picked = texts[::step][:n]
    while len(picked) < n:
        picked += texts[: n - len(picked)]
    return picked


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def bench_scoring(cfg: ModelConfig, n: int = 400, naive_n: int = 100) -> dict[str, Any]:
    from sentiment.scorer import load_scorer

    t0 = time.perf_counter()
    scorer = load_scorer(cfg)
    load_s = time.perf_counter() - t0
    texts = bench_texts(n)
    scorer.score(texts[:8])  # warm-up (allocations, lazy init) for both ways
    t0 = time.perf_counter()
    scorer.score(texts)
    batched_s = time.perf_counter() - t0
    naive = texts[:naive_n]
    t0 = time.perf_counter()
    for t in naive:
        scorer.score([t])
    naive_s = time.perf_counter() - t0
    rate = len(texts) / batched_s
    naive_rate = len(naive) / naive_s
    encoder = getattr(scorer, "encoder", None)
    return {
        "rate": round(rate, 2),
        "naive_rate": round(naive_rate, 2),
        "ratio": round(rate / naive_rate, 2),
        "n": len(texts),
        "naive_n": len(naive),
        "batch_size": cfg.batch_size,
        "max_length": cfg.max_length,
        "model": f"{scorer.name}@{scorer.revision}",
        "device": str(getattr(encoder, "device", "cpu")),
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
