"""The encoder's batch plan and device/dtype choice: texts sorted by length and cut by a token budget on CUDA
(every text once, results in input order), bf16/fp16 picked for a CUDA device — checked on the CPU, with
`torch.cuda` monkeypatched where a GPU would be asked about."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brandpulse.config import ModelConfig
from brandpulse.errors import ModelError
from sentiment.batching import padded_tokens, plan_batches
from sentiment.encoder import Encoder, length_sorted_batches, resolve_cuda_dtype, resolve_device, select_dtype
from tests.tiny_model import tiny_bert_dir

lengths_st = st.lists(st.integers(min_value=0, max_value=600), max_size=300)


@given(lengths=lengths_st, max_tokens=st.integers(min_value=1, max_value=20_000), max_batch=st.integers(1, 2_000))
def test_every_index_once_within_budget_and_longest_first(lengths: list[int], max_tokens: int, max_batch: int) -> None:
    batches = plan_batches(lengths, max_tokens, max_batch)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))  # each text exactly once
    assert all(b for b in batches)
    for b in batches:
        assert len(b) <= max_batch
        # within the token budget, unless one text alone is longer than it
        assert padded_tokens(lengths, b) <= max_tokens or len(b) == 1
    # sorted by length, longest first, across and within batches; ties keep their input order
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    for a, b in pairwise(flat):
        if lengths[a] == lengths[b]:
            assert a < b


@given(lengths=lengths_st, max_batch=st.integers(1, 64))
def test_without_a_budget_it_is_fixed_size_length_sorted_batches(lengths: list[int], max_batch: int) -> None:
    batches = plan_batches(lengths, None, max_batch)
    assert all(len(b) == max_batch for b in batches[:-1])
    assert [i for b in batches for i in b] == sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    ids = [[0] * n for n in lengths]
    assert list(length_sorted_batches(ids, max_batch)) == batches


def test_a_budget_takes_many_short_texts_and_few_long_ones() -> None:
    lengths = [10] * 100 + [500] * 4
    batches = plan_batches(lengths, 2_000, 1_000)
    assert [len(b) for b in batches] == [4, 100]  # 4 × 500 = 2,000 tokens; then 100 × 10
    assert plan_batches([], 2_000, 10) == []
    assert plan_batches([900], 512, 10) == [[0]]  # a text longer than the budget still gets its batch


def test_bigger_batches_give_the_same_embeddings_in_input_order(tmp_path: Path) -> None:
    texts = [("good " * (i % 23 + 1)) + ("bad service " * (i % 4)) + "ok" for i in range(90)] + ["", "great"]
    enc = Encoder(tiny_bert_dir(tmp_path / "tiny"), prefix="", local_files_only=True, max_length=48, device="cpu",
                  workers=1)
    assert enc.batch_tokens is None  # CPU: `batch_size` rows
    by_rows = enc.embed(texts, batch_size=8)
    enc.batch_tokens, enc.max_batch = 200, 64  # what a CUDA encoder does, here on the CPU
    plan = enc.plan(enc._tokenize(texts, 48))
    assert len(plan) < -(-len(texts) // 8) and max(len(b) for b in plan) > 8  # fewer, bigger batches
    np.testing.assert_allclose(enc.embed(texts), by_rows, atol=1e-5)


def _fake_cuda(monkeypatch: pytest.MonkeyPatch, *, bf16: bool) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


@pytest.mark.parametrize(("bf16", "want"), [(True, "bfloat16"), (False, "float16")])
def test_a_cuda_device_computes_in_bf16_or_fp16(monkeypatch: pytest.MonkeyPatch, bf16: bool, want: str) -> None:
    _fake_cuda(monkeypatch, bf16=bf16)
    device = resolve_device("auto")
    assert device == "cuda"
    assert select_dtype(device, cpu_dtype="float32", cuda_dtype="auto") == want
    assert resolve_cuda_dtype(ModelConfig().cuda_dtype) == want  # the default config
    assert resolve_cuda_dtype("float16") == "float16" and resolve_cuda_dtype("float32") == "float32"
    assert select_dtype("cpu", cpu_dtype="float32", cuda_dtype="auto") == "float32"  # the CPU keeps its own setting


def test_no_gpu_means_cpu_and_asking_for_cuda_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ModelError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_cuda_settings_are_validated() -> None:
    cfg = ModelConfig()
    assert (cfg.cuda_dtype, cfg.cuda_batch_tokens, cfg.cuda_max_batch) == ("auto", 32_768, 1_024)
    assert ModelConfig(cuda_dtype=" BFloat16 ").cuda_dtype == "bfloat16"
    with pytest.raises(ValueError, match="cuda_dtype"):
        ModelConfig(cuda_dtype="int8")
    with pytest.raises(ValueError):
        ModelConfig(cuda_batch_tokens=10)
