"""The emotion head: one-vs-rest logistic regression per emotion on the rows that annotate it, the training
matrices it is fitted on, and its held-out (dev) metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brandpulse.types import EMOTIONS
from sentiment.training.data import Rows, annotated_mask
from sentiment.training.plan import TrainPlan

Loaded = dict[str, tuple[Rows, np.ndarray]]


@dataclass
class EmotionData:
    """The emotion training rows of every set, stacked."""

    X: np.ndarray  # embeddings
    Y: np.ndarray  # (n, E) bool labels
    M: np.ndarray  # (n, E) bool: the row's set annotates the emotion
    W: np.ndarray  # sample weights
    threshold_rows: np.ndarray  # bool: thresholds are tuned on this row
    ngram_rows: np.ndarray  # bool: the n-gram model trains on this row
    langs: np.ndarray
    texts: list[str]
    used: list[tuple[str, int]]  # (set, rows)


def emotion_data(data: Loaded, plan: TrainPlan, where: object = "the data dir") -> EmotionData:
    eX, eY, eM, eW, is_thr, is_ngram = [], [], [], [], [], []
    e_lang: list[str] = []
    e_text: list[str] = []
    used: list[tuple[str, int]] = []
    for name in plan.emotion_sets:
        if name in data:
            rows, X = data[name]
            assert rows.emotion is not None
            eX.append(X)
            eY.append(rows.emotion)
            eM.append(np.tile(annotated_mask(rows.dataset), (len(rows), 1)))
            eW.append(np.full(len(rows), plan.weight(name)))
            is_thr.append(np.full(len(rows), name in plan.threshold_sets))
            is_ngram.append(np.full(len(rows), name in plan.ngram_sets))
            e_lang.extend(rows.langs)
            e_text.extend(rows.texts)
            used.append((name, len(rows)))
    if not eX:
        raise ValueError(f"no emotion data found in {where}")
    X, Y, M, W, thr_rows, ngram_rows = map(np.concatenate, (eX, eY, eM, eW, is_thr, is_ngram))
    return EmotionData(X, Y, M, W, thr_rows, ngram_rows, np.array(e_lang), e_text, used)


def emotion_scores(Y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sentiment.evaluate import emotion_metrics

    def sets(A: np.ndarray) -> list[frozenset[str]]:
        return [frozenset(e for j, e in enumerate(EMOTIONS) if row[j]) for row in A]

    return emotion_metrics(sets(Y), sets(pred))


def dev_metrics(dev: Loaded, head: Any) -> dict[str, Any]:
    """Macro-F1 etc. of the finished emotion head (`sentiment.heads_io.EmotionHead`) on each dev set."""
    out: dict[str, Any] = {}
    for name, (rows, X) in dev.items():
        assert rows.emotion is not None
        m = annotated_mask(rows.dataset)
        pred = (head.probs(X, rows.texts, rows.langs) >= head.thresholds_for(rows.langs, len(rows))) & m
        out[name] = emotion_scores(rows.emotion & m, pred)
    return out
