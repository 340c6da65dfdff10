"""A character n-gram emotion model blended with the embedding head (a second opinion from the surface text).

Hashed character 3–6-grams inside word boundaries (scikit-learn's `HashingVectorizer`, so no vocabulary is
shipped, only weights), log-scaled counts, L2-normalised; one logistic regression per emotion. Its probability
is mixed into the embedding head's per language: p = (1 − a) · p_embedding + a · p_ngrams, with `a` chosen per
language on out-of-fold predictions of the training data (see `sentiment.training`). It catches what the small
encoder smooths over — Russian and Ukrainian inflections, slang, emoji runs — and costs ~1 ms per 100 texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NGRAM_RANGE = (3, 6)
N_FEATURES = 2**18
MAX_CHARS = 2000
FILE = "emotion_ngrams.npz"


def ngram_features(texts: Sequence[str], ngram_range: tuple[int, int] = NGRAM_RANGE,
                   n_features: int = N_FEATURES) -> Any:
    """(n, n_features) sparse CSR rows: hashed char n-grams of each normalised text, log(1 + count), L2 norm 1."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.preprocessing import normalize

    from sentiment.encoder import clean_text
    from sentiment.normalize import normalize_post

    vec = HashingVectorizer(analyzer="char_wb", ngram_range=ngram_range, n_features=n_features,
                            alternate_sign=False, norm=None, lowercase=True, dtype=np.float32)
    prepared = [clean_text(normalize_post(clean_text(t, MAX_CHARS * 2)), MAX_CHARS) for t in texts]
    H = vec.transform(prepared)
    H.data = np.log1p(H.data)
    return normalize(H).tocsr()


@dataclass(frozen=True)
class NgramEmotionHead:
    """Per-emotion logistic regression on `ngram_features`, and how much of it to blend in per language."""

    W: np.ndarray  # (E, n_features) float32, a view of _Wt
    b: np.ndarray  # (E,)
    emotions: tuple[str, ...]
    #: Share of this model in the blended probability, per language; `default_blend` for any other language.
    blend: dict[str, float] = field(default_factory=dict)
    default_blend: float = 0.0
    ngram_range: tuple[int, int] = NGRAM_RANGE
    _Wt: np.ndarray = field(init=False, repr=False, compare=False, default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        # (F, E) contiguous float32: a sparse row times it touches only the rows of the text's n-grams; W becomes
        # a view of it, so the weights are held once
        Wt = np.ascontiguousarray(np.asarray(self.W, dtype=np.float32).T)
        object.__setattr__(self, "_Wt", Wt)
        object.__setattr__(self, "W", Wt.T)

    @property
    def n_features(self) -> int:
        return int(self.W.shape[1])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, E) probabilities from the text's n-grams alone."""
        if len(texts) == 0:
            return np.zeros((0, len(self.emotions)))
        z = np.asarray(ngram_features(texts, self.ngram_range, self.n_features) @ self._Wt, dtype=np.float64) + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def blend_for(self, langs: Sequence[str | None] | None, n: int) -> np.ndarray:
        """(n, 1) blend weights: each row's language's own, else `default_blend`."""
        if langs is None:
            return np.full((n, 1), self.default_blend)
        return np.array([[self.blend.get(lang or "", self.default_blend)] for lang in langs], dtype=np.float64)

    def mix(self, emb_probs: np.ndarray, texts: Sequence[str], langs: Sequence[str | None] | None) -> np.ndarray:
        """The embedding head's probabilities blended with this model's, row by row."""
        a = self.blend_for(langs, len(texts))
        if not a.any():
            return emb_probs
        return (1.0 - a) * emb_probs + a * self.predict_proba(texts)


def save_ngram_head(head: NgramEmotionHead, directory: Path) -> None:
    """`emotion_ngrams.npz`: W as float16 (weights of n-grams never seen in training are exactly 0)."""
    langs = sorted(head.blend)
    np.savez_compressed(
        Path(directory) / FILE, W=head.W.astype(np.float16, order="C"), b=head.b.astype(np.float32),
        emotions=np.array(head.emotions), blend_langs=np.array(langs, dtype=str),
        blend=np.array([head.blend[k] for k in langs], dtype=np.float32),
        default_blend=np.array(head.default_blend, dtype=np.float32), ngram_range=np.array(head.ngram_range),
    )


def load_ngram_head(directory: Path) -> NgramEmotionHead | None:
    """The n-gram head in `directory`, or None when there is none (heads trained without it)."""
    path = Path(directory) / FILE
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        return NgramEmotionHead(
            z["W"].astype(np.float32), z["b"].astype(np.float64), tuple(str(e) for e in z["emotions"]),
            {str(k): float(v) for k, v in zip(z["blend_langs"], z["blend"], strict=True)},
            float(z["default_blend"]), (int(z["ngram_range"][0]), int(z["ngram_range"][1])),
        )
