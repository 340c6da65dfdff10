"""The estimators and measures the heads are fitted and tuned with: logistic regression, temperature scaling,
calibration error, F1 and threshold search. Deterministic for a given seed."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np


def fit_logreg(X: Any, y: np.ndarray, *, C: float, seed: int, class_weight: str | None = "balanced",
               sample_weight: np.ndarray | None = None, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multinomial (or binary) logistic regression; returns (W (k, D), b (k,), classes). Deterministic (lbfgs).

    `X` may be a dense array or a scipy sparse matrix (the n-gram features).
    """
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, class_weight=class_weight, max_iter=3000, tol=tol, random_state=seed)
    clf.fit(X, y, sample_weight=sample_weight)
    return clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64), clf.classes_


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of integer labels `y` under softmax(logits / T)."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T > 0 minimising NLL of softmax(logits / T) (golden-section search on log T; deterministic)."""
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo + (1 - g) * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, y, float(np.exp(a))), nll(logits, y, float(np.exp(b)))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - g) * (hi - lo)
            fa = nll(logits, y, float(np.exp(a)))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, y, float(np.exp(b)))
    return float(np.exp((lo + hi) / 2.0))


def ece(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error of the top-class confidence (equal-width bins)."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += abs(float(correct[sel].mean()) - float(conf[sel].mean())) * float(sel.mean())
    return total


def binary_f1(t: np.ndarray, p: np.ndarray) -> float:
    tp = float(np.sum(t & p))
    denom = float(np.sum(t) + np.sum(p))
    return 2 * tp / denom if denom else 0.0


THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def tune_threshold(probs: np.ndarray, truth: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> tuple[float, float]:
    """The threshold on `probs` maximising binary F1 against `truth` (ties → the one nearest 0.5); (threshold, F1)."""
    best_t, best_f = 0.5, -1.0
    for t in grid:
        f = binary_f1(truth, probs >= t)
        if f > best_f + 1e-12 or (abs(f - best_f) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best_t, best_f = float(t), f
    return best_t, best_f


def tune_thresholds(P: np.ndarray, Y: np.ndarray, M: np.ndarray, smooth: int = 0) -> np.ndarray:
    """Per-emotion thresholds maximising F1 over the rows that annotate that emotion (M); 0.5 where none do.

    `smooth` > 0 averages F1 over a window of ±smooth grid steps before picking (less overfit on small dev sets).
    """
    out = np.full(P.shape[1], 0.5)
    for j in range(P.shape[1]):
        rows = M[:, j]
        if not rows.any() or not Y[rows, j].any():
            continue
        if smooth:
            f = np.array([binary_f1(Y[rows, j], P[rows, j] >= t) for t in THRESHOLD_GRID])
            k = np.ones(2 * smooth + 1) / (2 * smooth + 1)
            fs = np.convolve(np.pad(f, smooth, mode="edge"), k, mode="valid")
            out[j] = float(THRESHOLD_GRID[int(np.argmax(fs))])
        else:
            out[j] = tune_threshold(P[rows, j], Y[rows, j])[0]
    return out


def emotion_macro_f1(Y: np.ndarray, pred: np.ndarray) -> float:
    """SemEval-2025 T11 track A: mean binary F1 over the emotions marked at least once in Y."""
    present = [j for j in range(Y.shape[1]) if Y[:, j].any()]
    return float(np.mean([binary_f1(Y[:, j], pred[:, j]) for j in present])) if present else 0.0


def fit_emotion_head(X: Any, Y: np.ndarray, M: np.ndarray, *, C: float, seed: int,
                     class_weight: str | None = "balanced", sample_weight: np.ndarray | None = None,
                     tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """One binary logistic regression per emotion on the rows that annotate it; (W (E, D), b (E,))."""
    E = Y.shape[1]
    W = np.zeros((E, X.shape[1]))
    b = np.full(E, -5.0)
    for j in range(E):
        rows = M[:, j]
        y = Y[rows, j]
        if not rows.any() or y.all() or not y.any():
            continue
        sw = sample_weight[rows] if sample_weight is not None else None
        w, c, _ = fit_logreg(X[rows], y.astype(int), C=C, seed=seed, class_weight=class_weight, sample_weight=sw,
                             tol=tol)
        W[j], b[j] = w[0], c[0]
    return W, b



def balanced_weights(y: np.ndarray, k: int = 3) -> np.ndarray:
    """Per-row weights that give each class of `y` the same total weight (sklearn's "balanced")."""
    counts = np.bincount(y, minlength=k).astype(float)
    return (len(y) / (k * np.maximum(counts, 1.0)))[y]


def calibrate(logits: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Temperature from out-of-fold logits; ECE/NLL before and after measured on halves not used to fit T."""
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(y)) < len(y) // 2
    before, after, nll_b, nll_a = [], [], [], []
    for fit_rows, test_rows in ((half, ~half), (~half, half)):
        t = fit_temperature(logits[fit_rows], y[fit_rows])
        before.append(ece(softmax(logits[test_rows]), y[test_rows]))
        after.append(ece(softmax(logits[test_rows] / t), y[test_rows]))
        nll_b.append(nll(logits[test_rows], y[test_rows]))
        nll_a.append(nll(logits[test_rows], y[test_rows], t))
    return {
        "temperature": round(fit_temperature(logits, y), 4),
        "ece_before": round(float(np.mean(before)), 4),
        "ece_after": round(float(np.mean(after)), 4),
        "nll_before": round(float(np.mean(nll_b)), 4),
        "nll_after": round(float(np.mean(nll_a)), 4),
        "rows": len(y),
        "method": "T fitted on 5-fold out-of-fold logits; ECE (15 bins) and NLL on the other half of a 2-way split",
    }
