"""`[model] cpu_workers`: several batches at once on the CPU give the same embeddings as one at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brandpulse.config import ModelConfig
from sentiment.encoder import Encoder, plan_cpu_workers
from tests.tiny_model import tiny_bert_dir

TEXTS = [("good " * (i % 17 + 1)) + ("bad service " * (i % 5)) + "ok" for i in range(150)] + ["", "\x00", "great"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert_dir(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.mark.parametrize(("workers", "threads", "want"), [
    (0, 2, (2, 1)), (0, 16, (4, 4)), (0, 1, (1, 1)), (1, 8, (1, 8)), (3, 2, (2, 1)), (2, 8, (2, 4)),
])
def test_worker_plan(workers: int, threads: int, want: tuple[int, int]) -> None:
    assert plan_cpu_workers(workers, threads) == want


def test_batches_on_workers_give_the_same_embeddings_in_input_order(tiny_dir: Path) -> None:
    import torch

    before = torch.get_num_threads()
    one = Encoder(tiny_dir, prefix="", local_files_only=True, max_length=32, device="cpu", workers=1)
    two = Encoder(tiny_dir, prefix="", local_files_only=True, max_length=32, device="cpu", workers=2, threads=2)
    assert one.workers == 1 and two.workers == 2 and two.threads_per_worker == 1
    a = one.embed(TEXTS, batch_size=8)
    b = two.embed(TEXTS, batch_size=8)
    np.testing.assert_allclose(a, b, atol=1e-5)
    # each text's row is its own: the same text alone gives the same vector
    np.testing.assert_allclose(two.embed([TEXTS[37]]), a[37:38], atol=1e-5)
    # the worker threads' torch setting does not leak into the caller's
    assert torch.get_num_threads() == 2
    torch.set_num_threads(before)


def test_cpu_workers_setting_is_validated() -> None:
    assert ModelConfig().cpu_workers == 0
    with pytest.raises(ValueError):
        ModelConfig(cpu_workers=-1)
