"""`brandpulse model train`: fit the small heads in sentiment/heads/ on frozen encoder embeddings.

Reproducible: every data file is read in file order, embeddings are cached per (file, encoder, settings),
and every estimator gets a fixed seed, so the same data + seed give the same heads bit for bit.

The labelled data (../shared/data) only ever shapes the head *weights*; no text goes into the product.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.ngram_emotions import FILE as NGRAM_FILE
from sentiment.ngram_emotions import NgramEmotionHead, ngram_features

log = logging.getLogger(__name__)

#: Bump when normalize_post or the cache layout changes, so old cached embeddings are not reused.
EMB_CACHE_FORMAT = "1"
#: lbfgs tolerance for the n-gram model (262k sparse features: 1e-6 costs minutes and changes no label)
NGRAM_TOL = 1e-4


class TextEmbedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def revision(self) -> str: ...

    def embed(self, texts: Sequence[str], batch_size: int | None = None, max_length: int | None = None) -> np.ndarray: ...


# -- data sets ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSet:
    """One labelled CSV in the shared data dir and what it may be used for."""

    name: str
    path: str
    task: str  # "sentiment" | "emotion"
    license: str
    #: Emotions the set annotates (an emotion missing here says nothing about a row); None = all six.
    annotated: tuple[str, ...] | None = None
    lang: str | None = None


DATA_SETS: dict[str, DataSet] = {
    d.name: d
    for d in [
        DataSet("tweeteval_sentiment/validation", "tweeteval_sentiment/validation.csv", "sentiment",
                "unknown (TweetEval; Twitter ToS)", lang="en"),
        DataSet("rusentitweet/train", "rusentitweet/train.csv", "sentiment", "none stated (RuSentiTweet)", lang="ru"),
        DataSet("umsab/validation", "umsab/validation.csv", "sentiment", "mixed per source (UMSAB; code Apache-2.0)"),
        DataSet("sentirueval/train2015_banks", "sentirueval/train2015_banks.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        DataSet("sentirueval/train2015_telecom", "sentirueval/train2015_telecom.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        DataSet("sentirueval/test2015_banks", "sentirueval/test2015_banks.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        DataSet("sentirueval/test2015_telecom", "sentirueval/test2015_telecom.csv", "sentiment",
                "none stated (SentiRuEval-2016)", lang="ru"),
        *[
            DataSet(f"brighter/{split}_{lg}", f"brighter/{split}_{lg}.csv", "emotion", "CC BY 4.0 (BRIGHTER / SemEval-2025 T11)",
                    annotated=tuple(e for e in EMOTIONS if not (lg == "en" and e == "disgust")), lang=lg)
            for split in ("train", "dev")
            for lg in ("en", "ru", "uk")
        ],
        DataSet("cedr/train", "cedr/train.csv", "emotion", "Apache-2.0 (CEDR)",
                annotated=tuple(e for e in EMOTIONS if e != "disgust"), lang="ru"),
        DataSet("goemotions/train_sample10k", "goemotions/train_sample10k.csv", "emotion", "Apache-2.0 (GoEmotions)", lang="en"),
        DataSet("goemotions/dev", "goemotions/dev.csv", "emotion", "Apache-2.0 (GoEmotions)", lang="en"),
        DataSet("tweeteval_emotion/train", "tweeteval_emotion/train.csv", "emotion", "unknown (TweetEval; Twitter ToS)",
                annotated=("anger", "joy", "sadness"), lang="en"),
        DataSet("tweeteval_emotion/validation", "tweeteval_emotion/validation.csv", "emotion", "unknown (TweetEval; Twitter ToS)",
                annotated=("anger", "joy", "sadness"), lang="en"),
    ]
}

#: GoEmotions' official sentiment grouping of its 28 labels (google-research goemotions/data/sentiment_mapping.json).
GOEMOTIONS_SENTIMENT = {
    "positive": {"amusement", "excitement", "joy", "love", "desire", "optimism", "caring", "pride", "admiration",
                 "gratitude", "relief", "approval"},
    "negative": {"fear", "nervousness", "remorse", "embarrassment", "disappointment", "sadness", "grief", "disgust",
                 "anger", "annoyance", "disapproval"},
    "ambiguous": {"realization", "surprise", "curiosity", "confusion"},
}


@dataclass
class Rows:
    """The rows of one data file: texts, langs and labels (sentiment str, or an (n, 6) bool emotion matrix)."""

    dataset: DataSet
    path: Path
    texts: list[str]
    langs: list[str]
    sentiment: list[str] = field(default_factory=list)
    emotion: np.ndarray | None = None  # (n, len(EMOTIONS)) bool
    native: list[str] = field(default_factory=list)  # GoEmotions' native labels, ";"-joined

    def __len__(self) -> int:
        return len(self.texts)


def read_rows(data_dir: Path, name: str) -> Rows:
    """Read one registered data set (see DATA_SETS)."""
    ds = DATA_SETS[name]
    path = Path(data_dir) / ds.path
    texts: list[str] = []
    langs: list[str] = []
    sent: list[str] = []
    emo: list[list[bool]] = []
    native: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            texts.append(row.get("text") or "")
            langs.append((row.get("lang") or ds.lang or "").strip())
            native.append(row.get("native_labels") or "")
            if ds.task == "sentiment":
                sent.append((row.get("label") or "").strip().lower())
            else:
                parts = {p.strip().lower() for p in (row.get("labels") or "").split(";")}
                emo.append([e in parts for e in EMOTIONS])
    rows = Rows(ds, path, texts, langs, sent, np.array(emo, dtype=bool).reshape(-1, len(EMOTIONS)) if emo else None, native)
    if ds.task == "sentiment" and set(sent) - set(SENTIMENTS):
        raise ValueError(f"{path}: unexpected sentiment labels {sorted(set(sent) - set(SENTIMENTS))}")
    return rows


def annotated_mask(ds: DataSet) -> np.ndarray:
    """(6,) bool: which of EMOTIONS the set annotates."""
    have = set(ds.annotated) if ds.annotated is not None else set(EMOTIONS)
    return np.array([e in have for e in EMOTIONS], dtype=bool)


# -- embedding cache -------------------------------------------------------------------


def emb_cache_dir() -> Path:
    from sentiment.convert import default_cache_dir

    return default_cache_dir() / "emb"


def _encoder_dtype(encoder: Any) -> str:
    model = getattr(encoder, "model", None)
    dtype = getattr(model, "dtype", None)
    return str(dtype).replace("torch.", "") if dtype is not None else "float32"


def cache_key(file_bytes: bytes, encoder: Any, max_length: int) -> str:
    """sha256 of the file's bytes + everything about the encoder that changes its output."""
    h = hashlib.sha256()
    h.update(file_bytes)
    for part in (EMB_CACHE_FORMAT, encoder.name, encoder.revision, str(max_length), getattr(encoder, "prefix", ""),
                 _encoder_dtype(encoder)):
        h.update(b"\0" + str(part).encode("utf-8"))
    return h.hexdigest()


def embed_texts(encoder: TextEmbedder, texts: Sequence[str], max_length: int = 128, batch_size: int = 64,
                progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Embeddings of `texts` the way the scorer makes them (normalize_post, then the encoder), in chunks."""
    from sentiment.normalize import normalize_post

    prepared = [normalize_post(t) for t in texts]
    dim = int(getattr(encoder, "dim", 0) or 0)
    parts: list[np.ndarray] = []
    chunk = 512
    for i in range(0, len(prepared), chunk):
        parts.append(encoder.embed(prepared[i : i + chunk], batch_size=batch_size, max_length=max_length))
        if progress:
            progress(min(i + chunk, len(prepared)))
    return np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)


def cached_embeddings(encoder: TextEmbedder, rows: Rows, max_length: int = 128, cache_dir: Path | None = None,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Embeddings of a data file's texts, from `<cache>/emb/<sha>.npy` when there, else computed and stored."""
    root = cache_dir or emb_cache_dir()
    key = cache_key(rows.path.read_bytes(), encoder, max_length)
    path = root / f"{key}.npy"
    if path.is_file():
        arr = np.load(path, allow_pickle=False)
        if arr.shape[0] == len(rows):
            if progress:
                progress(len(rows))
            return arr
    arr = embed_texts(encoder, rows.texts, max_length=max_length, progress=progress).astype(np.float32)
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
    return arr


# -- fitting --------------------------------------------------------------------------


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


# -- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainPlan:
    """Which data shapes which head, and how. The defaults are what docs/model-results.md measured best."""

    #: Sentiment sets with a `label` column (each source is class-balanced on its own, then pooled).
    sentiment_sets: tuple[str, ...] = ("tweeteval_sentiment/validation", "rusentitweet/train", "umsab/validation")
    #: Emotion sets whose rows also become sentiment rows: joy → positive; anger/disgust/fear/sadness → negative;
    #: no emotion → neutral; joy together with a negative emotion, or surprise alone → dropped.
    sentiment_from_emotion: tuple[str, ...] = ("brighter/train_uk",)
    #: Emotion sets: per-emotion one-vs-rest logistic regression on the rows that annotate that emotion.
    emotion_sets: tuple[str, ...] = (
        "brighter/train_en", "brighter/train_ru", "brighter/train_uk", "cedr/train", "goemotions/train_sample10k",
        "goemotions/dev", "tweeteval_emotion/train", "tweeteval_emotion/validation",
    )
    #: Sample weight per emotion set (default 1.0): the big non-BRIGHTER sets help, but must not drown BRIGHTER.
    emotion_weights: tuple[tuple[str, float], ...] = (
        ("cedr/train", 0.15), ("goemotions/train_sample10k", 0.15), ("goemotions/dev", 0.15),
        ("tweeteval_emotion/train", 0.15), ("tweeteval_emotion/validation", 0.15),
    )
    #: Thresholds: "train-oof" = tuned on out-of-fold predictions for the rows of `threshold_sets` in the
    #: training data (dev stays a clean test); "dev" = tuned on `dev_sets` (more in-domain, but dev is then no test).
    threshold_source: str = "train-oof"
    threshold_sets: tuple[str, ...] = ("brighter/train_en", "brighter/train_ru", "brighter/train_uk")
    #: Also tune thresholds per language (on that language's threshold rows, F1 smoothed over ±3 grid steps):
    #: annotators and base rates differ by language; other languages keep the pooled thresholds.
    threshold_per_language: bool = True
    threshold_smooth: int = 3
    #: Held-out emotion test (per language); also mapped to sentiment for the Ukrainian/Russian proxies.
    dev_sets: tuple[str, ...] = ("brighter/dev_en", "brighter/dev_ru", "brighter/dev_uk")
    #: Character n-gram emotion model (sentiment.ngram_emotions) trained on these sets and blended into the embedding
    #: head per language, the blend weight picked from `blend_grid` on out-of-fold predictions (0 = not used).
    ngram_sets: tuple[str, ...] = ("brighter/train_en", "brighter/train_ru", "brighter/train_uk")
    ngram_C: float = 16.0
    blend_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    sentiment_C: float = 1.0
    emotion_C: float = 2.0
    cv_folds: int = 5
    max_length: int = 128
    #: Data sets to leave out (e.g. to measure on one of them with `brandpulse eval`).
    exclude: tuple[str, ...] = ()

    def weight(self, name: str) -> float:
        return dict(self.emotion_weights).get(name, 1.0)


def emotion_to_sentiment(Y: np.ndarray) -> list[str | None]:
    """The Ukrainian-proxy mapping of emotion rows to sentiment (see TrainPlan.sentiment_from_emotion)."""
    joy = EMOTIONS.index("joy")
    neg = [EMOTIONS.index(e) for e in ("anger", "disgust", "fear", "sadness")]
    out: list[str | None] = []
    for row in Y:
        j, n = bool(row[joy]), bool(row[neg].any())
        if j and n:
            out.append(None)
        elif j:
            out.append("positive")
        elif n:
            out.append("negative")
        elif not row.any():
            out.append("neutral")
        else:
            out.append(None)  # surprise alone: no polarity
    return out


def _emotion_rows_as_sentiment(rows: Rows) -> tuple[list[int], np.ndarray]:
    """The rows `emotion_to_sentiment` gives a polarity, and those polarities as SENTIMENTS indices."""
    assert rows.emotion is not None
    mapped = emotion_to_sentiment(rows.emotion)
    keep = [i for i, m in enumerate(mapped) if m is not None]
    return keep, np.array([SENTIMENTS.index(str(mapped[i])) for i in keep], dtype=int)


def goemotions_sentiment(native: Sequence[str], ambiguous: str | None = "neutral") -> list[str | None]:
    """GoEmotions' official positive/negative/ambiguous grouping; `neutral` → neutral, mixed pos+neg → None."""
    out: list[str | None] = []
    for nat in native:
        labs = {x.strip() for x in nat.split(";") if x.strip()}
        pos = bool(labs & GOEMOTIONS_SENTIMENT["positive"])
        neg = bool(labs & GOEMOTIONS_SENTIMENT["negative"])
        if pos and neg:
            out.append(None)
        elif pos or neg:
            out.append("positive" if pos else "negative")
        elif labs & GOEMOTIONS_SENTIMENT["ambiguous"]:
            out.append(ambiguous)
        else:
            out.append("neutral" if labs == {"neutral"} else None)
    return out


# -- training ---------------------------------------------------------------------------


Progress = Callable[[str, int, int], None]


@dataclass
class _Source:
    name: str
    X: np.ndarray
    y: np.ndarray  # sentiment: int class index; emotion: (n, E) bool
    langs: list[str]
    rows: int
    mask: np.ndarray | None = None
    weight: float = 1.0


def balanced_weights(y: np.ndarray, k: int = 3) -> np.ndarray:
    """Per-row weights that give each class of `y` the same total weight (sklearn's "balanced")."""
    counts = np.bincount(y, minlength=k).astype(float)
    return (len(y) / (k * np.maximum(counts, 1.0)))[y]


def _sentiment_fit(sources: list[_Source], idx: list[np.ndarray], C: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
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


def sentiment_cv(sources: list[_Source], C: float, seed: int, folds: int, progress: Progress | None = None) -> list[np.ndarray]:
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
        W, b = _sentiment_fit(sources, [sp[f][0] for sp in splits], C, seed)
        for s, sp, o in zip(sources, splits, oof, strict=True):
            te = sp[f][1]
            o[te] = s.X[te] @ W.T + b
        if progress:
            progress("sentiment cross-validation", f + 1, n_folds)
    return oof


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


def _sentiment_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sentiment.evaluate import sentiment_metrics

    m = sentiment_metrics([SENTIMENTS[i] for i in y], [SENTIMENTS[i] for i in pred])
    m.pop("confusion", None)
    return m


def _emotion_scores(Y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sentiment.evaluate import emotion_metrics

    def sets(A: np.ndarray) -> list[frozenset[str]]:
        return [frozenset(e for j, e in enumerate(EMOTIONS) if row[j]) for row in A]

    return emotion_metrics(sets(Y), sets(pred))


@dataclass
class TrainResult:
    heads: Any  # sentiment.heads_io.Heads
    meta: dict[str, Any]


def _load_sources(data_dir: Path, names: Sequence[str], encoder: TextEmbedder, plan: TrainPlan, cache_dir: Path | None,
                  progress: Progress | None) -> dict[str, tuple[Rows, np.ndarray]]:
    out: dict[str, tuple[Rows, np.ndarray]] = {}
    for name in names:
        if name in plan.exclude or name in out:
            continue
        ds = DATA_SETS[name]
        if not (Path(data_dir) / ds.path).is_file():
            log.warning("data set %s is not in %s; training without it", name, data_dir)
            continue
        rows = read_rows(data_dir, name)

        def tick(done: int, _name: str = name, _total: int = len(rows)) -> None:
            if progress:
                progress(f"embedding {_name}", done, _total)

        out[name] = (rows, cached_embeddings(encoder, rows, plan.max_length, cache_dir, progress=tick))
    return out


def train_heads(data_dir: Path, encoder: TextEmbedder, *, seed: int = 13, plan: TrainPlan | None = None,
                cache_dir: Path | None = None, progress: Progress | None = None,
                adapter: dict[str, Any] | None = None) -> TrainResult:
    """Fit both heads on `data_dir`, measure them (CV / held-out dev), and return heads + heads.json metadata."""
    from sentiment.heads_io import EmotionHead, Heads, SentimentHead

    plan = plan or TrainPlan()
    names = [*plan.sentiment_sets, *plan.sentiment_from_emotion, *plan.emotion_sets, *plan.dev_sets]
    data = _load_sources(Path(data_dir), names, encoder, plan, cache_dir, progress)

    # sentiment ----------------------------------------------------------------------------
    sources: list[_Source] = []
    for name in plan.sentiment_sets:
        if name in data:
            rows, X = data[name]
            sources.append(_Source(name, X, np.array([SENTIMENTS.index(s) for s in rows.sentiment]), rows.langs, len(rows)))
    for name in plan.sentiment_from_emotion:
        if name in data:
            rows, X = data[name]
            keep, y = _emotion_rows_as_sentiment(rows)
            sources.append(_Source(f"{name} (mapped to sentiment)", X[keep], y, [rows.langs[i] for i in keep], len(keep)))
    if not sources:
        raise ValueError(f"no sentiment data found in {data_dir}")
    oof = sentiment_cv(sources, plan.sentiment_C, seed, plan.cv_folds, progress)
    y_all = np.concatenate([s.y for s in sources])
    calib = calibrate(np.concatenate(oof), y_all, seed)
    W, b = _sentiment_fit(sources, [np.arange(len(s.y)) for s in sources], plan.sentiment_C, seed)
    T = float(calib["temperature"])
    sent_metrics: dict[str, Any] = {"cross_validated": {}, "held_out": {}, "calibration": calib}
    unseen = _adapter_unseen(data, adapter)
    for s, o in zip(sources, oof, strict=True):
        per = {"all": _sentiment_scores(s.y, o.argmax(1))}
        if s.name in unseen:
            hold = unseen[s.name]
            per["unseen_by_adapter"] = _sentiment_scores(s.y[hold], o[hold].argmax(1))
        for lang in sorted(set(s.langs)):
            sel = np.array([lg == lang for lg in s.langs])
            if sel.sum() and len(set(s.langs)) > 1:
                per[lang] = _sentiment_scores(s.y[sel], o[sel].argmax(1))
        sent_metrics["cross_validated"][s.name] = per
    for name in plan.dev_sets:
        if name in data:
            rows, X = data[name]
            keep, yk = _emotion_rows_as_sentiment(rows)
            pred = (X[keep] @ W.T + b).argmax(1)
            sent_metrics["held_out"][f"{name} (mapped to sentiment)"] = _sentiment_scores(yk, pred)
    if progress:
        progress("sentiment head", 1, 1)

    # emotion ------------------------------------------------------------------------------
    eX, eY, eM, eW, is_thr, is_ngram = [], [], [], [], [], []
    e_lang: list[str] = []
    e_text: list[str] = []
    emo_used: list[tuple[str, int]] = []
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
            emo_used.append((name, len(rows)))
    if not eX:
        raise ValueError(f"no emotion data found in {data_dir}")
    X_e, Y_e, M_e, W_e, thr_rows, ngram_rows = map(np.concatenate, (eX, eY, eM, eW, is_thr, is_ngram))
    L_e = np.array(e_lang)
    We, be = fit_emotion_head(X_e, Y_e, M_e, C=plan.emotion_C, seed=seed, sample_weight=W_e)
    H_e = ngram_features(e_text) if ngram_rows.any() and max(plan.blend_grid, default=0.0) > 0 else None
    ngram_fit: tuple[np.ndarray, np.ndarray] | None = None
    if H_e is not None:
        ngram_fit = fit_emotion_head(H_e[ngram_rows], Y_e[ngram_rows], M_e[ngram_rows], C=plan.ngram_C, seed=seed,
                                     sample_weight=W_e[ngram_rows], tol=NGRAM_TOL)
    if progress:
        progress("emotion head", 1, 1)
    dev = {name: data[name] for name in plan.dev_sets if name in data}
    tuned = _Tuned(np.full(len(EMOTIONS), 0.5), {}, {}, 0.0, {})
    if plan.threshold_source == "dev" and dev:
        Xd = np.concatenate([x for _, x in dev.values()])
        Pd = sigmoid(Xd @ We.T + be)
        Pld = (sigmoid(ngram_features([t for r, _ in dev.values() for t in r.texts]) @ ngram_fit[0].T + ngram_fit[1])
               if ngram_fit is not None else None)
        Yd = np.concatenate([r.emotion for r, _ in dev.values() if r.emotion is not None])
        Md = np.concatenate([np.tile(annotated_mask(r.dataset), (len(r), 1)) for r, _ in dev.values()])
        Ld = np.array([lg for r, _ in dev.values() for lg in r.langs])
        tuned = _tune_blend(Pd, Pld, Yd, Md, Ld, plan)
        thr_note = f"tuned per emotion on {', '.join(dev)}; the dev scores below are then in-sample"
    elif thr_rows.any():
        idx = np.where(thr_rows)[0]
        P, Pl = _oof_probs(X_e, H_e, Y_e, M_e, W_e, ngram_rows, idx, plan, seed, progress)
        tuned = _tune_blend(P, Pl, Y_e[idx], M_e[idx], L_e[idx], plan)
        thr_note = (f"tuned per emotion on {plan.cv_folds}-fold out-of-fold predictions for "
                    f"{', '.join(n for n in plan.threshold_sets if n in data)}; dev is not used")
    else:
        thr_note = "0.5 (no threshold data)"
    if tuned.per_language:
        thr_note += (f"; pooled over all of them, and per language ({', '.join(sorted(tuned.per_language))}; F1 "
                     f"smoothed over ±{plan.threshold_smooth} grid steps) for texts in that language")
    ngram_head = None
    if ngram_fit is not None and (tuned.default_blend > 0 or any(v > 0 for v in tuned.blend.values())):
        ngram_head = NgramEmotionHead(ngram_fit[0].astype(np.float16).astype(np.float32), ngram_fit[1],
                                      tuple(EMOTIONS), tuned.blend, tuned.default_blend)
    emo_head = EmotionHead(We.astype(np.float32), be.astype(np.float32), tuple(EMOTIONS),
                           tuned.pooled.astype(np.float32),
                           {k: v.astype(np.float32) for k, v in tuned.per_language.items()}, ngram_head)
    thresholds, lang_thresholds = emo_head.thresholds, emo_head.lang_thresholds
    emo_metrics: dict[str, Any] = {}
    for name, (rows, X) in dev.items():
        assert rows.emotion is not None
        m = annotated_mask(rows.dataset)
        pred = (emo_head.probs(X, rows.texts, rows.langs) >= emo_head.thresholds_for(rows.langs, len(rows))) & m
        emo_metrics[name] = _emotion_scores(rows.emotion & m, pred)

    # heads + metadata -------------------------------------------------------------------------
    sent_head = SentimentHead(W.astype(np.float32), b.astype(np.float32), tuple(SENTIMENTS), T)
    digest = hashlib.sha256()
    for arr in (sent_head.W, sent_head.b, np.float32(T), emo_head.W, emo_head.b, emo_head.thresholds,
                *(emo_head.lang_thresholds[k] for k in sorted(emo_head.lang_thresholds))):
        digest.update(np.ascontiguousarray(arr).tobytes())
    if ngram_head is not None:
        digest.update(np.ascontiguousarray(ngram_head.W.astype(np.float16)).tobytes())
        digest.update(json.dumps([sorted(ngram_head.blend.items()), ngram_head.default_blend]).encode())
    meta = {
        "format": 1,
        "version": f"1-{digest.hexdigest()[:8]}",
        "created_by": "brandpulse model train",
        "seed": seed,
        "encoder": {"name": encoder.name, "revision": encoder.revision, "max_length": plan.max_length,
                    "prefix": getattr(encoder, "prefix", ""), "embeddings_dtype": _encoder_dtype(encoder),
                    "pooling": "mean over tokens, L2-normalised", **({"adapter": adapter} if adapter else {})},
        "sentiment": {
            "classes": list(SENTIMENTS),
            "model": f"multinomial logistic regression, C={plan.sentiment_C}, each source class-balanced",
            "temperature": round(T, 4),
            "data": [_data_entry(s.name, s.rows) for s in sources],
            "metrics": sent_metrics,
        },
        "emotion": {
            "emotions": list(EMOTIONS),
            "model": f"one-vs-rest logistic regression per emotion, C={plan.emotion_C}, class-balanced, "
                     "trained on the rows that annotate the emotion",
            "thresholds": {e: round(float(t), 2) for e, t in zip(EMOTIONS, thresholds, strict=True)},
            "thresholds_by_language": {lang: {e: round(float(x), 2) for e, x in zip(EMOTIONS, t, strict=True)}
                                       for lang, t in sorted(lang_thresholds.items())},
            "thresholds_from": thr_note,
            "data": [_data_entry(n, k, plan.weight(n)) for n, k in emo_used],
            "ngrams": ({"model": f"one-vs-rest logistic regression per emotion on hashed character "
                                 f"{ngram_head.ngram_range[0]}-{ngram_head.ngram_range[1]}-grams "
                                 f"({ngram_head.n_features} features), C={plan.ngram_C}, class-balanced",
                        "file": NGRAM_FILE, "data": [n for n in plan.ngram_sets if n in data],
                        "blend": {k: round(v, 2) for k, v in sorted(ngram_head.blend.items())},
                        "blend_other_languages": round(ngram_head.default_blend, 2)}
                       if ngram_head is not None else None),
            "metrics": {"held_out": emo_metrics, "cross_validated": tuned.oof_f1},
        },
    }
    return TrainResult(Heads(sent_head, emo_head, meta), meta)


def _adapter_unseen(data: dict[str, tuple[Rows, np.ndarray]], adapter: dict[str, Any] | None) -> dict[str, np.ndarray]:
    """Row indices of each sentiment set that the encoder adapter never saw (its stratified holdout)."""
    hold = (adapter or {}).get("holdout") or {}
    out: dict[str, np.ndarray] = {}
    for name in hold.get("sets", []):
        if name in data:
            plan = AdapterPlan(holdout=float(hold["fraction"]))
            out[name] = adapter_holdout(data[name][0], plan, int(hold["seed"]))
    return out


def _data_entry(name: str, rows: int, weight: float | None = None) -> dict[str, Any]:
    base = name.split(" (")[0]
    ds = DATA_SETS.get(base)
    entry: dict[str, Any] = {"name": name, "rows": rows, "license": ds.license if ds else "unknown"}
    if weight is not None and weight != 1.0:
        entry["weight"] = weight
    return entry


def _oof_probs(X: np.ndarray, H: Any, Y: np.ndarray, M: np.ndarray, W: np.ndarray, ngram_rows: np.ndarray,
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
class _Tuned:
    pooled: np.ndarray
    per_language: dict[str, np.ndarray]
    blend: dict[str, float]
    default_blend: float
    #: out-of-fold macro-F1 per language: embedding head alone and blended (what the blend weight was picked on)
    oof_f1: dict[str, dict[str, float]]


def _tune_blend(P: np.ndarray, Pl: np.ndarray | None, Y: np.ndarray, M: np.ndarray, langs: np.ndarray,
                plan: TrainPlan) -> _Tuned:
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
    out = _Tuned(pooled, {}, {}, default_blend, {"all": {"embedding_head": round(f1_alone, 4), "blended": round(f1, 4)}})
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


def train(data_dir: Path, out_dir: Path, encoder: TextEmbedder, *, seed: int = 13, plan: TrainPlan | None = None,
          cache_dir: Path | None = None, progress: Progress | None = None,
          adapter: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train, write sentiment.npz / emotion.npz / heads.json into `out_dir`, return the metadata.

    `adapter`: metadata of the LoRA adapter already applied to `encoder` (its file must be in `out_dir`).
    """
    from sentiment.heads_io import save_heads

    result = train_heads(data_dir, encoder, seed=seed, plan=plan, cache_dir=cache_dir, progress=progress,
                         adapter=adapter)
    save_heads(result.heads, Path(out_dir))
    return result.meta


# -- LoRA adapter for the encoder (optional, slow on CPU) -----------------------------------

ADAPTER_FILE = "encoder_lora.npz"
#: Linear layers of each BERT block that get a low-rank update (attention q/k/v/out and both FFN layers).
LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                "intermediate.dense", "output.dense")


@dataclass(frozen=True)
class AdapterPlan:
    """Multi-task LoRA fine-tuning of the encoder: sentiment (3-way) + emotion (6 x binary) on the pooled embedding.

    TweetEval sentiment and every dev set are never used, and `holdout` of each `sentiment_holdout` set is kept
    out, so the heads trained afterwards can still be measured on data the encoder never saw.
    """

    #: (data set, rows to sample or None for all, times repeated)
    emotion: tuple[tuple[str, int | None, int], ...] = (
        ("brighter/train_en", None, 1), ("brighter/train_ru", None, 1), ("brighter/train_uk", None, 1),
        ("cedr/train", 2500, 1), ("goemotions/train_sample10k", 2500, 1),
    )
    sentiment: tuple[tuple[str, int | None, int], ...] = (
        ("rusentitweet/train", 3500, 1), ("umsab/validation", None, 1),
        ("sentirueval/train2015_banks", 1500, 1), ("sentirueval/train2015_telecom", 1500, 1),
    )
    #: Sets of which a stratified `holdout` fraction is never shown to the adapter (for measurement).
    sentiment_holdout: tuple[str, ...] = ("rusentitweet/train",)
    holdout: float = 0.4
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    epochs: float = 2.0
    batch_size: int = 32
    lr: float = 3e-4
    head_lr: float = 3e-3
    max_length: int = 64
    #: Scale of the L2-normalised embedding inside the training heads (cosine-softmax style).
    scale: float = 20.0


def adapter_holdout(rows: Rows, plan: AdapterPlan, seed: int) -> np.ndarray:
    """Row indices of a sentiment set that the adapter never sees (stratified by label, fixed by `seed`)."""
    from sklearn.model_selection import train_test_split

    y = np.array([SENTIMENTS.index(s) for s in rows.sentiment])
    _, hold = train_test_split(np.arange(len(y)), test_size=plan.holdout, stratify=y, random_state=seed)
    return np.sort(hold)


def train_adapter(data_dir: Path, encoder: Any, out_file: Path, *, seed: int = 13, plan: AdapterPlan | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Fine-tune LoRA matrices on `encoder.model` (in place is avoided: a copy is trained) and save them.

    Saves `<module>.A` (r, in) and `<module>.B` (out, r; already multiplied by alpha/r) as float16 in
    `out_file`; `sentiment.encoder.apply_adapter` adds B @ A to each weight. Deterministic for a given seed
    and torch thread count. Returns the adapter's metadata (for heads.json).
    """
    import copy
    import math

    import torch
    from torch import nn

    from sentiment.encoder import _pad, mean_pool
    from sentiment.normalize import normalize_post

    cfg: AdapterPlan = plan or AdapterPlan()
    plan = cfg
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(encoder.model).float().train()
    for p in model.parameters():
        p.requires_grad_(False)

    class LoRALinear(nn.Module):
        def __init__(self, base: nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.scale = cfg.alpha / cfg.rank
            self.A = nn.Parameter(torch.empty(cfg.rank, base.in_features))
            nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
            self.B = nn.Parameter(torch.zeros(base.out_features, cfg.rank))
            self.drop = nn.Dropout(cfg.dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (self.drop(x) @ self.A.T @ self.B.T) * self.scale

    lora: dict[str, LoRALinear] = {}
    for name, mod in list(model.named_modules()):
        if isinstance(mod, nn.Linear) and ".layer." in name and any(name.endswith(t) for t in LORA_TARGETS):
            parent, child = name.rsplit(".", 1)
            wrapped = LoRALinear(mod)
            setattr(model.get_submodule(parent), child, wrapped)
            lora[name] = wrapped

    texts: list[str] = []
    sent: list[int] = []
    emo: list[np.ndarray] = []
    emask: list[np.ndarray] = []
    used: list[dict[str, Any]] = []
    zeros = np.zeros(len(EMOTIONS), dtype=bool)

    def add(name: str, n: int | None, repeat: int, task: str) -> None:
        if not (Path(data_dir) / DATA_SETS[name].path).is_file():
            log.warning("data set %s is missing; the adapter is trained without it", name)
            return
        rows = read_rows(data_dir, name)
        idx = np.arange(len(rows))
        if task == "sentiment" and name in plan.sentiment_holdout:
            idx = np.setdiff1d(idx, adapter_holdout(rows, plan, seed))
        if n is not None and n < len(idx):
            idx = np.sort(rng.choice(idx, n, replace=False))
        mask = annotated_mask(rows.dataset) if task == "emotion" else zeros
        for _ in range(repeat):
            for i in idx:
                texts.append(rows.texts[i])
                sent.append(SENTIMENTS.index(rows.sentiment[i]) if task == "sentiment" else -1)
                emo.append(rows.emotion[i] if task == "emotion" and rows.emotion is not None else zeros)
                emask.append(mask)
        used.append({"name": name, "task": task, "rows": len(idx), "repeat": repeat, "license": rows.dataset.license})

    for name, n, rep in plan.emotion:
        add(name, n, rep, "emotion")
    for name, n, rep in plan.sentiment:
        add(name, n, rep, "sentiment")
    if not texts:
        raise ValueError(f"no adapter training data found in {data_dir}")
    ids = encoder._tokenize([normalize_post(t) for t in texts], plan.max_length)
    y_s = np.array(sent)
    Y_e = np.array(emo, dtype=np.float32)
    M_e = np.array(emask, dtype=np.float32)
    have = y_s[y_s >= 0]
    class_w = torch.tensor(len(have) / (3 * np.maximum(np.bincount(have, minlength=3), 1)), dtype=torch.float32)
    pos = (Y_e * M_e).sum(0)
    neg = ((1 - Y_e) * M_e).sum(0)
    pos_w = torch.tensor(np.sqrt(neg / np.maximum(pos, 1.0)), dtype=torch.float32)
    head_s = nn.Linear(encoder.dim, len(SENTIMENTS))
    head_e = nn.Linear(encoder.dim, len(EMOTIONS))
    opt = torch.optim.AdamW(
        [{"params": [p for m in lora.values() for p in (m.A, m.B)], "lr": plan.lr},
         {"params": [*head_s.parameters(), *head_e.parameters()], "lr": plan.head_lr}],
        weight_decay=0.01,
    )
    total = max(1, int(math.ceil(len(ids) / plan.batch_size) * plan.epochs))
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / total))
    order_rng = np.random.default_rng(seed)
    step = 0
    while step < total:
        perm = order_rng.permutation(len(ids))
        batches: list[list[int]] = []
        chunk = plan.batch_size * 50  # similar lengths inside a batch, random order across batches
        for c in range(0, len(perm), chunk):
            part = sorted(perm[c : c + chunk].tolist(), key=lambda i: len(ids[i]))
            batches += [part[i : i + plan.batch_size] for i in range(0, len(part), plan.batch_size)]
        order_rng.shuffle(batches)
        for b in batches:
            if step >= total:
                break
            inp, m = _pad([ids[i] for i in b], encoder.pad_id)
            mask_t = torch.from_numpy(m)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                hidden = model(input_ids=torch.from_numpy(inp), attention_mask=mask_t).last_hidden_state
            e = nn.functional.normalize(mean_pool(hidden.float(), mask_t), dim=1) * plan.scale
            loss = torch.zeros(())
            sb = torch.from_numpy(y_s[b])
            if bool((sb >= 0).any()):
                keep = sb >= 0
                loss = loss + nn.functional.cross_entropy(head_s(e[keep]), sb[keep], weight=class_w)
            em = torch.from_numpy(M_e[b])
            if float(em.sum()) > 0:
                bce = nn.functional.binary_cross_entropy_with_logits(head_e(e), torch.from_numpy(Y_e[b]), pos_weight=pos_w,
                                                                     reduction="none")
                loss = loss + (bce * em).sum() / em.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress:
                progress("LoRA fine-tuning of the encoder", step, total)
    arrays: dict[str, Any] = {}
    for name, layer in lora.items():
        arrays[f"{name}.A"] = layer.A.detach().numpy().astype(np.float16)
        arrays[f"{name}.B"] = (layer.B.detach() * layer.scale).numpy().astype(np.float16)
    meta = {
        "method": f"LoRA r={plan.rank}, alpha={plan.alpha}, on {', '.join(LORA_TARGETS)} of every layer; "
                  f"multi-task sentiment + emotion, {plan.epochs} epochs, lr {plan.lr}, max_length {plan.max_length}, "
                  "bf16 autocast on CPU",
        "data": used,
        "never_seen": ["tweeteval_sentiment/validation", "brighter/dev_*",
                       *[f"{n}: a stratified {plan.holdout:.0%} (seed {seed})" for n in plan.sentiment_holdout]],
        "holdout": {"sets": list(plan.sentiment_holdout), "fraction": plan.holdout, "seed": seed},
        "parameters": int(sum(a.size for a in arrays.values())),
        "seed": seed,
        "torch_threads": int(torch.get_num_threads()),
    }
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_file, **arrays, meta=np.array(json.dumps(meta, ensure_ascii=False)))
    return read_adapter_meta(out_file)


def read_adapter_meta(path: Path) -> dict[str, Any]:
    """The metadata saved inside an adapter file, plus its file name and sha256."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    return {"file": Path(path).name, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), **meta}
