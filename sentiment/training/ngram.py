"""The character n-gram emotion model (`sentiment.ngram_emotions`) fitted on the training texts."""

from __future__ import annotations

from typing import Any

import numpy as np

from sentiment.ngram_emotions import ngram_features
from sentiment.training.emotion_head import EmotionData
from sentiment.training.fitting import fit_emotion_head, sigmoid
from sentiment.training.plan import TrainPlan

#: lbfgs tolerance for the n-gram model (262k sparse features: 1e-6 costs minutes and changes no label)
NGRAM_TOL = 1e-4

NgramFit = tuple[np.ndarray, np.ndarray]


def fit_ngram_model(emo: EmotionData, plan: TrainPlan, seed: int) -> tuple[Any, NgramFit | None]:
    """(n-gram features of every emotion row, the model fitted on the `ngram_sets` rows); (None, None) when the
    plan blends no n-gram model in."""
    if not (emo.ngram_rows.any() and max(plan.blend_grid, default=0.0) > 0):
        return None, None
    H = ngram_features(emo.texts)
    rows = emo.ngram_rows
    fit = fit_emotion_head(H[rows], emo.Y[rows], emo.M[rows], C=plan.ngram_C, seed=seed, sample_weight=emo.W[rows],
                           tol=NGRAM_TOL)
    return H, fit


def ngram_probs(fit: NgramFit, texts: list[str]) -> np.ndarray:
    return sigmoid(ngram_features(texts) @ fit[0].T + fit[1])
