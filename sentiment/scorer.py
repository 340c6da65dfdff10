"""Batched scoring: texts → sentiment (neg/neu/pos + calibrated confidence) and emotions.

preprocess (normalise) → forward (encoder, batched) → postprocess (heads, thresholds) are kept apart.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from brandpulse.errors import ModelError
from brandpulse.types import SENTIMENTS, SentimentScore
from sentiment.heads_io import Heads
from sentiment.normalize import normalize_post

log = logging.getLogger(__name__)


class Scorer(Protocol):
    name: str
    revision: str

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[SentimentScore]:
        """Score `texts`; `langs` (en/ru/uk/other per text, when known) picks language-specific thresholds."""
        ...


class TextEncoder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def revision(self) -> str: ...

    def embed(self, texts: list[str], batch_size: int = 32, max_length: int = 128) -> np.ndarray: ...


def postprocess(
    probs: np.ndarray,
    classes: Sequence[str],
    emo_probs: np.ndarray,
    emotions: Sequence[str],
    thresholds: np.ndarray,
    uncertain_threshold: float,
    model: str,
    revision: str,
) -> list[SentimentScore]:
    """Rows of class probabilities → SentimentScore, with "uncertain" below the confidence threshold.

    `thresholds`: (E,) for every row, or (n, E) per row (language-specific emotion thresholds).
    """
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), emo_probs.shape)
    order = [list(classes).index(c) for c in SENTIMENTS]
    probs = probs[:, order]
    out: list[SentimentScore] = []
    for i in range(probs.shape[0]):
        p = probs[i]
        top = int(np.argmax(p))
        conf = float(p[top])
        label = SENTIMENTS[top] if conf >= uncertain_threshold else "uncertain"
        emo = {e: round(float(emo_probs[i, j]), 4) for j, e in enumerate(emotions)}
        active = tuple(e for j, e in enumerate(emotions) if emo_probs[i, j] >= thresholds[i, j])
        out.append(
            SentimentScore(
                label=label,
                probs={c: round(float(p[k]), 4) for k, c in enumerate(SENTIMENTS)},
                confidence=round(conf, 4),
                emotions=emo,
                model=model,
                revision=revision,
                emotion_labels=active,
            )
        )
    return out


class EmbeddingScorer:
    """The default: a sentence encoder (multilingual-e5-small) plus the small heads in sentiment/heads/."""

    def __init__(
        self, encoder: TextEncoder, heads: Heads, *, uncertain_threshold: float = 0.45, batch_size: int = 32,
        max_length: int = 128,
    ) -> None:
        self.encoder = encoder
        self.heads = heads
        self.uncertain_threshold = uncertain_threshold
        self.batch_size = batch_size
        self.max_length = max_length
        self.name = f"{encoder.name}+heads"
        self.revision = f"{encoder.revision}/h{heads.version}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.embed([normalize_post(t) for t in texts], self.batch_size, self.max_length)

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[SentimentScore]:
        if not texts:
            return []
        emb = self.embed(texts)
        return self.score_embeddings(emb, texts, texts_langs(self.heads, texts, langs))

    def score_embeddings(self, emb: np.ndarray, texts: Sequence[str],
                         langs: Sequence[str | None] | None = None) -> list[SentimentScore]:
        """Scores of `texts` from their embeddings `emb` (the emotion n-gram model reads the texts themselves)."""
        h = self.heads
        return postprocess(
            h.sentiment.predict_proba(emb), h.sentiment.classes, h.emotion.probs(emb, texts, langs), h.emotion.emotions,
            h.emotion.thresholds_for(langs, emb.shape[0]), self.uncertain_threshold, self.name, self.revision,
        )


def texts_langs(heads: Heads, texts: Sequence[str], langs: Sequence[str | None] | None) -> Sequence[str | None] | None:
    """The languages to pick emotion thresholds (and n-gram blend) by: the given ones, else detected — when the
    heads have anything per language."""
    ngrams = heads.emotion.ngrams
    if not heads.emotion.lang_thresholds and not (ngrams is not None and ngrams.blend):
        return None
    if langs is None:
        langs = [None] * len(texts)
    missing = [i for i, lang in enumerate(langs) if not lang]
    if not missing:
        return langs
    from sentiment.langid import detect_many

    found = dict(zip(missing, detect_many([texts[i] for i in missing]), strict=True))
    return [lang or found[i] for i, lang in enumerate(langs)]


def heads_adapter(heads: Heads, heads_dir: Path) -> Path | None:
    """The encoder adapter (LoRA) file the heads were trained with, checked against heads.json; None if none."""
    info = (heads.meta.get("encoder") or {}).get("adapter")
    if not info:
        return None
    path = heads_dir / str(info.get("file", ""))
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"the heads in {heads_dir} need the encoder adapter {path.name}, which cannot be read ({exc})",
                         hint="Reinstall brandpulse, or retrain with `brandpulse model train`.") from None
    if info.get("sha256") and digest != info["sha256"]:
        raise ModelError(f"encoder adapter {path} does not match heads.json (sha256 {digest[:12]}…)",
                         hint="Reinstall brandpulse, or retrain with `brandpulse model train`.")
    return path
