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
from brandpulse.model_key import ModelKey

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


def current_rss_mb() -> float:
    """Resident memory now (Linux /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def bench_stage(engine: Any, scorer: Any, on_progress: Any = None) -> dict[str, Any]:
    """The scoring stage over every unscored mention of `engine`'s store, as a worker runs it (claimed chunks of
    SCORE_CHUNK, streamed from the store): mentions/s and memory.

    `peak_rss_mb` is the process's peak (getrusage: model loading included); `scoring_rss_mb` the most resident
    memory seen after any chunk; `per_mention_kb` how much resident memory grew over the second half of the run,
    per mention scored in it — about 0 when nothing grows with the number of mentions (measured: the tiny test
    model levels off at ~7,000 mentions and stays within 1 MB from there to 60,000)."""
    from sentiment.stage import score_pending

    rss_before = current_rss_mb()
    samples: list[tuple[int, float]] = []

    def progress(done: int, total: int) -> None:
        if done:
            samples.append((done, current_rss_mb()))
        if on_progress:
            on_progress(done, total)

    t0 = time.perf_counter()
    n = score_pending(engine, scorer, on_progress=progress)
    seconds = time.perf_counter() - t0
    growth = 0.0
    half = samples[len(samples) // 2 :]  # the first chunks warm caches up (allocator, kernels): ~100 MB, once
    if len(half) > 1 and half[-1][0] > half[0][0]:
        growth = (half[-1][1] - half[0][1]) * 1024 / (half[-1][0] - half[0][0])
    return {
        "count": n,
        "rate": round(n / max(seconds, 1e-9), 2),
        "seconds": round(seconds, 2),
        "rss_before_mb": round(rss_before, 1),
        "scoring_rss_mb": round(max((r for _, r in samples), default=rss_before), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "per_mention_kb": round(growth, 3),
    }


def _rate(fn: Any, texts: list[str]) -> float:
    t0 = time.perf_counter()
    fn(texts)
    return len(texts) / max(time.perf_counter() - t0, 1e-9)


def _one_at_a_time(scorer: Any) -> Any:
    def run(texts: list[str]) -> None:
        for t in texts:
            scorer.score([t])

    return run


def _in_chunks(scorer: Any) -> Any:
    """The batched way as the scoring stage runs it: one `score` call per SCORE_CHUNK mentions."""
    from sentiment.stage import SCORE_CHUNK

    def run(texts: list[str]) -> None:
        for i in range(0, len(texts), SCORE_CHUNK):
            scorer.score(texts[i : i + SCORE_CHUNK])

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


def bench_scoring(cfg: ModelConfig, n: int = 400, naive_n: int = 100, fp32_baseline: bool = True,
                  rounds: int = 4) -> dict[str, Any]:
    """Texts/s of the batched scorer and of the naive ways, measured in the same run.

    Ways: `rate` = the configured scorer, batched (length-sorted, padded per batch, batch workers on CPU);
    `naive_rate` = the same scorer (model, dtype/runtime, heads, language pick) called one text at a time, on
    the calling thread with torch's default threads; when the configured way is not torch fp32 (cpu_dtype
    "auto" → bfloat16, or runtime "onnx") also `naive_rate_fp32` = the torch fp32 model one text at a time
    (`speedup_vs_fp32_naive`) and `label_agreement_fp32` = share of sentiment labels equal to fp32's;
    `naive_pipeline_rate_fp32` = a `transformers` feature-extraction pipeline on the fp32 model, one text per
    call (`speedup_vs_pipeline`).

    The ways take turns: `rounds` rounds, each running the batched way on all `n` texts (in the scoring stage's
    chunks, SCORE_CHUNK texts per call; a smaller call sorts more coarsely and pads more) and each naive way on its
    next slice of the naive texts, so load that drifts during the run (a shared VM) slows every way alike
    instead of whichever ran last.
    """
    from sentiment.encoder import resolve_cpu_dtype
    from sentiment.loading import load_scorer

    wanted = resolve_cpu_dtype(cfg.cpu_dtype)
    runtime = getattr(cfg, "runtime", "torch")
    fp32_cfg = cfg.model_copy(update={"cpu_dtype": "float32", "runtime": "torch"})
    t0 = time.perf_counter()
    fp32 = load_scorer(fp32_cfg)
    load_s = time.perf_counter() - t0
    fp32_encoder = getattr(fp32, "encoder", None)
    on_cpu = str(getattr(fp32_encoder, "device", "cpu")) == "cpu"
    differs = on_cpu and (runtime != "torch" or wanted != "float32")
    scorer = fp32
    if differs:
        t0 = time.perf_counter()
        scorer = load_scorer(cfg)
        load_s = time.perf_counter() - t0
    encoder = getattr(scorer, "encoder", None)
    texts = bench_texts(n)
    naive = texts[:naive_n]
    rounds = max(1, min(rounds, len(naive) or 1))
    ways: dict[str, tuple[Any, list[str]]] = {"rate": (_in_chunks(scorer), texts),
                                              "naive_rate": (_one_at_a_time(scorer), naive)}
    if differs and fp32_baseline:
        ways["naive_rate_fp32"] = (_one_at_a_time(fp32), naive)
    if hasattr(fp32, "heads") and getattr(fp32_encoder, "model", None) is not None:
        ways["naive_pipeline_rate_fp32"] = (_pipeline_one_at_a_time(fp32), naive)
    rates = _timed_rounds(ways, texts, rounds)
    rate = rates["rate"]
    res: dict[str, Any] = {
        "rate": round(rate, 2),
        "naive_rate": round(rates["naive_rate"], 2),
        "ratio": round(rate / rates["naive_rate"], 2),
        **{k: round(v, 2) for k, v in rates.items() if k not in ("rate", "naive_rate")},
        "n": len(texts),
        "naive_n": len(naive),
        "rounds": rounds,
        "batch_size": cfg.batch_size,
        "max_length": cfg.max_length,
        "runtime": runtime,
        "dtype": str(getattr(encoder, "dtype", "float32")),
        "threads": _threads(),
        "workers": int(getattr(encoder, "workers", 1)),
        "model": str(ModelKey.of_scorer(scorer)),
        "device": str(getattr(encoder, "device", "cpu")),
        "device_name": device_name(str(getattr(encoder, "device", "cpu"))),
        "batch_tokens": getattr(encoder, "batch_tokens", None),
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if "naive_rate_fp32" in rates:
        res["speedup_vs_fp32_naive"] = round(rate / rates["naive_rate_fp32"], 2)
    if "naive_pipeline_rate_fp32" in rates:
        res["speedup_vs_pipeline"] = round(rate / rates["naive_pipeline_rate_fp32"], 2)
    if differs:
        mine = [s.label for s in scorer.score(texts)]
        theirs = [s.label for s in fp32.score(texts)]
        res["label_agreement_fp32"] = round(sum(a == b for a, b in zip(mine, theirs, strict=True)) / len(texts), 4)
    return res


def _timed_rounds(ways: dict[str, tuple[Any, list[str]]], texts: list[str], rounds: int) -> dict[str, float]:
    """Texts per second of each way, the ways taking turns: "rate" scores all its texts each round, every other
    way its next slice."""
    for key, (fn, _) in ways.items():  # warm-up (allocations, lazy init, worker threads)
        fn(texts[:64] if key == "rate" else texts[:2])
    spent = dict.fromkeys(ways, 0.0)
    done = dict.fromkeys(ways, 0)
    for r in range(rounds):
        for key, (fn, pool) in ways.items():
            part = pool if key == "rate" else pool[r::rounds]
            t0 = time.perf_counter()
            fn(part)
            spent[key] += time.perf_counter() - t0
            done[key] += len(part)
    return {key: done[key] / max(spent[key], 1e-9) for key in ways}


def device_name(device: str) -> str:
    """The GPU's name on CUDA ("NVIDIA H200"), else the CPU's model name (Linux /proc/cpuinfo), else ""."""
    if device.startswith("cuda"):
        import torch

        try:
            return str(torch.cuda.get_device_name(device))
        except (RuntimeError, AssertionError, ValueError):
            return ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())
