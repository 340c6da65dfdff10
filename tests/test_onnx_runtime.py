"""`[model] runtime = "onnx"`: the encoder exported to ONNX Runtime (int8) gives the torch encoder's embeddings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from brandpulse.config import ModelConfig
from brandpulse.errors import ConfigError
from sentiment.encoder import Encoder
from sentiment.onnx_runtime import OnnxEncoder
from tests.tiny_model import tiny_bert_dir

TEXTS = ["the service is good", "awful awful service", "great", "ok", "the the the bad ok good great " * 20]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert_dir(tmp_path_factory.mktemp("tiny-encoder"))


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_onnx_fp32_matches_torch_and_marks_its_revision(tiny_dir: Path, tmp_path: Path) -> None:
    ref = Encoder(tiny_dir, prefix="", local_files_only=True, max_length=32)
    onnx = OnnxEncoder(tiny_dir, quantize=False, cache_dir=tmp_path, prefix="", local_files_only=True, max_length=32)
    got = onnx.embed(TEXTS)
    assert got.shape == (len(TEXTS), 32)
    assert _cos(got, ref.embed(TEXTS)).min() > 0.9999
    assert onnx.revision == ref.revision + "+onnx" and onnx.dtype == "float32"
    assert list((tmp_path / "onnx").glob("*.onnx")) == [onnx.onnx_path]


def test_onnx_int8_is_close_and_a_damaged_cache_is_exported_again(tiny_dir: Path, tmp_path: Path) -> None:
    ref = Encoder(tiny_dir, prefix="", local_files_only=True, max_length=32).embed(TEXTS)
    first = OnnxEncoder(tiny_dir, cache_dir=tmp_path, prefix="", local_files_only=True, max_length=32)
    assert first.revision.endswith("+onnx-int8") and first.dtype == "int8"
    assert _cos(first.embed(TEXTS), ref).mean() > 0.98
    first.onnx_path.write_bytes(b"not an onnx file")
    again = OnnxEncoder(tiny_dir, cache_dir=tmp_path, prefix="", local_files_only=True, max_length=32)
    assert again.onnx_path == first.onnx_path
    np.testing.assert_allclose(again.embed(TEXTS), first.embed(TEXTS), atol=1e-5)
    assert _cos(again.embed(TEXTS), ref).mean() > 0.98


def test_runtime_setting_is_validated(tmp_path: Path) -> None:
    from brandpulse.config import load_settings

    assert ModelConfig.model_validate({"runtime": "ONNX"}).runtime == "onnx"
    path = tmp_path / "brandpulse.toml"
    path.write_text('[model]\nruntime = "tensorflow"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"model\.runtime.*torch.*onnx"):
        load_settings(path)


# -- the real model (slow: one export, about 20 s) ----------------------------------------------


@pytest.fixture(scope="module")
def offline() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    yield
    mp.undo()


@pytest.mark.slow
def test_real_model_on_onnx_int8_scores_like_the_torch_model(offline: None) -> None:
    from sentiment.loading import load_scorer
    from sentiment.scorer import EmbeddingScorer
    from tests.test_sentiment_model import EXAMPLES

    onnx = load_scorer(ModelConfig.model_validate({"runtime": "onnx"}))
    torch32 = load_scorer(ModelConfig.model_validate({"cpu_dtype": "float32"}))
    assert isinstance(onnx, EmbeddingScorer) and isinstance(torch32, EmbeddingScorer)
    assert onnx.revision != torch32.revision and "+onnx-int8" in onnx.revision
    texts = [t for pos, neg in EXAMPLES.values() for t in (*pos, *neg)]
    assert _cos(onnx.embed(texts), torch32.embed(texts)).min() > 0.97
    for lang, (pos, neg) in EXAMPLES.items():
        got = [s.label for s in onnx.score(pos + neg, [lang] * 6)]
        assert got == ["positive"] * 3 + ["negative"] * 3, lang
