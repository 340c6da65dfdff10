"""The sentiment head: pooled, per-source class-balanced logistic regression on the embeddings, its
cross-validated and held-out metrics, and its temperature (calibration)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brandpulse.types import SENTIMENTS
from sentiment.training.data import Rows, emotion_rows_as_sentiment
from sentiment.training.fitting import balanced_weights, calibrate, fit_logreg
from sentiment.training.plan import Progress, TrainPlan

Loaded = dict[str, tuple[Rows, np.ndarray]]


@dataclass
class Source:
    name: str
    X: np.ndarray
    y: np.ndarray  # sentiment: int class index; emotion: (n, E) bool
    langs: list[str]
    rows: int
    mask: np.ndarray | None = None
    weight: float = 1.0


@dataclass
class SentimentFit:
    W: np.ndarray
    b: np.ndarray
    temperature: float
    sources: list[Source]
    metrics: dict[str, Any]


def sentiment_sources(data: Loaded, plan: TrainPlan) -> list[Source]:
    """The sentiment sets, then the emotion sets mapped to sentiment, as training sources."""
    sources: list[Source] = []
    for name in plan.sentiment_sets:
        if name in data:
            rows, X = data[name]
            sources.append(Source(name, X, np.array([SENTIMENTS.index(s) for s in rows.sentiment]), rows.langs, len(rows)))
    for name in plan.sentiment_from_emotion:
        if name in data:
            rows, X = data[name]
            keep, y = emotion_rows_as_sentiment(rows)
            sources.append(Source(f"{name} (mapped to sentiment)", X[keep], y, [rows.langs[i] for i in keep], len(keep)))
    return sources


def sentiment_fit(sources: list[Source], idx: list[np.ndarray], C: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    Xs, ys, ws = [], [], []
    for s, i in zip(sources, idx, strict=True):
        Xs.append(s.X[i])
        ys.append(s.y[i])
        ws.append(balanced_weights(s.y[i]) * s.weight)
    W, b, classes = fit_logreg(np.concatenate(Xs), np.concatenate(ys), C=C, seed=seed, class_weight=None,
                               sample_weight=np.concatenate(ws))
    if list(classes) != list(range(len(SENTIMENTS))):
        raise ValueError(f"sentiment training data lacks a class (have {list(classes)})")
    return W, b


def sentiment_cv(sources: list[Source], C: float, seed: int, folds: int, progress: Progress | None = None) -> list[np.ndarray]:
    """Out-of-fold logits for every row of every source (stratified k-fold within each source)."""
    from sklearn.model_selection import StratifiedKFold

    splits = []
    for s in sources:
        k = min(folds, int(np.bincount(s.y).min()) if len(s.y) else 0)
        if k < 2:
            raise ValueError(f"{s.name}: too few rows per class for {folds}-fold CV")
        splits.append(list(StratifiedKFold(folds if k >= folds else k, shuffle=True, random_state=seed).split(s.X, s.y)))
    oof = [np.zeros((len(s.y), len(SENTIMENTS))) for s in sources]
    n_folds = min(len(sp) for sp in splits)
    for f in range(n_folds):
        W, b = sentiment_fit(sources, [sp[f][0] for sp in splits], C, seed)
        for s, sp, o in zip(sources, splits, oof, strict=True):
            te = sp[f][1]
            o[te] = s.X[te] @ W.T + b
        if progress:
            progress("sentiment cross-validation", f + 1, n_folds)
    return oof


def sentiment_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sentiment.evaluate import sentiment_metrics

    m = sentiment_metrics([SENTIMENTS[i] for i in y], [SENTIMENTS[i] for i in pred])
    m.pop("confusion", None)
    return m


def fit_sentiment_head(data: Loaded, plan: TrainPlan, seed: int, unseen: dict[str, np.ndarray],
                       progress: Progress | None = None, where: object = "the data dir") -> SentimentFit:
    """Cross-validate, calibrate and fit the sentiment head; `unseen`: rows per set the encoder adapter never saw."""
    sources = sentiment_sources(data, plan)
    if not sources:
        raise ValueError(f"no sentiment data found in {where}")
    oof = sentiment_cv(sources, plan.sentiment_C, seed, plan.cv_folds, progress)
    calib = calibrate(np.concatenate(oof), np.concatenate([s.y for s in sources]), seed)
    W, b = sentiment_fit(sources, [np.arange(len(s.y)) for s in sources], plan.sentiment_C, seed)
    metrics: dict[str, Any] = {"cross_validated": {s.name: _cv_metrics(s, o, unseen) for s, o in
                                                   zip(sources, oof, strict=True)},
                               "held_out": _held_out_metrics(data, plan, W, b), "calibration": calib}
    if progress:
        progress("sentiment head", 1, 1)
    return SentimentFit(W, b, float(calib["temperature"]), sources, metrics)


def _cv_metrics(s: Source, o: np.ndarray, unseen: dict[str, np.ndarray]) -> dict[str, Any]:
    per = {"all": sentiment_scores(s.y, o.argmax(1))}
    if s.name in unseen:
        hold = unseen[s.name]
        per["unseen_by_adapter"] = sentiment_scores(s.y[hold], o[hold].argmax(1))
    for lang in sorted(set(s.langs)):
        sel = np.array([lg == lang for lg in s.langs])
        if sel.sum() and len(set(s.langs)) > 1:
            per[lang] = sentiment_scores(s.y[sel], o[sel].argmax(1))
    return per


def _held_out_metrics(data: Loaded, plan: TrainPlan, W: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in plan.dev_sets:
        if name in data:
            rows, X = data[name]
            keep, yk = emotion_rows_as_sentiment(rows)
            pred = (X[keep] @ W.T + b).argmax(1)
            out[f"{name} (mapped to sentiment)"] = sentiment_scores(yk, pred)
    return out
