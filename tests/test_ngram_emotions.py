"""The character n-gram emotion model (sentiment/ngram_emotions.py) and how it is blended into the emotion head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.heads_io import HEADS_DIR, EmotionHead, Heads, SentimentHead, load_heads, save_heads
from sentiment.ngram_emotions import FILE, N_FEATURES, NgramEmotionHead, ngram_features
from sentiment.scorer import EmbeddingScorer


class _ZeroEncoder:
    name = "zero"
    revision = "0"
    dim = 8

    def embed(self, texts: list[str], batch_size: int = 32, max_length: int = 128) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)  # every embedding-head probability is 0.5


def _head_that_knows(word: str, emotion: str, blend: dict[str, float], default: float = 0.0) -> NgramEmotionHead:
    """An n-gram head whose only weights are the n-grams of `word`, for `emotion`."""
    W = np.zeros((len(EMOTIONS), N_FEATURES), dtype=np.float32)
    W[EMOTIONS.index(emotion), ngram_features([word]).indices] = 12.0
    return NgramEmotionHead(W, np.full(len(EMOTIONS), -3.0), EMOTIONS, blend, default)


def _heads(ngrams: NgramEmotionHead | None, thresholds: float = 0.6) -> Heads:
    rng = np.random.default_rng(0)
    emo = EmotionHead(np.zeros((len(EMOTIONS), 8)), np.zeros(len(EMOTIONS)), EMOTIONS,
                      np.full(len(EMOTIONS), thresholds), {}, ngrams)
    return Heads(SentimentHead(rng.normal(size=(3, 8)), np.zeros(3), SENTIMENTS), emo, {"version": "t"})


def test_features_are_normalised_and_the_same_for_the_same_text() -> None:
    H = ngram_features(["Жахливий сервіс!!! @bob https://x.y/z", "Жахливий   сервіс!!! @alice https://a.b", "ok"])
    np.testing.assert_allclose(np.sqrt(H.multiply(H).sum(axis=1)).A.ravel(), 1.0, rtol=1e-5)
    # handles and links are normalised away, whitespace collapsed: the first two texts are the same text
    assert (H[0] != H[1]).nnz == 0
    assert (H[0] != H[2]).nnz > 0


def test_broken_texts_get_a_row_and_do_not_stop_the_batch() -> None:
    texts = ["", "\x00\x00", "bad \ud800 surrogate", "x" * 1_000_000, "normal text"]
    H = ngram_features(texts)
    assert H.shape == (5, N_FEATURES)
    assert H[0].nnz == 0 and H[4].nnz > 0


def test_blend_weight_is_per_language() -> None:
    head = _head_that_knows("furious", "anger", {"uk": 0.5, "en": 0.0}, default=0.2)
    scorer = EmbeddingScorer(_ZeroEncoder(), _heads(head))
    texts = ["I am furious", "I am furious", "I am furious"]
    got = scorer.score(texts, ["uk", "en", "other"])
    p_ngram = float(head.predict_proba(["I am furious"])[0, EMOTIONS.index("anger")])
    assert p_ngram > 0.9
    anger = [s.emotions["anger"] for s in got]
    assert anger[0] == pytest.approx(0.5 * 0.5 + 0.5 * p_ngram, abs=1e-4)  # Ukrainian: half and half
    assert anger[1] == pytest.approx(0.5, abs=1e-4)  # English: the embedding head alone
    assert anger[2] == pytest.approx(0.8 * 0.5 + 0.2 * p_ngram, abs=1e-4)  # any other language: the default
    assert "anger" in got[0].emotion_labels and "anger" not in got[1].emotion_labels
    # an emotion the n-grams know nothing about falls under the threshold in the blended rows only
    assert got[0].emotions["joy"] < 0.5 and got[1].emotions["joy"] == pytest.approx(0.5, abs=1e-4)


def test_saved_and_loaded_with_the_heads(tmp_path: Path) -> None:
    head = _head_that_knows("furious", "anger", {"uk": 0.4, "ru": 0.6}, default=0.3)
    save_heads(_heads(head), tmp_path)
    back = load_heads(tmp_path).emotion.ngrams
    assert back is not None and back.blend == pytest.approx({"uk": 0.4, "ru": 0.6}) and back.default_blend == pytest.approx(0.3)
    texts = ["so furious", "fine"]
    np.testing.assert_allclose(back.predict_proba(texts), head.predict_proba(texts), atol=2e-3)  # float16 weights
    save_heads(_heads(None), tmp_path)  # retrained without it: the stale file must go
    assert not (tmp_path / FILE).exists() and load_heads(tmp_path).emotion.ngrams is None


def test_bundled_ngram_model_matches_heads_json() -> None:
    heads = load_heads(HEADS_DIR)
    info = heads.meta["emotion"]["ngrams"]
    ngrams = heads.emotion.ngrams
    assert ngrams is not None and info["file"] == FILE
    assert ngrams.blend == pytest.approx(info["blend"], abs=1e-6)
    assert ngrams.default_blend == pytest.approx(info["blend_other_languages"], abs=1e-6)
    assert ngrams.W.shape == (len(EMOTIONS), N_FEATURES) and ngrams.emotions == EMOTIONS
    oof = heads.meta["emotion"]["metrics"]["cross_validated"]
    for lang, blend in ngrams.blend.items():  # a language blends n-grams in only where that measured better
        assert (blend > 0) == (oof[lang]["blended"] > oof[lang]["embedding_head"])
    assert (HEADS_DIR / FILE).stat().st_size < 4_000_000
    assert json.dumps(info)  # serialisable metadata
