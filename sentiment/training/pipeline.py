"""`brandpulse model train`: fit the small heads in sentiment/heads/ on frozen encoder embeddings, step by step.

Reproducible: every data file is read in file order, embeddings are cached per (file, encoder, settings),
and every estimator gets a fixed seed, so the same data + seed give the same heads bit for bit.

The labelled data (../shared/data) only ever shapes the head *weights*; no text goes into the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.heads_io import Heads
from sentiment.training.adapter import AdapterPlan, adapter_holdout
from sentiment.training.blend import tune_emotion_thresholds
from sentiment.training.data import Rows
from sentiment.training.embedding import TextEmbedder, load_sources
from sentiment.training.emotion_head import dev_metrics, emotion_data
from sentiment.training.fitting import fit_emotion_head
from sentiment.training.ngram import fit_ngram_model
from sentiment.training.plan import Progress, TrainPlan
from sentiment.training.sentiment_head import fit_sentiment_head
from sentiment.training.writing import (
    build_emotion_head,
    build_sentiment_head,
    emotion_meta,
    encoder_meta,
    heads_version,
    sentiment_meta,
    write_heads,
)


@dataclass
class TrainResult:
    heads: Heads
    meta: dict[str, Any]


def train_heads(data_dir: Path, encoder: TextEmbedder, *, seed: int = 13, plan: TrainPlan | None = None,
                cache_dir: Path | None = None, progress: Progress | None = None,
                adapter: dict[str, Any] | None = None) -> TrainResult:
    """Fit both heads on `data_dir`, measure them (CV / held-out dev), and return heads + heads.json metadata."""
    plan = plan or TrainPlan()
    names = [*plan.sentiment_sets, *plan.sentiment_from_emotion, *plan.emotion_sets, *plan.dev_sets]
    data = load_sources(Path(data_dir), names, encoder, plan, cache_dir, progress)
    sent = fit_sentiment_head(data, plan, seed, adapter_unseen(data, adapter), progress, where=data_dir)

    emo = emotion_data(data, plan, where=data_dir)
    We, be = fit_emotion_head(emo.X, emo.Y, emo.M, C=plan.emotion_C, seed=seed, sample_weight=emo.W)
    H, ngram_fit = fit_ngram_model(emo, plan, seed)
    if progress:
        progress("emotion head", 1, 1)
    dev = {name: data[name] for name in plan.dev_sets if name in data}
    tuned, note = tune_emotion_thresholds(dev, emo, (We, be), H, ngram_fit, plan, seed, progress, loaded=set(data))
    emo_head = build_emotion_head(We, be, tuned, ngram_fit)
    sent_head = build_sentiment_head(sent)
    meta = {
        "format": 1,
        "version": heads_version(sent_head, emo_head),
        "created_by": "brandpulse model train",
        "seed": seed,
        "encoder": encoder_meta(encoder, plan, adapter),
        "sentiment": sentiment_meta(sent, plan),
        "emotion": emotion_meta(emo_head, plan, note=note, used=emo.used, loaded=set(data),
                                held_out=dev_metrics(dev, emo_head), oof_f1=tuned.oof_f1),
    }
    return TrainResult(Heads(sent_head, emo_head, meta), meta)


def adapter_unseen(data: dict[str, tuple[Rows, np.ndarray]], adapter: dict[str, Any] | None) -> dict[str, np.ndarray]:
    """Row indices of each sentiment set that the encoder adapter never saw (its stratified holdout)."""
    hold = (adapter or {}).get("holdout") or {}
    out: dict[str, np.ndarray] = {}
    for name in hold.get("sets", []):
        if name in data:
            plan = AdapterPlan(holdout=float(hold["fraction"]))
            out[name] = adapter_holdout(data[name][0], plan, int(hold["seed"]))
    return out


def train(data_dir: Path, out_dir: Path, encoder: TextEmbedder, *, seed: int = 13, plan: TrainPlan | None = None,
          cache_dir: Path | None = None, progress: Progress | None = None,
          adapter: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train, write sentiment.npz / emotion.npz / heads.json into `out_dir`, return the metadata.

    `adapter`: metadata of the LoRA adapter already applied to `encoder` (its file must be in `out_dir`).
    """
    result = train_heads(data_dir, encoder, seed=seed, plan=plan, cache_dir=cache_dir, progress=progress,
                         adapter=adapter)
    write_heads(result.heads, Path(out_dir))
    return result.meta
