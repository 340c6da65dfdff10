"""Turning fitted weights into the shipped heads: the head objects, their version (a digest of the weights) and
the heads.json metadata, and writing them to a directory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.heads_io import EmotionHead, Heads, SentimentHead, save_heads
from sentiment.ngram_emotions import FILE as NGRAM_FILE
from sentiment.ngram_emotions import NgramEmotionHead
from sentiment.training.blend import Tuned
from sentiment.training.data import DATA_SETS
from sentiment.training.embedding import encoder_dtype
from sentiment.training.ngram import NgramFit
from sentiment.training.plan import TrainPlan
from sentiment.training.sentiment_head import SentimentFit


def build_emotion_head(We: np.ndarray, be: np.ndarray, tuned: Tuned, ngram_fit: NgramFit | None) -> EmotionHead:
    """The emotion head as shipped (float32; the n-gram model only when some language blends it in)."""
    ngram_head = None
    if ngram_fit is not None and (tuned.default_blend > 0 or any(v > 0 for v in tuned.blend.values())):
        ngram_head = NgramEmotionHead(ngram_fit[0].astype(np.float16).astype(np.float32), ngram_fit[1],
                                      tuple(EMOTIONS), tuned.blend, tuned.default_blend)
    return EmotionHead(We.astype(np.float32), be.astype(np.float32), tuple(EMOTIONS), tuned.pooled.astype(np.float32),
                       {k: v.astype(np.float32) for k, v in tuned.per_language.items()}, ngram_head)


def build_sentiment_head(fit: SentimentFit) -> SentimentHead:
    return SentimentHead(fit.W.astype(np.float32), fit.b.astype(np.float32), tuple(SENTIMENTS), fit.temperature)


def heads_version(sent: SentimentHead, emo: EmotionHead) -> str:
    """"1-" + the first 8 hex digits of a sha256 over every shipped weight, threshold and blend."""
    digest = hashlib.sha256()
    for arr in (sent.W, sent.b, np.float32(sent.temperature), emo.W, emo.b, emo.thresholds,
                *(emo.lang_thresholds[k] for k in sorted(emo.lang_thresholds))):
        digest.update(np.ascontiguousarray(arr).tobytes())
    if emo.ngrams is not None:
        digest.update(np.ascontiguousarray(emo.ngrams.W.astype(np.float16)).tobytes())
        digest.update(json.dumps([sorted(emo.ngrams.blend.items()), emo.ngrams.default_blend]).encode())
    return f"1-{digest.hexdigest()[:8]}"


def data_entry(name: str, rows: int, weight: float | None = None) -> dict[str, Any]:
    base = name.split(" (")[0]
    ds = DATA_SETS.get(base)
    entry: dict[str, Any] = {"name": name, "rows": rows, "license": ds.license if ds else "unknown"}
    if weight is not None and weight != 1.0:
        entry["weight"] = weight
    return entry


def encoder_meta(encoder: Any, plan: TrainPlan, adapter: dict[str, Any] | None) -> dict[str, Any]:
    return {"name": encoder.name, "revision": encoder.revision, "max_length": plan.max_length,
            "prefix": getattr(encoder, "prefix", ""), "embeddings_dtype": encoder_dtype(encoder),
            "pooling": "mean over tokens, L2-normalised", **({"adapter": adapter} if adapter else {})}


def sentiment_meta(fit: SentimentFit, plan: TrainPlan) -> dict[str, Any]:
    return {
        "classes": list(SENTIMENTS),
        "model": f"multinomial logistic regression, C={plan.sentiment_C}, each source class-balanced",
        "temperature": round(fit.temperature, 4),
        "data": [data_entry(s.name, s.rows) for s in fit.sources],
        "metrics": fit.metrics,
    }


def emotion_meta(head: EmotionHead, plan: TrainPlan, *, note: str, used: list[tuple[str, int]], loaded: set[str],
                 held_out: dict[str, Any], oof_f1: dict[str, Any]) -> dict[str, Any]:
    ng = head.ngrams
    return {
        "emotions": list(EMOTIONS),
        "model": f"one-vs-rest logistic regression per emotion, C={plan.emotion_C}, class-balanced, "
                 "trained on the rows that annotate the emotion",
        "thresholds": {e: round(float(t), 2) for e, t in zip(EMOTIONS, head.thresholds, strict=True)},
        "thresholds_by_language": {lang: {e: round(float(x), 2) for e, x in zip(EMOTIONS, t, strict=True)}
                                   for lang, t in sorted(head.lang_thresholds.items())},
        "thresholds_from": note,
        "data": [data_entry(n, k, plan.weight(n)) for n, k in used],
        "ngrams": ({"model": f"one-vs-rest logistic regression per emotion on hashed character "
                             f"{ng.ngram_range[0]}-{ng.ngram_range[1]}-grams "
                             f"({ng.n_features} features), C={plan.ngram_C}, class-balanced",
                    "file": NGRAM_FILE, "data": [n for n in plan.ngram_sets if n in loaded],
                    "blend": {k: round(v, 2) for k, v in sorted(ng.blend.items())},
                    "blend_other_languages": round(ng.default_blend, 2)}
                   if ng is not None else None),
        "metrics": {"held_out": held_out, "cross_validated": oof_f1},
    }


def write_heads(heads: Heads, out_dir: Path) -> None:
    save_heads(heads, Path(out_dir))
