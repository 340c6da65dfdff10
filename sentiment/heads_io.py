"""Small trained heads on top of the encoder's sentence embeddings (kept in the repo).

Files in sentiment/heads/:
- `sentiment.npz`: `W` (3, D), `b` (3,), `classes` (3,) str, `temperature` () — softmax(xWᵀ+b / T)
- `emotion.npz`:   `W` (E, D), `b` (E,), `emotions` (E,) str, `thresholds` (E,) — sigmoid per emotion;
                   optional `thresholds__<lang>` (E,) — thresholds for texts in that language
- `emotion_ngrams.npz` (optional): a character n-gram emotion model blended into the emotion head per
                   language (see `sentiment.ngram_emotions`)
- `heads.json`:    version, encoder name/revision, training data and metrics (see MODEL_CARD.md)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brandpulse.errors import ModelError
from sentiment.ngram_emotions import FILE as NGRAM_FILE
from sentiment.ngram_emotions import NgramEmotionHead, load_ngram_head, save_ngram_head

HEADS_DIR = Path(__file__).resolve().parent / "heads"


@dataclass(frozen=True)
class SentimentHead:
    W: np.ndarray
    b: np.ndarray
    classes: tuple[str, ...]
    temperature: float = 1.0

    def predict_proba(self, emb: np.ndarray) -> np.ndarray:
        logits = (emb @ self.W.T + self.b) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class EmotionHead:
    W: np.ndarray
    b: np.ndarray
    emotions: tuple[str, ...]
    thresholds: np.ndarray
    #: Per-language thresholds (en/ru/uk); languages not here use `thresholds`.
    lang_thresholds: dict[str, np.ndarray] = field(default_factory=dict)
    #: Optional character n-gram model mixed in per language (None: the embedding head alone).
    ngrams: NgramEmotionHead | None = None

    def predict_proba(self, emb: np.ndarray) -> np.ndarray:
        """The embedding head's probabilities alone (what training fits; `probs` is what scoring uses)."""
        z = emb @ self.W.T + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def probs(self, emb: np.ndarray, texts: Sequence[str], langs: Sequence[str | None] | None) -> np.ndarray:
        """(n, E) emotion probabilities of `texts` (whose embeddings are `emb`), n-gram model blended in."""
        p = self.predict_proba(emb)
        return self.ngrams.mix(p, texts, langs) if self.ngrams is not None else p

    def thresholds_for(self, langs: Sequence[str | None] | None, n: int) -> np.ndarray:
        """(n, E) thresholds: each row's language's own, or the pooled ones when unknown / not tuned."""
        out = np.tile(np.asarray(self.thresholds, dtype=np.float64), (n, 1))
        if langs is not None and self.lang_thresholds:
            for i, lang in enumerate(langs):
                own = self.lang_thresholds.get(lang or "")
                if own is not None:
                    out[i] = own
        return out


@dataclass(frozen=True)
class Heads:
    sentiment: SentimentHead
    emotion: EmotionHead
    meta: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "0"))


def save_heads(heads: Heads, directory: Path = HEADS_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    s, e = heads.sentiment, heads.emotion
    np.savez_compressed(
        directory / "sentiment.npz",
        W=s.W.astype(np.float32), b=s.b.astype(np.float32), classes=np.array(s.classes),
        temperature=np.array(s.temperature, dtype=np.float32),
    )
    arrays: dict[str, np.ndarray] = {
        "W": e.W.astype(np.float32), "b": e.b.astype(np.float32), "emotions": np.array(e.emotions),
        "thresholds": e.thresholds.astype(np.float32),
        **{f"thresholds__{lang}": t.astype(np.float32) for lang, t in sorted(e.lang_thresholds.items())},
    }
    np.savez_compressed(directory / "emotion.npz", **arrays)  # type: ignore[arg-type]
    (directory / NGRAM_FILE).unlink(missing_ok=True)
    if e.ngrams is not None:
        save_ngram_head(e.ngrams, directory)
    (directory / "heads.json").write_text(json.dumps(heads.meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_heads(directory: Path = HEADS_DIR) -> Heads:
    try:
        with np.load(directory / "sentiment.npz", allow_pickle=False) as z:
            sent = SentimentHead(z["W"], z["b"], tuple(str(c) for c in z["classes"]), float(z["temperature"]))
        with np.load(directory / "emotion.npz", allow_pickle=False) as z:
            by_lang = {k.split("__", 1)[1]: z[k] for k in z.files if k.startswith("thresholds__")}
            emo = EmotionHead(z["W"], z["b"], tuple(str(c) for c in z["emotions"]), z["thresholds"], by_lang,
                              load_ngram_head(directory))
        meta = json.loads((directory / "heads.json").read_text(encoding="utf-8"))
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(
            f"model heads in {directory} are missing or damaged ({exc.__class__.__name__}: {exc})",
            hint="Reinstall brandpulse, or retrain them with `brandpulse model train`.",
        ) from None
    return Heads(sent, emo, meta)
