"""Head training (sentiment/training/) on tiny synthetic data with injected fake embeddings — no real model.

Kept small for the default run: a few hundred rows, 3-fold CV, one shared training run (`trained`) for the
tests that only read its result, and the n-gram model left out where a test does not look at it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from brandpulse.types import EMOTIONS, SENTIMENTS
from sentiment.heads_io import load_heads
from sentiment.scorer import EmbeddingScorer
from sentiment.training import (
    THRESHOLD_GRID,
    TrainPlan,
    cached_embeddings,
    calibrate,
    ece,
    emotion_to_sentiment,
    fit_temperature,
    goemotions_sentiment,
    read_rows,
    softmax,
    train,
    tune_thresholds,
)
from tests.tiny_model import tiny_bert_dir

DIM = 48


def _word_vec(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
    return np.random.default_rng(seed).normal(size=DIM)


class FakeEncoder:
    """Embedding = normalised sum of per-word random vectors (label words carry the signal, ids are noise)."""

    name = "fake-encoder"
    revision = "r1"
    prefix = ""
    dim = DIM

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str], batch_size: int | None = None, max_length: int | None = None) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            v = sum((_word_vec(w) * (2.0 if w.isalpha() else 1.5) for w in t.split()), np.zeros(DIM))
            out[i] = v / (np.linalg.norm(v) or 1.0)
        return out


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def make_data(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for rel, lang, n in (("tweeteval_sentiment/validation.csv", "en", 120), ("rusentitweet/train.csv", "ru", 150)):
        rows = []
        for i in range(n):
            label = SENTIMENTS[i % 3]
            shown = label if rng.random() > 0.2 else SENTIMENTS[int(rng.integers(3))]
            rows.append([f"{shown[:3]} {lang}{i} x{int(rng.integers(50))}", label, lang])
        _write(root / rel, ["text", "label", "lang"], rows)
    for split, n in (("train", 120), ("dev", 60)):
        for lang in ("en", "ru", "uk"):
            rows = []
            for i in range(n):
                labels = [e for e in EMOTIONS if rng.random() < 0.25 and not (lang == "en" and e == "disgust")]
                words = [e for e in labels if rng.random() > 0.2] + [e for e in EMOTIONS if rng.random() < 0.05]
                text = " ".join([*words, f"{lang}{split}{i}", f"x{int(rng.integers(50))}"])
                rows.append([f"{lang}-{split}-{i}", text, ";".join(labels) or "neutral", lang])
            _write(root / f"brighter/{split}_{lang}.csv", ["id", "text", "labels", "lang"], rows)
    return root


PLAN = TrainPlan(
    sentiment_sets=("tweeteval_sentiment/validation", "rusentitweet/train"),
    sentiment_from_emotion=("brighter/train_uk",),
    emotion_sets=("brighter/train_en", "brighter/train_ru", "brighter/train_uk"),
    cv_folds=3,
)
#: PLAN without the n-gram model (the slow part), for tests that look only at other things
NO_NGRAMS = replace(PLAN, blend_grid=(0.0,))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def trained(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One training run with seed 7 and PLAN: (heads.json metadata, heads dir)."""
    out = tmp_path_factory.mktemp("heads")
    return train(data_dir, out, FakeEncoder(), seed=7, plan=PLAN, cache_dir=out / "cache"), out


def _arrays(directory: Path) -> dict[str, np.ndarray]:
    out = {}
    for name in ("sentiment.npz", "emotion.npz"):
        with np.load(directory / name) as z:
            out.update({f"{name}:{k}": z[k] for k in z.files})
    return out


def test_training_is_deterministic_and_tunes_thresholds(trained: tuple[dict[str, Any], Path], data_dir: Path,
                                                        tmp_path: Path) -> None:
    meta, first = trained
    again = train(data_dir, tmp_path / "b", FakeEncoder(), seed=7, plan=PLAN, cache_dir=tmp_path / "cache-b")
    a, b = _arrays(first), _arrays(tmp_path / "b")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert (first / "heads.json").read_text() == (tmp_path / "b" / "heads.json").read_text()
    assert again == meta
    thresholds = np.array(list(meta["emotion"]["thresholds"].values()))
    assert set(np.round(thresholds, 2)) <= set(THRESHOLD_GRID)
    assert not np.allclose(thresholds, 0.5)  # tuned, not the default
    assert meta["version"].startswith("1-") and meta["seed"] == 7
    assert meta["encoder"] == {**meta["encoder"], "name": "fake-encoder", "revision": "r1"}
    names = [d["name"] for d in meta["sentiment"]["data"]]
    assert names == ["tweeteval_sentiment/validation", "rusentitweet/train", "brighter/train_uk (mapped to sentiment)"]
    cv = meta["sentiment"]["metrics"]["cross_validated"]
    assert cv["tweeteval_sentiment/validation"]["all"]["macro_recall"] > 0.6
    calib = meta["sentiment"]["metrics"]["calibration"]
    assert calib["temperature"] > 0 and 0 <= calib["ece_after"] <= 1
    dev = meta["emotion"]["metrics"]["held_out"]
    assert set(dev) == {"brighter/dev_en", "brighter/dev_ru", "brighter/dev_uk"}
    assert "disgust" not in dev["brighter/dev_en"]["per_emotion_f1"]
    assert all(m["macro_f1"] > 0.5 for m in dev.values())

    heads = load_heads(first)
    scorer = EmbeddingScorer(FakeEncoder(), heads)
    got = scorer.score(["pos en1 x1", "neg ru2 x2", "joy anger uk3"])
    assert [s.label for s in got[:2]] == ["positive", "negative"]
    assert "joy" in got[2].emotion_labels


def test_per_language_thresholds_are_tuned_saved_and_used(trained: tuple[dict[str, Any], Path], data_dir: Path,
                                                          tmp_path: Path) -> None:
    meta, out = trained
    by_lang = meta["emotion"]["thresholds_by_language"]
    assert set(by_lang) == {"en", "ru", "uk"}
    assert by_lang["en"]["disgust"] == meta["emotion"]["thresholds"]["disgust"]  # en never marks disgust: pooled
    heads = load_heads(out)
    assert set(heads.emotion.lang_thresholds) == {"en", "ru", "uk"}
    for lang, want in by_lang.items():
        np.testing.assert_allclose(heads.emotion.lang_thresholds[lang], list(want.values()), atol=1e-6)
    rows = heads.emotion.thresholds_for(["uk", None, "other", "ru"], 4)
    np.testing.assert_allclose(rows[0], heads.emotion.lang_thresholds["uk"])
    np.testing.assert_allclose(rows[1], heads.emotion.thresholds)
    np.testing.assert_allclose(rows[2], heads.emotion.thresholds)
    np.testing.assert_allclose(rows[3], heads.emotion.lang_thresholds["ru"])

    flat = train(data_dir, tmp_path / "flat", FakeEncoder(), seed=7,
                 plan=replace(NO_NGRAMS, threshold_per_language=False), cache_dir=tmp_path / "cache")
    assert flat["emotion"]["thresholds_by_language"] == {}
    assert load_heads(tmp_path / "flat").emotion.lang_thresholds == {}


def test_a_different_seed_changes_the_cv_split_but_not_the_api(data_dir: Path, tmp_path: Path) -> None:
    m1 = train(data_dir, tmp_path / "a", FakeEncoder(), seed=1, plan=NO_NGRAMS, cache_dir=tmp_path / "cache")
    m2 = train(data_dir, tmp_path / "b", FakeEncoder(), seed=2, plan=NO_NGRAMS, cache_dir=tmp_path / "cache")
    assert m1["sentiment"]["metrics"]["cross_validated"] != m2["sentiment"]["metrics"]["cross_validated"]


def test_dev_thresholds_and_exclusions(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    plan = replace(PLAN, threshold_source="dev", exclude=("rusentitweet/train",))
    meta = train(data, tmp_path / "h", FakeEncoder(), seed=3, plan=plan, cache_dir=tmp_path / "cache")
    assert "brighter/dev_en" in meta["emotion"]["thresholds_from"]
    assert "rusentitweet/train" not in [d["name"] for d in meta["sentiment"]["data"]]


def test_embeddings_are_cached_per_file_and_encoder(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    rows = read_rows(data, "brighter/dev_uk")
    enc = FakeEncoder()
    first = cached_embeddings(enc, rows, 64, tmp_path / "cache")
    calls = enc.calls
    again = cached_embeddings(enc, rows, 64, tmp_path / "cache")
    assert enc.calls == calls
    np.testing.assert_array_equal(first, again)
    cached_embeddings(enc, rows, 128, tmp_path / "cache")  # another max_length is another entry
    assert enc.calls > calls
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2


def test_threshold_tuning_finds_the_best_cut() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random((400, 2)) < 0.3
    probs = np.where(truth, rng.uniform(0.55, 1.0, truth.shape), rng.uniform(0.0, 0.7, truth.shape))
    mask = np.ones_like(truth)
    mask[:, 1] = False  # emotion 1 is annotated nowhere → stays 0.5
    thr = tune_thresholds(probs, truth, mask)
    assert 0.55 <= thr[0] <= 0.71 and thr[1] == 0.5


def test_temperature_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3.0, size=(20_000, 3))
    true_t = 2.0
    p = softmax(z / true_t)
    y = np.array([rng.choice(3, p=row) for row in p])
    assert fit_temperature(z, y) == pytest.approx(true_t, rel=0.05)
    calib = calibrate(z, y, seed=0)
    assert calib["ece_after"] < calib["ece_before"]
    assert ece(p, y) < 0.02


def test_label_mappings() -> None:
    Y = np.zeros((5, len(EMOTIONS)), dtype=bool)
    Y[0, EMOTIONS.index("joy")] = True
    Y[1, EMOTIONS.index("anger")] = True
    Y[2, [EMOTIONS.index("joy"), EMOTIONS.index("sadness")]] = True
    Y[3, EMOTIONS.index("surprise")] = True
    assert emotion_to_sentiment(Y) == ["positive", "negative", None, None, "neutral"]
    assert goemotions_sentiment(["joy;admiration", "anger", "neutral", "curiosity", "joy;anger"]) == [
        "positive", "negative", "neutral", "neutral", None]
    assert goemotions_sentiment(["curiosity"], ambiguous=None) == [None]


def test_cli_model_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sentiment.loading
    from brandpulse.cli import app

    data = make_data(tmp_path / "data")
    runtimes: list[str] = []

    def fake_load_encoder(cfg: Any, adapter: Any = None) -> FakeEncoder:
        runtimes.append(cfg.runtime)
        return FakeEncoder()

    monkeypatch.setattr(sentiment.loading, "load_encoder", fake_load_encoder)
    monkeypatch.setenv("BRANDPULSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BRANDPULSE_MODEL__RUNTIME", "onnx")  # a scoring setting; training still uses torch
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "heads"
    res = CliRunner().invoke(app, ["model", "train", "--data", str(data), "--out", str(out), "--seed", "5", "--json",
                                   "--thresholds", "dev"])  # the default plan, thresholds without CV (faster)
    assert res.exit_code == 0, res.output
    meta = json.loads(res.output.strip().splitlines()[-1])
    assert meta["seed"] == 5
    assert (out / "sentiment.npz").is_file() and (out / "emotion.npz").is_file()
    assert json.loads((out / "heads.json").read_text())["version"] == meta["version"]
    assert runtimes == ["torch"]
    bad = CliRunner().invoke(app, ["model", "train", "--data", str(data), "--exclude", "no/such"])
    assert bad.exit_code != 0


# -- LoRA adapter on a tiny local BERT (no real model) ---------------------------------------


def _tiny_encoder_dir(path: Path) -> Path:
    words = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", *SENTIMENTS, "pos", "neg", "neu", *EMOTIONS)
    return tiny_bert_dir(path, words, intermediate_size=37, pooler=False)


TINY_ADAPTER = {
    "emotion": (("brighter/train_en", 60, 1), ("brighter/train_uk", 40, 2)),
    "sentiment": (("rusentitweet/train", 80, 1),),
    "epochs": 1.0,
    "batch_size": 16,
    "max_length": 16,
}


def test_lora_adapter_is_deterministic_and_applies(tmp_path: Path) -> None:
    import torch

    from brandpulse.errors import ModelError
    from sentiment.encoder import Encoder, apply_adapter
    from sentiment.training import AdapterPlan, adapter_holdout, train_adapter

    data = make_data(tmp_path / "data")
    model_dir = _tiny_encoder_dir(tmp_path / "tiny")
    plan = AdapterPlan(**TINY_ADAPTER)  # type: ignore[arg-type]
    metas = []
    for run in ("a", "b"):
        enc = Encoder(model_dir, device="cpu", threads=1)
        metas.append(train_adapter(data, enc, tmp_path / run / "encoder_lora.npz", seed=3, plan=plan))
    with np.load(tmp_path / "a" / "encoder_lora.npz") as za, np.load(tmp_path / "b" / "encoder_lora.npz") as zb:
        assert za.files == zb.files
        for k in za.files:
            np.testing.assert_array_equal(za[k], zb[k])
        names = {k[:-2] for k in za.files if k.endswith(".A")}
    assert len(names) == 2 * 6  # 2 layers x (q, k, v, attention out, ffn in, ffn out)
    meta = metas[0]
    assert meta["sha256"] == metas[1]["sha256"] and meta["parameters"] > 0
    assert {d["name"] for d in meta["data"]} == {"brighter/train_en", "brighter/train_uk", "rusentitweet/train"}
    rs = read_rows(data, "rusentitweet/train")
    assert len(adapter_holdout(rs, plan, 3)) == round(0.4 * len(rs))

    plain = Encoder(model_dir, device="cpu")
    adapted = Encoder(model_dir, device="cpu", adapter=tmp_path / "a" / "encoder_lora.npz")
    assert adapted.revision == f"{plain.revision}+lora-{meta['sha256'][:8]}"
    w0 = plain.model.get_submodule("encoder.layer.0.attention.self.query").weight
    w1 = adapted.model.get_submodule("encoder.layer.0.attention.self.query").weight
    assert not torch.equal(w0, w1)
    bad = tmp_path / "bad.npz"
    layer = "encoder.layer.9.output.dense"
    wrong: dict[str, Any] = {f"{layer}.A": np.zeros((2, 37)), f"{layer}.B": np.zeros((32, 2))}
    np.savez(bad, **wrong)
    with pytest.raises(ModelError, match="does not fit"):
        apply_adapter(plain.model, bad)


def test_cli_train_with_lora_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sentiment.training
    from brandpulse.cli import app
    from brandpulse.config import ModelConfig
    from sentiment.loading import load_scorer

    data = make_data(tmp_path / "data")
    model_dir = _tiny_encoder_dir(tmp_path / "tiny")
    original = sentiment.training.train_adapter
    tiny = sentiment.training.AdapterPlan(**TINY_ADAPTER)  # type: ignore[arg-type]
    monkeypatch.setattr(sentiment.training, "train_adapter", lambda d, e, f, **kw: original(d, e, f, plan=tiny, **kw))
    monkeypatch.setattr(sentiment.training, "TrainPlan", lambda: PLAN)  # small (thresholds from dev below: no CV)
    monkeypatch.setenv("BRANDPULSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BRANDPULSE_MODEL__ENCODER", str(model_dir))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "heads"
    args = ["model", "train", "--data", str(data), "--out", str(out), "--thresholds", "dev", "--json"]
    res = CliRunner().invoke(app, [*args, "--lora"])
    assert res.exit_code == 0, res.output
    meta = json.loads(res.output.strip().splitlines()[-1])
    assert meta["encoder"]["adapter"]["file"] == "encoder_lora.npz"
    assert sorted(p.name for p in out.iterdir()) == ["emotion.npz", "emotion_ngrams.npz", "encoder_lora.npz", "heads.json",
                                                     "sentiment.npz"]
    cfg = ModelConfig.model_validate({"encoder": str(model_dir), "heads_dir": str(out), "device": "cpu"})
    scorer = load_scorer(cfg)
    assert "+lora-" in scorer.revision
    assert len(scorer.score(["pos", "neg", ""])) == 3
    # retraining without --lora reuses the kept adapter; --no-adapter drops it (heads without the n-gram model: faster)
    monkeypatch.setattr(sentiment.training, "TrainPlan", lambda: NO_NGRAMS)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    reused = json.loads(again.output.strip().splitlines()[-1])["encoder"]["adapter"]
    assert reused["sha256"] == meta["encoder"]["adapter"]["sha256"]
    plain = CliRunner().invoke(app, [*args, "--no-adapter"])
    assert plain.exit_code == 0, plain.output
    assert not (out / "encoder_lora.npz").exists()
    assert "+lora-" not in load_scorer(cfg).revision


def test_ngram_model_is_blended_where_it_measures_better(trained: tuple[dict[str, Any], Path], data_dir: Path,
                                                        tmp_path: Path) -> None:
    meta, out = trained
    info = meta["emotion"]["ngrams"]
    oof = meta["emotion"]["metrics"]["cross_validated"]
    assert set(oof) == {"all", "en", "ru", "uk"}
    heads = load_heads(out)
    if info is None:  # never better on this data: nothing shipped
        assert heads.emotion.ngrams is None
        assert all(v["blended"] == v["embedding_head"] for v in oof.values())
    else:
        assert heads.emotion.ngrams is not None
        for lang, blend in info["blend"].items():
            assert blend in PLAN.blend_grid
            assert (blend > 0) == (oof[lang]["blended"] > oof[lang]["embedding_head"])
    # the emotion words are in the text itself: the n-gram model alone learns them, so it is worth blending in
    texts = ["joy anger uk1 x3", "sadness ru2 x5"]
    assert heads.emotion.ngrams is not None
    p = heads.emotion.ngrams.predict_proba(texts)
    joy, sad = EMOTIONS.index("joy"), EMOTIONS.index("sadness")
    assert p[0, joy] > p[1, joy] + 0.2 and p[1, sad] > p[0, sad] + 0.2

    off = train(data_dir, tmp_path / "off", FakeEncoder(), seed=7, plan=replace(PLAN, blend_grid=(0.0,)),
                cache_dir=tmp_path / "cache")
    assert off["emotion"]["ngrams"] is None and load_heads(tmp_path / "off").emotion.ngrams is None
    assert off["version"] != meta["version"]
