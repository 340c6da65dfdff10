"""Embedding the training data with the encoder, cached per (file, encoder, settings) under `<cache>/emb/`."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sentiment.training.data import DATA_SETS, Rows, read_rows
from sentiment.training.plan import Progress, TrainPlan

log = logging.getLogger(__name__)

#: Bump when normalize_post or the cache layout changes, so old cached embeddings are not reused.
EMB_CACHE_FORMAT = "1"


class TextEmbedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def revision(self) -> str: ...

    def embed(self, texts: Sequence[str], batch_size: int | None = None, max_length: int | None = None) -> np.ndarray: ...



def emb_cache_dir() -> Path:
    from sentiment.convert import default_cache_dir

    return default_cache_dir() / "emb"


def encoder_dtype(encoder: Any) -> str:
    model = getattr(encoder, "model", None)
    dtype = getattr(model, "dtype", None)
    return str(dtype).replace("torch.", "") if dtype is not None else "float32"


def cache_key(file_bytes: bytes, encoder: Any, max_length: int) -> str:
    """sha256 of the file's bytes + everything about the encoder that changes its output."""
    h = hashlib.sha256()
    h.update(file_bytes)
    for part in (EMB_CACHE_FORMAT, encoder.name, encoder.revision, str(max_length), getattr(encoder, "prefix", ""),
                 encoder_dtype(encoder)):
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



def load_sources(data_dir: Path, names: Sequence[str], encoder: TextEmbedder, plan: TrainPlan, cache_dir: Path | None,
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
