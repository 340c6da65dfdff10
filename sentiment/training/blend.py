"""Blend and thresholds: how much of the n-gram model to mix into the embedding head, and the per-emotion
thresholds (pooled and per language), picked on out-of-fold predictions or on dev."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from brandpulse.types import EMOTIONS
from sentiment.training.data import Rows, annotated_mask
from sentiment.training.emotion_head import EmotionData
from sentiment.training.fitting import emotion_macro_f1, fit_emotion_head, sigmoid, tune_thresholds
from sentiment.training.ngram import NGRAM_TOL, NgramFit, ngram_probs
from sentiment.training.plan import Progress, TrainPlan


def oof_probs(X: np.ndarray, H: Any, Y: np.ndarray, M: np.ndarray, W: np.ndarray, ngram_rows: np.ndarray,
               idx: np.ndarray, plan: TrainPlan, seed: int, progress: Progress | None,
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Out-of-fold emotion probabilities of the rows `idx` (rows outside `idx` are always in training): the
    embedding head's, and the n-gram model's (trained on `ngram_rows` of each fold) when `H` is given."""
    from sklearn.model_selection import KFold

    P = np.zeros((len(idx), Y.shape[1]))
    Pl = np.zeros((len(idx), Y.shape[1])) if H is not None else None
    folds = list(KFold(min(plan.cv_folds, len(idx)), shuffle=True, random_state=seed).split(idx))
    for f, (_, te) in enumerate(folds):
        keep = np.ones(len(X), dtype=bool)
        keep[idx[te]] = False
        Wf, bf = fit_emotion_head(X[keep], Y[keep], M[keep], C=plan.emotion_C, seed=seed, sample_weight=W[keep])
        P[te] = sigmoid(X[idx[te]] @ Wf.T + bf)
        if Pl is not None:
            rows = keep & ngram_rows
            Wl, bl = fit_emotion_head(H[rows], Y[rows], M[rows], C=plan.ngram_C, seed=seed, sample_weight=W[rows],
                                      tol=NGRAM_TOL)
            Pl[te] = sigmoid(np.asarray(H[idx[te]] @ Wl.T) + bl)
        if progress:
            progress("emotion thresholds (cross-validation)", f + 1, len(folds))
    return P, Pl


@dataclass
class Tuned:
    pooled: np.ndarray
    per_language: dict[str, np.ndarray]
    blend: dict[str, float]
    default_blend: float
    #: out-of-fold macro-F1 per language: embedding head alone and blended (what the blend weight was picked on)
    oof_f1: dict[str, dict[str, float]]


def tune_blend(P: np.ndarray, Pl: np.ndarray | None, Y: np.ndarray, M: np.ndarray, langs: np.ndarray,
                plan: TrainPlan) -> Tuned:
    """Blend weight and thresholds: pooled over all rows (for any language), and per language (en/ru/uk rows)
    when the plan asks for it. Each blend weight is the one of `plan.blend_grid` whose thresholds give the best
    macro-F1 on these rows; without n-gram probabilities (`Pl` None) it is 0. Weight 0 (the embedding head alone)
    is always tried first: it is the baseline the OOF figures compare with, and wins ties."""
    grid = (0.0, *sorted({a for a in plan.blend_grid if a > 0})) if Pl is not None else (0.0,)

    def best(sel: np.ndarray, smooth: int) -> tuple[float, np.ndarray, float, float]:
        found: list[tuple[float, float, np.ndarray]] = []
        for a in grid:
            Pa = P[sel] if not a else (1 - a) * P[sel] + a * Pl[sel]  # type: ignore[index]
            t = tune_thresholds(Pa, Y[sel], M[sel], smooth=smooth)
            found.append((emotion_macro_f1(Y[sel] & M[sel], (Pa >= t) & M[sel]), -a, t))
        f1, neg_a, t = max(found, key=lambda x: (x[0], x[1]))
        return -neg_a, t, f1, found[0][0]

    default_blend, pooled, f1, f1_alone = best(np.ones(len(Y), dtype=bool), 0)
    out = Tuned(pooled, {}, {}, default_blend, {"all": {"embedding_head": round(f1_alone, 4), "blended": round(f1, 4)}})
    if plan.threshold_per_language:
        for lang in sorted(set(langs.tolist()) & {"en", "ru", "uk"}):
            sel = langs == lang
            a, own, f1, f1_alone = best(sel, plan.threshold_smooth)
            # an emotion this language's rows never mark keeps the pooled threshold
            marked = (Y[sel] & M[sel]).any(axis=0)
            out.per_language[lang] = np.where(marked, own, pooled)
            out.blend[lang] = a
            out.oof_f1[lang] = {"embedding_head": round(f1_alone, 4), "blended": round(f1, 4)}
    return out


def tune_emotion_thresholds(dev: dict[str, tuple[Rows, np.ndarray]], emo: EmotionData, head: tuple[np.ndarray, np.ndarray],
                            H: Any, ngram_fit: NgramFit | None, plan: TrainPlan, seed: int,
                            progress: Progress | None, loaded: Collection[str] = ()) -> tuple[Tuned, str]:
    """The blend weights and thresholds the plan asks for (`threshold_source`), and a note saying how they were
    found (for heads.json); `loaded`: the names of the data sets found."""
    We, be = head
    if plan.threshold_source == "dev" and dev:
        Pd = sigmoid(np.concatenate([x for _, x in dev.values()]) @ We.T + be)
        Pld = ngram_probs(ngram_fit, [t for r, _ in dev.values() for t in r.texts]) if ngram_fit is not None else None
        Yd = np.concatenate([r.emotion for r, _ in dev.values() if r.emotion is not None])
        Md = np.concatenate([np.tile(annotated_mask(r.dataset), (len(r), 1)) for r, _ in dev.values()])
        Ld = np.array([lg for r, _ in dev.values() for lg in r.langs])
        tuned = tune_blend(Pd, Pld, Yd, Md, Ld, plan)
        note = f"tuned per emotion on {', '.join(dev)}; the dev scores below are then in-sample"
    elif emo.threshold_rows.any():
        idx = np.where(emo.threshold_rows)[0]
        P, Pl = oof_probs(emo.X, H, emo.Y, emo.M, emo.W, emo.ngram_rows, idx, plan, seed, progress)
        tuned = tune_blend(P, Pl, emo.Y[idx], emo.M[idx], emo.langs[idx], plan)
        note = (f"tuned per emotion on {plan.cv_folds}-fold out-of-fold predictions for "
                f"{', '.join(n for n in plan.threshold_sets if n in loaded)}; dev is not used")
    else:
        tuned = Tuned(np.full(len(EMOTIONS), 0.5), {}, {}, 0.0, {})
        note = "0.5 (no threshold data)"
    if tuned.per_language:
        note += (f"; pooled over all of them, and per language ({', '.join(sorted(tuned.per_language))}; F1 "
                 f"smoothed over ±{plan.threshold_smooth} grid steps) for texts in that language")
    return tuned, note
