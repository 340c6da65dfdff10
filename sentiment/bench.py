"""`brandpulse bench score`: the batched scorer against the same model called one text at a time."""

from __future__ import annotations

import csv
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

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


def _rate(fn: Any, texts: list[str]) -> float:
    t0 = time.perf_counter()
    fn(texts)
    return len(texts) / max(time.perf_counter() - t0, 1e-9)


def _one_at_a_time(scorer: Any) -> Any:
    def run(texts: list[str]) -> None:
        for t in texts:
            scorer.score([t])

    return run


def _pipeline_one_at_a_time(scorer: Any) -> Any:
    """The naive way as most tutorials write it: a `transformers` feature-extraction pipeline on the same
    model, one text per call, then the same pooling (mean, L2), heads and language pick."""
    from transformers import pipeline

    from sentiment.normalize import normalize_post
    from sentiment.scorer import texts_langs

    enc = scorer.encoder
    pipe = pipeline("feature-extraction", model=enc.model, tokenizer=enc.tokenizer, device=enc.device)

    def run(texts: list[str]) -> None:
        for t in texts:
            hidden = np.asarray(pipe(enc.prefix + normalize_post(t), truncation=True, max_length=enc.max_length)[0])
            emb = hidden.mean(axis=0)
            emb /= np.linalg.norm(emb) or 1.0
            scorer.score_embeddings(emb[None, :].astype(np.float32), [t], texts_langs(scorer.heads, [t], None))

    return run


def bench_scoring(cfg: ModelConfig, n: int = 400, naive_n: int = 100, fp32_baseline: bool = True) -> dict[str, Any]:
    """Texts/s of the batched scorer and of the same model called one text at a time (the naive way).

    Both ways use the same loaded model, dtype/runtime, threads, normalisation and heads, so `ratio` comes
    from batching alone (sorting by length + padding per batch). When the configured way is not torch fp32
    (cpu_dtype "auto" → bfloat16, or runtime "onnx"), the naive way is also timed with the torch model in
    fp32 first: `speedup_vs_fp32_naive` = batched rate / that rate, and `label_agreement_fp32` is the share
    of texts whose sentiment label matches the fp32 model's (what the faster arithmetic costs).
    `naive_pipeline_rate_fp32` is the other naive way: a `transformers` pipeline, one text per call, in fp32
    (`speedup_vs_pipeline` = batched rate / that rate).
    """
    from sentiment.encoder import resolve_cpu_dtype
    from sentiment.scorer import load_scorer

    wanted = resolve_cpu_dtype(cfg.cpu_dtype)
    runtime = getattr(cfg, "runtime", "torch")
    fp32_cfg = cfg.model_copy(update={"cpu_dtype": "float32", "runtime": "torch"})
    t0 = time.perf_counter()
    scorer = load_scorer(fp32_cfg)
    load_s = time.perf_counter() - t0
    encoder = getattr(scorer, "encoder", None)
    on_cpu = str(getattr(encoder, "device", "cpu")) == "cpu"
    texts = bench_texts(n)
    naive = texts[:naive_n]
    out: dict[str, Any] = {}
    scorer.score(texts[:8])  # warm-up (allocations, lazy init) for both ways
    if hasattr(scorer, "heads") and getattr(encoder, "model", None) is not None:
        pipe = _pipeline_one_at_a_time(scorer)
        pipe(texts[:2])
        out["naive_pipeline_rate_fp32"] = round(_rate(pipe, naive), 2)
    casts = on_cpu and runtime == "torch" and wanted != "float32" and encoder is not None and hasattr(encoder, "model")
    fp32_labels: list[str] | None = None
    if on_cpu and (casts or runtime != "torch"):
        if fp32_baseline:
            out["naive_rate_fp32"] = round(_rate(_one_at_a_time(scorer), naive), 2)
        fp32_labels = [s.label for s in scorer.score(texts)]
    if casts:
        import torch

        assert encoder is not None
        encoder.model.to(dtype=getattr(torch, wanted))
        encoder.dtype = wanted
        scorer.score(texts[:8])
    elif runtime != "torch":
        del scorer, encoder
        t0 = time.perf_counter()
        scorer = load_scorer(cfg)
        load_s = time.perf_counter() - t0
        encoder = getattr(scorer, "encoder", None)
        scorer.score(texts[:8])
    rate = _rate(scorer.score, texts)
    naive_rate = _rate(_one_at_a_time(scorer), naive)
    dtype = str(getattr(encoder, "dtype", "float32"))
    res: dict[str, Any] = {
        "rate": round(rate, 2),
        "naive_rate": round(naive_rate, 2),
        "ratio": round(rate / naive_rate, 2),
        **out,
        "n": len(texts),
        "naive_n": len(naive),
        "batch_size": cfg.batch_size,
        "max_length": cfg.max_length,
        "runtime": runtime,
        "dtype": dtype,
        "threads": _threads(),
        "model": f"{scorer.name}@{scorer.revision}",
        "device": str(getattr(encoder, "device", "cpu")),
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if "naive_rate_fp32" in res:
        res["speedup_vs_fp32_naive"] = round(rate / res["naive_rate_fp32"], 2)
    if "naive_pipeline_rate_fp32" in res:
        res["speedup_vs_pipeline"] = round(rate / res["naive_pipeline_rate_fp32"], 2)
    if fp32_labels is not None:
        mine = [s.label for s in scorer.score(texts)]
        res["label_agreement_fp32"] = round(sum(a == b for a, b in zip(mine, fp32_labels, strict=True)) / len(texts), 4)
    return res


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())
